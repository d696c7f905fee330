"""The TLC runner: jar discovery, output parsing, errors, time limit."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import needs_tlc
from faultlab.checker.tla.errors import TLAError, TLCUnavailable
from faultlab.checker.tla.runner import (
    find_jar,
    parse_output,
    run_tlc,
    tlc_unavailable_reason,
    tools_release,
)
from faultlab.checker.tla.values import TLASet, parse_state, parse_value

TOY = """---- MODULE Toy ----
EXTENDS Naturals
VARIABLE x
Init == x = 0
Next == x' = x + 1
Small == x < 3
====
"""
TOY_CFG = "INIT Init\nNEXT Next\nINVARIANT Small\n"

CANNED = """@!@!@STARTMSG 2262:0 @!@!@
TLC2 Version 2.15 of Day Month 20?? (rev: d5b5a7f)
@!@!@ENDMSG 2262 @!@!@
@!@!@STARTMSG 2110:1 @!@!@
Invariant Small is violated.
@!@!@ENDMSG 2110 @!@!@
@!@!@STARTMSG 2121:1 @!@!@
The behavior up to this point is:
@!@!@ENDMSG 2121 @!@!@
@!@!@STARTMSG 2217:4 @!@!@
1: <Initial predicate>
/\\ x = 0
/\\ m = (<<"a", 1>> :> [t |-> TRUE, s |-> {1, 2}])

@!@!@ENDMSG 2217 @!@!@
@!@!@STARTMSG 2217:4 @!@!@
2: <Next line 5, col 9 to line 5, col 18 of module Toy>
/\\ x = 1
/\\ m = << >>

@!@!@ENDMSG 2217 @!@!@
@!@!@STARTMSG 2199:0 @!@!@
12 states generated, 4 distinct states found, 1 states left on queue.
@!@!@ENDMSG 2199 @!@!@
@!@!@STARTMSG 2194:0 @!@!@
The depth of the complete state graph search is 4.
@!@!@ENDMSG 2194 @!@!@
"""


def test_parse_output_reads_verdict_stats_and_counterexample() -> None:
    res = parse_output(CANNED)
    assert not res.ok and res.invariant == "Small"
    assert (res.generated, res.distinct, res.left, res.depth) == (12, 4, 1, 4)
    assert [s.index for s in res.counterexample] == [1, 2]
    assert res.counterexample[0].action == "Initial predicate"
    assert res.counterexample[0].vars["m"] == {("a", 1): {"t": True, "s": TLASet((1, 2))}}
    assert res.counterexample[1].vars == {"x": 1, "m": ()}


def test_parse_output_reads_the_tlc_version() -> None:
    res = parse_output(CANNED)
    assert (res.version, res.revision) == ("2.15", "d5b5a7f")
    assert res.tlc_label == "TLC 2.15 (tla2tools 1.7, rev d5b5a7f)"
    assert tools_release("2026.04.29.164809") == "1.8" and tools_release("2.20") == "1.8"
    assert tools_release("2.18") is None  # both a 1.7.3 release and 1.8 nightlies said 2.18
    assert parse_output("").tlc_label == "TLC (version not reported)"


# what a current 1.8.0 jar (TLC 2026.04.29.164809) prints where 2.15 differs: a temporal
# property named in its violation, an evaluation error whose message carries its own block
CANNED_18 = """@!@!@STARTMSG 2262:0 @!@!@
TLC2 Version 2026.04.29.164809 (rev: cc6b616cf)
@!@!@ENDMSG 2262 @!@!@
@!@!@STARTMSG 2116:1 @!@!@
Temporal property Live was violated.

@!@!@ENDMSG 2116 @!@!@
@!@!@STARTMSG 2264:1 @!@!@
The following behavior constitutes a counter-example:

@!@!@ENDMSG 2264 @!@!@
@!@!@STARTMSG 2217:4 @!@!@
1: <Initial predicate>
x = 0

