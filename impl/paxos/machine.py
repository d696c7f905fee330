"""The adversarial exploration of Paxos: a Hypothesis state machine over a World of peers.

Three peers (p0..p2) and three application clerks (c0..c2) on the ADVERSARIAL network.
Hypothesis chooses every step (the generic rules of :class:`~faultlab.tools.explore.WorldMachine`
plus ``reboot``, a crash immediately followed by a restart): clerks ask random peers to
``start`` instances 0..2 with fresh values or to call ``done``, and messages are delivered,
dropped, duplicated and reordered, peers crash and restart, the network splits.

After every step (``check_safety``):

* **Agreement**: no two peers ever decide different values for one instance (the machine
  remembers every decision it saw, so a peer that forgot, or crashed and came back, is held
  to the first value decided anywhere);
* **Validity**: a decided value was proposed for that instance by some ``start`` call;
* **Forgetting is safe**: a peer's forgetting floor never exceeds one more than the lowest
  Done any application asked for, so no peer forgets an instance some peer still needs.

At teardown the network heals and crashed peers restart; the World must then settle with
every clerk call returned and every started instance decided at every peer that still needs
it (forgotten, or at or below that peer's own Done, is allowed).

The ``Volatile...``, ``IgnoreAccepted...`` and ``Miscounted...`` subclasses explore the
seeded bugs (the Paxos subclasses of :mod:`faultlab.paxos.bugs`); tests assert that each is
caught and shrunk. ``FAULTLAB_TRACE_DIR`` makes every example write its abstract-state trace
there (``paxos-machine-<seed>.jsonl``).
"""

from __future__ import annotations

from typing import IO, Any, ClassVar

from faultlab.paxos.bugs import IgnoreAccepted, MiscountedMajority, VolatilePromise
from faultlab.paxos.harness import attach_trace, build
from faultlab.paxos.node import PaxosNode
from faultlab.paxos.peer import Fate, Paxos
from faultlab.sim.network import ADVERSARIAL
from faultlab.sim.world import World
from faultlab.tools.explore import WorldMachine
from faultlab.tools.trace import trace_path
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

__all__ = ["PaxosMachine", "FivePeerMachine", "VolatilePromiseMachine", "IgnoreAcceptedMachine",
           "MiscountedMajorityMachine"]


