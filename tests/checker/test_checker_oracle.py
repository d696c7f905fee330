"""The checker agrees with a brute-force oracle on small random histories.

The oracle tries every order of the operations that respects real time (``a`` before ``b``
whenever ``a.ret < b.call``), leaving out any subset of the open operations, and runs the
model along it. Histories are made linearizable by construction (operations placed around
the points of a sequential run, open ones with or without effect) and then mutated.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from faultlab.checker import reference
from faultlab.checker.history import UNKNOWN, Operation
from faultlab.checker.linearizability import Pruning, Verdict, check
from faultlab.checker.models import MODELS
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

N_EXAMPLES = max(500, settings.default.max_examples)  # x3 for mutated: 2,500 in all


def oracle(ops: list[Operation], model) -> bool:
    """Brute force: is there a real-time-respecting, model-valid order of the operations?"""
    n = len(ops)
    outs = [UNKNOWN if op.ret is None else op.output for op in ops]
    completed = frozenset(i for i in range(n) if ops[i].ret is not None)

    def free(i: int, used: frozenset[int]) -> bool:
        return not any(j not in used and ops[j].ret is not None and ops[j].ret < ops[i].call
                       for j in range(n) if j != i)

    def search(used: frozenset[int], state: Any) -> bool:
        if completed <= used:
            return True
        for i in range(n):
            if i in used or not free(i, used):
                continue
            ok, nxt = model.step(state, ops[i].input, outs[i])
            if ok and search(used | {i}, nxt):
                return True
        return False

    return search(frozenset(), model.init())


# --- a reference sequential implementation of each model, independent of checker.models ---

def run(name: str, state: Any, inp: dict) -> tuple[bool, Any, Any]:
    """(possible, output, next state) of ``inp`` applied sequentially."""
    op = inp["op"]
    if name.startswith("independent-"):  # the base model per key; state: (key, state) pairs
        base = name.removeprefix("independent-")
        per_key = dict(state)
        possible, out, per_key[inp["key"]] = run(base, per_key.get(inp["key"], INIT[base]), inp)
        return possible, out, tuple(sorted(per_key.items(), key=lambda kv: kv[0]))
    if name in ("register", "cas-register"):
        if op == "read":
            return True, state, state
        if op == "write":
            return True, None, inp["value"]
        hit = state == inp["from"]
        return True, hit, inp["to"] if hit else state
    if name == "kv":
        d = dict(state)
        cur = d.get(inp["key"], "")
        if op == "get":
            return True, cur, state
        d[inp["key"]] = inp["value"] if op == "put" else cur + inp["value"]
        return True, None, tuple(sorted(d.items()))
    if name == "set":
        if op == "read":
            return True, sorted(state), state
        v = inp["value"]
        return True, None, (state | {v}) if op == "add" else (state - {v})
    if name == "queue":
        if op == "enqueue":
            return True, None, state + (inp["value"],)
        return True, (state[0] if state else None), state[1:]
    if name == "mutex":
        if op == "acquire":
            return (not state), None, True
        return bool(state), None, False
    if name == "versioned-kv":  # key -> (value, version); a missing key has version 0
        d = dict(state)
        value, version = d.get(inp["key"], ("", 0))
        if op == "get":
            return True, ((value, version, "OK") if version else ("", 0, "ErrNoKey")), state
        if inp["version"] != version:
            return True, "ErrNoKey" if version == 0 < inp["version"] else "ErrVersion", state
        d[inp["key"]] = (inp["value"], version + 1)
        return True, "OK", tuple(sorted(d.items()))
    if name == "multi-register":  # registers by key, None until written; state: pairs
        d = dict(state)
        done = []
        for f, k, v in inp["value"]:
            if f == "write":
                d[k] = v
            done.append([f, k, v if f == "write" else d.get(k)])
        return True, done, tuple(sorted(d.items()))
    raise AssertionError(name)


INIT = {"register": None, "cas-register": None, "kv": (), "set": frozenset(), "queue": (),
        "mutex": False, "versioned-kv": (), "multi-register": ()}
V = st.integers(0, 2)
INPUTS = {
    "register": st.one_of(st.just({"op": "read"}), st.builds(lambda v: {"op": "write",
                                                                          "value": v}, V)),
    "cas-register": st.one_of(
        st.just({"op": "read"}),
        st.builds(lambda v: {"op": "write", "value": v}, V),
        st.builds(lambda a, b: {"op": "cas", "from": a, "to": b}, V, V)),
    "kv": st.builds(lambda op, k, v: {"op": op, "key": k} if op == "get" else
                    {"op": op, "key": k, "value": v},
                    st.sampled_from(["get", "put", "append"]), st.sampled_from(["a", "b"]),
                    st.sampled_from(["x", "y"])),
    "set": st.builds(lambda op, v: {"op": op} if op == "read" else {"op": op, "value": v},
                     st.sampled_from(["add", "remove", "read"]), V),
    "queue": st.builds(lambda op, v: {"op": op} if op == "dequeue" else {"op": op, "value": v},
                       st.sampled_from(["enqueue", "dequeue"]), V),
    "mutex": st.builds(lambda op: {"op": op}, st.sampled_from(["acquire", "release"])),
    "versioned-kv": st.builds(lambda op, k, v, n: {"op": op, "key": k} if op == "get" else
                              {"op": op, "key": k, "value": v, "version": n},
                              st.sampled_from(["get", "put", "put"]), st.sampled_from(["a", "b"]),
                              st.sampled_from(["x", "y"]), st.integers(0, 2)),
    "multi-register": st.lists(st.builds(lambda f, k, v: [f, k, v if f == "write" else None],
                                         st.sampled_from(["read", "write"]),
                                         st.sampled_from(["x", "y", "z"]), V),
                               min_size=1, max_size=3).map(lambda txn: {"op": "txn",
                                                                       "value": txn}),
}
OUTPUTS = {
    "register": st.one_of(st.none(), V), "cas-register": st.one_of(st.none(), V, st.booleans()),
    "kv": st.sampled_from(["", "x", "y", "xy", "yx", "xx"]),
    "set": st.lists(V, max_size=3, unique=True).map(sorted),
    "queue": st.one_of(st.none(), V), "mutex": st.none(),
    "versioned-kv": st.sampled_from(["OK", "ErrVersion", "ErrNoKey", "ErrMaybe",
                                     ("", 0, "ErrNoKey"), ("x", 1, "OK"), ("y", 1, "OK"),
                                     ("x", 2, "OK"), ("y", 2, "OK")]),
}
for _base in ("register", "cas-register", "set", "queue", "mutex"):  # Jepsen's independent
    INIT[f"independent-{_base}"] = ()
    INPUTS[f"independent-{_base}"] = st.builds(lambda inp, key: {**inp, "key": key},
                                               INPUTS[_base], st.sampled_from([1, 2]))
    OUTPUTS[f"independent-{_base}"] = OUTPUTS[_base]


def some_output(name: str, inp: Any) -> st.SearchStrategy:
    """An output for ``inp``, mostly wrong: any of the model's, or for a transaction its own
    steps with other values read (a completion always reports its call's steps)."""
    if name != "multi-register":
        return OUTPUTS[name]
    return st.tuples(*[st.one_of(st.none(), V) if f == "read" else st.just(v)
                       for f, _, v in inp["value"]]).map(
        lambda vs: [[f, k, v] for (f, k, _), v in zip(inp["value"], vs, strict=True)])


@st.composite
def linearizable_history(draw, name: str, max_ops: int = 7) -> list[Operation]:
    """Ops placed around the points of a sequential run: linearizable by construction."""
    n = draw(st.integers(1, max_ops))
    state = INIT[name]
    ops: list[Operation] = []
    for k in range(n):
        inp = draw(INPUTS[name])
        point = 10 * k
        is_open = draw(st.booleans()) and draw(st.booleans())
        takes_effect = not is_open or draw(st.booleans())
        call = point - draw(st.integers(0, 25))
        if takes_effect:
            possible, out, nxt = run(name, state, inp)
            if not possible:
                continue
            state = nxt
        else:
            out = None
        ret = None if is_open else point + draw(st.integers(0, 25))
        ops.append(Operation(k, inp, None if is_open else out, call, ret))
    assume(ops)
    return ops


@st.composite
def mutated_history(draw, name: str, max_ops: int = 7) -> list[Operation]:
    """A linearizable history with one output changed or one operation's timing moved."""
    ops = draw(linearizable_history(name, max_ops))
    i = draw(st.integers(0, len(ops) - 1))
    op = ops[i]
    how = draw(st.sampled_from(["output", "time", "open", "close"]))
    if how == "output" and op.ret is not None:
        ops[i] = Operation(op.client, op.input, draw(some_output(name, op.input)), op.call,
                           op.ret)
    elif how == "time":
        call = draw(st.integers(-30, 80))
        ret = None if op.ret is None else call + draw(st.integers(0, 30))
        ops[i] = Operation(op.client, op.input, op.output, call, ret)
    elif how == "open":
        ops[i] = Operation(op.client, op.input, None, op.call, None)
    elif how == "close" and op.ret is None:
        ops[i] = Operation(op.client, op.input, draw(some_output(name, op.input)), op.call,
                           op.call + draw(st.integers(0, 30)))
    return ops


def assert_valid_linearization(ops, model, lin, complete: bool) -> None:
    """``lin`` (op index, state) respects real time and the model; complete if asked."""
    state = model.init()
    placed: set[int] = set()
    for idx, after in lin:
        op = ops[idx]
        assert idx not in placed
        for j, other in enumerate(ops):  # nothing that must come first is missing
            if j not in placed and j != idx and other.ret is not None:
                assert not other.ret < op.call
        ok, state = model.step(state, op.input, UNKNOWN if op.ret is None else op.output)
        assert ok and state == after
        placed.add(idx)
    if complete:
        assert all(j in placed for j, op in enumerate(ops) if op.ret is not None)


MODEL_NAMES = sorted(MODELS)


@settings(max_examples=N_EXAMPLES)
@given(data=st.data(), name=st.sampled_from(MODEL_NAMES))
def test_constructed_histories_are_linearizable(data, name):
    ops = data.draw(linearizable_history(name))
    model = MODELS[name]()
    assert oracle(ops, model)
    result = check(ops, model, verbose=True)
    assert result.verdict is Verdict.OK
    for part in result.partitions:
        assert_valid_linearization(part.ops, model, part.linearizations[0], complete=True)


@settings(max_examples=N_EXAMPLES * 3)
@given(data=st.data(), name=st.sampled_from(MODEL_NAMES))
def test_checker_agrees_with_oracle_on_mutated_histories(data, name):
    ops = data.draw(mutated_history(name))
    model = MODELS[name]()
    expected = oracle(ops, model)
    result = check(ops, model, verbose=True)
    assert result.verdict is (Verdict.OK if expected else Verdict.ILLEGAL)
    assert check(ops, model, partition=False).verdict is result.verdict
    for part in result.partitions:
        for lin in part.linearizations:
            assert_valid_linearization(part.ops, model, lin, part.verdict is Verdict.OK)


@settings(max_examples=N_EXAMPLES)
@given(data=st.data())
def test_open_operations_may_take_effect_or_not(data):
    # register histories where every write is open: readers decide which took effect
    ops = data.draw(mutated_history("register"))
    ops = [Operation(o.client, o.input, None, o.call, None) if o.input["op"] == "write" else o
           for o in ops]
    model = MODELS["register"]()
    assert (check(ops, model).verdict is Verdict.OK) == oracle(ops, model)


@settings(max_examples=N_EXAMPLES)
@given(data=st.data())
def test_err_maybe_puts_agree_with_oracle(data):
    # versioned-kv histories where some completed Puts answer ErrMaybe (applied exactly when
    # their version matched at their point): the oracle tries every order
    ops = data.draw(mutated_history("versioned-kv"))
    ops = [replace(o, output="ErrMaybe") if o.input["op"] == "put" and o.ret is not None
           and data.draw(st.booleans()) else o for o in ops]
    model = MODELS["versioned-kv"]()
    expected = oracle(ops, model)
    event(f"linearizable: {expected}")
    assert (check(ops, model).verdict is Verdict.OK) == expected


@settings(max_examples=max(150, settings.default.max_examples))
@given(data=st.data(), name=st.sampled_from(["register", "cas-register", "kv", "set",
                                             "versioned-kv", "multi-register"]))
def test_pruning_rules_agree_with_the_plain_search(data, name):
    # histories too long for the oracle: the plain Wing-Gong/Lowe search is the reference
    ops = data.draw(linearizable_history(name, max_ops=18))
    if data.draw(st.booleans()):
        i = data.draw(st.integers(0, len(ops) - 1))
        op = ops[i]
        if op.ret is not None:
            ops[i] = Operation(op.client, op.input, data.draw(some_output(name, op.input)),
                               op.call, op.ret)
    model = MODELS[name]()
    plain = reference.check(ops, model, timeout=1)
    assume(plain.verdict is not Verdict.UNKNOWN)
    assert check(ops, model).verdict is plain.verdict
    assert check(ops, model, partition=False).verdict is plain.verdict


# --- rule 8: independent groups (partition=False, so no model partitioning is involved) ---

SPLIT_FIRST = Pruning(components_after=0)  # rule 8 before any plain search


@settings(max_examples=N_EXAMPLES)
@given(data=st.data(), name=st.sampled_from(["kv", "set", "register", "queue",
                                             "independent-cas-register"]))
def test_independent_groups_agree_with_oracle(data, name):
    # kv on two keys, a set (adds and removes of different values commute), and models
    # whose operations mostly do not commute
    ops = data.draw(mutated_history(name, max_ops=9))
    done = [i for i, op in enumerate(ops) if op.ret is not None]
    if done and data.draw(st.booleans()):  # one more output changed: mostly not linearizable
        i = data.draw(st.sampled_from(done))
        ops[i] = replace(ops[i], output=data.draw(OUTPUTS[name]))
    model = MODELS[name]()
    expected = Verdict.OK if oracle(ops, model) else Verdict.ILLEGAL
    result = check(ops, model, partition=False, pruning=SPLIT_FIRST, verbose=True)
    assert result.verdict is expected
    event(f"{name} {expected}: rule 8 "
          f"{'decided' if result.partitions[0].components > 1 else 'not used'}")
    for part in result.partitions:  # ILLEGAL via rule 8: the failed group's own search
        for lin in part.linearizations:
            assert_valid_linearization(part.ops, model, lin, part.verdict is Verdict.OK)
    off = check(ops, model, partition=False, pruning=replace(SPLIT_FIRST, components=False))
    assert off.verdict is expected


def _append(client, key, value, call, ret):
    return Operation(client, {"op": "append", "key": key, "value": value}, None, call, ret)


def _get(client, key, value, call, ret):
    return Operation(client, {"op": "get", "key": key}, value, call, ret)


# Two keys, each with two concurrent appends that a later get orders. A get depends on a
# *combination* of appends, so no single append changes whether it is allowed from the
# start state: the groups must still come out right (and the verdict is certified anyway).
TWO_KEYS = [
    _append(0, "a", "x", 0, 10), _append(1, "a", "y", 1, 10),
    _append(2, "b", "u", 2, 12), _append(3, "b", "v", 3, 12),
    _get(4, "a", "yx", 20, 21), _get(5, "b", "uv", 22, 23),
    _append(0, "b", "w", 30, 40), _append(1, "a", "z", 31, 41),
    _get(2, "b", "uvw", 50, 51), _get(3, "a", "yxz", 50, 52),
]
# The same, but key a's second get sees the appends in the other order: not linearizable.
TWO_KEYS_BAD = TWO_KEYS[:-1] + [_get(3, "a", "xyz", 50, 52)]


@pytest.mark.parametrize(("ops", "expected"), [(TWO_KEYS, Verdict.OK),
                                               (TWO_KEYS_BAD, Verdict.ILLEGAL)])
def test_independent_groups_decide_two_key_histories(ops, expected):
    model = MODELS["kv"]()
    assert oracle(ops, model) is (expected is Verdict.OK)
    result = check(ops, model, partition=False, pruning=SPLIT_FIRST, verbose=True)
    assert result.verdict is expected
    (part,) = result.partitions
    assert part.components == 2  # rule 8 decided, from one group per key
    if expected is Verdict.OK:
        assert_valid_linearization(part.ops, model, part.linearizations[0], complete=True)
    else:  # explained by the failed group alone: key a's operations
        assert {op.input["key"] for op in part.ops} == {"a"}
        assert part.linearizations and part.stuck
    off = check(ops, model, partition=False, verbose=True,
                pruning=replace(SPLIT_FIRST, components=False))
    assert off.verdict is expected and off.partitions[0].components == 1


def test_independent_groups_wait_for_a_hard_plain_search():
    # by default rule 8 starts only after the plain search has searched a while
    result = check(TWO_KEYS, "kv", partition=False, verbose=True)
    assert result.verdict is Verdict.OK and result.partitions[0].components == 1


# --- sequential partitions: checked by stepping the model (search.sequential) ---

NO_FAST_PATH = Pruning(sequential=False)


@st.composite
def sequential_history(draw, name: str, max_ops: int = 8, overlaps: int = 0
                       ) -> list[Operation]:
    """A run of one client at a time (each call after the previous return, the last maybe
    open), then up to ``overlaps`` intervals stretched into their neighbours' (nearly
    sequential), and maybe one output changed (mostly not linearizable)."""
    n = draw(st.integers(1, max_ops))
    state = INIT[name]
    ops: list[Operation] = []
    for k in range(n):
        inp = draw(INPUTS[name])
        possible, out, nxt = run(name, state, inp)
        if not possible:
            continue
        state = nxt
        ops.append(Operation(k % 3, inp, out, 10 * k, 10 * k + draw(st.integers(0, 9))))
    assume(ops)
    if draw(st.booleans()):  # the last one open: it may have taken effect or not
        last = ops[-1]
        ops[-1] = Operation(last.client, last.input, None, last.call, None)
    for _ in range(draw(st.integers(0, overlaps))):
        i = draw(st.integers(0, len(ops) - 1))
        op = ops[i]
        if op.ret is not None:
            ops[i] = replace(op, ret=op.ret + draw(st.integers(1, 25)))
    done = [i for i, op in enumerate(ops) if op.ret is not None]
    if done and draw(st.booleans()):
        i = draw(st.sampled_from(done))
        ops[i] = replace(ops[i], output=draw(some_output(name, ops[i].input)))
    return ops


@settings(max_examples=N_EXAMPLES)
@given(data=st.data(), name=st.sampled_from(MODEL_NAMES))
def test_sequential_partitions_agree_with_oracle(data, name):
    ops = data.draw(sequential_history(name))
    model = MODELS[name]()
    expected = Verdict.OK if oracle(ops, model) else Verdict.ILLEGAL
    result = check(ops, model, verbose=True)
    assert result.verdict is expected
    event(f"{name} {expected}")
    slow = check(ops, model, verbose=True, pruning=NO_FAST_PATH)
    assert slow.verdict is expected
    assert check(ops, model, partition=False).verdict is expected
    for part in result.partitions:
        lin = part.linearizations[0]
        assert_valid_linearization(part.ops, model, lin, part.verdict is Verdict.OK)
        if part.verdict is Verdict.ILLEGAL:  # the refused operation, where the prefix ends
            nxt = len(lin)
            assert part.stuck[0] == part.blocking == nxt
            assert part.fail_time == part.ops[nxt].ret


@settings(max_examples=max(150, settings.default.max_examples))
@given(data=st.data(), name=st.sampled_from(["register", "cas-register", "kv", "set",
                                             "queue"]))
def test_nearly_sequential_histories_agree_with_the_plain_search(data, name):
    # longer runs with a few overlapping intervals: the search (not the fast path) on
    # histories with little concurrency, against the reference
    ops = data.draw(sequential_history(name, max_ops=24, overlaps=4))
    model = MODELS[name]()
    plain = reference.check(ops, model, timeout=1)
    assume(plain.verdict is not Verdict.UNKNOWN)
    assert check(ops, model).verdict is plain.verdict
    assert check(ops, model, pruning=NO_FAST_PATH).verdict is plain.verdict
    assert check(ops, model, partition=False).verdict is plain.verdict


class _Counting:
    """A model's step, counted: cost per operation without timing anything."""

    def __init__(self, name: str) -> None:
        self.model = MODELS[name]()
        self.steps = 0

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.model, attr)

    def step(self, state: Any, inp: Any, out: Any) -> tuple[bool, Any]:
        self.steps += 1
        return self.model.step(state, inp, out)


