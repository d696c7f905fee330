"""Readers, the JSON-lines writer, format detection, and error reporting with line numbers."""

from __future__ import annotations

import io
import json
import time

import pytest
from faultlab.checker.errors import HistoryFormatError
from faultlab.checker.formats import (
    detect_format,
    edn,
    jepsen_etcd,
    jsonl,
    load_history,
    porcupine_kv,
)
from faultlab.checker.history import Operation
from faultlab.checker.linearizability import Verdict, check
from hypothesis import given, settings
from hypothesis import strategies as st

KV_LINES = [
    '{:process 0, :type :invoke, :f :put, :key "1", :value "a"}',
    '{:process 1, :type :invoke, :f :get, :key "1", :value nil}',
    '{:process 0, :type :ok, :f :put, :key "1", :value "a"}',
    '{:process 1, :type :ok, :f :get, :key "1", :value "a"}',
    '{:process 2, :type :invoke, :f :append, :key "2", :value "b"}',
]
ETCD_LINES = [
    "INFO  jepsen.util - 4\t:invoke\t:read\tnil",
    "INFO  jepsen.util - 4\t:ok\t:read\tnil",
    "INFO  jepsen.util - 1\t:invoke\t:write\t1",
    "INFO  jepsen.util - 2\t:invoke\t:cas\t[1 4]",
    "INFO  jepsen.util - 1\t:ok\t:write\t1",
    "INFO  jepsen.util - 2\t:fail\t:cas\t[1 4]",
    "INFO  jepsen.util - 3\t:invoke\t:cas\t[1 2]",
    "INFO  jepsen.util - 3\t:info\t:cas\t:timed-out",
    "INFO  jepsen.util - 5\t:invoke\t:read\tnil",
    "INFO  jepsen.util - 5\t:fail\t:read\t:timed-out",
]
EDN_TEXT = """[{:type :invoke, :f :write, :value 1, :process 0, :time 10}
 {:type :info, :f :start, :value nil, :process :nemesis}
 {:type :ok, :f :write, :value 1, :process 0, :time 20}
 {:type :invoke, :f :cas, :value [1 2], :process 1}
 {:type :fail, :f :cas, :value [1 2], :process 1}
 {:type :invoke, :f :write, :value 3, :process 2}
 {:type :info, :f :write, :value 3, :process 2}
 ; a comment
 {:type :invoke, :f :read, :value nil, :process 3}
 {:type :ok, :f :read, :value 3, :process 3}]
"""


def test_porcupine_kv_reader():
    ops = porcupine_kv.read_history(KV_LINES)
    assert ops[0] == Operation(0, {"op": "put", "key": "1", "value": "a"}, None, 1.0, 3.0)
    assert ops[1] == Operation(1, {"op": "get", "key": "1"}, "a", 2.0, 4.0)
    assert ops[2].ret is None and ops[2].input == {"op": "append", "key": "2", "value": "b"}


def test_jepsen_etcd_reader_semantics():
    ops = jepsen_etcd.read_history(ETCD_LINES)
    by_client = {op.client: op for op in ops}
    assert by_client[4].output is None and by_client[4].ret == 2.0  # read of an absent value
    assert by_client[2].output is False  # :fail cas: did not apply
    assert by_client[3].ret is None  # :info: open to the end
    assert 5 not in by_client  # :fail :read :timed-out carries no information
    assert check(ops, "cas-register").verdict is Verdict.OK


def test_edn_reader_semantics():
    ops = edn.read_history(io.StringIO(EDN_TEXT))
    assert [op.client for op in ops] == [0, 2, 3]  # nemesis ignored, :fail dropped
    assert ops[0].meta == {"call_time": 10, "return_time": 20}
    assert ops[1].ret is None  # :info
    assert ops[2].output == 3
    assert edn.guess_model(ops) == "register"
    assert check(ops, "register").verdict is Verdict.OK


