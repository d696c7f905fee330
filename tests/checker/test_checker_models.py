"""Models' sequential semantics, the event <-> operation conversion, and check()'s API."""

from __future__ import annotations

import pickle

import pytest
from faultlab.checker.history import (
    UNKNOWN,
    Event,
    Operation,
    events_to_operations,
    operations_to_events,
)
from faultlab.checker.linearizability import Verdict, check
from faultlab.checker.models import (
    KV,
    MODELS,
    CasRegister,
    Independent,
    Model,
    Mutex,
    Queue,
    Register,
    SetModel,
    get_model,
)


def test_registry_names():
    base = {"register", "cas-register", "set", "queue", "mutex"}
    assert set(MODELS) == (base | {"kv", "versioned-kv", "multi-register"}
                           | {f"independent-{name}" for name in base})
    for name in MODELS:
        m = get_model(name)
        assert isinstance(m, Model) and m.name == name
        hash(m.init())
    with pytest.raises(KeyError, match="unknown model 'nope'"):
        get_model("nope")


def test_register():
    m = Register()
    assert m.step(None, {"op": "write", "value": 3}, None) == (True, 3)
    assert m.step(3, {"op": "read"}, 3) == (True, 3)
    assert m.step(3, {"op": "read"}, 4)[0] is False
    assert m.step(3, {"op": "read"}, UNKNOWN)[0] is True


def test_cas_register_etcd_semantics():
    m = CasRegister()
    assert m.init() is None
    assert m.step(None, {"op": "read"}, None) == (True, None)  # absent reads nil
    assert m.step(1, {"op": "cas", "from": 1, "to": 2}, True) == (True, 2)
    assert m.step(1, {"op": "cas", "from": 3, "to": 2}, False) == (True, 1)
    assert m.step(1, {"op": "cas", "from": 1, "to": 2}, False)[0] is False
    assert m.step(1, {"op": "cas", "from": 3, "to": 2}, True)[0] is False
    assert m.step(1, {"op": "cas", "from": 1, "to": 2}, UNKNOWN) == (True, 2)
    assert m.step(1, {"op": "cas", "from": 5, "to": 2}, UNKNOWN) == (True, 1)
    assert m.is_read_only({"op": "cas", "from": 1, "to": 2}, False)
    assert not m.is_read_only({"op": "cas", "from": 1, "to": 2}, True)


def test_kv():
    m = KV()
    s = m.init()
    assert m.step(s, {"op": "get", "key": "a"}, "") == (True, s)  # missing key reads ""
    ok, s = m.step(s, {"op": "append", "key": "a", "value": "x"}, None)
    ok, s = m.step(s, {"op": "put", "key": "b", "value": "y"}, None)
    ok, s = m.step(s, {"op": "append", "key": "a", "value": "z"}, None)
    assert s == (("a", "xz"), ("b", "y"))
    assert m.step(s, {"op": "get", "key": "a"}, "xz")[0]
    assert not m.step(s, {"op": "get", "key": "a"}, "x")[0]
    assert m.may_become((("a", "x"),), {"op": "get", "key": "a"}, "xyz")
    assert not m.may_become((("a", "x"),), {"op": "get", "key": "a"}, "yx")
    assert m.overwrites({"op": "put", "key": "a", "value": ""}, {"op": "get", "key": "a"})
    assert not m.overwrites({"op": "put", "key": "b", "value": ""}, {"op": "get", "key": "a"})
    ops = [Operation(0, {"op": "get", "key": k}, "", 0, 1) for k in "abab"]
    assert sorted(len(p) for p in m.partition(ops)) == [2, 2]


