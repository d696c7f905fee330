"""The key/value state machine: what every replica does with each command, in log order.

A :class:`KVStore` keeps, per key, a value and a version (the number of writes the key has
had, as the 2025 labs' versioned store does; Get, Put and Append ignore it, the versioned Put
checks it). A missing key reads as "" and has version 0; Append to a missing key acts as a
Put. Writes pass through a :class:`DuplicateTable` first: a clerk sends one call at a time
with increasing sequence numbers and may send a request again, so a write whose number is
not above the clerk's last applied one was applied already, and its recorded result is
returned instead. Gets are never recorded: executing a retried Get again, later in the log,
still answers inside the call's interval.

The store and its duplicate table are the whole replicated state: a snapshot holds both.
"""

from __future__ import annotations

from typing import Any

from faultlab.kv.messages import APPEND, ERR_NO_KEY, ERR_VERSION, GET, OK, PUT, VPUT, Op
from faultlab.sim import codec

__all__ = ["DuplicateTable", "KVStore", "Result"]

Result = tuple[str, str, int]  # (error code, value, version)


class DuplicateTable:
    """Per clerk, the sequence number and result of its last applied write."""

    def __init__(self) -> None:
        self.last: dict[str, tuple[int, str]] = {}

    def seen(self, client: str, seq: int) -> str | None:
        """The recorded error code when (client, seq) was applied already, else None."""
        done = self.last.get(client)
        if done is not None and seq <= done[0]:
            return done[1] if seq == done[0] else OK
        return None

    def record(self, client: str, seq: int, err: str) -> None:
        self.last[client] = (seq, err)

    def dump(self) -> list[tuple[str, int, str]]:
        return sorted((c, s, e) for c, (s, e) in self.last.items())

    def load(self, rows: Any) -> None:
        self.last = {c: (s, e) for c, s, e in rows}


class KVStore:
    """The state machine of the key/value service (see the module docstring)."""

    def __init__(self) -> None:
        self.data: dict[str, tuple[str, int]] = {}
        self.dups = DuplicateTable()
        self._rows: dict[str, bytes] = {}  # key -> encoded (key, value, version), for snapshots

    def apply(self, op: Op) -> Result:
        """Apply one command from the log; its result."""
        if op.kind != GET and op.client:
            err = self.dups.seen(op.client, op.seq)
            if err is not None:
                return err, "", 0
        result = self.execute(op)
        if op.kind != GET and op.client:
            self.dups.record(op.client, op.seq, result[0])
        return result

    def execute(self, op: Op) -> Result:
        value, version = self.data.get(op.key, ("", 0))
        if op.kind == GET:
            return (OK if version else ERR_NO_KEY), value, version
        if op.kind == PUT:
            self._write(op.key, op.value, version + 1)
        elif op.kind == APPEND:
            self._write(op.key, value + op.value, version + 1)
        elif op.kind == VPUT:
            if op.version != version:
                return (ERR_NO_KEY if version == 0 and op.version > 0 else ERR_VERSION), "", 0
            self._write(op.key, op.value, version + 1)
        else:
            raise ValueError(f"unknown operation {op.kind!r}")
        return OK, "", 0

    def _write(self, key: str, value: str, version: int) -> None:
        self.data[key] = (value, version)
        self._rows.pop(key, None)

    def snapshot(self) -> bytes:
        """Duplicate table and store (rows sorted by key), canonically encoded: equal states,
        equal bytes. Each row's encoding is kept until its key is written again, so a
        service that snapshots often does not re-encode every value each time."""
        rows = self._rows
        for key in self.data.keys() - rows.keys():
            value, version = self.data[key]
            rows[key] = codec.encode((key, value, version))
        head = codec.encode((self.dups.dump(), ()))
        return codec.fill_last(head, len(rows), [rows[k] for k in sorted(rows)])

    def restore(self, data: bytes) -> None:
        dups, rows = codec.decode(data)
        self.data = {k: (v, n) for k, v, n in rows}
        self._rows = {}
        self.dups.load(dups)