def test_edn_one_map_per_line_and_values():
    text = ('{:process 0 :type :invoke :f :add :value "a\\n\\u0041"}\n'
            '{:process 0 :type :ok :f :add :value #_ignored "a"}\n'
            '{:process 1 :type :invoke :f :read :value nil}\n'
            '{:process 1 :type :ok :f :read :value #{"a\\nA"}}\n')
    ops = edn.read_history(text.splitlines())
    assert ops[0].input == {"op": "add", "value": "a\nA"}
    assert ops[1].output == ["a\nA"]
    assert edn.guess_model(ops) == "set"
    assert check(ops, "set").verdict is Verdict.OK


# Jepsen's independent checker: values are [key value] tuples. Key 1 is fine; key 2's
# second read sees 9 although the cas to 6 came last (the write of 9 failed).
INDEPENDENT_TEXT = """[{:type :invoke, :f :write, :value [1 3], :process 0}
 {:type :invoke, :f :write, :value [2 5], :process 1}
 {:type :ok, :f :write, :value [1 3], :process 0}
 {:type :invoke, :f :read, :value [1 nil], :process 0}
 {:type :ok, :f :write, :value [2 5], :process 1}
 {:type :ok, :f :read, :value [1 3], :process 0}
 {:type :invoke, :f :write, :value [2 9], :process 4}
 {:type :fail, :f :write, :value [2 9], :process 4}
 {:type :invoke, :f :cas, :value [2 [5 6]], :process 2}
 {:type :ok, :f :cas, :value [2 [5 6]], :process 2}
 {:type :info, :f :start, :value nil, :process :nemesis}
 {:type :invoke, :f :cas, :value [1 [4 7]], :process 3}
 {:type :fail, :f :cas, :value [1 [4 7]], :process 3}
 {:type :invoke, :f :read, :value [2 nil], :process 1}
 {:type :ok, :f :read, :value [2 6], :process 1}
 {:type :invoke, :f :write, :value [1 8], :process 0}
 {:type :info, :f :write, :value [1 8], :process 0}
 {:type :invoke, :f :read, :value [2 nil], :process 3}
 {:type :ok, :f :read, :value [2 6], :process 3}]
"""
INDEPENDENT_BAD = INDEPENDENT_TEXT.replace(":value [2 6], :process 3", ":value [2 9], :process 3")


def test_edn_independent_history_is_keyed():
    ops = edn.read_history(INDEPENDENT_TEXT.splitlines())
    assert ops[0].input == {"op": "write", "key": 1, "value": 3}
    assert ops[2].input == {"op": "read", "key": 1} and ops[2].output == 3
    cas = next(op for op in ops if op.input["op"] == "cas")
    assert cas.input == {"op": "cas", "key": 2, "from": 5, "to": 6} and cas.output is True
    assert [op.ret for op in ops if op.client == 0][-1] is None  # :info stays open
    assert edn.guess_model(ops) == "independent-cas-register"
    assert load_history(INDEPENDENT_TEXT.splitlines()).model == "independent-cas-register"
    for partition in (True, False):
        assert check(ops, "independent-cas-register", partition=partition).ok


def test_edn_independent_history_fails_per_key():
    ops = edn.read_history(INDEPENDENT_BAD.splitlines())
    result = check(ops, "independent-cas-register", verbose=True)
    assert result.verdict is Verdict.ILLEGAL and result.n_partitions == 2
    (part,) = [p for p in result.partitions if p.verdict is Verdict.ILLEGAL]
    assert {op.input["key"] for op in part.ops} == {2}
    assert check(ops, "independent-cas-register", partition=False).verdict is Verdict.ILLEGAL


def test_edn_plain_cas_history_is_not_independent():
    ops = edn.read_history(["{:process 0 :type :invoke :f :cas :value [1 2]}",
                            "{:process 0 :type :ok :f :cas :value [1 2]}"])
    assert ops[0].input == {"op": "cas", "from": 1, "to": 2}
    assert edn.guess_model(ops) == "cas-register"


