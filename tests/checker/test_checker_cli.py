"""CLI exit codes (0 ok, 1 not linearizable, 2 unknown, 3 bad input) and one-line errors."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time

import pytest
from faultlab.checker import cli
from faultlab.checker.formats import jsonl
from faultlab.checker.history import Operation
from test_checker_formats import (  # same directory
    INDEPENDENT_BAD,
    INDEPENDENT_TEXT,
    _txn_history,
)

GOOD = [Operation(0, {"op": "write", "value": 1}, None, 0, 1),
        Operation(1, {"op": "read"}, 1, 2, 3)]
BAD = [Operation(0, {"op": "write", "value": 1}, None, 0, 1),
       Operation(1, {"op": "read"}, 2, 2, 3)]


@pytest.fixture
def files(tmp_path):
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    jsonl.write_history(GOOD, good, model="register")
    jsonl.write_history(BAD, bad, model="register")
    return good, bad


def test_exit_codes(files, capsys):
    good, bad = files
    assert cli.main([str(good)]) == 0
    assert "linearizable" in capsys.readouterr().out
    assert cli.main([str(bad)]) == 1
    assert "NOT linearizable" in capsys.readouterr().out
    assert cli.main([str(good), str(bad)]) == 1


def test_unknown_on_timeout(tmp_path, capsys):
    # 22 concurrent writes and reads cycling through 0, 1, 2: far too many orders to try
    ops = [Operation(i, {"op": "write", "value": i}, None, 0, 100) for i in range(22)]
    ops += [Operation(100 + i, {"op": "read"}, i % 3, 10 + i, 11 + i) for i in range(20)]
    ops += [Operation(99, {"op": "read"}, -1, 101, 102)]
    path = tmp_path / "slow.jsonl"
    jsonl.write_history(ops, path, model="cas-register")
    assert cli.main([str(path), "--timeout", "0.05"]) == 2
    assert "unknown (timed out)" in capsys.readouterr().out


def test_unknown_exit_code_is_2(monkeypatch, files, capsys):
    from faultlab.checker.linearizability import Verdict

    real = cli.check

    def fake(*a, **k):
        r = real(*a, **k)
        r.verdict = Verdict.UNKNOWN
        return r

    monkeypatch.setattr(cli, "check", fake)
    assert cli.main([str(files[0])]) == 2
    assert "unknown" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv_tail, words",
    [
        (["--model", "nosuch"], "unknown model 'nosuch'"),
        (["--model", "kv"], "does not fit model 'kv'"),
        (["--timeout", "-1"], "--timeout"),
        (["--format", "edn"], "bad.jsonl:1:"),
    ],
)
def test_bad_input_exit_3_one_line(files, capsys, argv_tail, words):
    assert cli.main([str(files[1]), *argv_tail]) == 3
    err = capsys.readouterr().err.strip()
    assert words in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_missing_and_malformed_files(tmp_path, capsys):
    assert cli.main([str(tmp_path / "missing.jsonl")]) == 3
    assert "missing.jsonl" in capsys.readouterr().err
    bad = tmp_path / "x.jsonl"
    bad.write_text('{"faultlab_history": 1}\n{"client": 0}\n')
    assert cli.main([str(bad)]) == 3
    err = capsys.readouterr().err
    assert "x.jsonl:2:" in err and "Traceback" not in err


def test_usage_error_is_exit_3_and_one_line(capsys):
    assert cli.main(["--no-such-flag", "f"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unrecognized arguments: --no-such-flag" in err


def test_register_adds_check_subcommand(files):
    parser = argparse.ArgumentParser(prog="faultlab")
    sub = parser.add_subparsers(dest="cmd")
    cli.register(sub)
    args = parser.parse_args(["check", str(files[0]), "--verbose", "--timeout", "5"])
    assert args.func is cli.run
    assert args.func(args) == 0
    with pytest.raises(SystemExit) as e:
        parser.parse_args(["check", str(files[0]), "--format", "nope"])
    assert e.value.code == 3


def test_verbose_explains_failure(files, capsys):
    assert cli.main([str(files[1]), "--verbose"]) == 1
    out = capsys.readouterr().out
    assert "longest partial linearization" in out
    assert "cannot be linearized from there" in out and "read() -> 2" in out


def test_independent_edn_history(tmp_path, capsys):
    good, bad = tmp_path / "good.edn", tmp_path / "bad.edn"
    good.write_text(INDEPENDENT_TEXT)
    bad.write_text(INDEPENDENT_BAD)
    assert cli.main([str(good)]) == 0
    out = capsys.readouterr().out
    assert "linearizable" in out and "model independent-cas-register" in out
    assert "2 partitions" in out
    assert cli.main([str(bad), "--verbose"]) == 1
    out = capsys.readouterr().out
    assert "NOT linearizable" in out and "[2] read() -> 9" in out
    assert cli.main([str(bad), "--no-partition"]) == 1
    capsys.readouterr()
    mixed = tmp_path / "mixed.edn"
    mixed.write_text(INDEPENDENT_TEXT.replace(":value [2 6], :process 3", ":value [1 6], "
                                              ":process 3"))
    assert cli.main([str(mixed)]) == 3
    err = capsys.readouterr().err.strip()
    assert "mixed.edn:19:" in err and "key" in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_verbose_names_the_failed_group(tmp_path, capsys, kv_corpus):
    # kv c50-bad without partitioning: decided by rule 8 (independent groups)
    assert cli.main([str(kv_corpus / "kv" / "c50-bad.txt"), "--no-partition", "-v"]) == 1
    out = capsys.readouterr().out
    assert "independent groups" in out and "fail even with every other operation open" in out


def test_python_dash_m(files, repo_root):
    proc = subprocess.run([sys.executable, "-m", "faultlab.checker", str(files[1])], cwd=repo_root,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "NOT linearizable" in proc.stdout


def _timed(argv: list[str], cwd) -> tuple[int, float, str]:
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "faultlab.checker", *argv], cwd=cwd,
                          capture_output=True, text=True, timeout=60)
    return proc.returncode, time.monotonic() - start, proc.stdout


HARD = ([Operation(i, {"op": "write", "value": i}, None, 0, 100) for i in range(22)]
        + [Operation(100 + i, {"op": "read"}, i % 3, 10 + i, 11 + i) for i in range(20)]
        + [Operation(99, {"op": "read"}, -1, 101, 102)])


def test_timeout_bounds_the_whole_command_while_searching(tmp_path, repo_root):
    # the wall time of the command, interpreter start-up included, within 10 % of --timeout
    path = tmp_path / "hard.jsonl"
    jsonl.write_history(HARD, path, model="cas-register")
    code, wall, out = _timed([str(path), "--timeout", "1.5", "--verbose"], repo_root)
    assert code == 2, out
    assert 1.5 * 0.9 <= wall <= 1.5 * 1.1, wall


def test_timeout_bounds_the_whole_command_while_reading(tmp_path, repo_root):
    # a file that takes longer to read than the timeout: reading counts, and is cut short
    path = tmp_path / "big.jsonl"
    with open(path, "w") as f:
        f.write('{"faultlab_history": 1, "model": "kv"}\n')
        f.writelines(f'{{"client": {i % 10}, "input": {{"op": "put", "key": "k{i % 7}", '
                     f'"value": "{i}"}}, "output": null, "call": {i}, "return": {i + 0.5}}}\n'
                     for i in range(300_000))
    code, wall, out = _timed([str(path), str(path), "--timeout", "1"], repo_root)
    assert code == 2
    assert out.count("unknown (timed out") == 2  # the second file is not even read
    assert "while reading" in out
    assert 0.9 <= wall <= 1.1, wall


@pytest.mark.parametrize(("model", "inp"), [
    ("register", {"op": "txn", "value": [["r", 1, None], ["w", 1, 2]]}),
    ("kv", {"op": "put", "value": "x"}),  # no key
    ("independent-cas-register", {"op": "cas", "from": 1, "to": 2}),  # no key
    ("cas-register", {"op": "cas", "from": 1}),
])
def test_operations_the_model_does_not_know_are_bad_input(tmp_path, capsys, model, inp):
    # never a NOT-linearizable verdict: the history was given to the wrong model
    ops = [Operation(0, inp, None, 0, 1), *GOOD]
    path = tmp_path / "h.jsonl"
    jsonl.write_history(ops, path, model=model)
    assert cli.main([str(path)]) == 3
    err = capsys.readouterr().err
    assert f"is not an operation of model {model!r}" in err and err.count("\n") == 1


def test_txn_edn_history(tmp_path, capsys):
    # Jepsen's :txn history: multi-register guessed; a torn read is NOT linearizable; given
    # to register it is bad input (exit 3), never a verdict
    good, torn = tmp_path / "good.edn", tmp_path / "torn.edn"
    good.write_text("\n".join(_txn_history(2, 2)))
    torn.write_text("\n".join(_txn_history(2, 1)))
    assert cli.main([str(good)]) == 0
    assert "linearizable (4 ops, 2 partitions, model multi-register" in capsys.readouterr().out
    assert cli.main([str(torn), "--verbose"]) == 1
    out = capsys.readouterr().out
    assert "NOT linearizable" in out and 'txn[r "x" 2, r "y" 1]' in out
    assert cli.main([str(good), "--model", "register"]) == 3
    err = capsys.readouterr().err
    assert "is not an operation of model 'register'" in err and err.count("\n") == 1
    mismatched = tmp_path / "mismatched.edn"  # the completion reads other registers
    mismatched.write_text("\n".join(_txn_history(2, 2)).replace("[:read :y 2]", "[:read :z 2]"))
    assert cli.main([str(mismatched)]) == 3
    err = capsys.readouterr().err
    assert "does not fit model 'multi-register'" in err and err.count("\n") == 1


def test_progress_lines_on_stderr_and_stdout_unchanged(tmp_path, repo_root):
    # a search longer than the throttle: its nodes and the partitions decided on stderr,
    # the same verdict line on stdout as without --progress
    path = tmp_path / "hard.jsonl"
    jsonl.write_history(HARD, path, model="cas-register")
    runs = {}
    for flag in ([], ["--progress"]):
        proc = subprocess.run([sys.executable, "-m", "faultlab.checker", str(path),
                               "--timeout", "1.6", *flag], cwd=repo_root,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2
        runs[bool(flag)] = proc
    strip = re.compile(r"\d+\.\d+ s\)")
    assert strip.sub("", runs[True].stdout) == strip.sub("", runs[False].stdout)
    assert runs[False].stderr == ""
    lines = runs[True].stderr.splitlines()
    assert 1 <= len(lines) <= 4, lines  # throttled: one line per 0.5 s at most
    nodes = [int(m.group(1)) for ln in lines
             if (m := re.fullmatch(rf"{re.escape(str(path))}: 0/1 partitions decided; "
                                   r"partition 0: (\d+) search nodes", ln))]
    assert len(nodes) == len(lines) and nodes == sorted(nodes) and nodes[0] > 0
