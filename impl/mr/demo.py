"""``faultlab demo``'s MapReduce rows: two short simulated jobs with failing workers, each
output checked line by line against the sequential reference."""

from __future__ import annotations

import tempfile
from pathlib import Path

from faultlab.demo_row import DemoRow
from faultlab.mr.corpus import generate_corpus
from faultlab.mr.files import output_lines
from faultlab.mr.sequential import reference_lines
from faultlab.mr.simulate import build_job, run_job
from faultlab.sim.network import UNRELIABLE

__all__ = ["demo"]


def demo(seed: int) -> list[DemoRow]:
    """wc with a worker that dies holding a task on a lossy network, then the labs' crash
    test (workers crashing inside map and reduce, restarted a second later)."""
    with tempfile.TemporaryDirectory(prefix="faultlab-mr-demo-") as tmp:
        root = Path(tmp)
        books = [str(p) for p in generate_corpus(root / "books", 0.2, seed=seed)]
        return [_wc_row(root / "wc", books, seed), _crash_row(root / "crash", books, seed)]


def _verdict(got: list[str], want: list[str]) -> tuple[str, bool]:
    if got == want:
        return f"identical ({len(want)} lines)", True
    missing = len(set(want) - set(got))
    return f"DIFFERENT: {missing} of {len(want)} lines missing or wrong", False


def _wc_row(work: Path, books: list[str], seed: int) -> DemoRow:
    work.mkdir()
    job = build_job(work, books, "wc", workers=0, seed=seed, profile=UNRELIABLE)
    job.add_worker("w0", max_tasks=2)  # does two tasks, dies holding its third
    job.add_worker("w1")
    job.add_worker("w2")
    run = run_job(job)
    c = job.coordinator
    verdict, ok = _verdict(output_lines(work), reference_lines("wc", books))
    return DemoRow(
        system="mapreduce (wc)", driver="seeded scheduler, unreliable net",
        explored=(f"{len(c.maps)} maps + {len(c.reduces)} reduces, 1 worker died holding a "
                  f"task, {c.reassigned} reassigned, {job.world.counters.lost} msgs lost, "
                  f"{run.virtual_seconds:.1f}s virtual"),
        checked="output = sequential reference", verdict=verdict,
        ok=ok and run.completed and c.reassigned >= 1)


def _crash_row(work: Path, books: list[str], seed: int) -> DemoRow:
    work.mkdir()
    job = build_job(work, books, "crash", workers=4, seed=seed)
    run = run_job(job, restart_delay=1.0, restart=job.workers[1:])
    crashes = sum(1 for _, _, code in run.exits if code == 1)
    verdict, ok = _verdict(output_lines(work), reference_lines("nocrash", books))
    if not run.completed:
        verdict, ok = f"job not done after {run.virtual_seconds:.0f}s", False
    return DemoRow(
        system="mapreduce (crash app)", driver="seeded scheduler, crash/restart loops",
        explored=(f"{crashes} worker crashes, {run.restarts} restarts, "
                  f"{job.coordinator.reassigned} reassigned, "
                  f"{run.virtual_seconds:.1f}s virtual"),
        checked="output = sequential nocrash", verdict=verdict, ok=ok)