class PaxosMachine(WorldMachine):
    npeers: ClassVar[int] = 3
    nclerks: ClassVar[int] = 3
    max_seq: ClassVar[int] = 1
    paxos_class: ClassVar[type[Paxos]] = Paxos   # a seeded bug's subclass swaps it

    @classmethod
    def build_world(cls, seed: int) -> World:
        world = build(seed, npeers=cls.npeers, clerks=cls.nclerks, profile=ADVERSARIAL,
                      copy_messages=False, paxos=cls.paxos_class)
        path = trace_path(f"paxos-machine-{seed}.jsonl")
        if path is not None:
            world.attach("trace_file", attach_trace(world, path))
        return world

    def call_input(self) -> st.SearchStrategy:
        """Inputs of clerk calls (the ``call`` rule below draws them directly)."""
        return st.builds(self._input, st.integers(0, 3), st.integers(0, self.npeers - 1),
                         st.integers(0, self.max_seq))

    def search_workload(self) -> dict[str, list]:
        """Dueling proposers for bounded search: two clerks start instance 0 with different
        values at two different peers."""
        c = sorted(self.world.clients)
        return {c[0]: [{"op": "start", "peer": "p0", "seq": 0, "value": "v1"}],
                c[1]: [{"op": "start", "peer": "p1", "seq": 0, "value": "v2"}]}

    def _input(self, op: int, peer: int, seq: int) -> dict[str, Any]:
        """Three starts (each with a fresh value) for every done."""
        if op == 3:
            return {"op": "done", "peer": f"p{peer}", "seq": seq}
        self.proposals = getattr(self, "proposals", 0) + 1
        return {"op": "start", "peer": f"p{peer}", "seq": seq, "value": f"v{self.proposals}"}

    @precondition(lambda self: any(c not in self.world.open_calls for c in self.world.clients))
    @rule(op=st.integers(0, 3), peer=st.integers(0, 4), seq=st.integers(0, 3))
    def call(self, op: int, peer: int, seq: int) -> None:  # type: ignore[override]
        """An idle clerk asks a peer to start an instance or declares done (replaces the
        generic rule, whose ``st.data()`` draw is slow)."""
        w = self.world
        clerk = min(c for c in w.clients if c not in w.open_calls)
        value = self._input(op, peer % self.npeers, seq % (self.max_seq + 1))
        self._guard(lambda: w.invoke(clerk, value))

    def next_event(self) -> None:  # type: ignore[override]
        """Not a rule here: ``run_events(k=1)`` does the same."""
        self.world.step()

    @precondition(lambda self: sum(c not in self.world.open_calls
                                   for c in self.world.clients) >= 2)
    @rule(a=st.integers(0, 4), b=st.integers(1, 4), seq=st.integers(0, 3))
    def contend(self, a: int, b: int, seq: int) -> None:
        """Dueling proposers: two idle clerks ask two different peers to start one instance."""
        w = self.world
        idle = sorted(c for c in w.clients if c not in w.open_calls)
        peers = w.servers
        first, second = peers[a % len(peers)], peers[(a + b) % len(peers)]
        if first == second:
            second = peers[(a + 1) % len(peers)]
        s = seq % (self.max_seq + 1)
        for clerk, peer in ((idle[0], first), (idle[1], second)):
            self.proposals = getattr(self, "proposals", 0) + 1
            value = {"op": "start", "peer": peer, "seq": s, "value": f"v{self.proposals}"}
            self._guard(lambda clerk=clerk, value=value: w.invoke(clerk, value))

    @precondition(lambda self: self.world.in_flight or self.world.pending)
    @rule(k=st.integers(1, 12))
    def run_events(self, k: int) -> None:
        """Let the next ``k`` events happen in time order (a stretch of normal operation),
        checking safety after each."""
        for _ in range(k):
            if not self._guard(self.world.step):
                break
            self._guard(self.check_safety)

    @precondition(lambda self: "crash" in self.faults)
    @rule(i=st.integers(0, 4))
    def reboot(self, i: int) -> None:
        """Crash a running peer and restart it at once (it keeps only its persisted state)."""
        up = [n for n in self.world.servers if n not in self.world.crashed]
        if up:
            name = up[i % len(up)]
            self._guard(lambda: (self.world.crash(name), self.world.restart(name)))

    # ---------------------------------------------------------------- what was asked

    def _asked(self) -> tuple[dict[int, set[Any]], dict[str, int]]:
        """From the clerk calls so far: the values proposed per instance, and the highest
        Done each peer's application asked for (an upper bound on its Done)."""
        history = self.world.history
        cached = self.__dict__.get("_asked_cache")
        if cached is not None and cached[0] == len(history):
            return cached[1], cached[2]
        proposed: dict[int, set[Any]] = {}
        done = dict.fromkeys(self.world.servers, -1)
        for r in history:
            if r.input["op"] == "start":
                proposed.setdefault(r.input["seq"], set()).add(r.input["value"])
            else:
                done[r.input["peer"]] = max(done[r.input["peer"]], r.input["seq"])
        self._asked_cache = (len(history), proposed, done)
        return proposed, done

    def _peers(self) -> dict[str, Paxos]:
        w = self.world
        return {name: node.px for name in w.servers
                if isinstance(node := w.nodes.get(name), PaxosNode)}

    # ---------------------------------------------------------------- checks

    def check_safety(self) -> None:
        learned: dict[int, tuple[str, Any]] = self.__dict__.setdefault("learned", {})
        promised: dict[tuple[str, int], int] = self.__dict__.setdefault("promised", {})
        votes: dict[tuple[int, int, Any], set[str]] = self.__dict__.setdefault("votes", {})
        chosen: dict[int, tuple[int, Any]] = self.__dict__.setdefault("chosen", {})
        proposed, requested_done = self._asked()
        peers = self._peers()
        majority = self.npeers // 2 + 1
        for name, px in peers.items():
            for seq, inst in px.acceptor.instances.items():
                if seq < px.floor:
                    continue
                before = promised.get((name, seq), -1)
                assert inst.promised >= before, (
                    f"Acceptor stability violated: {name} promised ballot {before} for "
                    f"instance {seq} and now has promised only {inst.promised}")
                promised[(name, seq)] = inst.promised
                if inst.accepted >= 0:
                    voters = votes.setdefault((seq, inst.accepted, inst.value), set())
                    voters.add(name)
                    if len(voters) >= majority:
                        first = chosen.setdefault(seq, (inst.accepted, inst.value))
                        assert first[1] == inst.value, (
                            f"Agreement violated: instance {seq} chose {first[1]!r} (ballot "
                            f"{first[0]}) and {inst.value!r} (ballot {inst.accepted}, accepted "
                            f"by {sorted(voters)})")
            for seq in [s for (n, s) in promised if n == name and s not in px.acceptor.instances
                        and s >= px.floor]:
                raise AssertionError(
                    f"Acceptor stability violated: {name} promised ballot "
                    f"{promised[(name, seq)]} for instance {seq} and lost that state")
        for name, px in peers.items():
            for seq, value in px.learner.decided.items():
                first = learned.setdefault(seq, (name, value))
                assert first[1] == value, (
                    f"Agreement violated: instance {seq} decided {first[1]!r} at {first[0]} "
                    f"and {value!r} at {name}")
                assert value in proposed.get(seq, ()), (
                    f"Validity violated: {name} decided {value!r} for instance {seq}, "
                    f"proposed were {sorted(proposed.get(seq, ()))}")
                assert seq not in chosen or chosen[seq][1] == value, (
                    f"Agreement violated: {name} learned {value!r} for instance {seq}, but "
                    f"a majority accepted {chosen[seq][1]!r} in ballot {chosen[seq][0]}")
        bound = min(requested_done.values()) + 1
        for name, px in self._peers().items():
            assert px.floor <= bound, (
                f"forgetting too early: {name} forgot instances below {px.floor}, but some "
                f"application has only declared Done up to {bound - 1}")

    def settled(self) -> bool:
        if self.world.open_calls:
            return False
        proposed, done = self._asked()
        for name, px in self._peers().items():
            for seq in proposed:
                if px.status(seq)[0] is Fate.PENDING and seq > done[name]:
                    return False
        return True

    def final_checks(self) -> None:
        if not self.settled():
            started = sorted({r.input["seq"] for r in self.world.history
                              if r.input["op"] == "start"})
            report = {name: {s: px.status(s)[0].value for s in started}
                      for name, px in self._peers().items()}
            raise AssertionError(
                f"liveness: after healing, not every started instance was decided within "
                f"{self.settle_timeout}s of virtual time (open calls "
                f"{sorted(self.world.open_calls)}; fates {report})")
        super().final_checks()

    def teardown(self) -> None:
        try:
            super().teardown()
        finally:
            world: World | None = getattr(self, "world", None)
            trace: IO[str] | None = None if world is None else world.attached("trace_file", None)
            if trace is not None:
                trace.close()


class FivePeerMachine(PaxosMachine):
    """Deeper exploration (the deep tests): five peers, instances 0..3."""

    npeers: ClassVar[int] = 5
    max_seq: ClassVar[int] = 3


class VolatilePromiseMachine(PaxosMachine):
    """Seeded bug: acceptors do not persist their promises."""

    paxos_class = VolatilePromise


class IgnoreAcceptedMachine(PaxosMachine):
    """Seeded bug: proposers ignore the highest accepted value reported in promises."""

    paxos_class = IgnoreAccepted


class MiscountedMajorityMachine(PaxosMachine):
    """Seeded bug: the majority is npeers // 2."""

    paxos_class = MiscountedMajority
