"""The consensus contract: what a replicated service may rely on, whichever engine is below.

Raft (:class:`faultlab.raft.raft.Raft`) and the Paxos log (:class:`faultlab.paxos.log.PaxosLog`)
both keep it, and ``tests/consensus/`` runs one suite against each. A service embeds one log
in its server node, built by :func:`make_log` from the same arguments for either engine, and
forwards to it the events the log owns; it never names the engine::

    class Server(Node):
        def on_start(self):
            self.log = make_log(self.engine, self.ctx, peers, self.ctx.name, self.apply)
            self.log.on_start()          # may call apply() at once (the restart rule)
        def on_message(self, src, msg):
            if not self.log.on_message(src, msg):
                ...                      # a clerk's request
        def on_timer(self, name):
            self.log.on_timer(name)
        def on_send_failed(self, dst, msg):
            self.log.on_send_failed(dst, msg)

The contract:

* **Propose.** ``start(command) -> (index, term, is_leader)``. Any value the codec encodes is
  a command, ``None`` included. ``is_leader`` False: this server does not take proposals now;
  try :meth:`ConsensusLog.leader_hint` or another server. Otherwise ``(index, term)`` names
  the proposal.
* **Apply.** The ``apply`` callback receives :class:`ApplyMsg` values: each committed command
  exactly once per incarnation, in increasing index order, or a snapshot to install (the
  commands that follow have higher indexes). Indexes may skip: the engine's own entries
  (Paxos's no-ops filling holes) never reach the service.
* **Outcome of a proposal** (:class:`Proposals` does this bookkeeping): COMMITTED when an
  ApplyMsg at its index carries its term; LOST when that index is applied with another term,
  or skipped (indexes past it are applied and it never was); UNKNOWN when a snapshot covers
  its index, or when the server's term moves on (``get_state``) or it stops leading before the
  index applies: the command may or may not be in the log, so the service answers "retry" and
  its duplicate detection makes the retry safe.
* **Restart.** After a crash the new incarnation's log hands the persisted snapshot (if any)
  to ``apply`` during ``on_start``, then the committed commands after it, as they commit.
  The service keeps no state of its own across restarts: everything comes back through
  ``apply``.
* **Compaction.** ``snapshot(index, data)``: the service has applied everything up to
  ``index`` and ``data`` captures it. The log persists ``data`` with its own state in one save
  (``ctx.persister.save(state, snapshot)``) and drops what ``data`` covers, so
  ``state_size()`` (the persisted bytes beside the snapshot) shrinks to what came after
  ``index``. A service that snapshots whenever ``state_size()`` reaches a bound keeps the
  persisted state near that bound on both engines, also while a peer is down: a peer that
  needs what was dropped gets the snapshot instead (Raft's InstallSnapshot; the Paxos log's
  snapshot transfer), through ``apply``.
* **Leader hint.** ``leader_hint()`` names the server believed to take proposals (Raft: the
  leader it last heard from, or itself; Paxos: itself, every peer proposes), or None.
* **Events.** Message classes and timer names are the engine's own (timer names start with
  the engine's name and a colon); ``on_message``, ``on_timer`` and ``on_send_failed`` return
  False for what is not the log's.
"""

from __future__ import annotations

import enum
import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from faultlab.sim.node import Context

__all__ = ["ApplyMsg", "ConsensusLog", "ENGINES", "Outcome", "Proposals", "make_log"]


@dataclass(frozen=True, slots=True)
class ApplyMsg:
    """One committed command, or one snapshot to install (the labs' ApplyMsg)."""

    command_valid: bool = False
    command: Any = None
    command_index: int = 0
    command_term: int = 0
    snapshot_valid: bool = False
    snapshot: bytes = b""
    snapshot_term: int = 0
    snapshot_index: int = 0


