"""The one wire encoding of faultlab: compact, self-describing, deterministic.

Every message the simulated network carries is measured in this encoding (the labs' byte
limits are checked against it), every persisted state is stored in it, and the real TCP
transport sends it. It plays the role of the labs' gob: values are copied by value, no
shared references cross the network, and the per-message overhead is a few bytes.

Grammar (one tag byte, then the payload; varints are LEB128, unsigned)::

    0x00 None          0x01 False         0x02 True
    0x03 int           zig-zag varint (any size)
    0x04 float         8 bytes, IEEE 754 big-endian
    0x05 str           varint byte length, UTF-8 bytes
    0x06 bytes         varint length, raw bytes
    0x07 sequence      varint count, items          (list or tuple; decodes as tuple)
    0x08 map           varint count, key, value ... (decodes as dict)
    0x09 record        varint name length, name, varint field count, fields in order
    0x0A set           varint count, items          (decodes as frozenset)

A record is an instance of a class registered with :func:`register` (the ``@message``
decorator does it): its class name, then its dataclass fields positionally. Field names are
never sent, as in gob after the first message of a type. With ``canonical=True`` maps and sets
are written in a fixed order (maps with string keys by key, others by their encoded items), so
equal values encode to equal bytes
(used for fingerprints); message encoding keeps insertion order, which is already
deterministic.
"""

from __future__ import annotations

import dataclasses
import operator
import struct
from typing import Any

__all__ = ["encode", "encode_message", "decode", "encoded_size", "register", "CodecError",
           "fill_last", "last_pieces", "Limits", "DEFAULT_LIMITS", "record_fields", "records"]


class CodecError(ValueError):
    """A value cannot be encoded, or bytes are not a valid encoding."""


_RECORDS: dict[str, type] = {}
_FIELDS: dict[type, tuple[str, ...]] = {}
_HEADERS: dict[type, bytes] = {}  # a record's tag, name and field count, encoded once
_FIELD_VALUES: dict[type, Any] = {}  # a record's field values as a tuple

_NONE, _FALSE, _TRUE, _INT, _FLOAT, _STR, _BYTES, _SEQ, _MAP, _REC, _SET = range(11)
_pack_double = struct.Struct(">d").pack
_unpack_double = struct.Struct(">d").unpack_from


