"""The real transport's frame checks (faultlab.sim.wire) and the codec's decode limits: every
hostile payload is a FrameError in linear time, every well-typed message of every protocol
passes unchanged."""

from __future__ import annotations

import importlib
import pkgutil
import time
import typing
from typing import Any

import faultlab
import pytest
from faultlab.sim import codec
from faultlab.sim.wire import FrameError, field_checks, parse_frame
from faultlab.tools.example_register import Read, Replicate
from hypothesis import given
from hypothesis import strategies as st

for _m in pkgutil.walk_packages(faultlab.__path__, "faultlab."):  # every protocol's messages
    importlib.import_module(_m.name)

PROJECT_RECORDS = [c for c in codec.records() if c.__module__.startswith("faultlab.")]


def pair(msg: Any, src: Any = "primary") -> bytes:
    return codec.encode((src, msg))


def big_int_payload(varint_bytes: int) -> bytes:
    """("primary", Replicate(<an integer of 7 * varint_bytes bits>, "x")), built by hand (the
    encoder itself is quadratic on such an integer)."""
    head = codec.encode(("primary", Replicate(0, "x")))
    at = head.index(b"\x03\x00")  # the version field
    return head[:at] + b"\x03" + b"\xff" * (varint_bytes - 1) + b"\x7f" + head[at + 2:]


def nested(depth: int) -> bytes:
    return b"\x07\x02" + codec.encode("primary") + b"\x07\x01" * depth + b"\x00"