def test_independent_is_the_base_model_per_key():
    m = get_model("independent-cas-register")
    s = m.init()
    ok, s = m.step(s, {"op": "write", "key": 2, "value": 1}, None)
    ok, s = m.step(s, {"op": "cas", "key": 2, "from": 1, "to": 5}, True)
    assert ok and s == ((2, 5),)
    assert m.step(s, {"op": "read", "key": 7}, None) == (True, s)  # other keys start absent
    assert not m.step(s, {"op": "cas", "key": 7, "from": 1, "to": 2}, True)[0]
    assert m.step(s, {"op": "write", "key": 2, "value": None}, None) == (True, ())  # one form
    assert m.describe_operation({"op": "read", "key": 2}, 5) == "[2] read() -> 5"
    ops = [Operation(0, {"op": "read", "key": k}, None, 0, 1) for k in (1, 2, 1)]
    assert sorted(len(p) for p in m.partition(ops)) == [1, 2]
    # hints: the base model's within a key, none where the base model has none (rule 5
    # must not skip an open write that a cas of the same key needs)
    r = Independent(Register())
    assert r.overwrites({"op": "write", "key": 1, "value": 2}, {"op": "read", "key": 1})
    assert not r.overwrites({"op": "write", "key": 2, "value": 2}, {"op": "read", "key": 1})
    assert not r.observes({"op": "write", "key": 2, "value": 3}, {"op": "read", "key": 1}, 3)
    assert getattr(m.observes, "__func__", None) is Model.observes
    assert pickle.loads(pickle.dumps(m)).name == "independent-cas-register"


def test_set_queue_mutex():
    s = SetModel()
    ok, st = s.step(s.init(), {"op": "add", "value": 1}, None)
    assert s.step(st, {"op": "read"}, [1]) == (True, st)
    assert not s.step(st, {"op": "read"}, [])[0]
    q = Queue()
    ok, st = q.step(q.init(), {"op": "enqueue", "value": 1}, None)
    ok, st = q.step(st, {"op": "enqueue", "value": 2}, None)
    assert q.step(st, {"op": "dequeue"}, 1) == (True, (2,))
    assert not q.step(st, {"op": "dequeue"}, 2)[0]
    assert q.step((), {"op": "dequeue"}, None) == (True, ())
    mu = Mutex()
    assert mu.step(False, {"op": "acquire"}, None) == (True, True)
    assert not mu.step(True, {"op": "acquire"}, None)[0]
    assert not mu.step(False, {"op": "release"}, None)[0]


def test_user_model_in_a_few_lines():
    class Counter(Model):
        name = "counter"

        def init(self):
            return 0

        def step(self, state, inp, out):
            if inp["op"] == "incr":
                return True, state + 1
            return out is UNKNOWN or out == state, state

    ops = [Operation(0, {"op": "incr"}, None, 0, 2), Operation(1, {"op": "incr"}, None, 1, 3),
           Operation(2, {"op": "get"}, 1, 2, 4), Operation(3, {"op": "get"}, 2, 5, 6)]
    assert check(ops, Counter()).verdict is Verdict.OK
    ops[3] = Operation(3, {"op": "get"}, 1, 5, 6)
    assert check(ops, Counter()).verdict is Verdict.ILLEGAL


def test_describe():
    assert KV().describe_operation({"op": "get", "key": "k"}, "v") == 'get("k") -> "v"'
    assert CasRegister().describe_state(None) == "absent"
    assert Register().describe_operation({"op": "write", "value": 2}, UNKNOWN).endswith("?")


def test_events_round_trip():
    events = [Event("call", 1, "a", {"op": "write", "value": 1}),
              Event("call", 2, "b", {"op": "read"}),
              Event("return", 1, "a", None),
              Event("call", 3, "c", {"op": "write", "value": 2}, {"fault": "crash"}),
              Event("return", 2, "b", 1)]
    ops = events_to_operations(events)
    assert ops[0] == Operation("a", {"op": "write", "value": 1}, None, 0.0, 2.0)
    assert ops[1] == Operation("b", {"op": "read"}, 1, 1.0, 4.0)
    assert ops[2].ret is None and ops[2].is_open and ops[2].meta == {"fault": "crash"}
    back = operations_to_events(ops)
    assert [(e.kind, e.client) for e in back] == [(e.kind, e.client) for e in events]
    assert events_to_operations(back) == ops


def test_touching_operations_are_concurrent():
    # write returns at t=5 and the read is called at t=5: the read may go first
    ops = [Operation(0, {"op": "write", "value": 1}, None, 0, 5),
           Operation(1, {"op": "read"}, None, 5, 6)]
    assert check(ops, "register").verdict is Verdict.OK
    ev = operations_to_events(ops)
    assert [e.kind for e in ev] == ["call", "call", "return", "return"]
    late = [ops[0], Operation(1, {"op": "read"}, None, 5.5, 6)]
    assert check(late, "register").verdict is Verdict.ILLEGAL


