"""Stable storage of one node, as the labs' Persister: a state blob and a snapshot blob.

Both are saved together in one step (a crash never separates a snapshot from the state that
refers to it), and their sizes are observable because the labs bound them. A crashed node's
persister survives; the World hands a *copy* to the next incarnation and detaches the old
one, so writes a dead incarnation still makes are discarded.

A state may be saved as its pieces in order (a tuple of bytes), joined only when it is read:
a node that saves a growing log after every change hands the same large pieces again and
again (their encodings cached), and joining them at every save would copy the whole log each
time. A crash-and-restart reads the state once; sizes are known without joining.
"""

from __future__ import annotations

__all__ = ["Persister", "State", "joined"]

State = bytes | tuple[bytes, ...]


def joined(state: State) -> bytes:
    """The bytes of a state given whole or in pieces."""
    return state if type(state) is bytes else b"".join(state)


class Persister:
    """In-memory persister; the real transport has a file-backed one with the same methods."""

    __slots__ = ("_state", "_size", "_snapshot", "writes", "detached")

    def __init__(self, state: State = b"", snapshot: bytes = b"") -> None:
        self._set_state(state)
        self._snapshot = bytes(snapshot)
        self.writes = 0
        self.detached = False

    def _set_state(self, state: State) -> None:
        if isinstance(state, tuple):
            self._state: State = state
            self._size = sum(map(len, state))
        else:
            self._state = bytes(state)
            self._size = len(self._state)

    def save(self, state: State, snapshot: bytes | None = None) -> None:
        """Replace the state (and the snapshot, when given) in one atomic step."""
        if self.detached:
            return
        self._set_state(state)
        if snapshot is not None:
            self._snapshot = bytes(snapshot)
        self.writes += 1

    def read_state(self) -> bytes:
        if type(self._state) is not bytes:
            self._state = joined(self._state)
        return self._state

    def read_snapshot(self) -> bytes:
        return self._snapshot

    def state_size(self) -> int:
        return self._size

    def snapshot_size(self) -> int:
        return len(self._snapshot)

    def copy(self) -> Persister:
        return Persister(self._state, self._snapshot)

    def __deepcopy__(self, memo: dict) -> Persister:
        dup = Persister.__new__(Persister)  # the blobs are immutable bytes: shared
        dup._state, dup._size, dup._snapshot = self._state, self._size, self._snapshot
        dup.writes, dup.detached = self.writes, self.detached
        memo[id(self)] = dup
        return dup

    def __repr__(self) -> str:
        return f"Persister(state={self.state_size()}B, snapshot={self.snapshot_size()}B)"
