"""The versioned key/value model (the 2025 labs' kvsrv): its steps, and its verdicts on
histories that are known to be linearizable or known not to be, ErrMaybe included both ways
(it had taken effect, it had not), through check() and through the command line."""

from __future__ import annotations

import pytest
from faultlab.checker.cli import main
from faultlab.checker.formats import jsonl
from faultlab.checker.history import UNKNOWN, Operation
from faultlab.checker.linearizability import Verdict, check
from faultlab.checker.models import VersionedKV, VersionedRegister, get_model


def get(client, value, version, err, call, ret, key="k"):
    return Operation(client, {"op": "get", "key": key}, (value, version, err), call, ret)


def put(client, value, version, err, call, ret, key="k"):
    return Operation(client, {"op": "put", "key": key, "value": value, "version": version},
                     err, call, ret)


def verdict(ops):
    return check(ops, "versioned-kv", timeout=5).verdict


def test_steps_follow_the_lab_server():
    m = VersionedRegister()
    s = m.init()
    assert m.step(s, {"op": "get"}, ("", 0, "ErrNoKey")) == (True, s)
    assert not m.step(s, {"op": "get"}, ("", 0, "OK"))[0]
    assert m.step(s, {"op": "put", "value": "a", "version": 1}, "ErrNoKey") == (True, s)
    assert not m.step(s, {"op": "put", "value": "a", "version": 1}, "ErrVersion")[0]
    ok, s = m.step(s, {"op": "put", "value": "a", "version": 0}, "OK")
    assert ok and s == ("a", 1)
    assert m.step(s, {"op": "get"}, ["a", 1, "OK"])[0]  # a list, as JSON gives it
    assert not m.step(s, {"op": "get"}, ("a", 2, "OK"))[0]
    assert not m.step(s, {"op": "get"}, ("b", 1, "OK"))[0]
    assert m.step(s, {"op": "put", "value": "b", "version": 0}, "ErrVersion") == (True, s)
    assert not m.step(s, {"op": "put", "value": "b", "version": 0}, "OK")[0]
    assert not m.step(s, {"op": "put", "value": "b", "version": 1}, "ErrVersion")[0]


def test_err_maybe_and_open_puts_take_effect_exactly_when_the_version_matches():
    m = VersionedRegister()
    s = ("a", 1)
    for out in ("ErrMaybe", UNKNOWN):
        assert m.step(s, {"op": "put", "value": "b", "version": 1}, out) == (True, ("b", 2))
        assert m.step(s, {"op": "put", "value": "b", "version": 3}, out) == (True, s)
    assert not m.is_read_only({"op": "put", "value": "b", "version": 1}, "ErrMaybe")
    assert m.is_read_only({"op": "put", "value": "b", "version": 1}, "ErrVersion")


def test_may_become_knows_versions_only_grow():
    m = VersionedRegister()
    read = {"op": "get"}
    assert m.may_become(("a", 1), read, ("c", 3, "OK"))
    assert m.may_become(("c", 3), read, ("c", 3, "OK"))
    assert not m.may_become(("b", 3), read, ("c", 3, "OK"))
    assert not m.may_become(("c", 4), read, ("c", 3, "OK"))
    assert not m.may_become(("a", 1), read, ("", 0, "ErrNoKey"))
    assert m.may_become(("", 0), read, ("", 0, "ErrNoKey"))
    refused = {"op": "put", "value": "x", "version": 2}
    assert m.may_become(("a", 2), refused, "ErrVersion")
    assert not m.may_become(("a", 1), refused, "ErrNoKey")


def test_registered_and_understood():
    m = get_model("versioned-kv")
    assert isinstance(m, VersionedKV) and m.name == "versioned-kv"
    assert m.understands({"op": "put", "key": "k", "value": "v", "version": 0})
    assert not m.understands({"op": "put", "key": "k", "value": "v"})  # no version
    assert not m.understands({"op": "append", "key": "k", "value": "v"})
    assert not m.understands({"op": "get"})  # no key
    with pytest.raises(ValueError, match="not an operation of model 'versioned-kv'"):
        check([Operation(0, {"op": "put", "key": "k", "value": "v"}, "OK", 0, 1)],
              "versioned-kv")


# Histories known to be linearizable, and why.
GOOD = {
    # TestReliablePut's sequence, one client
    "reliable put": [
        put(0, "6.5840", 0, "OK", 0, 1), get(0, "6.5840", 1, "OK", 2, 3),
        put(0, "6.5840", 0, "ErrVersion", 4, 5), put(0, "x", 1, "ErrNoKey", 6, 7, key="y"),
        get(0, "", 0, "ErrNoKey", 8, 9, key="y")],
    # the retried Put's first try had applied (its reply was lost): the next Get sees it
    "ErrMaybe had taken effect": [
        put(0, "a", 0, "OK", 0, 1), put(0, "b", 1, "ErrMaybe", 2, 5),
        get(0, "b", 2, "OK", 6, 7)],
    # another clerk's Put got in first; both tries of the ErrMaybe Put were refused
    "ErrMaybe had not taken effect": [
        put(0, "a", 0, "OK", 0, 1), put(1, "b", 1, "ErrMaybe", 2, 10),
        put(2, "c", 1, "OK", 3, 4), get(0, "c", 2, "OK", 11, 12)],
    # the same race, won by the ErrMaybe Put: the other clerk is refused
    "ErrMaybe won the race": [
        put(0, "a", 0, "OK", 0, 1), put(1, "b", 1, "ErrMaybe", 2, 10),
        put(2, "c", 1, "ErrVersion", 3, 4), get(0, "b", 2, "OK", 11, 12)],
    # a Put that never returned may have applied, here late, after a later Get
    "open put applied late": [
        put(0, "a", 0, "OK", 0, 1), put(1, "b", 1, None, 2, None),
        get(0, "a", 1, "OK", 3, 4), get(0, "b", 2, "OK", 5, 6)],
    "open put never applied": [
        put(0, "a", 0, "OK", 0, 1), put(1, "b", 1, None, 2, None),
        get(0, "a", 1, "OK", 3, 4)],
    # a lock round: acquire, critical section on another key, release
    "lock round": [
        get(0, "", 0, "ErrNoKey", 0, 1, key="l"), put(0, "c0", 0, "OK", 2, 3, key="l"),
        get(1, "c0", 1, "OK", 2.5, 3.5, key="l"), put(0, "", 1, "OK", 4, 5, key="l"),
        put(1, "c1", 2, "OK", 6, 7, key="l"), put(0, "c0", 1, "ErrVersion", 6, 8, key="l")],
}