def test_bad_events_and_times():
    with pytest.raises(ValueError):
        events_to_operations([Event("return", 1, "a", None)])
    with pytest.raises(ValueError):
        events_to_operations([Event("call", 1, "a", None), Event("call", 1, "a", None)])
    with pytest.raises(ValueError):
        check([Operation(0, {"op": "read"}, None, 5, 4)], "register")


def test_open_operations():
    w = Operation(0, {"op": "write", "value": 1}, None, 0, None)
    assert check([w, Operation(1, {"op": "read"}, 1, 1, 2)], "register").ok  # took effect
    assert check([w, Operation(1, {"op": "read"}, None, 1, 2)], "register").ok  # or not
    before = Operation(1, {"op": "read"}, 1, -2, -1)
    assert not check([w, before], "register").ok  # not before its call


def test_timeout_gives_unknown():
    ops = [Operation(i, {"op": "write", "value": i}, None, 0, 100) for i in range(22)]
    ops += [Operation(100 + i, {"op": "read"}, i % 3, 10 + i, 11 + i) for i in range(20)]
    ops.append(Operation(99, {"op": "read"}, -1, 101, 102))
    # 22 concurrent writes, reads cycling through 0, 1, 2: the search space is huge
    r = check(ops, "cas-register", timeout=0.05)
    assert r.verdict is Verdict.UNKNOWN
    assert r.elapsed < 5


def test_result_values_are_strings_and_pickle():
    r = check([], "kv")
    assert r.verdict is Verdict.OK and str(r.verdict) == "ok" and r.verdict == "ok"
    assert pickle.loads(pickle.dumps(UNKNOWN)) is UNKNOWN


def test_worker_processes_give_the_same_verdict():
    ops = [Operation(i, {"op": "append", "key": str(i % 3), "value": str(i)}, None, i, i + 1)
           for i in range(12)]
    ops.append(Operation(50, {"op": "get", "key": "0"}, "0369", 20, 21))
    ops.append(Operation(51, {"op": "get", "key": "1"}, "wrong", 20, 21))
    assert check(ops, "kv", workers=2).verdict is Verdict.ILLEGAL
    assert check(ops[:-1], "kv", workers=2).verdict is Verdict.OK


def test_duck_typed_model_with_hints():
    class Reg:
        def init(self):
            return 0

        def step(self, state, inp, out):
            if inp["op"] == "write":
                return True, inp["value"]
            return out is UNKNOWN or out == state, state

        def is_read_only(self, inp, out):
            return inp["op"] == "read"

    ops = [Operation(0, {"op": "write", "value": 1}, None, 0, 1),
           Operation(1, {"op": "read"}, 1, 2, 3), Operation(2, {"op": "read"}, 0, 4, 5)]
    m = get_model(Reg())
    assert m.name == "Reg" and m.is_read_only({"op": "read"}, 1)
    assert check(ops[:2], Reg()).verdict is Verdict.OK
    assert check(ops, Reg(), verbose=True).verdict is Verdict.ILLEGAL


def _handoff_spy(monkeypatch, hard_nodes_per_op: int | None = None) -> list[list[int]]:
    """The partitions handed to worker processes, which start at once (PROCESS_AFTER < 0)."""
    import faultlab.checker.schedule as lin

    monkeypatch.setattr(lin, "PROCESS_AFTER", -1.0)
    monkeypatch.setattr(lin.os, "cpu_count", lambda: 2)
    if hard_nodes_per_op is not None:
        monkeypatch.setattr(lin, "HARD_NODES_PER_OP", hard_nodes_per_op)
    handed: list[list[int]] = []
    real = lin._in_processes

    def spy(parts, which, *args):
        handed.append(list(which))
        return real(parts, which, *args)

    monkeypatch.setattr(lin, "_in_processes", spy)
    return handed


