"""The World: every node, message, timer and fault of one simulated run, on a virtual clock.

Its primitive steps are the only source of nondeterminism in a run:

    deliver(m)  drop(m)  duplicate(m)  fire(t)  crash(n)  restart(n)
    partition(groups)  block(a, b)  isolate(n)  deafen(n)  heal()  slow(n, dt)  advance(dt)
    invoke(c, input)

A driver chooses the steps. The World's own scheduler (``run_until``, ``run_for``) is the
seeded random driver: messages travel for a delay drawn by the network profile from the
World's seeded generator, and events happen in virtual-time order (ties in creation order).
The Hypothesis machine (:mod:`faultlab.tools.explore`) is the adversarial driver: it uses the
``ADVERSARIAL`` profile, under which every message is deliverable at once, and picks steps
itself. Each step is recorded in ``steps``, so a run is replayed by applying them again to a
World built with the same seed (:mod:`faultlab.tools.replay`).

Crash semantics are the labs': a crashed node's volatile state is gone, its persister is kept
and a copy goes to the next incarnation, writes the dead incarnation still makes are
discarded, and messages addressed to an old incarnation (including replies to requests it
sent) are never delivered to a new one.
"""

from __future__ import annotations

import copy
import hashlib
import heapq
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from faultlab.sim import codec
from faultlab.sim.messages import is_reply
from faultlab.sim.network import PROFILES, RELIABLE, NetworkProfile
from faultlab.sim.node import ClientNode, Node, SeededRandom, SimContext, node_seed
from faultlab.sim.persister import Persister

__all__ = ["World", "Envelope", "Pending", "CallRecord", "Counters", "CallTimeout", "SimError",
           "StepError", "COPY_RULES", "FieldRule"]

US = 1_000_000
_MISSING: Any = object()
_MSG, _TIMER, _NOTICE = 0, 1, 2


class SimError(RuntimeError):
    """A driver asked for something impossible (unknown node, message no longer in flight)."""


class StepError(SimError):
    """A primitive step that does not apply to this World as it is (a message no longer in
    flight, an unknown node, a clerk already busy), found before the step changes anything
    or runs any handler."""


class CallTimeout(SimError):
    """A synchronous clerk call did not return within its virtual-time budget."""


@dataclass(slots=True)
class Envelope:
    """A message in flight, with the incarnations it was sent from and to."""

    id: int
    src: str
    src_inc: int
    dst: str
    dst_inc: int
    msg: Any
    reply: bool
    data: bytes  # the message in the wire encoding: its size is what the counters add
    deliver_at: int
    copy: bool = False  # the receiver must get a decoded copy (the message has mutable parts)

    def received(self) -> Any:
        """The message as the receiver gets it: a decoded copy when the sender's object could
        still change (or decodes to other types), else the sender's immutable object."""
        return codec.decode(self.data) if self.copy else self.msg

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(slots=True)
class Pending:
    """A timer or a send-failure notice waiting to fire at ``fire_at`` (microseconds)."""

    id: int
    kind: int
    node: str
    inc: int
    fire_at: int
    name: str = ""
    dst: str = ""
    msg: Any = None

    @property
    def is_timer(self) -> bool:
        return self.kind == _TIMER


@dataclass(slots=True)
class CallRecord:
    """One clerk call; ``ret is None`` while (or if forever) it has not returned."""

    client: str
    input: Any
    call: float
    output: Any = None
    ret: float | None = None

    @property
    def done(self) -> bool:
        return self.ret is not None


@dataclass
class Counters:
    """The labs' counters: RPCs sent, RPCs received per node, bytes (requests on send,
    replies on delivery, both in the :mod:`codec` encoding). ``rpcs`` counts every message
    sent; ``requests`` only requests, i.e. labrpc's count of calls (a call and its reply
    are one RPC there)."""

    rpcs: int = 0
    requests: int = 0
    bytes: int = 0
    delivered: int = 0
    lost: int = 0
    duplicated: int = 0
    timers_fired: int = 0
    received: dict[str, int] = field(default_factory=dict)


