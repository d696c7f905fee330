"""The explanation of a failed check: its longest partial linearization, against the
brute-force reference (checker/reference.py), in the API, the verbose output and the HTML."""

from __future__ import annotations

from faultlab.checker import reference
from faultlab.checker.cli import main
from faultlab.checker.explain import completed_in
from faultlab.checker.formats import jsonl
from faultlab.checker.history import Operation
from faultlab.checker.linearizability import Verdict, check
from faultlab.checker.models import MODELS
from hypothesis import event, given, settings
from hypothesis import strategies as st
from test_checker_oracle import MODEL_NAMES, N_EXAMPLES, assert_valid_linearization, mutated_history

WRITE, READ = {"op": "write", "value": 1}, {"op": "read"}


def overlapping() -> list[Operation]:
    """write(1) over the whole run; read -> 1, then read -> 0 (0 is never written)."""
    return [Operation(0, WRITE, None, 0, 10), Operation(1, READ, 1, 1, 2),
            Operation(2, READ, 0, 3, 4)]


def test_the_longest_partial_linearization_of_the_issue_is_2_of_3():
    ops = overlapping()
    assert reference.longest(ops, MODELS["register"]()) == 2
    (part,) = check(ops, "register", verbose=True).partitions
    assert part.verdict is Verdict.ILLEGAL and part.longest_exact
    assert [part.ops[i].output for i, _ in part.linearizations[0]] == [None, 1]
    assert [part.ops[i].output for i in part.stuck] == [0]


def test_verbose_output_and_html_say_2_of_3(tmp_path, capsys):
    path = tmp_path / "h.jsonl"
    jsonl.write_history(overlapping(), path, model="register")
    assert main([str(path), "-v", "--html", str(tmp_path / "h.html")]) == 1
    out = capsys.readouterr().out
    assert "longest partial linearization: 2 of 3 ops" in out, out
    page = (tmp_path / "h.html").read_text()
    assert '"longestExact": true' in page and "completed ops)" in page


@settings(max_examples=N_EXAMPLES)
@given(data=st.data(), name=st.sampled_from(MODEL_NAMES))
def test_longest_partial_linearization_matches_the_reference(data, name):
    ops = data.draw(mutated_history(name))
    model = MODELS[name]()
    result = check(ops, model, verbose=True)
    for part in result.partitions:
        if part.verdict is not Verdict.ILLEGAL:
            continue
        event(f"{name} illegal")
        assert part.longest_exact
        for lin in part.linearizations:
            assert_valid_linearization(part.ops, model, lin, complete=False)
            assert completed_in(part, lin) == reference.longest(part.ops, model), (ops, lin)


def test_a_budget_too_small_gives_a_lower_bound(monkeypatch, tmp_path, capsys):
    """Twelve concurrent writes and a read of a value never written: thousands of prefixes.
    Cut at 512 nodes, the explanation says "at least"."""
    import faultlab.checker.explain as explain

    ops = [Operation(k, {"op": "write", "value": k}, None, 0, 100) for k in range(12)]
    ops.append(Operation(12, READ, 99, 0, 100))
    model = MODELS["register"]()
    exact = check(ops, model, verbose=True).partitions[0]
    assert exact.longest_exact and completed_in(exact, exact.linearizations[0]) == 12
    assert reference.longest(ops, model) == 12
    monkeypatch.setattr(explain, "EXPLAIN_NODES", 512)
    cut = check(ops, model, verbose=True).partitions[0]
    assert cut.verdict is Verdict.ILLEGAL and not cut.longest_exact
    assert completed_in(cut, cut.linearizations[0]) <= 12
    path = tmp_path / "h.jsonl"
    jsonl.write_history(ops, path, model="register")
    assert main([str(path), "-v"]) == 1
    assert "longest partial linearization: at least " in capsys.readouterr().out
