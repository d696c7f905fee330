"""The process mode: ``faultlab mr coordinator`` and ``faultlab mr worker`` as real processes
on UNIX sockets, sharing a folder, with workers killed and restarted (test-mr.sh's setup)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from faultlab.mr.files import intermediate_files, output_lines
from faultlab.mr.process import socket_dir
from faultlab.mr.sequential import reference_lines

ROOT = Path(__file__).resolve().parents[2]
ENV = dict(os.environ)

SLOW_WC = '''
from faultlab.mr.apps import wc

def map(filename, contents, *, ctx):
    (ctx.workdir / f"started-{ctx.worker}-{ctx.calls}").write_text(filename)
    yield ctx.sleep(0.3)
    return wc.map(filename, contents)

combine = wc.combine
reduce = wc.reduce
'''


@pytest.fixture(autouse=True)
def remove_socket_folders(tmp_path: Path):
    """The processes' socket folders live in the temporary folder, named after the job's."""
    yield
    for job in [tmp_path, *tmp_path.iterdir()]:
        if job.is_dir():
            key = socket_dir(job)
            shutil.rmtree(key, ignore_errors=True)


def mr(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "faultlab.mr.cli", *args], env=ENV, text=True,
                            **kwargs)


def finish(procs: list[subprocess.Popen], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    codes = []
    for p in procs:
        try:
            codes.append(p.wait(timeout=max(0.1, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            pytest.fail(f"process {p.args[3:5]} still running after {timeout}s")
    return codes


def test_wc_with_real_processes(tmp_path: Path, books: list[str]) -> None:
    """test-mr.sh's wc test: a coordinator and three workers; every process exits by itself
    once the job is done, the workers first (they are told by the lingering coordinator)."""
    coordinator = mr("coordinator", *books, "--dir", str(tmp_path), stdout=subprocess.PIPE)
    workers = [mr("worker", "wc", "--dir", str(tmp_path)) for _ in range(3)]
    assert finish([*workers, coordinator], 60) == [0, 0, 0, 0]
    out = coordinator.stdout.read() if coordinator.stdout else ""
    assert "job done" in out and "reduce 10/10" in out
    assert output_lines(tmp_path) == reference_lines("wc", books)
    assert len(intermediate_files(tmp_path)) == len(books) * 10


def test_killed_worker_task_is_reassigned(tmp_path: Path, books: list[str]) -> None:
    """A worker killed (SIGKILL) in the middle of a map task: its task goes to another worker
    after the task timeout, a restarted worker joins, and the output is still exact."""
    app = tmp_path / "slow_wc.py"
    app.write_text(SLOW_WC)
    work = tmp_path / "job"
    work.mkdir()
    coordinator = mr("coordinator", *books, "--dir", str(work), "--task-timeout", "2",
                     stdout=subprocess.PIPE)
    victim = mr("worker", str(app), "--dir", str(work))
    other = mr("worker", str(app), "--dir", str(work))
    deadline = time.monotonic() + 30
    while not list(work.glob(f"started-{victim.pid}-*")):
        assert time.monotonic() < deadline, "the worker never started a map task"
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)  # inside the map call: it holds its task
    assert victim.wait(5) == -signal.SIGKILL
    restarted = mr("worker", str(app), "--dir", str(work))
    assert finish([other, restarted, coordinator], 60) == [0, 0, 0]
    out = coordinator.stdout.read() if coordinator.stdout else ""
    assert "timed out" in out and "reassigning" in out, out
    assert output_lines(work) == reference_lines("wc", books)


def run_crash_test(tmp_path: Path, books: list[str], task_timeout: float,
                   budget: float) -> int:
    """test-mr.sh's crash test: a coordinator, one crash worker, and three loops that start a
    new crash worker one second after theirs exits, while the coordinator runs. Returns the
    number of workers that crashed."""
    coordinator = mr("coordinator", *books, "--dir", str(tmp_path),
                     "--task-timeout", str(task_timeout), stdout=subprocess.DEVNULL)
    first = mr("worker", "crash", "--dir", str(tmp_path), stderr=subprocess.DEVNULL)
    loops: list[subprocess.Popen | float] = [
        mr("worker", "crash", "--dir", str(tmp_path), stderr=subprocess.DEVNULL)
        for _ in range(3)]
    crashes = 0
    started = time.monotonic()
    try:
        while coordinator.poll() is None:
            assert time.monotonic() - started < budget, "the job did not finish in time"
            for i, p in enumerate(loops):
                if isinstance(p, subprocess.Popen) and p.poll() is not None:
                    crashes += p.returncode == 1
                    loops[i] = time.monotonic() + 1.0  # restart in a second
                elif isinstance(p, float) and time.monotonic() >= p:
                    loops[i] = mr("worker", "crash", "--dir", str(tmp_path),
                                  stderr=subprocess.DEVNULL)
            time.sleep(0.02)
    finally:
        for p in [coordinator, first, *loops]:
            if isinstance(p, subprocess.Popen) and p.poll() is None:
                p.kill()
                p.wait()
    assert coordinator.returncode == 0
    assert output_lines(tmp_path) == reference_lines("nocrash", books)
    return crashes + (first.returncode == 1)


def crash_test_with_crashes(tmp_path: Path, books: list[str], task_timeout: float,
                            budget: float) -> None:
    """The crash app draws its crashes at random (a third of the calls); a run in which no
    worker happened to crash tests nothing, so such a run (a few percent) is repeated."""
    for attempt in range(3):
        folder = tmp_path / f"attempt-{attempt}"
        folder.mkdir()
        if run_crash_test(folder, books, task_timeout, budget) > 0:
            return
    pytest.fail("no worker crashed in three runs of the crash test")


def test_crash_with_real_processes(tmp_path: Path, books: list[str]) -> None:
    """The crash test on four of the books with a 2 s task timeout instead of 10 s, to stay
    short (the app's own sleeps of up to 10 s remain)."""
    crash_test_with_crashes(tmp_path, books[:4], task_timeout=2.0, budget=120)


@pytest.mark.deep
def test_crash_with_real_processes_lab_timeout(tmp_path: Path, books: list[str]) -> None:
    """The crash test exactly as the script runs it (10 s reassignment, 180 s limit)."""
    crash_test_with_crashes(tmp_path, books, task_timeout=10.0, budget=180)
