"""MapReduce under the Hypothesis driver: any interleaving, loss, duplicate, crash, partition.

Hypothesis picks every step of a small job (three input files, two reduce buckets, two
workers) on the ADVERSARIAL profile, including crashing and restarting the coordinator (which
then starts the job over: the labs' coordinator keeps no state across crashes). After every
step the file discipline must hold; once healed, the job must finish with exactly the
sequential reference's output::

    faultlab explore faultlab.mr.explore:MapReduceMachine

Invariants checked after every step:

* a map task marked done has all its intermediate files, a reduce task its output file;
* a worker told the job is over exits only when every output file is in place (the early
  exit test's property, under every interleaving);
* no output file is ever partial or wrong: once it exists it holds exactly the reference's
  lines for its bucket, in key order.

Workers never give up on the coordinator here (a partition does not end the job).
"""

from __future__ import annotations

import atexit
import math
import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import ClassVar

from faultlab.mr.coordinator import DONE, Coordinator
from faultlab.mr.corpus import generate_corpus
from faultlab.mr.files import bucket, format_output, intermediate_name, output_lines, output_name
from faultlab.mr.sequential import run_sequential
from faultlab.mr.simulate import SimJob, build_job
from faultlab.mr.worker import COORDINATOR
from faultlab.sim.network import ADVERSARIAL
from faultlab.sim.world import World
from faultlab.tools.explore import WorldMachine
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

__all__ = ["MapReduceMachine"]

N_REDUCE = 2
JOBS: dict[int, SimJob] = {}  # id(world) -> its job (the machine builds worlds by seed)


@cache
def _scratch() -> Path:
    path = Path(tempfile.mkdtemp(prefix="faultlab-mr-explore-"))
    atexit.register(shutil.rmtree, path, True)
    return path


@cache
def _inputs() -> tuple[str, ...]:
    return tuple(str(p) for p in generate_corpus(_scratch() / "input", 0.006, files=3))


@cache
def _reference() -> dict[str, str]:
    return dict(run_sequential("wc", list(_inputs())))


@cache
def _expected(reduce_task: int) -> str:
    """The text of ``mr-out-<reduce_task>`` in a correct run."""
    return format_output(sorted((k, v) for k, v in _reference().items()
                                if bucket(k, N_REDUCE) == reduce_task))


class MapReduceMachine(WorldMachine):
    """See the module docstring."""

    settle_timeout: ClassVar[float] = 120.0

    @classmethod
    def build_world(cls, seed: int) -> World:
        work = Path(tempfile.mkdtemp(dir=_scratch()))
        job = build_job(work, _inputs(), "wc", n_reduce=N_REDUCE, workers=2, seed=seed,
                        profile=ADVERSARIAL, give_up=math.inf, record_steps=True)
        JOBS[id(job.world)] = job
        return job.world

    @property
    def job(self) -> SimJob:
        return JOBS[id(self.world)]

    @rule(seconds=st.sampled_from([0.1, 1.0, 10.5]))
    def wait(self, seconds: float) -> None:
        """Let time pass without any event (the timers due meanwhile fire later)."""
        self._guard(lambda: self.world.advance(seconds))

    @precondition(lambda self: any(w is not None and w.stopped
                                   for w in map(self.job.worker, self.job.workers)))
    @rule(i=st.integers(0, 255))
    def relaunch(self, i: int) -> None:
        """Start a new process for a worker that exited (the crash test's restart loop)."""
        stopped = [n for n in self.job.workers
                   if (w := self.job.worker(n)) is not None and w.stopped]
        name = stopped[i % len(stopped)]
        self._guard(lambda: (self.world.crash(name), self.world.restart(name)))

    def call_input(self) -> st.SearchStrategy:
        return st.nothing()  # no clerks: the job runs by itself

    def check_safety(self) -> None:
        job = self.job
        work = job.workdir
        coordinator = job.world.nodes.get(COORDINATOR)
        if isinstance(coordinator, Coordinator):
            for t in coordinator.maps:
                if t.state == DONE:
                    missing = [y for y in range(N_REDUCE)
                               if not (work / intermediate_name(t.index, y)).exists()]
                    assert not missing, f"map {t.index} is done without mr-{t.index}-{missing}"
            for t in coordinator.reduces:
                if t.state == DONE:
                    assert (work / output_name(t.index)).exists(), \
                        f"reduce {t.index} is done without its output"
        outputs = [work / output_name(y) for y in range(N_REDUCE)]
        for name in job.workers:
            w = job.worker(name)
            if w is not None and w.finished:
                assert all(p.exists() for p in outputs), \
                    f"{name} exited before every output was written"
        for y, p in enumerate(outputs):
            if p.exists():  # renamed into place, so complete: exactly the bucket's lines
                assert p.read_text() == _expected(y), f"{p.name} is partial or wrong"

    def settled(self) -> bool:
        coordinator = self.world.nodes.get(COORDINATOR)
        return isinstance(coordinator, Coordinator) and coordinator.done

    def end_checks(self) -> None:
        want = sorted(f"{k} {v}" for k, v in _reference().items())
        assert output_lines(self.job.workdir) == want, "output differs from the reference"

    def teardown(self) -> None:
        try:
            super().teardown()
        finally:
            job = JOBS.pop(id(getattr(self, "world", None)), None)
            if job is not None:
                shutil.rmtree(job.workdir, ignore_errors=True)
