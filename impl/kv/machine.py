"""Hypothesis against the key/value service on either engine, with two drivers.

Both run three servers (snapshots at a small maxraftstate) and three clerks that Append to
and Get two keys, and both end the same way: heal, restart every crashed server, go
reliable, let every call return, read every key, and then require (:func:`service_problems`)
that the history, open calls included, is linearizable under the checker's kv model (an
unknown verdict is a failure, not a pass) and that every acknowledged Append is in the final
value of its key.

* :func:`run_schedule` and :data:`SCHEDULE`: a *fault schedule* over the seeded scheduler.
  Hypothesis draws a list of faults (crash and restart a server, cut one off, heal, switch
  the network between the labs' reliable and unreliable profiles, let time pass) that runs
  while the clerks loop; the World's seed is part of the example. Realistic timing, faults
  coarse.
* :class:`KVMachine`: a :class:`~faultlab.tools.explore.WorldMachine` on the ADVERSARIAL
  profile, where Hypothesis picks every step: deliver, drop or duplicate any message, fire
  any timer, crash, restart or reboot a server, partition the servers, cut the leader off
  with one clerk, start calls, or let the system run undisturbed for a while. Its clerks
  wait a second before trying another server, so answers from a deposed leader still
  reach them. After every step, a replica that has applied i commands must
  hold the state (store and duplicate table) any replica held at i: the service's State
  Machine Safety. Its failures are replay files that ``faultlab replay`` re-executes and
  shrinks. ``faultlab explore`` knows it as ``kv-raft`` and ``kv-paxos``, and the
  ``kv-bug-*`` subclasses each run one seeded bug of :mod:`faultlab.kv.bugs`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from functools import partial
from typing import Any, ClassVar

from faultlab.checker.linearizability import Verdict
from faultlab.kv.bugs import (
    LocalGet,
    NoDuplicateDetection,
    ReplyForAnyCommand,
    SnapshotWithoutDuplicates,
)
from faultlab.kv.checks import acknowledged_appends_missing, audit
from faultlab.kv.clerk import Clerk
from faultlab.kv.cluster import KV_RELIABLE, KV_UNRELIABLE, add_clerk, build, server_names
from faultlab.kv.server import KVServer
from faultlab.kv.store import KVStore
from faultlab.sim import codec
from faultlab.sim.network import ADVERSARIAL
from faultlab.sim.world import World
from faultlab.tools.clients import Clients
from faultlab.tools.explore import CallAll, WorldMachine, pick
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

__all__ = ["SERVERS", "CLERKS", "KEYS", "FAULT", "SCHEDULE", "run_schedule",
           "service_problems", "KVMachine", "KVRaftMachine", "KVPaxosMachine", "BUG_MACHINES",
           "KVNoDuplicateDetectionMachine", "KVLocalGetMachine",
           "KVSnapshotWithoutDuplicatesMachine", "KVReplyForAnyCommandMachine"]

SERVERS = server_names(3)
CLERKS = 3
KEYS = ("a", "b")
MAXRAFTSTATE = 300          # the schedules' servers snapshot every few commands
MACHINE_MAXRAFTSTATE = 120  # the machine's, every two or three: examples are short
LINEARIZABILITY_TIMEOUT = 10.0


def service_problems(world: World, final: dict[str, str]) -> list[str]:
    """What is wrong with a settled run whose keys read ``final`` at the end (empty when
    nothing): acknowledged Appends missing from it, and a history that is not linearizable
    or could not be decided."""
    problems = [f"acknowledged append lost: {m}"
                for m in acknowledged_appends_missing(world, final)]
    verdict = audit(world, timeout=LINEARIZABILITY_TIMEOUT).verdict
    if verdict is Verdict.ILLEGAL:
        problems.append(f"history of {len(world.history)} calls is not linearizable")
    elif verdict is Verdict.UNKNOWN:
        problems.append(f"linearizability of {len(world.history)} calls undecided within "
                        f"{LINEARIZABILITY_TIMEOUT}s (unknown is not a pass)")
    return problems


# ---------------------------------------------------------------------- the fault schedule

FAULT = st.one_of(
    st.tuples(st.just("crash"), st.sampled_from(SERVERS)),
    st.tuples(st.just("restart"), st.sampled_from(SERVERS)),
    st.tuples(st.just("partition"), st.sampled_from(SERVERS)),
    st.tuples(st.just("heal"), st.none()),
    st.tuples(st.just("unreliable"), st.booleans()),
    st.tuples(st.just("sleep"), st.sampled_from([0.05, 0.2, 0.5, 1.0])),
)
SCHEDULE = st.lists(FAULT, max_size=12)


def run_schedule(seed: int, engine: str, schedule: list,
                 server: type[KVServer] = KVServer) -> list[str]:
    """Run the clerks for the schedule's time with its faults, heal, drain; the problems
    :func:`service_problems` finds (empty when the service behaved)."""
    world = build(seed, 3, engine=engine, profile=KV_RELIABLE, maxraftstate=MAXRAFTSTATE,
                  clerks=CLERKS, server=server, record_steps=False)

    def clerk(i: int) -> Iterator[tuple[str, Any]]:
        n = 0
        while True:
            key = str(i) if n % 3 else "shared"
            if n % 2 == 0:
                yield ("call", {"op": "append", "key": key, "value": f"<{i}.{n}>"})
            else:
                yield ("call", {"op": "get", "key": key})
            n += 1

    def apply(kind: str, arg: Any) -> None:
        if kind == "crash" and arg not in world.crashed:
            world.crash(arg)
        elif kind == "restart" and arg in world.crashed:
            world.restart(arg)
        elif kind == "partition":
            world.partition([arg], [s for s in SERVERS if s != arg])
        elif kind == "heal":
            world.heal()
        elif kind == "unreliable":
            world.set_profile(KV_UNRELIABLE if arg else KV_RELIABLE)

    def faults() -> Iterator[tuple[str, Any]]:
        for kind, arg in schedule:
            if kind == "sleep":
                yield ("sleep", arg)
            else:
                yield ("do", lambda kind=kind, arg=arg: apply(kind, arg))
        yield ("do", world.heal)
        yield ("do", lambda: [world.restart(s) for s in sorted(world.crashed)])
        yield ("do", lambda: world.set_profile(KV_RELIABLE))

    problems: list[str] = []
    bodies: dict[str, Any] = {f"c{i}": clerk(i) for i in range(CLERKS)}
    bodies["faults"] = faults()
    duration = 0.5 + sum(a for k, a in schedule if k == "sleep")
    Clients(world, bodies, fail=problems.append).run(duration=duration)
    final = {k: world.call("c0", {"op": "get", "key": k}, 60.0)
             for k in [*map(str, range(CLERKS)), "shared"]}
    return problems + service_problems(world, final)


# ---------------------------------------------------------------------- the WorldMachine

class KVMachine(CallAll, WorldMachine):
    """The key/value service under the adversarial driver (see the module docstring)."""

    engine: ClassVar[str] = "raft"
    server: ClassVar[type[KVServer]] = KVServer
    settle_timeout: ClassVar[float] = 30.0
    clerk_retry: ClassVar[float] = 1.0  # patient clerks: answers from old leaders reach them

    @classmethod
    def build_world(cls, seed: int) -> World:
        """Three servers and three clerks; from an odd seed, the World starts once some
        server takes proposals (the seeded scheduler runs the election; only the steps after
        it are Hypothesis's, so examples start deep enough to write)."""
        world = build(seed, 3, engine=cls.engine, profile=ADVERSARIAL,
                      maxraftstate=MACHINE_MAXRAFTSTATE, server=cls.server)
        for i in range(CLERKS):
            add_clerk(world, f"c{i}", SERVERS, partial(Clerk, retry=cls.clerk_retry))
        world.attach("kv_states", {})  # applied index -> (first server seen there, digest)
        if seed % 2:
            cls.warm_up(world, lambda: _proposer(world) is not None, 10.0)
        return world

    def call_input(self) -> st.SearchStrategy:
        """An Append of a value no other call uses, or a Get, on one of two keys."""
        self.calls = getattr(self, "calls", 0) + 1
        n = self.calls
        return st.tuples(st.booleans(), st.sampled_from(KEYS)).map(
            lambda t: {"op": "append", "key": t[1], "value": f"<{n}>"} if t[0]
            else {"op": "get", "key": t[1]})

    def search_workload(self) -> dict[str, list]:
        """For bounded search: one clerk appends then reads, another reads."""
        c = sorted(self.world.clients)
        return {c[0]: [{"op": "append", "key": "a", "value": "<1>"}, {"op": "get", "key": "a"}],
                c[1]: [{"op": "get", "key": "a"}]}

    def check_safety(self) -> None:
        """Every replica that has applied i commands holds the state that the first replica
        seen at i held (the World's ``kv_states`` attachment remembers it), so a replica
        restored from a snapshot, or lagging, is held to what the others had there."""
        states: dict[int, tuple[str, bytes]] = self.world.attached("kv_states")
        for name in sorted(self.world.nodes):
            node = self.world.nodes[name]
            if not isinstance(node, KVServer) or not node.applied_index:
                continue
            digest = _state_digest(node.sm)
            first = states.setdefault(node.applied_index, (name, digest))
            if first[1] != digest:
                raise AssertionError(
                    f"replicas disagree: {name} applied {node.applied_index} commands and "
                    f"holds another state than {first[0]} did there "
                    f"(t={self.world.now:.6f}s, seed {self.world.seed})")

    # ---------------------------------------------------------------- system-specific rules

    @precondition(lambda self: "partition" in self.faults and _proposer(self.world))
    @rule(i=st.integers(0, 255))
    def isolate_leader(self, i: int) -> None:
        """Cut the server that takes proposals, with one clerk, off from the other servers
        and clerks (the kvraft partition tests' minority with a clerk in it): what it
        accepts now cannot commit, while the majority elects a new leader and commits the
        other clerks' commands at those indices."""
        leader = _proposer(self.world)
        clerk = pick(sorted(self.world.clients), i)
        others = [n for n in self.world.names if n not in (leader, clerk)]
        self._guard(lambda: self.world.partition([leader, clerk], others))

    @rule(i=st.integers(0, 255))
    def reboot(self, i: int) -> None:
        """A server crashes and restarts at once, from what it persisted (its snapshot and
        log): the one fault every example brings, since snapshots and restarts are where
        the service's own state goes wrong."""
        name = self.world.servers[i % len(self.world.servers)]
        if name not in self.world.crashed:
            self._guard(lambda: (self.world.crash(name), self.world.restart(name)))

    @rule(ms=st.sampled_from((50, 200, 500, 1000)))
    def run(self, ms: int) -> None:
        """Let the system run undisturbed (the seeded scheduler, in time order) for a while,
        checking safety after every step, as a replay does."""
        self._guard(lambda: self.world.run_until(self._unsafe, ms / 1000))

    def _unsafe(self) -> bool:
        self.check_safety()
        return False

    # ---------------------------------------------------------------- the end

    def settle_and_check(self) -> None:
        """Settle (every call returns), read every key (steps the replay file records),
        then the end checks."""
        w = self.world
        self.settle()
        for key in KEYS:
            if not self.settled():
                break
            w.invoke("c0", {"op": "get", "key": key})
            w.run_until(self._settled_and_safe, self.settle_timeout)
        self.final_checks()

    def end_checks(self) -> None:
        final = _final_reads(self.world)
        problems = service_problems(self.world, final)
        if problems:
            raise AssertionError(f"{problems[0]} ({len(problems)} problems; engine "
                                 f"{self.engine}, seed {self.world.seed})")


def _state_digest(store: KVStore) -> bytes:
    """The replicated state (store and duplicate table) of a replica, read from the store
    itself rather than through its snapshot, so a snapshot that leaves something out does
    not hide it."""
    return hashlib.sha256(codec.encode((store.dups.dump(), sorted(store.data.items())),
                                       canonical=True)).digest()


def _final_reads(world: World) -> dict[str, str]:
    """The last value each key was read as: the settling reads, which come last."""
    final: dict[str, str] = {}
    for rec in world.history:
        if rec.done and rec.input.get("op") == "get":
            final[rec.input["key"]] = rec.output
    return final


def _proposer(world: World) -> str | None:
    """A live server that takes proposals now (Raft's leader; any Paxos peer), or None."""
    for name in SERVERS:
        node = world.nodes.get(name)
        if isinstance(node, KVServer) and getattr(node, "log", None) is not None \
                and node.log.get_state()[1]:
            return name
    return None


class KVRaftMachine(KVMachine):
    engine = "raft"


class KVPaxosMachine(KVMachine):
    engine = "paxos"


# ------------------------------------------------------------------------ seeded bugs

class KVNoDuplicateDetectionMachine(KVRaftMachine):
    server = NoDuplicateDetection


class KVLocalGetMachine(KVRaftMachine):
    server = LocalGet


class KVSnapshotWithoutDuplicatesMachine(KVRaftMachine):
    server = SnapshotWithoutDuplicates


class KVReplyForAnyCommandMachine(KVRaftMachine):
    server = ReplyForAnyCommand


#: bug name (faultlab.kv.bugs.BUGS) -> the Raft machine running it
BUG_MACHINES: dict[str, type[KVMachine]] = {
    "no_duplicate_detection": KVNoDuplicateDetectionMachine,
    "local_get": KVLocalGetMachine,
    "snapshot_without_duplicates": KVSnapshotWithoutDuplicatesMachine,
    "reply_for_any_command": KVReplyForAnyCommandMachine,
}