@!@!@ENDMSG 2217 @!@!@
@!@!@STARTMSG 2218:4 @!@!@
2: Stuttering
@!@!@ENDMSG 2218 @!@!@
"""
CANNED_EVAL_ERROR = """@!@!@STARTMSG 1000:1 @!@!@
TLC threw an unexpected exception.
The exception was a java.lang.RuntimeException
: @!@!@STARTMSG 2154:0 @!@!@
Attempted to apply the operator overridden by the Java method
Cannot cast tlc2.value.impl.StringValue to tlc2.value.impl.IntValue
@!@!@ENDMSG 2154 @!@!@
@!@!@ENDMSG 1000 @!@!@
"""


def test_parse_output_reads_what_a_current_18_jar_prints() -> None:
    res = parse_output(CANNED_18)
    assert res.version == "2026.04.29.164809" and res.tlc_label.endswith("(tla2tools 1.8, "
                                                                         "rev cc6b616cf)")
    assert res.prop == "Live" and res.violated and not res.errors
    assert [s.vars for s in res.counterexample] == [{"x": 0}]
    old = parse_output(CANNED_18.replace("Temporal property Live was violated.",
                                         "Temporal properties were violated."))
    assert old.prop == "temporal properties" and not old.errors  # 2.15 names no property
    err = parse_output(CANNED_EVAL_ERROR)
    assert len(err.errors) == 1 and "@!@!@" not in err.errors[0]
    assert "Cannot cast tlc2.value.impl.StringValue" in err.errors[0]


def test_values_round_trip_the_printed_forms() -> None:
    assert parse_value('[a |-> -1, b |-> "x\\"y", c |-> <<>>]') == {"a": -1, "b": 'x"y',
                                                                   "c": ()}
    assert parse_state("x = {}") == {"x": TLASet()}
    with pytest.raises(ValueError):
        parse_value("<<1, 2")


def test_missing_jar_from_env_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TLA2TOOLS_JAR", "/nonexistent/tla2tools.jar")
    assert find_jar() is None
    assert "TLA2TOOLS_JAR" in (tlc_unavailable_reason() or "")
    with pytest.raises(TLCUnavailable):
        run_tlc("Toy", {"Toy.tla": TOY}, TOY_CFG)


@needs_tlc
def test_tlc_finds_a_violation_with_its_counterexample() -> None:
    res = run_tlc("Toy", {"Toy.tla": TOY}, TOY_CFG, timeout=60)
    assert res.invariant == "Small"
    assert [s.vars["x"] for s in res.counterexample] == [0, 1, 2, 3]
    assert res.version and res.jar == find_jar()


@needs_tlc
def test_a_violated_temporal_property_is_a_violation_not_an_error() -> None:
    stops = TOY.replace("x' = x + 1", "x < 2 /\\ x' = x + 1").replace(
        "Small == x < 3", "Spec == Init /\\ [][Next]_x\nReaches5 == <>(x = 5)")
    res = run_tlc("Toy", {"Toy.tla": stops}, "SPECIFICATION Spec\nPROPERTY Reaches5\n",
                  timeout=60)
    assert res.violated and not res.errors, res.errors
    assert res.prop in ("Reaches5", "temporal properties")  # 2.15 does not name it
    assert [s.vars["x"] for s in res.counterexample] == [0, 1, 2]


@needs_tlc
def test_parse_and_semantic_errors_are_clear() -> None:
    res = run_tlc("Toy", {"Toy.tla": TOY.replace("x' = x + 1", "x' = y")}, TOY_CFG, timeout=60)
    assert not res.ok and "Unknown operator" in " ".join(res.errors)
    res = run_tlc("Toy", {"Toy.tla": TOY.replace("Init == x = 0", "Init == x = 0 /\\")},
                  TOY_CFG, timeout=60)
    assert not res.ok and "Parse Error" in " ".join(res.errors)


@needs_tlc
def test_time_limit_kills_tlc(tmp_path: Path) -> None:
    endless = TOY.replace("Small == x < 3", "Small == TRUE")
    with pytest.raises(TLAError, match="did not finish") as caught:
        run_tlc("Toy", {"Toy.tla": endless}, TOY_CFG, timeout=3)
    assert caught.value.code == 4


def _cli(*argv: str) -> int:
    import argparse

    from faultlab.checker.tla import cli

    parser = argparse.ArgumentParser(prog="faultlab")
    cli.register(parser.add_subparsers())
    args = parser.parse_args(list(argv))
    return args.func(args)


def test_cli_errors_are_one_line_with_exit_codes(capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    assert _cli("trace", "check", "raft", str(tmp_path / "missing.jsonl")) == 2
    err = capsys.readouterr().err
    assert err.startswith("faultlab: error: cannot read trace") and err.count("\n") == 1
    monkeypatch.setenv("TLA2TOOLS_JAR", str(tmp_path / "none.jar"))
    assert _cli("spec", "check", "raft") == 3
    assert "TLA2TOOLS_JAR" in capsys.readouterr().err
    assert _cli("spec", "check", "raft", "--config", "nope.cfg") == 2


@needs_tlc
def test_cli_spec_check_names_the_tlc_that_ran(capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path) -> None:
    from faultlab.checker.tla.trace import SPEC_DIR

    tiny = (SPEC_DIR / "MCraft.cfg").read_text().replace("MaxTerm = 2", "MaxTerm = 1").replace(
        "MaxMsgs = 2", "MaxMsgs = 1")
    (tmp_path / "tiny.cfg").write_text(tiny)
    assert _cli("spec", "check", "raft", "--config", str(tmp_path / "tiny.cfg"),
                "--workers", "1") == 0
    first, second = capsys.readouterr().out.splitlines()[:2]
    assert first.startswith("TLC ") and first.endswith(f", {find_jar()}")
    assert second.startswith("raft: no error found")
