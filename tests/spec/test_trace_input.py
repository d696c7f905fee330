"""The trace reader and its TLA+ translation on damaged traces (no TLC needed): a real trace
with any field replaced by any JSON value, or any line cut, is either translated or a
TLAError naming the problem, in bounded time; never another exception."""

from __future__ import annotations

import copy
import json
import time

import pytest
from faultlab.checker.tla.errors import TLAError
from faultlab.checker.tla.trace import read_trace, trace_module
from hypothesis import given
from hypothesis import strategies as st
from traces import paxos_trace, raft_trace

TRACES = {"raft": raft_trace(seed=1, seconds=1.5), "paxos": paxos_trace(seed=3)}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                               max_size=3),
    max_leaves=8)


def translate(system: str, lines: list[str]) -> None:
    start = time.perf_counter()
    try:
        header, rows = read_trace(lines)
        module, cfg = trace_module(system, header, rows)
        assert "TraceLog ==" in module and "INIT TraceInit" in cfg
    except TLAError as e:
        assert str(e) and "\n" not in str(e)
    assert time.perf_counter() - start < 10


@pytest.mark.parametrize("system", sorted(TRACES))
def test_the_real_traces_translate(system):
    header, rows = read_trace(TRACES[system])
    assert trace_module(system, header, rows)[0]


@pytest.mark.parametrize("system", sorted(TRACES))
@given(data=st.data())
def test_a_damaged_field_is_translated_or_a_tla_error(system, data):
    rows = [json.loads(ln) for ln in TRACES[system]]
    k = data.draw(st.integers(0, len(rows) - 1))
    row = copy.deepcopy(rows[k])
    # walk down from the line to a random place: a field, an item, ... at any depth
    target, key = row, data.draw(st.sampled_from(sorted(row)))
    while isinstance(target[key], dict | list) and target[key] and data.draw(st.booleans()):
        target = target[key]
        key = (data.draw(st.sampled_from(sorted(target))) if isinstance(target, dict)
               else data.draw(st.integers(0, len(target) - 1)))
    if data.draw(st.booleans()):
        target[key] = data.draw(json_values)
    else:
        del target[key]
    rows[k] = row
    translate(system, [json.dumps(r) for r in rows])


@pytest.mark.parametrize("system", sorted(TRACES))
@given(data=st.data())
def test_a_cut_or_garbled_line_is_a_tla_error_or_translated(system, data):
    lines = list(TRACES[system])
    k = data.draw(st.integers(0, len(lines) - 1))
    line = lines[k]
    cut = data.draw(st.integers(0, len(line)))
    lines[k] = line[:cut] + data.draw(st.text(max_size=3))
    translate(system, lines)