class World:
    """Nodes, network and clock of one run. See the module docstring for the semantics."""

    def __init__(
        self,
        seed: int = 0,
        profile: NetworkProfile = RELIABLE,
        *,
        copy_messages: bool = True,
        log_events: bool = False,
        record_steps: bool = True,
    ) -> None:
        self.seed = seed
        self.profile = profile
        self.copy_messages = copy_messages
        self.rng = SeededRandom(f"faultlab-network:{seed}")
        self.now_us = 0
        self.factories: dict[str, Callable[[], Node]] = {}
        self.nodes: dict[str, Node] = {}
        self.contexts: dict[str, SimContext] = {}
        self.persisters: dict[str, Persister] = {}
        self.incarnation: dict[str, int] = {}
        self.crashed: set[str] = set()
        self.clients: set[str] = set()
        self.in_flight: dict[int, Envelope] = {}
        self.pending: dict[int, Pending] = {}
        self.blocked: set[tuple[str, str]] = set()
        # requests to these fail (except from the names given); replies they asked for arrive
        self.deaf: dict[str, frozenset[str]] = {}
        self.slowed: dict[str, int] = {}  # extra delay (us) of requests sent to a node
        self.counters = Counters()
        self.history: list[CallRecord] = []
        self.open_calls: dict[str, CallRecord] = {}
        self.events: list[tuple] | None = [] if log_events else None
        self.steps: list[tuple] | None = [] if record_steps else None
        self.observers: list[Callable[[World, tuple], None]] = []
        # told of every message that will never arrive (lost on send or on arrival, dropped)
        self.loss_observers: list[Callable[[Envelope, str], None]] = []
        # what drivers keep per World (monitors, appliers, trace recorders): see attach()
        self.attachments: dict[str, Any] = {}
        self.started = False
        self._timer_ids: dict[tuple[str, str], int] = {}
        self._queue: list[tuple[int, int, int]] = []
        self._next_id = 0
        self._handling: Envelope | None = None
        self.last: Envelope | Pending | None = None  # what the latest deliver/fire handled

    # ------------------------------------------------------------------ set-up

    def add_node(self, name: str, factory: Callable[[], Node], *, client: bool = False) -> None:
        """Register a node; ``factory`` builds a fresh instance at start and at each restart."""
        if name in self.factories:
            raise SimError(f"node {name!r} already exists")
        self.factories[name] = factory
        self.persisters[name] = Persister()
        self.incarnation[name] = 0
        self.counters.received[name] = 0
        if client:
            self.clients.add(name)
        if self.started:
            self._boot(name)

    def add_client(self, name: str, factory: Callable[[], ClientNode]) -> None:
        self.add_node(name, factory, client=True)

    def start(self) -> World:
        """Start every registered node (in registration order). Idempotent."""
        if not self.started:
            self.started = True
            for name in list(self.factories):
                self._boot(name)
        return self

    @property
    def names(self) -> list[str]:
        return list(self.factories)

    @property
    def servers(self) -> list[str]:
        return [n for n in self.factories if n not in self.clients]

    @property
    def now(self) -> float:
        return self.now_us / US

    def node(self, name: str) -> Node:
        try:
            return self.nodes[name]
        except KeyError:
            raise SimError(f"node {name!r} is crashed or unknown") from None

    def _boot(self, name: str) -> None:
        inc = self.incarnation[name]
        ctx = SimContext(self, name, inc, node_seed(self.seed, name, inc), self.persisters[name])
        node = self.factories[name]()
        node.ctx = ctx
        self.nodes[name] = node
        self.contexts[name] = ctx
        self._event("start", name, inc)
        node.on_start()

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _record_failed(self, step: tuple) -> None:
        """Record a step whose node handler raised (without telling observers about a
        half-done step), so a replay reaches the raise."""
        if self.steps is not None:
            self.steps.append(step)

    def _record(self, step: tuple) -> None:
        if self.steps is not None:
            self.steps.append(step)
        if self.observers:
            for observer in self.observers:
                observer(self, step)

    def _event(self, *fields: Any) -> None:
        if self.events is not None:
            self.events.append((self.now_us, *fields))

    # ------------------------------------------------------------------ hooks for drivers

    def attach(self, name: str, obj: Any) -> Any:
        """Keep ``obj`` (a monitor, an applier, a trace recorder) with this World under
        ``name``; returns it. Attached objects travel with copies: a copy's monitor watches
        the copy. Read them back with :meth:`attached` (or as ``world.<name>``)."""
        if name in self.attachments:
            raise SimError(f"{name!r} is already attached to this World")
        if name in self.__dict__ or hasattr(type(self), name):
            raise SimError(f"{name!r} is a World attribute; attach under another name")
        self.attachments[name] = obj
        return obj

    def attached(self, name: str, default: Any = _MISSING) -> Any:
        """The object attached as ``name`` (``default`` if given and nothing is)."""
        try:
            return self.attachments[name]
        except KeyError:
            if default is _MISSING:
                raise SimError(f"nothing is attached to this World as {name!r}") from None
            return default

    def __getattr__(self, name: str) -> Any:
        """Attached objects read as attributes too (``world.raft_monitor``); only called
        for names the World itself does not have."""
        attachments = self.__dict__.get("attachments")
        if attachments is None or name not in attachments:
            raise AttributeError(f"World has no attribute or attachment {name!r}")
        return attachments[name]

    def notify(self, step: tuple) -> None:
        """Tell the observers of a change made outside the World's steps (a lab harness that
        calls a node's library directly); it is not recorded among the steps."""
        self.last = None
        for observer in self.observers:
            observer(self, step)

    def keep_events(self) -> None:
        """Start keeping the event log (if not kept already) from now on."""
        if self.events is None:
            self.events = []

    # ------------------------------------------------------------ node-facing (SimContext)

    def node_send(self, ctx: SimContext, dst: str, msg: Any) -> None:
        """What ``ctx.send`` does: count, encode and schedule (or lose) a message."""
        if dst not in self.factories:
            raise SimError(f"{ctx.name} sent {type(msg).__name__} to unknown node {dst!r}")
        reply = is_reply(msg)
        data, immutable = codec.encode_message(msg)
        c = self.counters
        c.rpcs += 1
        if not reply:
            c.requests += 1
            c.bytes += len(data)
        handling = self._handling
        if handling is not None and handling.src == dst and handling.dst == ctx.name:
            dst_inc = handling.src_inc  # a reply goes to the incarnation that asked
        else:
            dst_inc = self.incarnation[dst]
        env = Envelope(self._new_id(), ctx.name, ctx.incarnation, dst, dst_inc, msg, reply,
                       data, self.now_us, self.copy_messages and not immutable)
        self._event("send", env.id, ctx.name, dst, msg)
        if ((ctx.name, dst) in self.blocked or dst in self.crashed
                or (dst in self.deaf and not reply and ctx.name not in self.deaf[dst])):
            self._lose(env, "unreachable")
            return
        delay = self.profile.fate(self.rng, reply)
        if delay is None:
            self._lose(env, "lost")
            return
        if self.slowed and not reply:
            delay += self.slowed.get(dst, 0)
        env.deliver_at += delay
        self.in_flight[env.id] = env
        heapq.heappush(self._queue, (env.deliver_at, env.id, _MSG))

    def _lose(self, env: Envelope, why: str) -> None:
        """A message will never arrive; a lost request is reported to its sender later."""
        self.counters.lost += 1
        self._event("lose", env.id, why)
        for observer in self.loss_observers:
            observer(env, why)
        if env.reply or self.incarnation[env.src] != env.src_inc or env.src in self.crashed:
            return
        delay = self.profile.unreachable_report_delay(self.rng)
        p = Pending(self._new_id(), _NOTICE, env.src, env.src_inc, self.now_us + delay,
                    dst=env.dst, msg=env.msg)
        self.pending[p.id] = p
        heapq.heappush(self._queue, (p.fire_at, p.id, _NOTICE))

    def node_set_timer(self, ctx: SimContext, name: str, delay: float) -> None:
        """What ``ctx.set_timer`` does: (re-)arm a timer of the context's node."""
        key = (ctx.name, name)
        old = self._timer_ids.pop(key, None)
        if old is not None:
            self.pending.pop(old, None)
        p = Pending(self._new_id(), _TIMER, ctx.name, ctx.incarnation,
                    self.now_us + max(0, round(delay * US)), name=name)
        self.pending[p.id] = p
        self._timer_ids[key] = p.id
        heapq.heappush(self._queue, (p.fire_at, p.id, _TIMER))

    def node_cancel_timer(self, ctx: SimContext, name: str) -> None:
        """What ``ctx.cancel_timer`` does."""
        old = self._timer_ids.pop((ctx.name, name), None)
        if old is not None:
            self.pending.pop(old, None)

    def node_log(self, ctx: SimContext, event: str, fields: dict) -> None:
        """What ``ctx.log`` does: an event in the event log (if kept)."""
        self._event("log", ctx.name, event, fields)

    def node_complete(self, ctx: SimContext, output: Any) -> None:
        """What ``ctx.complete`` does: the clerk's open call returns."""
        rec = self.open_calls.pop(ctx.name, None)
        if rec is None:
            raise SimError(f"clerk {ctx.name} completed a call it was not given")
        rec.output = output
        rec.ret = self.now
        self._event("return", ctx.name, output)

    # ------------------------------------------------------------------ primitive steps

    def deliver(self, msg_id: int) -> None:
        """Hand message ``msg_id`` to its destination (if it can still receive it); the clock
        moves on to the message's arrival time if that is later (never under ADVERSARIAL)."""
        self.start()
        env = self.in_flight.pop(msg_id, None)
        if env is None:
            raise StepError(f"message {msg_id} is not in flight")
        self.now_us += self.profile.step_us
        try:
            self._deliver(env)
        except BaseException:
            self._record_failed(("deliver", msg_id))
            raise
        self._record(("deliver", msg_id))

    def _deliver(self, env: Envelope) -> None:
        dst = env.dst
        if env.deliver_at > self.now_us:
            self.now_us = env.deliver_at
        if dst in self.crashed or self.incarnation[dst] != env.dst_inc:
            self._lose(env, "dead-incarnation")
            return
        if (env.src, dst) in self.blocked or (dst in self.deaf and not env.reply
                                                and env.src not in self.deaf[dst]):
            self._lose(env, "unreachable")
            return
        c = self.counters
        c.delivered += 1
        c.received[dst] += 1
        if env.reply:
            c.bytes += len(env.data)
        msg = env.received()
        self.last = env
        self._event("deliver", env.id)
        self._handling = env
        try:
            self.nodes[dst].on_message(env.src, msg)
        finally:
            self._handling = None

    def drop(self, msg_id: int) -> None:
        """Lose message ``msg_id``."""
        env = self.in_flight.pop(msg_id, None)
        if env is None:
            raise StepError(f"message {msg_id} is not in flight")
        self._lose(env, "dropped")
        self._record(("drop", msg_id))

    def duplicate(self, msg_id: int) -> int:
        """Put a second copy of message ``msg_id`` in flight; returns the copy's id."""
        env = self.in_flight.get(msg_id)
        if env is None:
            raise StepError(f"message {msg_id} is not in flight")
        dup = copy.copy(env)
        dup.id = self._new_id()
        self.in_flight[dup.id] = dup
        heapq.heappush(self._queue, (dup.deliver_at, dup.id, _MSG))
        self.counters.duplicated += 1
        self._event("duplicate", msg_id, dup.id)
        self._record(("duplicate", msg_id))
        return dup.id

    def fire(self, pending_id: int) -> None:
        """Fire a timer or a send-failure notice, advancing the clock to its time if later."""
        self.start()
        p = self.pending.pop(pending_id, None)
        if p is None:
            raise StepError(f"timer {pending_id} is not pending")
        self.now_us += self.profile.step_us
        try:
            self._fire(p)
        except BaseException:
            self._record_failed(("fire", pending_id))
            raise
        self._record(("fire", pending_id))

    def _fire(self, p: Pending) -> None:
        if p.fire_at > self.now_us:
            self.now_us = p.fire_at
        node = self.nodes[p.node]
        self.last = p
        if p.kind == _TIMER:
            del self._timer_ids[(p.node, p.name)]
            self.counters.timers_fired += 1
            self._event("fire", p.node, p.name)
            node.on_timer(p.name)
        else:
            self._event("send-failed", p.node, p.dst)
            node.on_send_failed(p.dst, p.msg)

    def crash(self, name: str) -> None:
        """Stop ``name``: volatile state, timers and its open clerk call are gone for good."""
        self._known(name)
        if name in self.crashed:
            raise StepError(f"{name} is already crashed")
        self.start()
        self.crashed.add(name)
        ctx = self.contexts.pop(name)
        ctx.alive = False
        old = self.persisters[name]
        self.persisters[name] = old.copy()
        old.detached = True
        del self.nodes[name]
        for pid in [pid for pid, p in self.pending.items() if p.node == name]:
            p = self.pending.pop(pid)
            if p.kind == _TIMER:
                del self._timer_ids[(name, p.name)]
        self.open_calls.pop(name, None)  # its call stays open in the history forever
        self._event("crash", name)
        self._record(("crash", name))

    def restart(self, name: str) -> None:
        """Start a new incarnation of crashed ``name`` from a copy of its persister."""
        self._known(name)
        if name not in self.crashed:
            raise StepError(f"{name} is not crashed")
        self.crashed.discard(name)
        self.incarnation[name] += 1
        self.persisters[name] = self.persisters[name].copy()
        self._record(("restart", name))
        self._boot(name)

    def partition(self, *groups: Iterable[str]) -> None:
        """Cut every link between different groups (and heal all others).

        Nodes named in no group keep their links to everyone: a test partitions the servers
        and connects its clerks separately.
        """
        gs = [sorted(set(g)) for g in groups]
        for g in gs:
            for n in g:
                self._known(n)
        self.blocked = {
            (a, b) for i, ga in enumerate(gs) for j, gb in enumerate(gs) if i != j
            for a in ga for b in gb
        }
        self._event("partition", gs)
        self._record(("partition", gs))

    def block(self, src: str, dst: str) -> None:
        """Cut the one directed link ``src -> dst``."""
        self._known(src)
        self._known(dst)
        self.blocked.add((src, dst))
        self._record(("block", src, dst))

    def isolate(self, name: str) -> None:
        """Cut ``name`` off from everyone, both ways."""
        self._known(name)
        for other in self.factories:
            if other != name:
                self.blocked.add((name, other))
                self.blocked.add((other, name))
        self._record(("isolate", name))

    def deafen(self, name: str, hears: Iterable[str] = ()) -> None:
        """``name`` can still send but receives no requests (the 2015 labs' deaf peer), except
        from the nodes ``hears`` names (those that know its renamed socket).

        As with the lab's removed socket file, nobody can call ``name``, but the replies to
        the calls ``name`` makes still come back (they travel on the caller's connection).
        ``heal()`` ends it."""
        self._known(name)
        hears = sorted(hears)
        for h in hears:
            self._known(h)
        self.deaf[name] = frozenset(hears)
        self._record(("deafen", name, hears) if hears else ("deafen", name))

    def heal(self) -> None:
        self.blocked = set()
        self.deaf = {}
        self._event("heal")
        self._record(("heal",))

    def slow(self, name: str, seconds: float) -> None:
        """Delay every request sent to ``name`` from now on by ``seconds`` more (0 ends it):
        the 2015 pbservice tests' delaying proxy in front of a server."""
        self._known(name)
        if seconds > 0:
            self.slowed[name] = round(seconds * US)
        else:
            self.slowed.pop(name, None)
        self._record(("slow", name, seconds))

    def advance(self, seconds: float) -> None:
        """Let virtual time pass without any event happening (not even due ones)."""
        self.now_us += max(0, round(seconds * US))
        self._record(("advance", seconds))

    def mark(self, label: str) -> None:
        """Record a label among the steps (e.g. where a driver's teardown began); no effect."""
        self._record(("mark", label))

    def set_profile(self, profile: NetworkProfile | str) -> None:
        """Switch the network profile for messages sent from now on."""
        if isinstance(profile, str):
            if profile not in PROFILES:
                raise StepError(f"unknown network profile {profile!r}: one of {sorted(PROFILES)}")
            profile = PROFILES[profile]
        self.profile = profile
        self._record(("set_profile", profile.name))

    def invoke(self, client: str, input: Any) -> CallRecord:
        """Start a call on clerk ``client``; the history records it as open until it returns."""
        self.start()
        self._known(client)
        if client not in self.clients:
            raise StepError(f"{client} is not a clerk")
        if client in self.crashed:
            raise StepError(f"clerk {client} is crashed")
        if client in self.open_calls:
            raise StepError(f"clerk {client} already has a call in progress")
        self.now_us += self.profile.step_us
        rec = CallRecord(client, input, self.now)
        self.history.append(rec)
        self.open_calls[client] = rec
        self._event("invoke", client, input)
        self._record(("invoke", client, input))
        node = self.nodes[client]
        assert isinstance(node, ClientNode)
        node.on_call(input)
        return rec

    def _known(self, name: str) -> None:
        if name not in self.factories:
            raise StepError(f"unknown node {name!r}; nodes are {', '.join(self.factories)}")

    def apply_step(self, step: Iterable[Any]) -> None:
        """Apply one recorded step (as found in ``steps`` or a replay file)."""
        op, *args = step
        if op == "partition":
            self.partition(*args[0])
        elif op in _STEP_OPS:
            getattr(self, op)(*args)
        else:
            raise StepError(f"unknown step {op!r}")

    # ------------------------------------------------------------------ the seeded driver

    def next_event(self) -> tuple[int, int, int] | None:
        """The earliest pending event as (time, id, kind), or None when nothing is pending.
        Queue entries of delivered, dropped, cancelled or re-armed events are discarded."""
        q = self._queue
        in_flight, pending = self.in_flight, self.pending
        while q:
            head = q[0]
            if head[1] in (in_flight if head[2] == _MSG else pending):
                return head
            heapq.heappop(q)
        return None

    def step(self, until_us: int | None = None) -> bool:
        """Run the earliest pending event (if due by ``until_us``); False when there is none."""
        self.start()
        head = self.next_event()
        if head is None or (until_us is not None and head[0] > until_us):
            return False
        _, eid, kind = heapq.heappop(self._queue)
        # the same steps (and clock) as the driver's deliver/fire, so replays match
        self.now_us += self.profile.step_us
        if kind == _MSG:
            env = self.in_flight.pop(eid)
            try:
                self._deliver(env)
            except BaseException:
                self._record_failed(("deliver", eid))
                raise
            self._record(("deliver", eid))
        else:
            p = self.pending.pop(eid)
            try:
                self._fire(p)
            except BaseException:
                self._record_failed(("fire", eid))
                raise
            self._record(("fire", eid))
        return True

    def run_until(
        self, predicate: Callable[[], bool], timeout: float, *, max_steps: int = 10_000_000
    ) -> bool:
        """Run events in time order until ``predicate()`` holds (True) or ``timeout`` virtual
        seconds pass (False). The clock ends at the deadline when the predicate never held."""
        self.start()
        deadline = self.now_us + round(timeout * US)
        step = self.step
        for _ in range(max_steps):
            if predicate():
                return True
            if not step(deadline):
                if deadline > self.now_us:
                    self.advance((deadline - self.now_us) / US)
                return predicate()
        raise SimError(f"no progress after {max_steps} steps at t={self.now:.6f}s "
                       "(a zero-delay message or timer loop?)")

    def run_for(self, seconds: float) -> None:
        """Run every event due in the next ``seconds`` of virtual time."""
        self.run_until(lambda: False, seconds)

    def call(self, client: str, input: Any, timeout: float = 10.0) -> Any:
        """Synchronous clerk call: run the World until it returns; its output.

        Raises :class:`CallTimeout` after ``timeout`` virtual seconds; the call then stays
        open in the history (it may still take effect), as an indeterminate operation.
        """
        rec = self.invoke(client, input)
        if not self.run_until(lambda: rec.ret is not None, timeout):
            raise CallTimeout(f"{client}: {input!r} did not return within {timeout}s "
                              f"of virtual time (seed {self.seed})")
        return rec.output

    # ------------------------------------------------------------------ observation

    def timers(self, name: str | None = None) -> list[Pending]:
        return [p for p in self.pending.values() if name is None or p.node == name]

    def messages(self) -> list[Envelope]:
        return list(self.in_flight.values())

    def fingerprint(self, *, history: bool = False) -> str:
        """A digest of everything that decides the future, except the clock: node states and
        incarnations, persisters, messages in flight (as a multiset), armed timers, links,
        open calls (the fields with a ``key`` in :data:`COPY_RULES`). Two Worlds that
        fingerprint equal behave alike under the same choices. ``history=True`` adds the
        history's shape, for searches whose invariants read the history."""
        h = hashlib.sha256()
        for name, rule in COPY_RULES.items():
            if rule.key is not None and (history or not rule.history):
                h.update(codec.encode((name, rule.key(self))))
        return h.hexdigest()

    def copy(self) -> World:
        """An independent copy: stepping one never changes the other."""
        observers, self.observers = self.observers, []
        losses, self.loss_observers = self.loss_observers, []
        try:
            dup = copy.deepcopy(self)
        finally:
            self.observers, self.loss_observers = observers, losses
        return dup

    def __deepcopy__(self, memo: dict) -> World:
        """Copy each field by its rule in :data:`COPY_RULES` (in the table's order): share
        what no step can change, copy what one can. Bounded search copies a World per state,
        so this is its hot path. A field without a rule is an error, not a silent share."""
        fields = self.__dict__
        if fields.keys() != COPY_RULES.keys():
            _missing_rules(fields)
        dup = World.__new__(World)
        memo[id(self)] = dup
        target = dup.__dict__
        for k, rule in COPY_RULES.items():
            target[k] = rule.copy(fields[k], memo)
        return dup

    def event_log_lines(self) -> list[str]:
        """The event log as JSON lines (byte-identical for the same seed and steps)."""
        if self.events is None:
            raise SimError("this World was built with log_events=False")
        return [json.dumps(e, default=_jsonable, separators=(",", ":")) for e in self.events]