class ConsensusLog(Protocol):
    """The interface both engines offer; see the module docstring for the promises."""

    def on_start(self) -> None: ...
    def on_message(self, src: str, msg: Any) -> bool: ...
    def on_timer(self, name: str) -> bool: ...
    def on_send_failed(self, dst: str, msg: Any) -> bool: ...
    def start(self, command: Any) -> tuple[int, int, bool]: ...
    def get_state(self) -> tuple[int, bool]: ...
    def leader_hint(self) -> str | None: ...
    def snapshot(self, index: int, data: bytes) -> None: ...
    def state_size(self) -> int: ...
    def fingerprint_state(self) -> Any:
        """Everything that decides the log's future, encodable (for World fingerprints)."""
        ...


#: The engines by name, as ``module:Class`` (imported when first built).
ENGINES: dict[str, str] = {
    "raft": "faultlab.raft.raft:Raft",
    "paxos": "faultlab.paxos.log:PaxosLog",
}


def make_log(engine: str | type, ctx: Context, peers: Sequence[str], me: str,
             apply: Callable[[ApplyMsg], None]) -> ConsensusLog:
    """Build a consensus log: ``engine`` is a name of :data:`ENGINES` or a class taking the
    same arguments (a seeded-bug variant, say). ``peers`` names every server, ``me`` too."""
    if isinstance(engine, str):
        try:
            module, _, name = ENGINES[engine].partition(":")
        except KeyError:
            raise ValueError(f"unknown consensus engine {engine!r}; "
                             f"known: {', '.join(ENGINES)}") from None
        engine = getattr(importlib.import_module(module), name)
    if me not in peers:
        raise ValueError(f"{me!r} is not one of the peers {list(peers)}")
    return engine(ctx, peers, me, apply)


class Outcome(enum.Enum):
    """What became of a proposal (see the module docstring)."""

    COMMITTED = "committed"
    LOST = "lost"
    UNKNOWN = "unknown"


W = TypeVar("W")


class Proposals(Generic[W]):
    """The proposals a server made and still waits for, resolved as the log applies.

    ``add(index, term, waiter)`` after a successful ``start``; feed every ApplyMsg to
    :meth:`applied` and, when the engine's term or leadership may have changed, call
    :meth:`term_moved`. Each returns the waiters whose outcome is now known.
    """

    def __init__(self) -> None:
        self._by_index: dict[int, list[tuple[int, W]]] = {}

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_index.values())

    def add(self, index: int, term: int, waiter: W) -> None:
        self._by_index.setdefault(index, []).append((term, waiter))

    def applied(self, msg: ApplyMsg) -> list[tuple[W, Outcome]]:
        if msg.snapshot_valid:
            return self._resolve(msg.snapshot_index, lambda i, t: Outcome.UNKNOWN)
        if not msg.command_valid:
            return []
        at, term = msg.command_index, msg.command_term
        return self._resolve(at, lambda i, t: Outcome.COMMITTED if i == at and t == term
                             else Outcome.LOST)

    def term_moved(self, term: int, is_leader: bool) -> list[tuple[W, Outcome]]:
        """Every proposal made in another term, or all when this server no longer leads."""
        done: list[tuple[W, Outcome]] = []
        for index in list(self._by_index):
            keep = []
            for t, w in self._by_index[index]:
                if is_leader and t == term:
                    keep.append((t, w))
                else:
                    done.append((w, Outcome.UNKNOWN))
            if keep:
                self._by_index[index] = keep
            else:
                del self._by_index[index]
        return done

    def clear(self) -> list[W]:
        """Forget every waiter (the server is going away); returns them."""
        waiters = [w for v in self._by_index.values() for _, w in v]
        self._by_index.clear()
        return waiters

    def _resolve(self, upto: int, outcome: Callable[[int, int], Outcome]
                 ) -> list[tuple[W, Outcome]]:
        done: list[tuple[W, Outcome]] = []
        for index in sorted(i for i in self._by_index if i <= upto):
            for t, w in self._by_index.pop(index):
                done.append((w, outcome(index, t)))
        return done
