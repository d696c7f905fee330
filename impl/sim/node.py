"""Node and Context: the whole surface between a protocol and the world it runs in.

A node is a deterministic, event-driven state machine. It is told three things (it started,
a message arrived, a timer fired) and acts only through its Context: it sends messages, sets
and cancels timers, reads the clock, draws from its own seeded generator, saves to its
persister and writes structured log events. It never reads real time, starts threads or uses
global randomness, so the same node code runs under every driver (the seeded scheduler, the
Hypothesis machine, the asyncio transport), and a run is replayed exactly from its seed.
"""

from __future__ import annotations

import copy
import random
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from faultlab.sim import codec
from faultlab.sim.persister import Persister

if TYPE_CHECKING:
    from faultlab.sim.world import World

__all__ = ["Node", "Context", "SimContext", "ClientNode", "SeededRandom", "node_seed"]


class SeededRandom(random.Random):
    """A generator that copies its state in one step: ``copy.deepcopy`` of a plain Random
    walks its 625-word state item by item, which made copying a World (bounded search copies
    one per state) several times slower than everything else in it together."""

    def __deepcopy__(self, memo: dict) -> SeededRandom:
        dup = SeededRandom.__new__(SeededRandom)  # no seeding: the state is set next
        dup.setstate(self.getstate())
        memo[id(self)] = dup
        return dup


def node_seed(seed: int, name: str, incarnation: int) -> str:
    """The seed of one incarnation's generator, the same under every driver, so a node draws
    the same numbers in simulation and as a real process started with the same seed."""
    return f"faultlab-node:{seed}:{name}:{incarnation}"


class Context(ABC):
    """What one incarnation of one node may do: the part both drivers share (its name and
    incarnation, its lazily seeded generator, its persister, whether it is alive) and the
    actions each driver implements (:class:`SimContext` here, ``RealContext`` in
    :mod:`faultlab.sim.realnet`). Nodes type their ``ctx`` with this class only."""

    __slots__ = ("name", "incarnation", "_seed", "_random", "persister", "alive")

    def __init__(self, name: str, incarnation: int, seed: str, persister: Persister) -> None:
        self.name = name
        self.incarnation = incarnation
        self._seed = seed
        self._random: SeededRandom | None = None
        self.persister = persister
        self.alive = True

    @property
    def random(self) -> SeededRandom:
        """This incarnation's own generator, seeded from the World's seed, the node's name and
        the incarnation (made on first use: most nodes never draw, and copies stay cheap)."""
        if self._random is None:
            self._random = SeededRandom(self._seed)
        return self._random

    def _copy_shared(self, dup: Context, memo: dict) -> None:
        """Copy the shared fields into ``dup`` (for a subclass's ``__deepcopy__``)."""
        dup.name, dup.incarnation, dup.alive = self.name, self.incarnation, self.alive
        dup._seed, dup._random = self._seed, copy.deepcopy(self._random, memo)
        dup.persister = copy.deepcopy(self.persister, memo)

    @abstractmethod
    def send(self, dst: str, msg: Any) -> None:
        """Put ``msg`` on the network towards ``dst``; the network may delay or lose it."""

    @abstractmethod
    def set_timer(self, name: str, delay: float) -> None:
        """Arm (or re-arm) the timer ``name`` to fire after ``delay`` seconds."""

    @abstractmethod
    def cancel_timer(self, name: str) -> None:
        """Disarm the timer ``name`` (nothing happens if it is not armed)."""

    @abstractmethod
    def now(self) -> float:
        """Virtual time in seconds (monotonic time under the real transport)."""

    @abstractmethod
    def log(self, event: str, **fields: Any) -> None:
        """Record a structured event in the driver's event log."""

    @abstractmethod
    def complete(self, output: Any) -> None:
        """A clerk finished its current call with ``output`` (recorded in the history)."""


class SimContext(Context):
    """The Context of a node in a simulated :class:`~faultlab.sim.world.World`, created by
    the World at each (re)start; every action goes to the World (none after a crash)."""

    __slots__ = ("_world",)

    def __init__(
        self, world: World, name: str, incarnation: int, seed: str, persister: Persister
    ) -> None:
        super().__init__(name, incarnation, seed, persister)
        self._world = world

    def __deepcopy__(self, memo: dict) -> SimContext:
        dup = SimContext.__new__(SimContext)
        memo[id(self)] = dup
        self._copy_shared(dup, memo)
        dup._world = copy.deepcopy(self._world, memo)
        return dup

    def send(self, dst: str, msg: Any) -> None:
        if self.alive:
            self._world.node_send(self, dst, msg)

    def set_timer(self, name: str, delay: float) -> None:
        if self.alive:
            self._world.node_set_timer(self, name, delay)

    def cancel_timer(self, name: str) -> None:
        if self.alive:
            self._world.node_cancel_timer(self, name)

    def now(self) -> float:
        return self._world.now_us / 1_000_000

    def log(self, event: str, **fields: Any) -> None:
        if self.alive:
            self._world.node_log(self, event, fields)

    def complete(self, output: Any) -> None:
        if self.alive:
            self._world.node_complete(self, output)


class Node:
    """Base class of every server and clerk. Override the ``on_*`` hooks you need.

    ``accepts``, when a class sets it, is the tuple of message classes its ``on_message``
    takes; the real transport drops any other message from a peer with a log line (None:
    the node sorts its messages itself)."""

    ctx: Context
    accepts: ClassVar[tuple[type, ...] | None] = None

    def on_start(self) -> None:
        """Called once per incarnation, after ``ctx`` is set: read the persister, arm timers."""

    def on_message(self, src: str, msg: Any) -> None:
        """A message from node ``src`` arrived."""

    def on_timer(self, name: str) -> None:
        """The timer ``name`` fired (it is disarmed now; set it again to repeat)."""

    def on_send_failed(self, dst: str, msg: Any) -> None:
        """A request sent to ``dst`` was not delivered (lost, unreachable, or ``dst`` crashed).

        As with labrpc's ``Call`` returning false, this comes after a delay, and a request
        that was delivered but whose reply was lost is *not* reported: only a timeout tells.
        """

    def fingerprint_state(self) -> Any:
        """The node's state as an encodable value, for World fingerprints.

        The default takes every attribute but the context; override when some attributes
        are caches or are not encodable.
        """
        return {k: v for k, v in vars(self).items() if k != "ctx"}

    def abstract_state(self) -> Any:
        """The state the TLA+ trace records for this node (None: not traced)."""
        return None

    def state_bytes(self) -> bytes:
        return codec.encode(self.fingerprint_state(), canonical=True)


class ClientNode(Node):
    """A clerk: a node that also accepts calls from the test and completes them.

    ``on_call(input)`` starts a call; the clerk sends requests, retries as it sees fit, and
    calls ``self.ctx.complete(output)`` when it has the answer. A clerk serves one call at a
    time, as in the labs and in Porcupine's histories; concurrency is several clerks.
    """

    def on_call(self, input: Any) -> None:
        raise NotImplementedError
