"""A replicated state machine: a server that runs a deterministic state machine on a
consensus log, the generic layer below the key/value service (the 2025 labs' ``rsm``).

The server never applies a command it was sent. It proposes it (:meth:`ReplicatedServer.
submit`), and every replica applies every command in the order the log commits them,
including its own when they come back. A request is answered only by the replica that
proposed it, and only once its proposal's outcome is known (:class:`faultlab.consensus.
Proposals`): COMMITTED at its index, with the result the state machine gave there; LOST or
UNKNOWN, with "retry". Because the state machine's duplicate table makes a retried write
harmless, "retry" is always safe to say.

Compaction: with ``maxraftstate`` >= 0, once the log's persisted state reaches that many
bytes, the server hands the log a snapshot of the state machine at the last applied index
(the log then drops what it covers). After a restart the state machine is rebuilt from what
the log hands back: the snapshot, then the commands after it.

Which engine is below is an argument (``engine``: "raft", "paxos", or a class keeping the
contract); nothing here names either.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from faultlab.consensus import ApplyMsg, ConsensusLog, Outcome, Proposals, make_log
from faultlab.sim.node import Node

__all__ = ["StateMachine", "ReplicatedServer", "WATCH_TIMER", "WATCH_INTERVAL"]

WATCH_TIMER = "rsm:watch"
WATCH_INTERVAL = 0.05   # how often a server with proposals in flight looks at its term


class StateMachine(Protocol):
    """What a replicated service keeps: deterministic, and whole in its snapshot."""

    def apply(self, command: Any) -> Any: ...
    def snapshot(self) -> bytes: ...
    def restore(self, data: bytes) -> None: ...


class ReplicatedServer(Node):
    """Base class of a replicated service's server; subclasses give the state machine
    (:meth:`make_state_machine`), handle requests (:meth:`on_request`) and answer them
    (:meth:`answer`)."""

    log: ConsensusLog
    sm: StateMachine
    _held: list[ApplyMsg] | None   # what the log applied during the current start()

    def __init__(self, peers: Sequence[str], *, engine: str | type = "raft",
                 maxraftstate: int = -1) -> None:
        self.peers = tuple(peers)
        self.engine = engine
        self.maxraftstate = maxraftstate

    # ------------------------------------------------------------------ for subclasses

    def make_state_machine(self) -> StateMachine:
        raise NotImplementedError

    def on_request(self, src: str, msg: Any) -> None:
        """A message that is not the log's: a clerk's request, usually."""

    def answer(self, waiter: Any, outcome: Outcome, result: Any) -> None:
        """The outcome of the proposal made for ``waiter`` is known; ``result`` is what the
        state machine returned for it (None unless COMMITTED)."""

    def on_own_timer(self, name: str) -> None:
        """A timer that is neither the log's nor the watch."""

    # ------------------------------------------------------------------ the replication

    def on_start(self) -> None:
        self.sm = self.make_state_machine()
        self.applied_index = 0
        self.snapshot_index = 0
        self._held = None
        self.proposals: Proposals[Any] = Proposals()
        self.log = make_log(self.engine, self.ctx, self.peers, self.ctx.name, self.apply)
        self.log.on_start()

    def submit(self, command: Any, waiter: Any) -> bool:
        """Propose ``command``; ``answer(waiter, ...)`` follows once its outcome is known.
        False (and no answer) when this server does not take proposals now.

        A log may commit inside ``start`` (a cluster of one server does): what it applies
        then is held until the proposal is known, so its waiter is answered too."""
        self._held = []
        try:
            index, term, ok = self.log.start(command)
        finally:
            held, self._held = self._held, None
        if ok:
            if not self.proposals:
                self.ctx.set_timer(WATCH_TIMER, WATCH_INTERVAL)
            self.proposals.add(index, term, waiter)
        for msg in held:
            self.apply(msg)
        return ok

    def apply(self, msg: ApplyMsg) -> None:
        """Everything the log commits, in order; see the module docstring."""
        if self._held is not None:
            self._held.append(msg)
            return
        result = None
        if msg.snapshot_valid:
            self.sm.restore(msg.snapshot)
            self.applied_index = self.snapshot_index = msg.snapshot_index
        elif msg.command_valid:
            result = self.sm.apply(msg.command)
            self.applied_index = msg.command_index
        for waiter, outcome in self.proposals.applied(msg):
            self.answer(waiter, outcome, result if outcome is Outcome.COMMITTED else None)
        self.compact()

    def compact(self) -> None:
        """Snapshot once the log's persisted state reaches ``maxraftstate`` bytes."""
        if 0 <= self.maxraftstate <= self.log.state_size() and self.applied_index > 0:
            self.log.snapshot(self.applied_index, self.sm.snapshot())
            self.snapshot_index = self.applied_index

    def status(self) -> dict[str, Any]:
        """What a person watching a real server wants told when it changes (the real
        transport writes each change as one line): term, whether it leads, whom it believes
        leads, where its last snapshot is."""
        term, leading = self.log.get_state()
        return {"term": term, "role": "leader" if leading else "follower",
                "leader": self.log.leader_hint() or "unknown",
                "snapshot": self.snapshot_index}

    def _watch(self) -> None:
        """With proposals in flight: those of a term that is over will never be answered by
        the log in time (or at all), so they are answered "unknown" now."""
        for waiter, outcome in self.proposals.term_moved(*self.log.get_state()):
            self.answer(waiter, outcome, None)
        if self.proposals:
            self.ctx.set_timer(WATCH_TIMER, WATCH_INTERVAL)

    # ------------------------------------------------------------------ events

    def on_message(self, src: str, msg: Any) -> None:
        if not self.log.on_message(src, msg):
            self.on_request(src, msg)

    def on_timer(self, name: str) -> None:
        if name == WATCH_TIMER:
            self._watch()
        elif not self.log.on_timer(name):
            self.on_own_timer(name)

    def on_send_failed(self, dst: str, msg: Any) -> None:
        self.log.on_send_failed(dst, msg)

    def fingerprint_state(self) -> Any:
        return (self.sm.snapshot(), self.log.fingerprint_state(), self.applied_index,
                len(self.proposals))