def _kv_run(n: int, keys: int, in_flight: int, seed: int = 7) -> list[Operation]:
    """A linearizable put/get history: ``in_flight`` clients, each op's interval around
    its point of a sequential run."""
    import random

    rng = random.Random(seed)
    free = [0.0] * in_flight
    raw = []
    for i in range(n):
        c = i % in_flight
        call = free[c] + rng.random()
        point = call + rng.random() * in_flight
        free[c] = ret = point + rng.random() * in_flight
        raw.append((point, c, f"k{rng.randrange(keys)}", rng.random() < 0.5, call, ret, i))
    raw.sort()
    vals: dict[str, str] = {}
    ops = []
    for _point, c, key, put, call, ret, i in raw:
        if put:
            vals[key] = str(i)
            ops.append(Operation(c, {"op": "put", "key": key, "value": str(i)}, None, call, ret))
        else:
            ops.append(Operation(c, {"op": "get", "key": key}, vals.get(key, ""), call, ret))
    return ops


@pytest.mark.parametrize("in_flight", [1, 10])
def test_cost_per_operation_is_flat(in_flight):
    # model steps per operation stay the same from 2,000 to 20,000 operations on 4 keys
    # (bounded concurrency: each node looks at a window of concurrent operations only)
    per_op = []
    for n in (2_000, 20_000):
        counting = _Counting("kv")
        ops = _kv_run(n, 4, in_flight)
        assert check(ops, counting, workers=1).verdict is Verdict.OK
        per_op.append(counting.steps / n)
    assert per_op[1] < 1.3 * per_op[0] + 0.5, per_op
    if in_flight == 1:
        assert per_op[1] <= 1.0  # the fast path: each operation stepped once


def test_a_long_sequential_partition_is_stepped_not_searched():
    # like the KV tests' histories: each key used by one client, one call at a time
    ops = _kv_run(20_000, 20, 1)
    result = check(ops, "kv", verbose=True, workers=1)
    assert result.verdict is Verdict.OK
    assert result.nodes == len(ops)  # one node per operation, nothing searched
    bad = list(ops)
    i = next(i for i in range(len(bad) // 2, len(bad)) if bad[i].input["op"] == "get")
    bad[i] = replace(bad[i], output="never written")
    result = check(bad, "kv", verbose=True, workers=1)
    assert result.verdict is Verdict.ILLEGAL
    (part,) = result.partitions
    assert part.ops[part.blocking].output == "never written"
    assert part.stuck == [part.blocking] == [len(part.linearizations[0])]
