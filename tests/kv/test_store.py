"""The key/value state machine alone: its semantics against a plain dict, duplicate
detection, and snapshots that are canonical (equal states, equal bytes) and restore whole."""

from __future__ import annotations

import pytest
from faultlab.kv.messages import APPEND, ERR_NO_KEY, ERR_VERSION, GET, OK, PUT, VPUT, Op
from faultlab.kv.store import KVStore
from hypothesis import given
from hypothesis import strategies as st

KEYS = st.sampled_from(["a", "b", "c"])
OPS = st.lists(st.tuples(st.sampled_from([GET, PUT, APPEND, VPUT]), KEYS,
                         st.sampled_from(["", "x", "yz"]), st.integers(0, 3),
                         st.sampled_from(["c1", "c2"]), st.booleans()), max_size=40)


def _ops(steps):
    """Ops with per-client sequence numbers; ``again`` resends the client's last write."""
    seqs: dict[str, int] = {}
    for kind, key, value, version, client, again in steps:
        if not (again and kind != GET and client in seqs):
            seqs[client] = seqs.get(client, 0) + 1
        yield Op(kind, key, value, version, client, seqs[client])


@given(OPS)
def test_store_matches_a_dict_applying_each_write_once(steps):
    store, model, versions = KVStore(), {}, {}
    applied: set[tuple[str, int]] = set()
    for op in _ops(steps):
        err, value, version = store.apply(op)
        dup = op.kind != GET and (op.client, op.seq) in applied
        if op.kind == GET:
            assert (err, value, version) == ((OK if op.key in model else ERR_NO_KEY),
                                             model.get(op.key, ""), versions.get(op.key, 0))
            continue
        applied.add((op.client, op.seq))
        if dup:
            continue  # the first result is returned again; nothing changes
        if op.kind == VPUT and op.version != versions.get(op.key, 0):
            assert err == (ERR_NO_KEY if op.key not in model and op.version > 0
                           else ERR_VERSION)
            continue
        assert err == OK
        model[op.key] = model.get(op.key, "") + op.value if op.kind == APPEND else op.value
        versions[op.key] = versions.get(op.key, 0) + 1
    assert {k: v for k, (v, _) in store.data.items()} == model


@given(OPS)
def test_snapshot_is_canonical_and_restores_whole(steps):
    ops = list(_ops(steps))
    one, other = KVStore(), KVStore()
    for k, op in enumerate(ops):
        one.apply(op)
        if k % 3 == 0:
            one.snapshot()  # cached rows must follow later writes
    for op in ops:
        other.apply(op)
    assert one.snapshot() == other.snapshot()
    copy = KVStore()
    copy.restore(one.snapshot())
    assert copy.data == one.data and copy.dups.dump() == one.dups.dump()
    assert copy.snapshot() == one.snapshot()


@pytest.mark.parametrize("engine", ["raft", "paxos"])
def test_a_one_server_service_answers_what_its_log_commits_inside_start(engine, seed):
    """Raft and the Paxos log of one server commit in ``start`` itself; the server must still
    answer the clerk whose proposal that was (it once waited for ever)."""
    from faultlab.kv.cluster import build

    world = build(seed, n=1, clerks=1, engine=engine)
    assert world.call("c0", {"op": "put", "key": "k", "value": "v"}, timeout=5) is None
    assert world.call("c0", {"op": "append", "key": "k", "value": "w"}, timeout=5) is None
    assert world.call("c0", {"op": "get", "key": "k"}, timeout=5) == "vw"
