"""The wire codec: round trips, compactness (the labs' byte limits depend on it), errors."""

from __future__ import annotations

import pytest
from faultlab.sim import codec
from faultlab.sim.messages import is_reply, message
from hypothesis import given
from hypothesis import strategies as st


@message
class Ping:
    term: int
    entries: tuple


@message(reply=True)
class Pong:
    ok: bool


scalars = st.none() | st.booleans() | st.integers() | st.text() | st.binary() | st.floats(
    allow_nan=False)
values = st.recursive(
    scalars,
    lambda inner: st.tuples(inner, inner) | st.lists(inner).map(tuple)
    | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    | st.builds(Ping, st.integers(), st.lists(inner, max_size=3).map(tuple)),
    max_leaves=20,
)


@given(values)
def test_round_trip_preserves_every_value(v):
    assert codec.decode(codec.encode(v)) == v


@given(st.dictionaries(st.integers(), st.integers()), st.randoms())
def test_canonical_encoding_ignores_insertion_order(d, rnd):
    items = list(d.items())
    rnd.shuffle(items)
    assert codec.encode(dict(items), canonical=True) == codec.encode(d, canonical=True)


def test_encoding_is_compact():
    assert codec.encoded_size(5) == 2
    assert codec.encoded_size("x" * 5000) == 5003
    # record overhead: tag, name length, name, field count; then the fields themselves
    assert codec.encoded_size(Ping(1, ())) == 1 + 1 + len("Ping") + 1 + 2 + 2
    assert codec.encoded_size(Pong(True)) == 1 + 1 + 4 + 1 + 1


def test_lists_decode_as_tuples_so_messages_stay_hashable():
    assert codec.decode(codec.encode([1, [2, 3]])) == (1, (2, 3))


def test_reply_flag_is_declared_per_class():
    assert not is_reply(Ping(1, ()))
    assert is_reply(Pong(False))


@pytest.mark.parametrize("data, problem", [
    (b"", "truncated"),
    (b"\x05\x09ab", "exceeds"),
    (b"\x7f", "unknown tag"),
    (b"\x02\x02", "trailing"),
    (b"\x09\x03Zzz\x00", "unknown record"),
    (b"\x05\x01\xff", "UTF-8"),
])
def test_corrupt_bytes_raise_codec_error(data, problem):
    with pytest.raises(codec.CodecError, match=problem):
        codec.decode(data)


@given(st.binary(max_size=64))
def test_random_bytes_never_raise_anything_but_codec_error(data):
    try:
        codec.decode(data)
    except codec.CodecError:
        pass


def test_unencodable_value_names_its_type():
    with pytest.raises(codec.CodecError, match="object"):
        codec.encode(object())


@given(st.lists(st.integers() | st.text(max_size=3), max_size=200))
def test_fill_last_joins_cached_items_into_the_same_bytes(items):
    head = codec.encode((1, "x", ()))
    assert codec.fill_last(head, len(items), [codec.encode(i) for i in items]) == \
        codec.encode((1, "x", tuple(items)))
    pairs = {i: str(i) for i in range(len(items))}
    head = codec.encode({"a": 1, "m": {}})
    parts = [codec.encode(k) + codec.encode(v) for k, v in pairs.items()]
    assert codec.fill_last(head, len(pairs), parts) == codec.encode({"a": 1, "m": pairs})


def test_fill_last_refuses_a_head_without_an_empty_container():
    with pytest.raises(codec.CodecError, match="empty tuple or map"):
        codec.fill_last(codec.encode((1, 2)), 0, [])