def register(cls: type) -> type:
    """Make a dataclass encodable as a record under its class name."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__name__} must be a dataclass to be encoded")
    known = _RECORDS.get(cls.__name__)
    if known is not None and known.__qualname__ != cls.__qualname__:
        raise TypeError(
            f"two message classes are named {cls.__name__}: "
            f"{known.__module__}.{known.__qualname__} and {cls.__module__}.{cls.__qualname__}"
        )
    _RECORDS[cls.__name__] = cls
    _FIELDS[cls] = fields = tuple(f.name for f in dataclasses.fields(cls))
    header = bytearray([_REC])
    name = cls.__name__.encode()
    _varint(header, len(name))
    header += name
    _varint(header, len(fields))
    _HEADERS[cls] = bytes(header)
    _FIELD_VALUES[cls] = _field_getter(fields)
    return cls


def record_fields(cls: type) -> tuple[str, ...] | None:
    """The field names a registered record class is encoded with; None for any other type."""
    return _FIELDS.get(cls)


def records() -> list[type]:
    """Every registered record class (each ``@message`` class imported so far)."""
    return list(_RECORDS.values())


def _field_getter(fields: tuple[str, ...]) -> Any:
    """A function from a record to the tuple of its field values, in order."""
    if len(fields) == 1:
        name = fields[0]
        return lambda v: (getattr(v, name),)
    if not fields:
        return lambda v: ()
    return operator.attrgetter(*fields)


def _varint(out: bytearray, n: int) -> None:
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


_changes: list[type] = []  # types seen by the current encode that decode would not restore
_SEQ_HEADS = [bytes((_SEQ, n)) for n in range(0x80)]  # a short sequence's tag and count
_STR_BYTES: dict[str, bytes] = {}  # short strings recur (names, keys): encode each once
_INT_BYTES: dict[int, bytes] = {}  # and so do ints (terms, indexes, versions)


def _str_bytes(v: str) -> bytes:
    b = v.encode()
    out = bytearray()
    _tagged(out, _STR, len(b))
    out += b
    if len(b) <= 64 and len(_STR_BYTES) < 1 << 16:
        _STR_BYTES[v] = bytes(out)
    return out


def _int_bytes(v: int) -> bytes:
    out = bytearray()
    _tagged(out, _INT, (v << 1) if v >= 0 else ((-v << 1) - 1))
    if -(1 << 20) < v < 1 << 20 and len(_INT_BYTES) < 1 << 16:
        _INT_BYTES[v] = bytes(out)
    return out


def _tagged(out: bytearray, tag: int, n: int) -> None:
    """A tag byte and a varint, with the common one-byte varint written in one step."""
    if n < 0x80:
        out += bytes((tag, n))
    else:
        out.append(tag)
        _varint(out, n)


def _write_items(out: bytearray, items: Any, canonical: bool) -> None:
    """Items in order; the common leaves (short strings, small ints) without a call each."""
    for item in items:
        t = type(item)
        if t is str:
            b = _STR_BYTES.get(item)
            out += b if b is not None else _str_bytes(item)
        elif t is int:
            b = _INT_BYTES.get(item)
            out += b if b is not None else _int_bytes(item)
        else:
            _write(out, item, canonical)


def _write(out: bytearray, v: Any, canonical: bool) -> None:
    t = type(v)
    if t is str:
        b = _STR_BYTES.get(v)
        out += b if b is not None else _str_bytes(v)
    elif t is int:
        b = _INT_BYTES.get(v)
        out += b if b is not None else _int_bytes(v)
    elif t in _HEADERS:
        out += _HEADERS[t]
        _write_items(out, _FIELD_VALUES[t](v), canonical)
    elif t is tuple or t is list:
        if t is list:
            _changes.append(t)
        n = len(v)
        if n < 0x80:
            out += _SEQ_HEADS[n]
        else:
            _tagged(out, _SEQ, n)
        _write_items(out, v, canonical)
    elif v is None:
        out.append(_NONE)
    elif t is bool:
        out.append(_TRUE if v else _FALSE)
    elif t is dict:
        _changes.append(t)
        _tagged(out, _MAP, len(v))
        if canonical and all(type(k) is str for k in v):
            for k in sorted(v):  # string keys: their order is canonical, no encoding to sort
                _write_items(out, (k, v[k]), True)
        elif canonical:
            pairs = ((encode(k, canonical=True), encode(x, canonical=True)) for k, x in v.items())
            for kb, xb in sorted(pairs):
                out += kb
                out += xb
        else:
            for kx in v.items():
                _write_items(out, kx, canonical)
    elif t is bytes or t is bytearray:
        if t is bytearray:
            _changes.append(t)
        _tagged(out, _BYTES, len(v))
        out += v
    elif t is float:
        out.append(_FLOAT)
        out += _pack_double(v)
    elif t is frozenset or t is set:
        if t is set:
            _changes.append(t)
        _tagged(out, _SET, len(v))
        for b in sorted(encode(item, canonical=True) for item in v):
            out += b
    elif isinstance(v, int):  # IntEnum, IntFlag and other int subclasses travel as ints
        _changes.append(t)
        _write(out, int(v), canonical)
    elif isinstance(v, str):
        _changes.append(t)
        _write(out, str(v), canonical)
    else:
        raise CodecError(
            f"cannot encode {t.__name__}: use None, bool, int, float, str, bytes, "
            "tuple/list, dict, set or a @message dataclass"
        )


def encode_message(value: Any) -> tuple[bytes, bool]:
    """Encode ``value``, and tell whether decoding gives back an equal *immutable* value of
    the same types (no list, dict, set, bytearray or int/str subclass inside).

    The simulated network uses this to skip the decode copy for such messages: handing the
    receiver the sender's object is then indistinguishable from handing it a fresh copy.
    """
    _changes.clear()
    out = bytearray()
    _write(out, value, False)
    return bytes(out), not _changes


def encode(value: Any, *, canonical: bool = False) -> bytes:
    """Encode ``value``; see the module docstring for the format."""
    out = bytearray()
    _write(out, value, canonical)
    return bytes(out)


def fill_last(head: bytes, count: int, parts: Any) -> bytes:
    """The encoding of a value whose last-written item is a container of ``count`` items,
    given ``head``, the encoding of that value with the container empty (a tuple or a map,
    which ``head`` ends with as tag and count 0), and ``parts``, the container's items already
    encoded (a map's as key and value, joined). A persister that saves a growing log after
    each change keeps each entry's encoding and joins them, instead of encoding the log again.
    """
    return b"".join(last_pieces(head, count, parts))


def last_pieces(head: bytes, count: int, parts: Any) -> tuple[bytes, ...]:
    """:func:`fill_last` in pieces, not joined: the persister takes a state in pieces and
    joins them only when it is read, so a save of a long log copies nothing."""
    if not head or head[-1] != 0 or len(head) < 2 or head[-2] not in (_SEQ, _MAP):
        raise CodecError("fill_last: head does not end with an empty tuple or map")
    count_bytes = bytearray(head[:-1])
    _varint(count_bytes, count)
    return (bytes(count_bytes), *parts)


def encoded_size(value: Any) -> int:
    """Bytes ``value`` takes on the wire (what the network counters add up)."""
    out = bytearray()
    _write(out, value, False)
    return len(out)


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    """What :func:`decode` accepts, each bound checked before the work it would cost, so
    bytes from an untrusted peer are rejected in time linear in their length.

    ``max_int_bits``: an integer is at most that many bits in zig-zag form (64 admits the
    signed 64-bit range); the default admits any value a state plausibly holds and keeps the
    varint's quadratic assembly cheap. ``max_length``: bytes of one str or bytes value;
    ``max_items``: items of one container (a map's pairs, a record's fields); ``max_depth``:
    containers and records nested in one another (bounded well below Python's recursion
    limit). None leaves a size bounded only by the data's own length.
    """

    max_int_bits: int = 1 << 16
    max_length: int | None = None
    max_items: int | None = None
    max_depth: int = 100


DEFAULT_LIMITS = Limits()
_LEN_VARINT_BYTES = 10  # a length or count of up to 2**70: beyond any buffer


def _read_varint(data: bytes, pos: int, max_bytes: int, what: str) -> tuple[int, int]:
    shift = n = 0
    end = pos + max_bytes
    while True:
        if pos >= len(data):
            raise CodecError("truncated varint")
        if pos >= end:
            raise CodecError(f"{what} longer than {max_bytes} varint bytes")
        b = data[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        if b < 0x80:
            return n, pos
        shift += 7


def _read_len(data: bytes, pos: int, limit: int | None, what: str) -> tuple[int, int]:
    n, pos = _read_varint(data, pos, _LEN_VARINT_BYTES, what)
    if n > len(data) - pos and n > 0:
        # every item takes at least one byte, so a count beyond the rest is corrupt
        raise CodecError(f"length {n} exceeds the remaining {len(data) - pos} bytes")
    if limit is not None and n > limit:
        raise CodecError(f"{what} of {n} exceeds the limit of {limit}")
    return n, pos


def _read(data: bytes, pos: int, depth: int, lim: Limits) -> tuple[Any, int]:
    if pos >= len(data):
        raise CodecError("truncated value")
    tag = data[pos]
    pos += 1
    if tag == _INT:
        bits = lim.max_int_bits
        z, pos = _read_varint(data, pos, (bits + 6) // 7, "integer")
        if z.bit_length() > bits:
            raise CodecError(f"integer of {z.bit_length()} bits exceeds the limit of {bits}")
        return (z >> 1) if not z & 1 else -((z + 1) >> 1), pos
    if tag == _STR or tag == _BYTES:
        n, pos = _read_len(data, pos, lim.max_length, "string")
        raw = data[pos : pos + n]
        if tag == _BYTES:
            return bytes(raw), pos + n
        try:
            return raw.decode(), pos + n
        except UnicodeDecodeError as e:
            raise CodecError(f"invalid UTF-8 in string: {e}") from None
    if tag == _NONE:
        return None, pos
    if tag == _FALSE:
        return False, pos
    if tag == _TRUE:
        return True, pos
    if tag == _FLOAT:
        if pos + 8 > len(data):
            raise CodecError("truncated float")
        return _unpack_double(data, pos)[0], pos + 8
    if tag > _SET:
        raise CodecError(f"unknown tag 0x{tag:02x} at byte {pos - 1}")
    if depth >= lim.max_depth:
        raise CodecError(f"nesting deeper than {lim.max_depth} levels")
    depth += 1
    if tag == _SEQ or tag == _SET:
        n, pos = _read_len(data, pos, lim.max_items, "container")
        items = []
        for _ in range(n):
            item, pos = _read(data, pos, depth, lim)
            items.append(item)
        if tag == _SEQ:
            return tuple(items), pos
        try:
            return frozenset(items), pos
        except TypeError as e:
            raise CodecError(f"set item: {e}") from None
    if tag == _MAP:
        n, pos = _read_len(data, pos, lim.max_items, "container")
        d = {}
        for _ in range(n):
            k, pos = _read(data, pos, depth, lim)
            v, pos = _read(data, pos, depth, lim)
            try:
                d[k] = v
            except TypeError as e:
                raise CodecError(f"map key: {e}") from None
        return d, pos
    # tag == _REC
    n, pos = _read_len(data, pos, lim.max_length, "record name")
    name = data[pos : pos + n].decode(errors="replace")
    pos += n
    cls = _RECORDS.get(name)
    if cls is None:
        raise CodecError(f"unknown record type {name!r} (not registered with @message)")
    count, pos = _read_len(data, pos, lim.max_items, "container")
    args = []
    for _ in range(count):
        a, pos = _read(data, pos, depth, lim)
        args.append(a)
    try:
        return cls(*args), pos
    except (TypeError, ValueError) as e:
        raise CodecError(f"record {name}: {e}") from None


def decode(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Decode one value that fills ``data`` exactly, within ``limits``."""
    value, pos = _read(bytes(data), 0, 0, limits)
    if pos != len(data):
        raise CodecError(f"{len(data) - pos} trailing bytes after the value")
    return value
