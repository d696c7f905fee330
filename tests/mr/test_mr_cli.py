"""``faultlab mr ...``: a whole job from the command line, and user mistakes as one-line
errors that leave nothing half-written behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from faultlab.cli import main
from faultlab.mr.corpus import generate_corpus
from faultlab.mr.files import intermediate_files, output_files, output_lines
from faultlab.mr.process import socket_dir
from faultlab.mr.sequential import reference_lines

ROOT = Path(__file__).resolve().parents[2]
ENV = dict(os.environ)


def faultlab(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "faultlab.cli", "mr", *args], env=ENV, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def assert_one_line_error(out: subprocess.CompletedProcess, problem: str) -> None:
    assert out.returncode != 0
    assert out.stderr.startswith("faultlab: error: ") and out.stderr.count("\n") == 1, \
        out.stderr
    assert problem in out.stderr and "Traceback" not in out.stderr


def test_run_prints_progress_and_leaves_exactly_the_outputs(tmp_path: Path,
                                                            books: list[str]) -> None:
    out = tmp_path / "out"
    res = faultlab("run", "indexer", *books, "--workers", "2", "--out", str(out),
                   "--nreduce", "4")
    assert res.returncode == 0, res.stderr
    assert "map 8/8, reduce 4/4" in res.stdout and "done in" in res.stdout
    assert [p.name for p in output_files(out)] == [f"mr-out-{k}" for k in range(4)]
    assert not intermediate_files(out) and sorted(os.listdir(out)) == [
        f"mr-out-{k}" for k in range(4)]
    assert output_lines(out) == reference_lines("indexer", books)


def test_run_refuses_to_mix_with_earlier_outputs(tmp_path: Path, books: list[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "mr-out-0").write_text("old\n")
    assert_one_line_error(faultlab("run", "wc", *books, "--out", str(out)), "--overwrite")
    assert (out / "mr-out-0").read_text() == "old\n"


def test_sample_corpus_is_deterministic(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    res = faultlab("sample-corpus", str(a), "--mb", "0.2", "--seed", "1")
    assert res.returncode == 0 and "wrote 8 files" in res.stdout
    generate_corpus(b, 0.2, seed=1)
    generate_corpus(c, 0.2, seed=2)
    names = sorted(os.listdir(a))
    assert names == sorted(os.listdir(b)) and "pg-sherlock_holmes.txt" in names
    assert all((a / n).read_bytes() == (b / n).read_bytes() for n in names)
    assert any((a / n).read_bytes() != (c / n).read_bytes() for n in names)
    assert 0.19e6 < sum((a / n).stat().st_size for n in names) <= 0.2e6


def test_sequential_writes_the_reference(tmp_path: Path, books: list[str]) -> None:
    res = faultlab("sequential", "wc", *books, "--out", str(tmp_path / "ref"))
    assert res.returncode == 0, res.stderr
    assert output_lines([tmp_path / "ref"]) == reference_lines("wc", books)


@pytest.mark.parametrize("case", ["missing-input", "input-is-folder", "no-app", "no-reduce",
                                  "broken-app", "out-is-file", "out-under-file",
                                  "zero-workers"])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path: Path, books: list[str],
                                                   case: str, capsys) -> None:
    out = tmp_path / "out"
    app, files, extra = "wc", [books[0]], []
    problem = {
        "missing-input": "input file", "input-is-folder": "is not a file",
        "no-app": "no app 'nosuchapp'", "no-reduce": "has no function reduce",
        "broken-app": "failed to load", "out-is-file": "is a file",
        "out-under-file": "cannot be created", "zero-workers": "at least 1"}[case]
    if case == "missing-input":
        files = [books[0], str(tmp_path / "nope.txt")]
    elif case == "input-is-folder":
        files = [str(tmp_path)]
    elif case == "no-app":
        app = "nosuchapp"
    elif case == "no-reduce":
        app = str(tmp_path / "half.py")
        Path(app).write_text("def map(filename, contents):\n    return []\n")
    elif case == "broken-app":
        app = str(tmp_path / "broken.py")
        Path(app).write_text("def map(:\n")
    elif case == "out-is-file":
        out.write_text("x")
    elif case == "out-under-file":
        (tmp_path / "f").write_text("x")
        out = tmp_path / "f" / "out"
    elif case == "zero-workers":
        extra = ["--workers", "0"]
    before = sorted(p.name for p in tmp_path.iterdir())
    code = main(["mr", "run", app, *files, "--out", str(out), *extra])  # in-process: fast
    err = capsys.readouterr().err
    assert_one_line_error(subprocess.CompletedProcess([], code, "", err), problem)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing created


def test_failing_app_fails_the_job_and_removes_its_files(tmp_path: Path,
                                                        books: list[str]) -> None:
    app = tmp_path / "raises.py"
    app.write_text("def map(filename, contents):\n    raise ValueError('bad record')\n"
                   "def reduce(key, values):\n    return ''\n")
    out = tmp_path / "out"
    res = faultlab("run", str(app), *books[:2], "--workers", "2", "--out", str(out))
    assert_one_line_error(res, "every worker exited")
    assert "ValueError: bad record" in res.stderr
    assert not out.exists()


def test_worker_without_a_coordinator_gives_up_and_says_so(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, "-m", "faultlab.mr.cli", "worker", "wc",
                          "--dir", str(tmp_path), "--give-up", "1"], env=ENV,
                         capture_output=True, text=True, timeout=60)
    shutil.rmtree(socket_dir(tmp_path), ignore_errors=True)
    assert res.returncode == 1
    assert res.stderr == (f"faultlab: error: no coordinator answered on {tmp_path} within 1s "
                          "(start 'faultlab mr coordinator FILES... --dir DIR' first)\n")


def test_simulate_is_deterministic_and_exact(tmp_path: Path, books: list[str]) -> None:
    runs = [faultlab("simulate", "crash", *books, "--workers", "4", "--restart", "--seed", "9",
                     "--network", "unreliable", "--out", str(tmp_path / name))
            for name in ("a", "b")]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr
    summary = [r.stdout.rsplit("outputs in", 1)[0] for r in runs]
    assert summary[0] == summary[1] and "seed 9" in summary[0] and "worker crashes" in summary[0]
    assert output_lines(tmp_path / "a") == reference_lines("nocrash", books)


def test_simulate_without_restarts_can_fail_cleanly(tmp_path: Path, books: list[str]) -> None:
    """Crash workers that nobody restarts all die: a one-line error and no output folder."""
    res = faultlab("simulate", "crash", *books, "--workers", "1", "--seed", "0",
                   "--out", str(tmp_path / "out"))
    assert_one_line_error(res, "job not done")
    assert not (tmp_path / "out").exists()