def test_hard_partitions_move_to_worker_processes(monkeypatch):
    handed = _handoff_spy(monkeypatch, hard_nodes_per_op=-1)  # every partition counts as hard
    ops = [Operation(i, {"op": "append", "key": str(i % 3), "value": str(i)}, None, i, i + 1)
           for i in range(12)]
    ops.append(Operation(50, {"op": "get", "key": "0"}, "0369", 20, 21))
    ok = check(ops, "kv", verbose=True)
    assert ok.verdict is Verdict.OK and len(ok.partitions) == 3
    assert all(p.ops and p.linearizations for p in ok.partitions)
    assert handed == [[0, 1, 2]]
    bad = ops + [Operation(51, {"op": "get", "key": "1"}, "wrong", 20, 21)]
    assert check(bad, "kv").verdict is Verdict.ILLEGAL


def _backtracking(key: int, writes: int = 8) -> list[Operation]:
    """Concurrent writes, then reads cycling through 0, 1, 2 and one impossible read: the
    search backtracks over many orders (about 800 nodes for 17 operations) before failing."""
    return ([Operation(i, {"op": "write", "key": key, "value": i}, None, 0, 100)
             for i in range(writes)]
            + [Operation(100 + i, {"op": "read", "key": key}, i % 3, 10 + i, 11 + i)
               for i in range(writes)]
            + [Operation(99, {"op": "read", "key": key}, -1, 101, 102)])


def test_only_hard_partitions_are_worth_worker_processes(monkeypatch):
    # many easy partitions past PROCESS_AFTER stay in this process; two that backtrack go
    handed = _handoff_spy(monkeypatch)
    easy = [Operation(i, {"op": "write", "key": 10 + i % 5, "value": i}, None, i, i + 1)
            for i in range(40)]
    assert check(easy, "independent-register").verdict is Verdict.OK
    assert handed == []
    result = check(easy + _backtracking(1) + _backtracking(2), "independent-register")
    assert result.verdict is Verdict.ILLEGAL
    assert len(handed) == 1 and {5, 6} <= set(handed[0])  # keys 1 and 2: partitions 5, 6


def _txn(*steps) -> dict:
    return {"op": "txn", "value": [list(s) for s in steps]}


def test_multi_register_applies_a_transaction_atomically_in_order():
    m = get_model("multi-register")
    write = _txn(("write", "x", 1), ("read", "x", None), ("write", "y", [1]))
    ok, state = m.step(m.init(), write, [["write", "x", 1], ["read", "x", 1],
                                         ["write", "y", [1]]])
    assert ok and m.describe_state(state) == '{"x": 1, "y": [1]}'
    read = _txn(("read", "x", None), ("read", "y", None))
    assert m.step(state, read, [["read", "x", 1], ["read", "y", [1]]]) == (True, state)
    assert m.step(state, read, [["read", "x", 1], ["read", "y", None]]) == (True, state)
    assert m.step(state, read, [["read", "x", 2], ["read", "y", [1]]])[0] is False
    assert m.step(state, read, UNKNOWN) == (True, state)  # open: its reads are unknown
    assert m.step(m.init(), write, UNKNOWN) == (True, state)
    assert m.is_read_only(read, None) and not m.is_read_only(write, None)
    with pytest.raises(ValueError, match="not its call's"):  # a completion of another txn
        m.step(state, read, [["read", "y", 1], ["read", "x", 1]])
    assert m.understands(write) and not m.understands({"op": "read"})
    assert not m.understands(_txn(("append", "x", 1)))
    assert not get_model("register").understands(write)


def test_multi_register_partitions_by_keys_that_meet_in_a_transaction():
    m = get_model("multi-register")
    ops = [Operation(0, _txn(("write", "a", 1), ("write", "b", 1)), None, 0, 1),
           Operation(1, _txn(("read", "c", None)), [["read", "c", None]], 0, 1),
           Operation(2, _txn(("write", "b", 2), ("write", "d", 2)), None, 2, 3),
           Operation(3, _txn(("read", "e", None), ("read", "c", None)), None, 4, None)]
    parts = m.partition(ops)
    assert sorted(sorted(op.client for op in p) for p in parts) == [[0, 2], [1, 3]]
