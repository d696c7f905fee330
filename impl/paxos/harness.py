"""Worlds of Paxos peers, and the 2015 paxos tester's helpers on virtual time.

The 2015 harness (CATALOG A.0) is reproduced with the runtime's two 2015 network profiles
(:mod:`faultlab.sim.network`): ``RELIABLE_2015`` (no loss; a request to an unreachable peer
fails at once, as a refused connection did) and ``UNRELIABLE_2015`` (10 % of requests lost,
and of the rest 20 % executed with the reply lost, about 18 % of all). The lab's per-pair
socket links become ``World.partition``/``World.block``, its deaf peer ``World.deafen``
(requests to it fail, replies it gets to its own requests arrive), and its ``rpcCount`` the
peers' ``rpc_count`` (requests received over the network; a proposer's calls to its own
acceptor are local).

:class:`Tester` has the Go test's helpers: ``ndecided`` (fails when two peers decided
different values; it also remembers every value ever seen decided, so a value that changes
after a peer forgot or restarted fails too), ``waitn`` (polls with the lab's back-off from
10 ms doubling to 1 s, 30 times), ``waitmajority`` and ``checkmax`` (3 s, then at most m
decided). Every failure message carries the World seed. Traces: pass ``trace=PATH`` or set
``FAULTLAB_TRACE_DIR`` to write the run's abstract-state trace (JSON lines); the tester's
``start``/``done`` calls appear in it as steps ``["start", peer, seq, value]`` and
``["done", peer, seq]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from faultlab.paxos.node import AppClerk, PaxosNode
from faultlab.paxos.peer import Fate, Paxos
from faultlab.sim.network import ADVERSARIAL, RELIABLE_2015, UNRELIABLE_2015, NetworkProfile
from faultlab.sim.world import World
from faultlab.tools.trace import TraceRecorder, trace_path

__all__ = ["RELIABLE_2015", "UNRELIABLE_2015", "Tester", "build", "peer_names",
           "attach_trace"]



def peer_names(n: int) -> list[str]:
    return [f"p{i}" for i in range(n)]


def build(seed: int = 0, *, npeers: int = 3, clerks: int = 0,
          profile: NetworkProfile = ADVERSARIAL, copy_messages: bool = True,
          paxos: type[Paxos] = Paxos) -> World:
    """A started World with peers p0..p{n-1} (and application clerks c0.. when asked).

    ``copy_messages=False`` skips the World's encode/decode copy of every delivered message
    (safe when message values are immutable, as the machine's strings are)."""
    world = World(seed, profile, copy_messages=copy_messages)
    names = peer_names(npeers)
    for i, name in enumerate(names):
        world.add_node(name, lambda i=i: PaxosNode(names, i, paxos))
    for k in range(clerks):
        world.add_client(f"c{k}", AppClerk)
    return world.start()


def attach_trace(world: World, path: str | Path) -> IO[str]:
    """Record ``world``'s abstract-state trace into ``path`` (JSON lines); returns the file."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    out = p.open("w")
    TraceRecorder(world, "paxos", out)
    return out


class Tester:
    __test__ = False  # not a pytest test class

    """The 2015 paxos test_test.go helpers over a World of ``npaxos`` peers."""

    def __init__(self, npaxos: int, seed: int, *, unreliable: bool = False,
                 trace: str | Path | None = None, name: str = "paxos",
                 paxos: type[Paxos] = Paxos) -> None:
        self.seed = seed
        self.npaxos = npaxos
        self.names = peer_names(npaxos)
        self.world = World(seed, UNRELIABLE_2015 if unreliable else RELIABLE_2015)
        names = self.names
        for i, peer in enumerate(names):
            self.world.add_node(peer, lambda i=i: PaxosNode(names, i, paxos))
        self.seen: dict[int, Any] = {}  # every value ever seen decided, per instance
        self._trace_file: IO[str] | None = None
        if trace is None:
            trace = trace_path(f"{name}-{seed}.jsonl")
        self.world.start()
        if trace is not None:
            self._trace_file = attach_trace(self.world, trace)

    def close(self) -> None:
        if self._trace_file is not None:
            self._trace_file.close()
            self._trace_file = None

    # ------------------------------------------------------------------ access

    def fatal(self, message: str) -> None:
        raise AssertionError(f"{message} (World seed {self.seed}; rerun with "
                             f"FAULTLAB_SEED={self.seed})")

    def px(self, i: int) -> Paxos:
        node = self.world.node(self.names[i])
        assert isinstance(node, PaxosNode)
        return node.px

    def alive(self) -> list[int]:
        return [i for i, n in enumerate(self.names) if n not in self.world.crashed]

    def start(self, i: int, seq: int, value: Any) -> None:
        self.px(i).start(seq, value)
        self._note(("start", self.names[i], seq, value))

    def done(self, i: int, seq: int) -> None:
        self.px(i).done(seq)
        self._note(("done", self.names[i], seq))

    def _note(self, step: tuple) -> None:
        """Tell the World's observers (the trace recorder) about an application call: the
        lab calls the library directly, which is not a World step but changes state."""
        self.world.notify(step)

    def sleep(self, seconds: float) -> None:
        self.world.run_for(seconds)

    # ------------------------------------------------------------------ the Go helpers

    def ndecided(self, seq: int) -> int:
        count = 0
        first: tuple[int, Any] | None = None
        for i in self.alive():
            fate, value = self.px(i).status(seq)
            if fate is not Fate.DECIDED:
                continue
            if first is not None and value != first[1]:
                self.fatal(f"decided values do not match; seq={seq} peer {first[0]} decided "
                           f"{first[1]!r}, peer {i} decided {value!r}")
            if seq in self.seen and self.seen[seq] != value:
                self.fatal(f"decided value changed; seq={seq} was {self.seen[seq]!r}, "
                           f"peer {i} now has {value!r}")
            self.seen.setdefault(seq, value)
            first = first or (i, value)
            count += 1
        return count

    def waitn(self, seq: int, wanted: int) -> None:
        to = 0.010
        for _ in range(30):
            if self.ndecided(seq) >= wanted:
                break
            self.sleep(to)
            if to < 1.0:
                to *= 2
        n = self.ndecided(seq)
        if n < wanted:
            self.fatal(f"too few decided; seq={seq} ndecided={n} wanted={wanted}")

    def waitmajority(self, seq: int) -> None:
        self.waitn(seq, self.npaxos // 2 + 1)

    def checkmax(self, seq: int, maximum: int) -> None:
        self.sleep(3.0)
        n = self.ndecided(seq)
        if n > maximum:
            self.fatal(f"too many decided; seq={seq} ndecided={n} max={maximum}")

    def rpc_total(self) -> int:
        return sum(self.px(i).rpc_count for i in self.alive())

    def retained_total(self) -> int:
        return sum(self.px(i).retained_bytes() for i in self.alive())

    # ------------------------------------------------------------------ faults

    def part(self, *groups: Iterable[int]) -> None:
        """The lab's part(): peers reach each other only within their group."""
        self.world.partition(*[[self.names[i] for i in g] for g in groups])

    def deafen(self, i: int) -> None:
        self.world.deafen(self.names[i])

    def setunreliable(self, unreliable: bool) -> None:
        self.world.set_profile(UNRELIABLE_2015 if unreliable else RELIABLE_2015)

    def kill(self, i: int) -> None:
        self.world.crash(self.names[i])

    def revive(self, i: int) -> None:
        self.world.restart(self.names[i])
