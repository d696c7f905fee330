"""The consensus-log interface that Raft and the Paxos log both provide.

A replicated service (impl/kv, impl/shard) embeds one log component in its server node and
forwards to it the events the log owns; it never knows which protocol is underneath::

    class KVServer(Node):
        def on_start(self):
            self.log = make_log(self.ctx, peers, me, apply=self.apply)   # Raft or PaxosLog
            self.log.on_start()
        def on_message(self, src, msg):
            if not self.log.on_message(src, msg):
                ...  # a clerk request
        def on_timer(self, name):
            if not self.log.on_timer(name):
                ...

Contract:

* ``start(command) -> (index, term, is_leader)``: propose ``command``. When ``is_leader`` is
  False the proposal was not accepted here; try another server. Otherwise ``(index, term)``
  identifies the proposal: it succeeded if and only if the :class:`ApplyMsg` for ``index``
  carries ``command_term == term``. A different term at that index (or a newer term seen in
  ``get_state`` while it is pending) tells the service its proposal was lost.
* The ``apply`` callback receives every committed command exactly once per incarnation, in
  index order with no gaps, or a snapshot to install (then commands continue after it).
* ``snapshot(index, data)``: the service has applied everything up to ``index`` and ``data``
  captures it; the log may drop its prefix and persists ``data`` with its own state in one
  save (``ctx.persister.save(state, snapshot)``).
* Timer names and message classes of the log are its own (timer names start with the
  protocol's name and a colon); ``on_message``/``on_timer`` return False for others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["ApplyMsg", "ConsensusLog"]


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
    def on_start(self) -> None: ...
    def on_message(self, src: str, msg: Any) -> bool: ...
    def on_timer(self, name: str) -> bool: ...
    def start(self, command: Any) -> tuple[int, int, bool]: ...
    def get_state(self) -> tuple[int, bool]: ...
    def snapshot(self, index: int, data: bytes) -> None: ...
    def state_size(self) -> int: ...
