"""One Paxos peer: the 2015 library interface over a proposer, an acceptor and a learner.

:class:`Paxos` is a component, not a node: a host node (:class:`~faultlab.paxos.node.PaxosNode`,
or a replicated service through :class:`~faultlab.paxos.log.PaxosLog`) creates it in
``on_start`` with its context and forwards messages, timers and send failures to it; the
``on_*`` methods return False for events that are not Paxos's. Timer names start with
``paxos:``. The application interface is the lab's:

* ``start(seq, value)``: propose ``value`` for instance ``seq`` (returns at once);
* ``status(seq) -> (Fate, value)``: DECIDED with the value, PENDING, or FORGOTTEN;
* ``done(seq)``: the application no longer needs instances ``<= seq``;
* ``max()``: the highest instance this peer knows of; ``min()``: one more than the lowest
  Done value of all peers as far as this peer knows; instances below it are forgotten.

Forgetting: every message carries its sender's Done value; a peer keeps the highest Done it
has heard of per peer, and when their minimum rises it deletes all state of the instances
below (acceptor, proposer and learner) and refuses them from then on. A forgotten instance
stays forgotten: ``start`` on it does nothing and acceptors answer ``forgotten``.

That is the lab's rule (``forget="all"``): nothing is forgotten until *every* peer is done,
so one peer that is down holds everyone's memory. A host that can bring a lagging peer up to
date another way (the replicated log sends it a snapshot) uses ``forget="own"``: a peer
forgets the instances below its *own* Done at once. Forgetting is refusing to take part
(an acceptor that forgot answers ``forgotten``, never a promise), so it never endangers
agreement; it only means that a peer which still needs a forgotten instance cannot learn it
through Paxos. In this mode a ``forgotten`` reply counts as a refusal, and the highest floor
heard from the others is kept in ``peer_floor`` for the host to act on.

Durability: everything an acceptor promised or accepted, every decided value, every started
proposal and the Done values are saved through ``ctx.persister`` before any reply that
depends on them leaves, so a crashed and restarted peer continues where it stopped. The
saved state is one codec-encoded map (``{"dones", "floor", "max", "app", "inst"}``) whose
``inst`` holds one encoded record per instance; only changed records are re-encoded
(:mod:`.records`).
``retained_bytes()`` measures the instance state held in memory (codec bytes), the measure
behind the lab's "memory at most half after Done".

Abstract state (``abstract_state()``, recorded in traces for the TLA+ check), a JSON object:

* ``acceptor``: ``{seq: {"promised": b, "accepted": b, "value": v}}`` per instance this
  acceptor holds state for (ballot -1 = none, value null when nothing was accepted);
* ``decided``: ``{seq: value}``, the values this peer's learner knows were chosen;
* ``proposer``: ``{seq: {"ballot": b, "phase": "prepare"|"accept"|"wait", "value": v}}`` for
  the instances this peer is proposing (``value`` is the value sent in phase 2 once in
  ``accept``, else the value it was asked to propose);
* ``dones``: the Done value this peer knows for each peer, in peer order; ``floor``: the
  forgetting floor (``min()``); ``max``: ``max()``.

Instance numbers (JSON object keys) are strings in the trace, as JSON requires.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from faultlab.paxos.acceptor import Acceptor
from faultlab.paxos.learner import ANNOUNCE_TIMER, Learner
from faultlab.paxos.messages import (
    DECIDED,
    FORGOTTEN,
    PAXOS_MESSAGES,
    PaxosAccept,
    PaxosAcceptReply,
    PaxosDecided,
    PaxosDecidedAck,
    PaxosPrepare,
    PaxosPrepareReply,
)
from faultlab.paxos.proposer import Proposer
from faultlab.paxos.records import InstanceRecords
from faultlab.sim import codec
from faultlab.sim.messages import is_reply
from faultlab.sim.node import Context

__all__ = ["Paxos", "Fate", "FORMAT"]

FORMAT = 1
_PROPOSE_PREFIX = "paxos:propose:"


class Fate(enum.Enum):
    DECIDED = "decided"
    PENDING = "pending"
    FORGOTTEN = "forgotten"


class Paxos:
    """A Paxos peer embedded in a host node; see the module docstring.

    A seeded bug (faultlab.paxos.bugs) is a subclass that swaps ``acceptor_class`` or
    ``proposer_class`` or overrides :meth:`quorum`."""

    acceptor_class: type[Acceptor] = Acceptor
    proposer_class: type[Proposer] = Proposer

    def __init__(
        self,
        ctx: Context,
        peers: Sequence[str],
        me: int,
        *,
        on_decide: Callable[[int], None] | None = None,
        forget: str = "all",
    ) -> None:
        if forget not in ("all", "own"):
            raise ValueError(f"forget must be 'all' or 'own', not {forget!r}")
        self.ctx = ctx
        self.forget_own = forget == "own"
        self.peers = list(peers)
        self.me = me
        self.npeers = len(self.peers)
        self.index = {name: i for i, name in enumerate(self.peers)}
        self.majority = self.quorum()
        self.on_decide = on_decide
        self.acceptor = self.acceptor_class(self)
        self.proposer = self.proposer_class(self)
        self.learner = Learner(self)
        self.dones = [-1] * self.npeers
        self.floor = 0
        self.peer_floor = 0         # highest floor another peer reported (forget="own")
        self.max_seq = -1
        self.app_state: Any = None  # a host's own durable state, saved with Paxos's
        #                             (replaced to change it, never mutated in place)
        self.rpc_count = 0          # requests received over the network (as the lab counts)
        self._records = InstanceRecords()  # the saved "inst" map, kept encoded
        self._head: tuple[Any, bytes] = (None, b"")  # (what it encodes, the saved head)

    def quorum(self) -> int:
        """How many peers make a majority."""
        return self.npeers // 2 + 1

    # ------------------------------------------------------------------ the 2015 interface

    def start(self, seq: int, value: Any) -> None:
        """Propose ``value`` for instance ``seq``; returns at once."""
        if seq < self.floor or self.learner.knows(seq):
            return
        self._see(seq)
        self.proposer.start(seq, value)

    def status(self, seq: int) -> tuple[Fate, Any]:
        if seq < self.floor:
            return Fate.FORGOTTEN, None
        if seq in self.learner.decided:
            return Fate.DECIDED, self.learner.decided[seq]
        return Fate.PENDING, None

    def done(self, seq: int, *, snapshot: bytes | None = None) -> None:
        """The application is finished with every instance ``<= seq``.

        A host that keeps a snapshot of what those instances did passes it here, so that the
        snapshot and the Done value reach the persister in one save."""
        if seq > self.dones[self.me] or snapshot is not None:
            self.dones[self.me] = max(seq, self.dones[self.me])
            self.save(snapshot=snapshot)
            self._update_floor()

    def max(self) -> int:
        return self.max_seq

    def min(self) -> int:
        return self.floor

    @property
    def my_done(self) -> int:
        return self.dones[self.me]

    # ------------------------------------------------------------------ host events

    def on_start(self) -> None:
        """Load the persisted state and resume proposals and announcements."""
        blob = self.ctx.persister.read_state()
        if blob:
            self._load(codec.decode(blob))
        self.proposer.resume()
        self.learner.resume()

    def on_message(self, src: str, msg: Any) -> bool:
        if not isinstance(msg, PAXOS_MESSAGES):
            return False
        i = self.index.get(src)
        if i is None:
            return True
        if is_reply(msg):
            self._observe_done(i, msg.done)
            self._handle_reply(i, msg)
        else:
            self.rpc_count += 1
            self._observe_done(i, msg.done)
            self.ctx.send(src, self._handle_request(i, msg))
        return True

    def on_timer(self, name: str) -> bool:
        if name == ANNOUNCE_TIMER:
            self.learner.on_timer()
            return True
        if name.startswith(_PROPOSE_PREFIX):
            self.proposer.on_timer(int(name[len(_PROPOSE_PREFIX):]))
            return True
        return False

    def on_send_failed(self, dst: str, msg: Any) -> bool:
        if not isinstance(msg, PAXOS_MESSAGES):
            return False
        i = self.index.get(dst)
        if i is not None and isinstance(msg, (PaxosPrepare, PaxosAccept)):
            self.proposer.on_send_failed(i, msg)
        return True  # a lost Decided is resent by the learner's timer

    # ------------------------------------------------------------------ plumbing for roles

    def send(self, i: int, msg: Any) -> None:
        self.ctx.send(self.peers[i], msg)

    def broadcast(self, msg: PaxosPrepare | PaxosAccept) -> None:
        """Send a proposer request to every peer; this peer's acceptor answers locally."""
        for i in range(self.npeers):
            if i != self.me:
                self.send(i, msg)
        self._handle_reply(self.me, self._handle_request(self.me, msg))

    def _handle_request(self, i: int, msg: Any) -> Any:
        seq = msg.seq
        self._see(seq)
        if isinstance(msg, PaxosDecided):
            return self.learner.on_decided(i, msg)
        if isinstance(msg, PaxosPrepare):
            if seq < self.floor:
                return PaxosPrepareReply(seq, msg.n, FORGOTTEN, -1, -1, None, self.floor,
                                         self.my_done)
            if self.learner.knows(seq):
                return PaxosPrepareReply(seq, msg.n, DECIDED, -1, -1, self.learner.decided[seq],
                                         self.floor, self.my_done)
            status, promised, accepted, value = self.acceptor.prepare(seq, msg.n)
            return PaxosPrepareReply(seq, msg.n, status, promised, accepted, value, self.floor,
                                     self.my_done)
        if isinstance(msg, PaxosAccept):
            if seq < self.floor:
                return PaxosAcceptReply(seq, msg.n, FORGOTTEN, -1, self.floor, self.my_done)
            status, promised = self.acceptor.accept(seq, msg.n, msg.value)
            return PaxosAcceptReply(seq, msg.n, status, promised, self.floor, self.my_done)
        raise TypeError(f"not a Paxos request: {msg!r}")

    def _handle_reply(self, i: int, msg: Any) -> None:
        if isinstance(msg, PaxosPrepareReply):
            self.proposer.on_prepare_reply(i, msg)
        elif isinstance(msg, PaxosAcceptReply):
            self.proposer.on_accept_reply(i, msg)
        elif isinstance(msg, PaxosDecidedAck):
            self.learner.on_ack(i, msg)

    def decided_hook(self, seq: int) -> None:
        if self.on_decide is not None:
            self.on_decide(seq)

    def _see(self, seq: int) -> None:
        if seq > self.max_seq:
            self.max_seq = seq

    # ------------------------------------------------------------------ forgetting

    def _observe_done(self, i: int, done: int) -> None:
        if done > self.dones[i]:
            self.dones[i] = done
            self._update_floor()

    def heard_forgotten(self, floor: int) -> None:
        """Another peer answered ``forgotten``: it holds nothing below ``floor``.

        Under the lab's rule every peer's Done is then at least ``floor - 1``, so this peer
        forgets too; under ``forget="own"`` that peer was merely done itself, and this one
        only notes it (``peer_floor``)."""
        if self.forget_own:
            self.peer_floor = max(self.peer_floor, floor)
        else:
            self.raise_floor(floor)

    def raise_floor(self, floor: int) -> None:
        """Every peer's Done is at least ``floor - 1`` (or, under ``forget="own"``, this
        peer's host installed a state covering the instances below ``floor``): forget them."""
        if self.forget_own:
            self.dones[self.me] = max(self.dones[self.me], floor - 1)
            self._update_floor()
            return
        changed = False
        for i in range(self.npeers):
            if self.dones[i] < floor - 1:
                self.dones[i] = floor - 1
                changed = True
        if changed:
            self._update_floor()

    def _update_floor(self) -> None:
        floor = (self.dones[self.me] if self.forget_own else min(self.dones)) + 1
        if floor <= self.floor:
            return
        self.floor = floor
        self.acceptor.forget_below(floor)
        self.proposer.forget_below(floor)
        self.learner.forget_below(floor)
        self._records.forget_below(floor)
        self.save()

    def retained_bytes(self) -> int:
        """Bytes (codec encoding) of the per-instance state this peer holds in memory."""
        return codec.encoded_size((
            {s: a.as_tuple() for s, a in self.acceptor.instances.items()},
            self.learner.decided,
            {s: sorted(w) for s, w in self.learner.unacked.items()},
            {s: (p.value, p.proposing) for s, p in self.proposer.proposals.items()},
        ))

    # ------------------------------------------------------------------ persistence

    def save(self, seqs: int | Iterable[int] | None = None, snapshot: bytes | None = None) -> None:
        """Write the durable state (re-encoding the records of ``seqs``) to the persister."""
        if isinstance(seqs, int):
            seqs = (seqs,)
        for seq in seqs or ():
            if seq < self.floor:
                continue
            record = (self.acceptor.durable(seq), self.learner.durable(seq),
                      self.proposer.durable(seq))
            self._records.put(seq, None if record == (None, None, None) else codec.encode(record))
        self.ctx.persister.save(self._records.encode_into(self._encoded_head()), snapshot)

    def _encoded_head(self) -> bytes:
        """The saved state without its instances; encoded again only when it changed (most
        saves change one instance's record and nothing here)."""
        app = self.app_state
        key = (tuple(self.dones), self.floor, self.max_seq,
               tuple(app.items()) if isinstance(app, dict) else app)
        if key != self._head[0]:
            self._head = (key, codec.encode({
                "format": FORMAT, "dones": self.dones, "floor": self.floor,
                "max": self.max_seq, "app": app, "inst": {}}))
        return self._head[1]

    def _load(self, saved: dict) -> None:
        self.dones = list(saved["dones"])
        self.floor = saved["floor"]
        self.max_seq = saved["max"]
        self.app_state = saved["app"]
        for seq, raw in saved["inst"].items():
            self._records.put(seq, raw)
            acc, learned, proposal = codec.decode(raw)
            if acc is not None:
                self.acceptor.restore(seq, acc)
            if learned is not None:
                self.learner.restore(seq, learned)
            if proposal is not None:
                self.proposer.restore(seq, proposal)

    # ------------------------------------------------------------------ observation

    def abstract_state(self) -> dict[str, Any]:
        """The traced state; fields are documented in the module docstring."""
        return {
            "acceptor": {s: {"promised": a.promised, "accepted": a.accepted, "value": a.value}
                         for s, a in sorted(self.acceptor.instances.items())},
            "decided": dict(sorted(self.learner.decided.items())),
            "proposer": {s: {"ballot": p.n, "phase": p.phase,
                             "value": p.proposing if p.phase == "accept" else p.value}
                         for s, p in sorted(self.proposer.proposals.items())},
            "dones": list(self.dones),
            "floor": self.floor,
            "max": self.max_seq,
        }

    def fingerprint(self) -> Any:
        """Everything volatile and durable that decides this peer's future (encodable)."""
        return (
            self.abstract_state(),
            {s: a.durable_promised for s, a in self.acceptor.instances.items()},
            {s: sorted(w) for s, w in self.learner.unacked.items()},
            {s: (p.value, p.attempt, p.highest, sorted(p.promises.items()), sorted(p.accepted),
                 sorted(p.refused)) for s, p in self.proposer.proposals.items()},
        )
