"""Ports of the 2020-22 MapReduce script tests (``src/main/test-mr.sh``) in simulation.

Each test builds the script's processes (coordinator, workers, restart loops) as nodes of a
World, runs them in virtual time with real files in a fresh folder, and compares
``sort mr-out* | grep .`` with the sequential reference, as the script does. The timing and
crash apps use the workers' virtual clocks and seeded generators, so every run is a pure
function of its seed; several seeds are tried where the scenario depends on them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from faultlab.mr.files import output_lines
from faultlab.mr.protocol import WAIT
from faultlab.mr.sequential import reference_lines
from faultlab.mr.simulate import LAB_TIMEOUT, build_job, run_job
from faultlab.mr.worker import Worker
from faultlab.sim.network import UNRELIABLE


def lines_starting(lines: list[str], prefix: str) -> list[str]:
    return [line for line in lines if line.startswith(prefix)]


@pytest.mark.parametrize("seed", [0, 1])
def test_wc(tmp_path: Path, books: list[str], seed: int) -> None:
    job = build_job(tmp_path, books, "wc", workers=3, seed=seed)
    run = run_job(job)
    assert run.completed and run.virtual_seconds <= LAB_TIMEOUT
    assert output_lines(tmp_path) == reference_lines("wc", books)
    # No backup tasks without failures: every task ran exactly once.
    assert job.coordinator.reassigned == 0 and job.coordinator.duplicate_reports == 0


def test_indexer(tmp_path: Path, books: list[str], seed: int) -> None:
    job = build_job(tmp_path, books, "indexer", workers=2, seed=seed)
    assert run_job(job).completed
    assert output_lines(tmp_path) == reference_lines("indexer", books)


def test_map_parallelism(tmp_path: Path, books: list[str], seed: int) -> None:
    job = build_job(tmp_path, books, "mtiming", workers=2, seed=seed)
    assert run_job(job).completed
    out = output_lines(tmp_path)
    assert len(lines_starting(out, "times-")) == 2, "exactly 2 workers must have run maps"
    assert any(" 2" in line for line in lines_starting(out, "parallel-")), \
        "map workers did not run in parallel"


def test_reduce_parallelism(tmp_path: Path, books: list[str], seed: int) -> None:
    job = build_job(tmp_path, books, "rtiming", workers=2, seed=seed)
    assert run_job(job).completed
    out = output_lines(tmp_path)
    assert len([line for line in out if len(line) == 3 and line.endswith(" 2")]) >= 2, \
        "reduce workers did not run in parallel"


def run_jobcount(tmp_path: Path, books: list[str], seed: int, task_timeout: float) -> int:
    """The script's job-count scenario: two workers, and two more once the first exits."""
    job = build_job(tmp_path, books, "jobcount", workers=2, seed=seed, task_timeout=task_timeout)
    late: list[str] = []

    def on_exit(job, name, code) -> None:
        if not late and name != "coordinator":
            late.extend([job.add_worker(), job.add_worker()])

    assert run_job(job, on_exit=on_exit).completed
    out = output_lines(tmp_path)
    assert len(out) == 1 and out[0].startswith("a ")
    return int(out[0].split()[1])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_job_count(tmp_path: Path, books: list[str], seed: int) -> None:
    assert run_jobcount(tmp_path, books, seed, task_timeout=10.0) == len(books)


def test_job_count_catches_spurious_reexecution(tmp_path: Path, books: list[str],
                                                 seed: int) -> None:
    """The check is real: a coordinator that reassigns after 1 s (maps take 2-5 s) fails it."""
    assert run_jobcount(tmp_path, books, seed, task_timeout=1.0) > len(books)


def run_early_exit(tmp_path: Path, books: list[str], seed: int,
                   worker_class: type[Worker] = Worker) -> tuple[list[str], list[str]]:
    """Outputs when the first of the four processes exits, and once the job is over."""
    job = build_job(tmp_path, books, "early_exit", workers=3, seed=seed,
                    worker_class=worker_class)
    at_first_exit: list[list[str]] = []

    def on_exit(job, name, code) -> None:
        if not at_first_exit:
            at_first_exit.append(output_lines(tmp_path))

    assert run_job(job, on_exit=on_exit).completed
    job.world.run_for(5.0)  # "wait" for the remaining processes
    return at_first_exit[0], output_lines(tmp_path)


@pytest.mark.parametrize("seed", [0, 1])
def test_early_exit(tmp_path: Path, books: list[str], seed: int) -> None:
    first, final = run_early_exit(tmp_path, books, seed)
    assert final == reference_lines("early_exit", books)
    assert first == final, "a process exited before the output was complete"


class ImpatientWorker(Worker):
    """A seeded bug: exits as soon as no task is idle, though others may still be running."""

    def on_message(self, src, msg) -> None:
        if getattr(msg, "kind", None) == WAIT and not self.stopped:
            self._exit(0)
            return
        super().on_message(src, msg)


def test_early_exit_catches_an_impatient_worker(tmp_path: Path, books: list[str],
                                                seed: int) -> None:
    first, final = run_early_exit(tmp_path, books, seed, ImpatientWorker)
    assert first != final


def run_crash(tmp_path: Path, books: list[str], seed: int, **options) -> None:
    """Coordinator, one worker, and three loops restarting crash workers 1 s after they exit."""
    job = build_job(tmp_path, books, "crash", workers=4, seed=seed, **options)
    run = run_job(job, restart_delay=1.0, restart=job.workers[1:])
    assert run.completed and run.virtual_seconds <= LAB_TIMEOUT, run
    assert output_lines(tmp_path) == reference_lines("nocrash", books)
    crashes = [e for e in run.exits if e[2] == 1]
    assert crashes and run.restarts > 0, "the scenario must really crash and restart workers"


@pytest.mark.parametrize("seed", range(6))
def test_crash(tmp_path: Path, books: list[str], seed: int) -> None:
    run_crash(tmp_path, books, seed)


@pytest.mark.parametrize("seed", range(3))
def test_crash_unreliable_network(tmp_path: Path, books: list[str], seed: int) -> None:
    """Beyond the script: the same crashes with 10 % of requests and replies lost."""
    run_crash(tmp_path, books, seed, profile=UNRELIABLE)
