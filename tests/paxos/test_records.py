"""The saved instance map is the same bytes whether joined from cached encodings or encoded."""

from __future__ import annotations

from faultlab.paxos.records import InstanceRecords
from faultlab.sim import codec
from hypothesis import given
from hypothesis import strategies as st

HEAD = {"format": 1, "dones": [3, -1], "app": None, "inst": {}}

changes = st.lists(st.one_of(
    st.tuples(st.just("put"), st.integers(0, 400), st.binary(max_size=6)),
    st.tuples(st.just("delete"), st.integers(0, 400)),
    st.tuples(st.just("forget"), st.integers(0, 400)),
), max_size=300)


@given(changes)
def test_joined_map_equals_the_map_encoded_in_instance_order(steps):
    records, model, floor = InstanceRecords(), {}, 0
    for step in steps:
        if step[0] == "put" and step[1] >= floor:
            records.put(step[1], step[2])
            model[step[1]] = step[2]
        elif step[0] == "delete":
            records.put(step[1], None)
            model.pop(step[1], None)
        elif step[0] == "forget":
            floor = max(floor, step[1])
            records.forget_below(floor)
            model = {s: r for s, r in model.items() if s >= floor}
        blob = b"".join(records.encode_into(codec.encode(HEAD)))
        assert blob == codec.encode({**HEAD, "inst": dict(sorted(model.items()))})
        assert len(records) == len(model)


def test_growing_log_reuses_the_prefix():
    records = InstanceRecords()
    for seq in range(1000):
        records.put(seq, b"x")
    pieces = records.encode_into(codec.encode(HEAD))
    # the head, the prefix's chunks (each joined once), then at most two tails of records
    assert len(pieces) <= 1 + 1000 // 64 + 2 * 64