# Histories known not to be linearizable, and why.
BAD = {
    # a Get after an acknowledged Put reads the version before it
    "stale read": [put(0, "a", 0, "OK", 0, 1), put(0, "b", 1, "OK", 2, 3),
                   get(1, "a", 1, "OK", 4, 5)],
    # two Puts of the same version both succeed (a server that ignores the version)
    "two puts of one version": [put(0, "a", 0, "OK", 0, 1), put(1, "b", 0, "OK", 2, 3)],
    # concurrent, yet both claim version 1 -> 2
    "lost update": [put(0, "a", 0, "OK", 0, 1), put(1, "b", 1, "OK", 2, 5),
                    put(2, "c", 1, "OK", 3, 4)],
    # ErrVersion where nothing else could have moved the version
    "false ErrVersion": [put(0, "a", 0, "OK", 0, 1), put(0, "b", 1, "ErrVersion", 2, 3)],
    # an ErrMaybe Put seen to have taken effect with a version it never matched
    "ErrMaybe applied without its version": [
        put(0, "a", 0, "OK", 0, 1), put(1, "b", 5, "ErrMaybe", 2, 3),
        get(0, "b", 2, "OK", 4, 5)],
    # ErrMaybe took effect after it returned
    "ErrMaybe applied after returning": [
        put(0, "a", 0, "OK", 0, 1), put(1, "c", 1, "OK", 2, 3), put(1, "b", 2, "ErrMaybe", 4, 5),
        get(0, "c", 2, "OK", 6, 7), get(0, "b", 3, "OK", 8, 9)],
    # ErrMaybe with the version matching all along and no other writer: the retry that
    # returned ErrVersion could only have met the first try's own write, so the Put applied
    # and the Get after it must see it (a clerk that says ErrMaybe for a lost request it
    # never retried would produce this)
    "ErrMaybe that must have applied, unseen": [
        put(0, "a", 0, "OK", 0, 1), put(0, "b", 1, "ErrMaybe", 2, 3),
        get(0, "a", 1, "OK", 4, 5)],
    # a clerk that turned a retried ErrVersion into OK: another clerk's write won
    "retried ErrVersion reported OK": [
        put(0, "a", 0, "OK", 0, 1), put(1, "c", 1, "OK", 2, 3), put(2, "b", 1, "OK", 2, 6),
        get(0, "c", 2, "OK", 7, 8)],
    "missing key read after a write": [put(0, "a", 0, "OK", 0, 1),
                                       get(1, "", 0, "ErrNoKey", 2, 3)],
    "ErrVersion for a missing key": [put(0, "a", 1, "ErrVersion", 0, 1)],
    # two holders of one lock: both Puts of version 1 -> 2 claim the lock
    "two lock holders": [
        put(0, "c0", 0, "OK", 0, 1, key="l"), put(0, "", 1, "OK", 2, 3, key="l"),
        put(1, "c1", 2, "OK", 4, 6, key="l"), put(2, "c2", 2, "OK", 5, 7, key="l")],
}


@pytest.mark.parametrize("name", sorted(GOOD))
def test_known_good_histories_are_accepted(name):
    assert verdict(GOOD[name]) is Verdict.OK


@pytest.mark.parametrize("name", sorted(BAD))
def test_known_bad_histories_are_rejected(name):
    assert verdict(BAD[name]) is Verdict.ILLEGAL
    # the explanation names a refused operation, in the model's words
    result = check(BAD[name], "versioned-kv", verbose=True)
    bad = next(p for p in result.partitions if p.verdict is Verdict.ILLEGAL)
    model = get_model("versioned-kv")
    stuck = [model.describe_operation(bad.ops[j].input, bad.ops[j].output) for j in bad.stuck]
    assert stuck and all(t.startswith(("get(", "put(")) for t in stuck)


def test_keys_are_checked_apart():
    ops = GOOD["reliable put"] + [put(1, "z", 0, "OK", 0, 1, key="other")]
    assert len(get_model("versioned-kv").partition(ops)) == 3
    assert verdict(ops) is Verdict.OK


def test_command_line_checks_a_versioned_history(tmp_path, capsys):
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    jsonl.write_history(GOOD["ErrMaybe had not taken effect"], good, model="versioned-kv")
    jsonl.write_history(BAD["stale read"], bad, model="versioned-kv")
    assert main([str(good)]) == 0
    assert main([str(bad), "--verbose"]) == 1
    out = capsys.readouterr().out
    assert "model versioned-kv" in out and 'get("k") -> ("a", v1)' in out
