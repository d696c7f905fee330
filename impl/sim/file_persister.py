"""The real transport's stable storage: the Persister's state and snapshot in one file per node,
as an append-only log of whole saves.

Why a log: rewriting the file on every save (a new file, fsync, rename, fsync the folder)
costs two fsyncs and two metadata changes per save, and a server that saves on every
request spent most of its time there. Appending a record and one ``fdatasync`` is several
times cheaper; the file is rewritten only now and then (compaction), when it has grown to
several times the size of what it holds.

Format: ``MAGIC``, then records; a record is a header (payload length, CRC-32 of the
payload) and a payload (state length, whether a snapshot follows, the state, the snapshot).
A record without a snapshot keeps the previous one: every save replaces the whole state, so
the last valid record's state, with the snapshot of the last record that carried one, is
the last save. A compaction writes ``MAGIC`` and one record holding both to a temporary
file, fsyncs it, renames it over the log and fsyncs the folder.

Crash safety: a crash leaves the old state or the new one, never a mix, and never loses a
save whose :meth:`FilePersister.save` (or :meth:`~FilePersister.flush`) returned:

* a record is appended only after the previous one was fdatasynced, so only the last
  record can be incomplete; a torn record fails its length or CRC check (a false pass has
  probability 2**-32), and reading stops before it: the state is the previous save's. The
  writer truncates such a tail before its next append, so later records are never hidden
  behind it;
* the save returns once ``fdatasync`` did, which makes the data and the file's new length
  durable: the record is then read back after any crash;
* a compaction replaces the file by rename, which is atomic: the old log or the new file,
  each complete; the folder's fsync makes the rename itself durable before the next append.

A file that does not start with ``MAGIC`` is read as the earlier format (the whole
``codec.encode((state, snapshot))``) and rewritten as a log; one that is neither is an
OSError naming it corrupt.
"""

from __future__ import annotations

import contextlib
import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

from faultlab.sim import codec
from faultlab.sim.persister import Persister, State

__all__ = ["FilePersister", "MAGIC", "COMPACT_MIN"]

MAGIC = b"faultlab-persister-log 1\n"
COMPACT_MIN = 1 << 20      # bytes of log before a compaction is considered
COMPACT_FACTOR = 8         # ... and more than this many times what the last compaction wrote
_HEAD = struct.Struct(">II")    # payload length, crc32(payload)
_BODY = struct.Struct(">QB")    # state length, 1 if a snapshot follows the state
_fdatasync = getattr(os, "fdatasync", os.fsync)


def record(state: bytes, snapshot: bytes | None) -> bytes:
    """One save as a log record (``snapshot`` None: the previous one stays)."""
    body = _BODY.pack(len(state), snapshot is not None)
    payload = b"".join((body, state, snapshot or b""))
    return _HEAD.pack(len(payload), zlib.crc32(payload)) + payload


def read_log(data: bytes) -> tuple[bytes, bytes, int] | None:
    """(state, snapshot, end of the last valid record) of a log file's bytes; None when it
    holds no valid record."""
    view = memoryview(data)
    pos, found = len(MAGIC), None
    state, snapshot = b"", b""
    while pos + _HEAD.size <= len(data):
        n, crc = _HEAD.unpack_from(data, pos)
        start, end = pos + _HEAD.size, pos + _HEAD.size + n
        if n < _BODY.size or end > len(data) or zlib.crc32(view[start:end]) != crc:
            break
        size, has_snapshot = _BODY.unpack_from(data, start)
        body_end = start + _BODY.size + size
        if body_end > end or has_snapshot > 1:
            break
        state = bytes(view[start + _BODY.size:body_end])
        if has_snapshot:
            snapshot = bytes(view[body_end:end])
        pos = found = end
    return None if found is None else (state, snapshot, found)


class FilePersister(Persister):
    """A persister on disk with the in-memory Persister's methods (see the module docstring).

    With ``on_dirty`` (the runtime's group commit), :meth:`save` only keeps the new state in
    memory, marks it ``pending`` and calls ``on_dirty`` once; :meth:`flush` then writes the
    latest state, one record and one fdatasync for every save since the last flush. The
    caller must hold back whatever depends on a pending state until the flush returns.
    Without it, every save is on disk before it returns."""

    __slots__ = ("folder", "path", "on_dirty", "pending", "flushes", "_fd", "_end",
                 "_compact_at", "_snapshot_dirty")

    def __init__(self, folder: str | Path, name: str = "persist",
                 on_dirty: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / f"{name}.bin"
        self.on_dirty = on_dirty
        self.pending = False
        self.flushes = 0             # records or compactions written
        self._fd: int | None = None  # the log, opened for appending at the first write
        self._end = 0                # end of the last valid record (0: no log yet)
        self._compact_at = 0
        self._snapshot_dirty = False
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        data = self.path.read_bytes()
        if data.startswith(MAGIC):
            found = read_log(data)
            if found is None:
                raise OSError(f"{self.path}: corrupt persister file (no valid record)")
            state, self._snapshot, self._end = found
        else:  # the earlier format: one encoded pair
            try:
                state, self._snapshot = codec.decode(data)
            except (codec.CodecError, ValueError) as e:
                raise OSError(f"{self.path}: corrupt persister file ({e})") from None
            if type(state) is not bytes or type(self._snapshot) is not bytes:
                raise OSError(f"{self.path}: corrupt persister file (not a state pair)")
            self._snapshot_dirty = True  # rewritten as a log at the first write
        self._set_state(state)
        self._compact_at = max(COMPACT_MIN, COMPACT_FACTOR * self._end)

    def save(self, state: State, snapshot: bytes | None = None) -> None:
        super().save(state, snapshot)
        if snapshot is not None:
            self._snapshot_dirty = True
        if self.on_dirty is None:
            self._write()
        elif not self.pending:
            self.pending = True
            self.on_dirty()

    def flush(self) -> None:
        """Write the state of the saves since the last flush, if any (group commit)."""
        if self.pending:
            self._write()
            self.pending = False

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    # ------------------------------------------------------------------ writing

    def _write(self) -> None:
        if self._end and self._end < self._compact_at and (self._fd is not None
                                                           or self._open_log()):
            self._append(record(self.read_state(),
                                self._snapshot if self._snapshot_dirty else None))
        else:
            self._compact()
        self._snapshot_dirty = False
        self.flushes += 1

    def _open_log(self) -> bool:
        """Open the log for appending, cutting a torn tail; False if it is not ours to
        append to (it changed since it was read)."""
        fd = os.open(self.path, os.O_WRONLY)
        if os.fstat(fd).st_size < self._end:
            os.close(fd)
            return False
        if os.fstat(fd).st_size > self._end:
            os.ftruncate(fd, self._end)
            os.fsync(fd)
        os.lseek(fd, self._end, os.SEEK_SET)
        self._fd = fd
        return True

    def _append(self, rec: bytes) -> None:
        assert self._fd is not None
        view = memoryview(rec)
        while view:
            view = view[os.write(self._fd, view):]
        _fdatasync(self._fd)
        self._end += len(rec)

    def _compact(self) -> None:
        """Write the whole state and snapshot as a fresh log (temporary file, fsync, rename,
        fsync the folder), and append to it from now on."""
        self.close()
        data = MAGIC + record(self.read_state(), self._snapshot)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        fd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        self._end = len(data)
        self._compact_at = max(COMPACT_MIN, COMPACT_FACTOR * len(data))
        self._fd = os.open(self.path, os.O_WRONLY)
        os.lseek(self._fd, self._end, os.SEEK_SET)