def test_jsonl_round_trip(tmp_path):
    ops = [
        Operation(0, {"op": "write", "value": 1}, None, 0.0, 1.5, {"fault": "partition"}),
        Operation("c1", {"op": "read"}, 1, 2, 3),
        Operation(2, {"op": "write", "value": 2}, None, 2.5, None),
    ]
    path = tmp_path / "h.jsonl"
    jsonl.write_history(ops, path, model="register", seed=7)
    back, header = jsonl.read_history(path)
    assert back == ops
    assert header == {"faultlab_history": 1, "model": "register", "seed": 7}
    loaded = load_history(path)
    assert (loaded.format, loaded.model) == ("jsonl", "register")
    buf = io.StringIO()
    jsonl.write_history(ops, buf)
    assert jsonl.read_history(buf.getvalue().splitlines())[0] == ops


def test_detection():
    assert detect_format(KV_LINES) == "porcupine-kv"
    assert detect_format(ETCD_LINES) == "jepsen-etcd"
    assert detect_format(EDN_TEXT.splitlines()) == "edn"
    assert detect_format(['{"faultlab_history": 1}']) == "jsonl"
    assert detect_format(["", "  "], "x.jsonl") == "jsonl"
    with pytest.raises(HistoryFormatError) as e:
        detect_format(["", "hello world"], "f.txt")
    assert e.value.line == 2


@pytest.mark.parametrize(
    "lines, line, words",
    [
        (['{"faultlab_history": 1}', '{"client": 0, "input": 1, "call": 0}'], 2, "return"),
        (['{"faultlab_history": 1}', "{not json"], 2, "invalid JSON"),
        (['{"faultlab_history": 2}'], 1, "version"),
        (['{"client": 0}'], 1, "header"),
        (['{"faultlab_history": 1}', "",
          '{"client": 0, "input": 1, "output": 1, "call": 5, "return": 4}'], 3, "before call"),
        (['{"faultlab_history": 1}', '{"client": true, "input": 1, "call": 0, "return": null}'],
         2, "client"),
        (['{"faultlab_history": 1}', '[1, 2]'], 2, "object"),
        (['{"faultlab_history": 1}', '{"client": 0, "input": 1, "call": NaN, "return": null}'],
         2, "NaN"),
    ],
)
def test_jsonl_errors_name_the_line(lines, line, words):
    with pytest.raises(HistoryFormatError) as e:
        jsonl.read_history(lines, name="h.jsonl")
    assert e.value.line == line
    assert words in str(e.value)
    assert str(e.value).startswith(f"h.jsonl:{line}: ")


@pytest.mark.parametrize(
    "reader, lines, line",
    [
        (porcupine_kv, KV_LINES[:2] + ["{:process 9, :type :ok, :f :get, :key \"1\", :value nil}"],
         3),
        (porcupine_kv, KV_LINES[:1] + ["garbage"], 2),
        (porcupine_kv, KV_LINES[:1] + [KV_LINES[0]], 2),
        (jepsen_etcd, ETCD_LINES[:3] + ["INFO  jepsen.util - 1\t:ok\t:cas\t[1 2]"], 4),
        (jepsen_etcd, ETCD_LINES[:1] + ["INFO  jepsen.util - 4\t:invoke\t:frob\tnil"], 2),
        (jepsen_etcd, ["nonsense"], 1),
        (edn, ["[{:process 0 :type :invoke :f :read}", "{:process 0 :type :ok :f :write}]"], 2),
        (edn, ["{:process 0 :type :invoke :f :read}", "{:process 0 :type :bogus :f :read}"], 2),
        (edn, ["{:process 0 :type :invoke", ":f :read"], 1),
        (edn, ["{:process 0 :type :invoke :f :read}", "{:process 0 :f :read]"], 2),
        (edn, ["{:process 0 :type :invoke :f :read :value [1 nil]}",
               "{:process 0 :type :ok :f :read :value [2 5]}"], 2),  # key 2, called for 1
    ],
)
def test_reader_errors_name_the_line(reader, lines, line):
    with pytest.raises(HistoryFormatError) as e:
        reader.read_history(lines, name="f")
    assert e.value.line == line, str(e.value)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(HistoryFormatError, match="cannot read"):
        load_history(tmp_path / "nope.jsonl")
    with pytest.raises(HistoryFormatError, match="directory"):
        load_history(tmp_path)


