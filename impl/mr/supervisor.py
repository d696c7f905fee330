"""The process supervisor of ``faultlab mr run``: one coordinator and N worker processes.

It starts ``python -m faultlab.mr.cli coordinator`` and ``... worker`` processes on a job's
folder, waits for the coordinator to finish, and tells why a job failed (the coordinator's
exit code and last error line, every worker gone before the end, the time limit, outputs
missing). Whatever happens, it stops every process it started and removes the job's socket
folder before returning; the command line (:mod:`faultlab.mr.cli`) checks the inputs before
and reports and cleans the outputs after.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

__all__ = ["run_processes", "supervise", "mr_command"]


def mr_command(*args: str) -> list[str]:
    """The command line of ``faultlab mr ARGS`` in a child process (this interpreter, which
    has this faultlab installed, and only the MapReduce commands imported)."""
    return [sys.executable, "-m", "faultlab.mr.cli", *args]


def run_processes(app: str, files: Sequence[str], out: Path, sockets: Path, *, workers: int,
                  nreduce: int, started: float, timeout: float | None) -> str | None:
    """Run one job as processes on ``out``; the reason it failed, or None when it is done and
    every output ``mr-out-K`` is in place. Every process has ended when this returns."""
    env = dict(os.environ)  # the children run this faultlab: sys.executable has it installed
    coordinator = subprocess.Popen(
        mr_command("coordinator", *files, "--dir", str(out), "--nreduce", str(nreduce),
                   "--linger", "0"),
        env=env, stderr=subprocess.PIPE, text=True)
    procs: list[subprocess.Popen] = []
    logs: list[IO[str]] = []
    try:
        for k in range(workers):
            log = open(sockets / f"w{k}.stderr", "w+")  # noqa: SIM115
            logs.append(log)
            procs.append(subprocess.Popen(mr_command("worker", app, "--dir", str(out),
                                                     "--name", f"w{k}"),
                                          env=env, stderr=log, stdout=subprocess.DEVNULL))
        problem = supervise(coordinator, procs, logs, started, timeout)
        if problem is None:
            missing = [k for k in range(nreduce) if not (out / f"mr-out-{k}").exists()]
            if missing:
                problem = f"outputs missing after the job: mr-out-{missing[0]} ..."
        return problem
    finally:
        _stop([coordinator, *procs])
        for log in logs:
            log.close()
        shutil.rmtree(sockets, ignore_errors=True)  # every process of the job has ended


def _stop(procs: list[subprocess.Popen]) -> None:
    """Terminate what still runs, then wait for each (killing any that ignores it)."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def supervise(coordinator: subprocess.Popen, workers: list[subprocess.Popen],
              logs: list[IO[str]], started: float, timeout: float | None) -> str | None:
    """Wait for the coordinator to finish; the reason the job failed, or None."""
    while True:
        code = coordinator.poll()
        if code is not None:
            if code != 0:
                err = (coordinator.stderr.read() if coordinator.stderr else "").strip()
                return f"the coordinator exited with code {code}" + (
                    f": {err.splitlines()[-1]}" if err else "")
            break
        if all(w.poll() is not None for w in workers):
            if any(w.returncode for w in workers):
                return ("every worker exited before the job was done"
                        + _first_error(workers, logs))
            try:  # workers exit once the job is done; the coordinator a second later
                coordinator.wait(timeout=3.0)
            except subprocess.TimeoutExpired:
                return ("every worker exited before the job was done"
                        + _first_error(workers, logs))
            continue
        if timeout is not None and time.monotonic() - started > timeout:
            return f"not done after {timeout:g}s"
        time.sleep(0.02)
    # The job is done and every output is in place: the workers still running (waiting for
    # work, or a slow duplicate) are stopped by the caller; what they leave is temporary.
    return None


def _first_error(workers: list[subprocess.Popen], logs: list[IO[str]]) -> str:
    """The last line a failed worker wrote to stderr, as a parenthesis ("" if none)."""
    for w, log in zip(workers, logs, strict=True):
        if w.returncode:
            log.seek(0)
            lines = [line.strip() for line in log.read().splitlines() if line.strip()]
            if lines:
                return f" (a worker exited with code {w.returncode}: " \
                       f"{lines[-1].removeprefix('faultlab: error: ')})"
    return ""
