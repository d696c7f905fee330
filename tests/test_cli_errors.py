"""Every mistake a user can make at the command line that once printed a traceback, a usage
block, the wrong help or nothing: now one line ``faultlab: error: ...`` and a non-zero exit
(or the command's own help)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from faultlab.cli import main

DEEP_JSON = "[" * 100_000


def one_line(capsys, argv: list[str]) -> tuple[int, str]:
    """Run ``faultlab argv`` in this process; its exit code and its one stderr line."""
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's own exits (the check command's parser)
        code = e.code if isinstance(e.code, int) else 1
    captured = capsys.readouterr()
    assert code not in (0, None), captured
    assert captured.err.startswith("faultlab: error: "), captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err, captured.err
    return code, captured.err


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "garbage.jsonl").write_text("garbage\n")
    (tmp_path / "latin1.jsonl").write_bytes(b'{"faultlab_trace": 1, "x": "\xe9"}\n')
    (tmp_path / "deep.jsonl").write_text(DEEP_JSON + "\n")
    (tmp_path / "deep-header.jsonl").write_text(
        '{"faultlab_history": 1, "x": ' + DEEP_JSON + "\n")
    (tmp_path / "binary.cfg").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "nul.cfg").write_text("INIT Init\x00\n")
    (tmp_path / "no-nodes.jsonl").write_text('{"faultlab_trace": 1}\n{"step": 1, "states": 5}\n')
    (tmp_path / "bad-states.jsonl").write_text(
        '{"faultlab_trace": 1, "nodes": ["s0"]}\n{"step": ["init"], "states": {"s0": 5}}\n')
    (tmp_path / "unmapped.jsonl").write_text(
        '{"faultlab_trace": 1, "nodes": ["s0"]}\n{"step": ["init"], "states": {"s0": null}}\n'
        '{"step": ["deliver", 1], "states": {"s0": null}, "event": {"kind": "message"}}\n')
    return tmp_path


@pytest.mark.parametrize("argv, problem", [
    (["trace", "check", "raft", "garbage.jsonl"], "garbage.jsonl:1: not JSON"),
    (["trace", "check", "raft", "latin1.jsonl"], "latin1.jsonl:1: not UTF-8 text"),
    (["trace", "check", "paxos", "deep.jsonl"], "deep.jsonl:1: JSON nested too deeply"),
    (["trace", "check", "raft", "no-nodes.jsonl"], "no-nodes.jsonl:1: the header's 'nodes'"),
    (["trace", "check", "raft", "bad-states.jsonl"], "bad-states.jsonl:2: a node's state"),
    (["trace", "check", "raft", "unmapped.jsonl"], "does not fit the raft mapping"),
    (["trace", "check", "raft", "missing.jsonl"], "cannot read trace"),
    (["spec", "check", "raft", "--config", "binary.cfg"], "is not a text file"),
    (["spec", "check", "paxos", "--config", "nul.cfg"], "is not a text file"),
    (["check", "deep-header.jsonl"], "deep-header.jsonl:1: JSON nested too deeply"),
    (["check", "deep.jsonl", "--format", "jsonl"], "deep.jsonl:1: JSON nested too deeply"),
])
def test_bad_files_are_one_line_errors(files, monkeypatch, capsys, argv, problem):
    monkeypatch.chdir(files)
    _, err = one_line(capsys, argv)
    assert problem in err, err


@pytest.mark.parametrize("argv, problem", [
    (["search", "register", "--time-limit", "nan"], "--time-limit: must be a finite"),
    (["search", "register", "--time-limit", "-1"], "--time-limit: must be more than 0"),
    (["search", "register", "--depth", "0"], "--depth: must be at least 1"),
    (["explore", "register", "--examples", "-5"], "--examples: must be at least 1"),
    (["spec", "check", "raft", "--workers", "-3"], "--workers: must be at least 1: -3"),
    (["spec", "check", "raft", "--timeout", "inf"], "--timeout: must be a finite"),
    (["trace", "check", "raft", "x.jsonl", "--workers", "0"], "--workers: must be at least 1"),
    (["mr", "coordinator", "f", "--task-timeout", "-1"], "--task-timeout: must be more than 0"),
    (["mr", "coordinator", "f", "--linger", "nan"], "--linger: must be a finite"),
    (["mr", "worker", "wc", "--give-up", "0"], "--give-up: must be more than 0"),
    (["mr", "run", "wc", "f", "--workers", "-2"], "--workers: must be at least 1"),
    (["mr", "run", "wc", "f", "--timeout", "nan"], "--timeout: must be a finite"),
    (["mr", "sample-corpus", "d", "--mb", "nan"], "--mb must be between"),
    (["check", "x.jsonl", "--timeout", "nan"], "--timeout: must be a finite"),
    (["check", "x.jsonl", "--timeout", "0"], "--timeout: must be more than 0"),
])
def test_meaningless_option_values_are_rejected(capsys, argv, problem):
    _, err = one_line(capsys, argv)
    assert problem in err, err


@pytest.mark.parametrize("argv, problem", [
    (["check"], "the following arguments are required: FILE"),
    (["check", "x.jsonl", "--format", "yaml"], "argument --format: invalid choice"),
    (["check", "x.jsonl", "--timeout", "soon"], "not a number of seconds: 'soon'"),
])
def test_check_usage_errors_are_one_line_and_exit_3(capsys, argv, problem):
    code, err = one_line(capsys, argv)
    assert code == 3 and problem in err and "(see 'faultlab check --help')" in err


@pytest.mark.parametrize("command, action", [("spec", "run TLC on a small model"),
                                             ("trace", "does some behaviour of the spec")])
def test_spec_and_trace_without_an_action_print_their_own_help(capsys, command, action):
    assert main([command]) == 2
    out = capsys.readouterr().out
    assert out.startswith(f"usage: faultlab {command} ") and action in out
    assert "explore" not in out  # not the top-level help


def test_an_empty_history_is_bad_input_not_linearizable(tmp_path, capsys):
    empty = tmp_path / "h.jsonl"
    empty.write_text(json.dumps({"faultlab_history": 1, "model": "register"}) + "\n")
    code, err = one_line(capsys, ["check", str(empty)])
    assert code == 3 and "empty history: no operations to check" in err
    log = tmp_path / "etcd.log"
    log.write_text("")
    code, err = one_line(capsys, ["check", str(log), "--format", "jepsen-etcd"])
    assert code == 3 and "empty history" in err
    empty.write_text(empty.read_text() + json.dumps(
        {"client": 0, "input": {"op": "write", "value": 1}, "output": None, "call": 0,
         "return": 1}) + "\n")
    assert main(["check", str(empty)]) == 0  # one operation: a verdict again