def _clone(obj: Any, memo: dict) -> Any:
    """A field-by-field copy of an Envelope, Pending or CallRecord (its values shared), made
    once per copy so that records referenced twice (history and open calls) stay one."""
    if obj is None:
        return None
    dup = memo.get(id(obj))
    if dup is None:
        cls = type(obj)
        dup = memo[id(obj)] = cls(*(getattr(obj, f) for f in cls.__slots__))
    return dup


def _share(value: Any, memo: dict) -> Any:
    return value


def _deep(value: Any, memo: dict) -> Any:
    return copy.deepcopy(value, memo)


def _shallow(value: Any, memo: dict) -> Any:
    """A new container with the same (immutable) items; None stays None."""
    return None if value is None else value.copy()


def _record_values(value: dict, memo: dict) -> dict:
    return {k: _clone(r, memo) for k, r in value.items()}


def _record_list(value: list, memo: dict) -> list:
    return [_clone(r, memo) for r in value]


def _counters(value: Counters, memo: dict) -> Counters:
    return replace(value, received=dict(value.received))


def _history_shape(world: World) -> bytes:
    """Calls in order with inputs, outputs and the order of returns among calls."""
    events = sorted([(r.call, 0, k) for k, r in enumerate(world.history)]
                    + [(r.ret, 1, k) for k, r in enumerate(world.history) if r.done])
    calls = [(r.client, repr(r.input), repr(r.output) if r.done else "open")
             for r in world.history]
    return repr((calls, [(kind, k) for _, kind, k in events])).encode()