def test_bad_bytes_name_the_line(tmp_path):
    path = tmp_path / "h.jsonl"
    path.write_bytes(b'{"faultlab_history": 1}\n\xff\xfe\n')
    with pytest.raises(HistoryFormatError) as e:
        load_history(path)
    assert e.value.line == 2 and "UTF-8" in str(e.value)


def test_error_pickles():
    import pickle

    e = pickle.loads(pickle.dumps(HistoryFormatError("f", 3, "bad")))
    assert (e.file, e.line, e.message, str(e)) == ("f", 3, "bad", "f:3: bad")


# --- fuzzing: nothing but HistoryFormatError may come out of a reader ---

SAMPLES = {
    "jsonl": ['{"faultlab_history": 1, "model": "kv"}',
              '{"client": 0, "input": {"op": "get", "key": "a"}, "output": "", "call": 0, '
              '"return": 1}',
              '{"client": 1, "input": {"op": "put", "key": "a", "value": "x"}, "output": null, '
              '"call": 0.5, "return": null, "meta": {"fault": "crash"}}'],
    "porcupine-kv": KV_LINES,
    "jepsen-etcd": ETCD_LINES,
    "edn": EDN_TEXT.splitlines(),
    "edn-independent": INDEPENDENT_TEXT.splitlines(),
}


def _read_all(data) -> None:
    """Every reader gives operations or its own error, each within a second."""
    for fmt in ("auto", "jsonl", "porcupine-kv", "jepsen-etcd", "edn"):
        if isinstance(data, io.BytesIO):
            data.seek(0)
        start = time.perf_counter()
        try:
            loaded = load_history(data, fmt)
        except HistoryFormatError:
            continue
        finally:
            assert time.perf_counter() - start < 1.0, fmt
        assert isinstance(loaded.ops, list)


DEEP = "[" * 50_000 + "]" * 50_000


@pytest.mark.parametrize("lines", [
    ['{"faultlab_history": 1, "x": ' + DEEP + "}"],
    ['{"faultlab_history": 1}', '{"client": 1, "input": ' + DEEP + ', "output": null, '
     '"call": 1, "return": 2}'],
    ["[{:process 0, :type :invoke, :f :write, :value " + DEEP + "}]"],
    ["{:process 0, :type :invoke, :f :write, :value " + "{:a " * 20_000 + "}" * 20_000 + "}"],
    ['{"faultlab_history": 1}', '{"client": 1, "input": {"op": "write", "value": '
     + "9" * 100_000 + '}, "output": null, "call": 1, "return": 2}'],
    ["INFO jepsen.util - 1 :invoke :write " + "9" * 100_000],
])
def test_deep_or_huge_values_are_format_errors_for_every_reader(lines):
    _read_all(lines)
    _read_all(io.BytesIO("\n".join(lines).encode()))


@settings(max_examples=max(200, settings.default.max_examples))
@given(st.binary(max_size=300))
def test_random_bytes_only_raise_format_errors(data):
    _read_all(io.BytesIO(data))


@settings(max_examples=max(300, settings.default.max_examples))
@given(st.sampled_from(sorted(SAMPLES)), st.data())
def test_mutated_lines_only_raise_format_errors(fmt, data):
    lines = list(SAMPLES[fmt])
    i = data.draw(st.integers(0, len(lines) - 1))
    line = lines[i]
    how = data.draw(st.sampled_from(["cut", "insert", "replace", "swap", "dup", "drop"]))
    if how == "cut":
        lines[i] = line[: data.draw(st.integers(0, len(line)))]
    elif how == "insert":
        k = data.draw(st.integers(0, len(line)))
        lines[i] = line[:k] + data.draw(st.text(max_size=5)) + line[k:]
    elif how == "replace" and line:
        k = data.draw(st.integers(0, len(line) - 1))
        lines[i] = line[:k] + data.draw(st.characters()) + line[k + 1:]
    elif how == "swap":
        j = data.draw(st.integers(0, len(lines) - 1))
        lines[i], lines[j] = lines[j], lines[i]
    elif how == "dup":
        lines.insert(i, line)
    else:
        del lines[i]
    _read_all(lines)
    _read_all(io.BytesIO("\n".join(lines).encode("utf-8", "surrogatepass")))


