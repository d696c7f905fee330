"""The instance records a Paxos peer saves, kept encoded so that a save is cheap.

A peer writes its whole durable state after every change (the persister holds one blob, as
the lab's did), and that state holds one record per instance it has not forgotten. Encoding
every record at every save costs the number of instances, so a service without compaction
slows down as its log grows. Records change almost only near the newest instances: a record
is encoded once when it changes, and the records below a *mark* well behind the newest are
joined once into chunks of a prefix that later saves reuse. The state goes to the persister
in pieces (joined only when read), so a save copies neither the prefix nor the records. A
change below the mark (a late prepare for an old instance, forgetting) drops the prefix,
which the next saves rebuild.
"""

from __future__ import annotations

from faultlab.sim import codec

__all__ = ["InstanceRecords"]

# records within this many instances of the newest are joined at each save; older ones
# are joined into the prefix once they are this far behind
_TAIL = 64


class InstanceRecords:
    """``seq -> record bytes`` as saved in the peer's ``inst`` map, with the map's encoding."""

    def __init__(self) -> None:
        self._pairs: dict[int, bytes] = {}  # seq -> encode(seq) + encode(record)
        self._top = -1                       # highest seq that ever had a record
        self._mark = 0                        # the prefix holds every record with seq < mark
        self._low = 0                         # and none below low (forgotten)
        self._chunks: list[bytes] = []        # the prefix, in joined chunks

    def __len__(self) -> int:
        return len(self._pairs)

    def put(self, seq: int, record: bytes | None) -> None:
        """Set (or with None, delete) the record of instance ``seq``."""
        if seq < self._mark:
            self._drop_prefix()
        if record is None:
            self._pairs.pop(seq, None)
            return
        self._pairs[seq] = codec.encode(seq) + codec.encode(record)
        self._top = max(self._top, seq)

    def forget_below(self, floor: int) -> None:
        """Delete every record of an instance below ``floor``."""
        for seq in [s for s in self._pairs if s < floor]:
            del self._pairs[seq]
        if floor > self._low:
            self._low = floor
            self._drop_prefix()

    def encode_into(self, head: bytes) -> tuple[bytes, ...]:
        """``head`` (the peer's state, ending with ``"inst": {}``) with the map filled in, in
        pieces (the persister joins them when the state is read)."""
        self._advance_mark()
        pairs = self._pairs
        tail = [pairs[s] for s in range(self._mark, self._top + 1) if s in pairs]
        return codec.last_pieces(head, len(pairs), (*self._chunks, *tail))

    def _advance_mark(self) -> None:
        target = self._top - _TAIL
        if target - self._mark < _TAIL:
            return
        start = max(self._mark, self._low)
        added = [self._pairs[s] for s in range(start, target) if s in self._pairs]
        self._chunks.append(b"".join(added))
        self._mark = target

    def _drop_prefix(self) -> None:
        self._mark = self._low
        self._chunks = []