HOSTILE = {
    "garbage": (b"\x7f\x7f\x7f", "unknown tag"),
    "truncated": (pair(Read(1))[:-1], "truncated"),
    "trailing bytes": (pair(Read(1)) + b"\x00", "trailing"),
    "invalid UTF-8": (b"\x07\x02\x05\x02\xff\xfe" + codec.encode(Read(1)), "UTF-8"),
    "not a pair": (codec.encode((1, 2, 3)), "pair"),
    "sender not a string": (pair(Read(1), src=7), "pair"),
    "not a message": (pair(42), "not a message"),
    "unknown record": (b"\x07\x02" + codec.encode("primary") + b"\x09\x03Zzz\x00",
                       "unknown record"),
    "missing field": (b"\x07\x02" + codec.encode("primary") + b"\x09\x04Read\x00", "Read"),
    "wrong field type": (pair(Replicate("1", 5)), "Replicate.version"),  # type: ignore[arg-type]
    "wrong nested type": (pair(Replicate(1, ("x",))), "Replicate.value"),  # type: ignore[arg-type]
    "unhashable map key": (b"\x07\x02" + codec.encode("primary") + b"\x08\x01\x08\x00\x00",
                           "map key"),
    "unhashable set item": (b"\x07\x02" + codec.encode("primary") + b"\x0a\x01\x08\x00",
                            "set item"),
    "deep nesting": (nested(100_000), "nesting"),
    "huge integer": (big_int_payload(400_000), "integer"),
    "huge length varint": (b"\x07\x02" + codec.encode("primary") + b"\x05" + b"\xff" * 100_000,
                           "longer than"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_payload_is_a_frame_error_naming_the_problem(name):
    payload, problem = HOSTILE[name]
    with pytest.raises(FrameError, match=problem):
        parse_frame(payload)


def test_a_400kb_integer_is_rejected_in_linear_time():
    """The unbounded varint took 1.8 s for 200 KB and 9.2 s for 400 KB (quadratic)."""
    times = {}
    for size in (200_000, 400_000, 800_000):
        payload = big_int_payload(size)
        start = time.perf_counter()
        with pytest.raises(FrameError, match="integer"):
            parse_frame(payload)
        times[size] = time.perf_counter() - start
    assert max(times.values()) < 0.05, times
    # the default limits (persisted states) reject it as fast: 65536 bits at most
    start = time.perf_counter()
    with pytest.raises(codec.CodecError, match="integer"):
        codec.decode(big_int_payload(800_000))
    assert time.perf_counter() - start < 0.05


def test_integers_within_64_bits_pass_and_beyond_do_not():
    for v in (2**63 - 1, -(2**63)):
        assert parse_frame(pair(Replicate(v, "x")))[1].version == v
    for v in (2**63, -(2**63) - 1):
        with pytest.raises(FrameError, match="64"):
            parse_frame(pair(Replicate(v, "x")))


def test_lengths_and_counts_beyond_the_limits_are_rejected():
    small = codec.Limits(max_int_bits=64, max_length=8, max_items=3, max_depth=4)
    assert codec.decode(codec.encode(("x" * 8, (1, 2, 3))), small) == ("x" * 8, (1, 2, 3))
    with pytest.raises(codec.CodecError, match="string of 9"):
        codec.decode(codec.encode("x" * 9), small)
    with pytest.raises(codec.CodecError, match="container of 4"):
        codec.decode(codec.encode((1, 2, 3, 4)), small)
    with pytest.raises(codec.CodecError, match="container of 4"):
        codec.decode(codec.encode({1: 1, 2: 2, 3: 3, 4: 4}), small)
    with pytest.raises(codec.CodecError, match="nesting deeper than 4"):
        codec.decode(codec.encode((((((1,),),),),)), small)
    assert codec.decode(codec.encode(((((1,),),),)), small) == ((((1,),),),)


def test_a_record_carried_in_an_any_field_is_checked_too():
    from faultlab.kv.messages import Op
    from faultlab.paxos.messages import PaxosAccept

    good = PaxosAccept(*[Op("put", "k", "v") if f == "value" else 1
                         for f in codec.record_fields(PaxosAccept)])
    assert parse_frame(pair(good))[1] == good
    bad = PaxosAccept(*[Op(5, "k", "v") if f == "value" else 1  # type: ignore[arg-type]
                        for f in codec.record_fields(PaxosAccept)])
    with pytest.raises(FrameError, match="Op.kind"):
        parse_frame(pair(bad))


# ---------------------------------------------------------------- every protocol's messages


def test_every_message_class_has_checkable_annotations():
    assert len(PROJECT_RECORDS) > 30  # MapReduce, pb, Paxos, Raft, kv, the example
    for cls in PROJECT_RECORDS:
        names, checks = field_checks(cls, strict=True)
        assert names == codec.record_fields(cls) and len(checks) == len(names)


ints = st.integers(-(2**63), 2**63 - 1)
leaves = st.none() | st.booleans() | ints | st.text(max_size=8) | st.binary(max_size=8)


def strategy_for(tp: Any) -> st.SearchStrategy:
    """Values of an annotation, as a correct sender would put in the field."""
    if tp is Any:
        return st.recursive(leaves, lambda s: st.lists(s, max_size=3).map(tuple), max_leaves=5)
    simple = {int: ints, str: st.text(max_size=8), bytes: st.binary(max_size=8),
              bool: st.booleans(), float: st.floats(allow_nan=False), type(None): st.none()}
    if tp in simple:
        return simple[tp]
    if isinstance(tp, type) and codec.record_fields(tp) is not None:
        hints = typing.get_type_hints(tp)
        return st.builds(tp, *(strategy_for(hints[f]) for f in codec.record_fields(tp)))
    origin, args = typing.get_origin(tp) or tp, typing.get_args(tp)
    if origin in (typing.Union, __import__("types").UnionType):
        return st.one_of(*(strategy_for(a) for a in args))
    if origin is tuple and args and args[-1] is not Ellipsis:
        return st.tuples(*(strategy_for(a) for a in args))
    if origin in (tuple, list):
        return st.lists(strategy_for(args[0]) if args else leaves, max_size=3).map(tuple)
    if origin in (frozenset, set):
        return st.frozensets(strategy_for(args[0]) if args else ints, max_size=3)
    if origin is dict:
        key, val = (strategy_for(args[0]), strategy_for(args[1])) if args else (
            st.text(max_size=4), leaves)
        return st.dictionaries(key, val, max_size=3)
    raise AssertionError(f"no strategy for {tp!r}")


@given(st.sampled_from(PROJECT_RECORDS).flatmap(strategy_for))
def test_every_well_typed_message_passes_unchanged(msg):
    assert parse_frame(pair(msg)) == ("primary", msg)


# ---------------------------------------------------------------- fuzz: garbage in any form


def mutated(payload: bytes) -> st.SearchStrategy[bytes]:
    """A payload with bytes overwritten, inserted or cut."""
    n = len(payload)
    edits = st.lists(st.tuples(st.integers(0, n), st.integers(0, 255),
                               st.sampled_from(["set", "insert", "cut"])), min_size=1, max_size=4)

    def apply(es: list) -> bytes:
        b = bytearray(payload)
        for at, byte, how in es:
            at = min(at, len(b))
            if how == "insert" or at == len(b):
                b.insert(at, byte)
            elif how == "set":
                b[at] = byte
            else:
                del b[at:at + 1 + byte % 8]
        return bytes(b)

    return edits.map(apply)


any_message = st.sampled_from(PROJECT_RECORDS).flatmap(strategy_for)
payloads = (st.binary(max_size=256)
            | any_message.map(pair).flatmap(mutated)
            | st.binary(max_size=64).map(lambda b: b"\x07\x02" + codec.encode("s") + b))


@given(payloads)
def test_fuzzed_payload_is_a_message_or_a_frame_error_in_bounded_time(payload):
    start = time.perf_counter()
    try:
        src, msg = parse_frame(payload)
    except FrameError:
        pass
    else:
        assert type(src) is str and codec.record_fields(type(msg)) is not None
    assert time.perf_counter() - start < 0.5