@settings(max_examples=max(100, settings.default.max_examples))
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=3), c,
                                                                         max_size=3)))
def test_arbitrary_json_lines_only_raise_format_errors(value):
    _read_all(['{"faultlab_history": 1}', json.dumps(value)])


def test_edn_as_jepsen_writes_it_comments_and_a_list(tmp_path):
    # ; comment lines first (detected as EDN), and a top-level list ( ... ) read like a vector
    text = "\n".join([
        ";; history.edn, written by Jepsen",
        "; another comment",
        "({:process 0, :type :invoke, :f :write, :value 1}",
        " {:process 0, :type :ok, :f :write, :value 1}",
        " {:process 1, :type :invoke, :f :read, :value nil} ; a trailing comment",
        " {:process 1, :type :ok, :f :read, :value 1})",
    ])
    assert detect_format(text.splitlines()) == "edn"
    path = tmp_path / "history.edn"
    path.write_text(text)
    loaded = load_history(path)
    assert loaded.format == "edn" and loaded.model == "register"
    assert [op.client for op in loaded.ops] == [0, 1]
    assert check(loaded.ops, "register").verdict is Verdict.OK
    with pytest.raises(HistoryFormatError, match="does not close"):
        edn.read_history(["({:process 0, :type :invoke, :f :read}]"])


# Jepsen :txn histories for Knossos's multi-register: T0 writes x=1,y=1; then T1 writes
# x=2,y=2 while T2 reads both.
TXN_EDN = [
    "; a multi-register run",
    "[{:process 0, :type :invoke, :f :txn, :value [[:write :x 1] [:write :y 1]]}",
    " {:process 0, :type :ok, :f :txn, :value [[:write :x 1] [:write :y 1]]}",
    " {:process 1, :type :invoke, :f :txn, :value [[:write :x 2] [:write :y 2]]}",
    " {:process 2, :type :invoke, :f :txn, :value [[:read :x nil] [:read :y nil]]}",
    " {:process 1, :type :ok, :f :txn, :value [[:write :x 2] [:write :y 2]]}",
    " {:process 2, :type :ok, :f :txn, :value [[:read :x READ_X] [:read :y READ_Y]]}",
    " {:process 3, :type :invoke, :f :txn, :value [[:write :z 5]]}",
    " {:process 3, :type :info, :f :txn, :value [[:write :z 5]]}]",
]


def _txn_history(x: int, y: int) -> list[str]:
    return [ln.replace("READ_X", str(x)).replace("READ_Y", str(y)) for ln in TXN_EDN]


@pytest.mark.parametrize(("x", "y", "expected"), [
    (1, 1, Verdict.OK), (2, 2, Verdict.OK),  # before or after the concurrent transaction
    (2, 1, Verdict.ILLEGAL), (1, 2, Verdict.ILLEGAL),  # torn: half of a transaction seen
    (3, 2, Verdict.ILLEGAL),  # a value never written
])
def test_edn_txn_history_is_checked_as_a_multi_register(x, y, expected):
    loaded = load_history(_txn_history(x, y))
    assert loaded.format == "edn" and loaded.model == "multi-register"
    txn = loaded.ops[2]  # the read-only transaction, its completion's values as output
    assert txn.input == {"op": "txn", "value": [["read", "x", None], ["read", "y", None]]}
    assert txn.output == [["read", "x", x], ["read", "y", y]]
    assert loaded.ops[-1].ret is None  # :info: open
    result = check(loaded.ops, "multi-register")
    assert result.verdict is expected
    assert result.n_partitions == 2  # {x, y} and {z}: keys never in one transaction