@dataclass(frozen=True, slots=True)
class FieldRule:
    """How one World field is copied and whether (and as what) it enters the fingerprint.

    ``copy(value, memo)`` makes the copy's value; ``key(world)`` is the field's encodable part
    of the fingerprint (None: the field does not decide the future, e.g. the clock or the
    counters); ``history``: the key counts only in ``fingerprint(history=True)``.
    """

    copy: Callable[[Any, dict], Any]
    key: Callable[[World], Any] | None = None
    history: bool = False


# Every World field, once: how a copy gets it and what the fingerprint takes from it. Deep
# copies go first, attachments before everything (in this order, as they always were), so
# objects they share with the nodes are copied once through the memo. A new field needs a
# rule here: copying a World with a field missing from this table raises.
COPY_RULES: dict[str, FieldRule] = {
    "attachments": FieldRule(_deep),
    "rng": FieldRule(_deep),
    "persisters": FieldRule(_deep, lambda w: [
        (n, p.read_state(), p.read_snapshot()) for n, p in sorted(w.persisters.items())]),
    "contexts": FieldRule(_deep),
    "nodes": FieldRule(_deep, lambda w: [
        (n, node.state_bytes()) for n, node in sorted(w.nodes.items())]),
    "observers": FieldRule(_deep),
    "loss_observers": FieldRule(_deep),
    "seed": FieldRule(_share),
    "profile": FieldRule(_share),
    "copy_messages": FieldRule(_share),
    "now_us": FieldRule(_share),
    "factories": FieldRule(_share),
    "started": FieldRule(_share),
    "_next_id": FieldRule(_share),
    "incarnation": FieldRule(_shallow, lambda w: sorted(w.incarnation.items())),
    "crashed": FieldRule(_shallow, lambda w: sorted(w.crashed)),
    "clients": FieldRule(_shallow),
    "blocked": FieldRule(_shallow, lambda w: sorted(w.blocked)),
    "deaf": FieldRule(_shallow, lambda w: sorted((n, sorted(h)) for n, h in w.deaf.items())),
    "slowed": FieldRule(_shallow, lambda w: sorted(w.slowed.items())),
    "in_flight": FieldRule(_record_values, lambda w: sorted(
        codec.encode((e.src, e.dst, e.dst_inc, e.data)) for e in w.in_flight.values())),
    "pending": FieldRule(_record_values, lambda w: sorted(
        (p.node, p.name, p.kind) for p in w.pending.values())),
    "_handling": FieldRule(_clone),
    "last": FieldRule(_clone),
    "counters": FieldRule(_counters),
    "history": FieldRule(_record_list, _history_shape, history=True),
    "open_calls": FieldRule(_record_values, lambda w: sorted(
        (c, repr(r.input)) for c, r in w.open_calls.items())),
    "_timer_ids": FieldRule(_shallow),
    "_queue": FieldRule(_shallow),
    "events": FieldRule(_shallow),
    "steps": FieldRule(_shallow),
}


def _missing_rules(fields: dict[str, Any]) -> None:
    """Raise the error of a World whose fields and COPY_RULES differ."""
    extra = sorted(set(fields) - set(COPY_RULES))
    absent = sorted(set(COPY_RULES) - set(fields))
    raise SimError(
        f"World fields without a rule in COPY_RULES: {extra}; rules without a field: "
        f"{absent} (give each new field a rule in faultlab/sim/world.py, or attach "
        f"monitors with world.attach(name, obj) instead of setting attributes)")


_STEP_OPS = {"deliver", "drop", "duplicate", "fire", "crash", "restart", "block", "isolate",
             "deafen", "heal", "slow", "advance", "invoke", "set_profile", "mark"}


def _jsonable(v: Any) -> Any:
    if hasattr(v, "__dataclass_fields__"):
        return {"type": type(v).__name__, **{f: getattr(v, f) for f in v.__dataclass_fields__}}
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, (set, frozenset)):
        return sorted(v, key=repr)
    return repr(v)
