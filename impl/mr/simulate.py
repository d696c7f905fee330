"""MapReduce under the simulated World: real files in a work directory, virtual time.

:func:`build_job` makes a World with the coordinator and the workers; :func:`run_job` runs it
with the seeded scheduler and plays the role of the labs' shell scripts: a worker that exits
(its app crashed it, or it was told the job is done) is crashed in the World, and, like the
crash test's restart loops, started again ``restart_delay`` seconds later while the
coordinator is still running. Everything is a function of the seed: the network, the apps'
random numbers and sleeps (the worker's seeded generator and virtual timers), the order of
file operations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from faultlab.mr.app import App, load_app
from faultlab.mr.coordinator import Coordinator
from faultlab.mr.worker import COORDINATOR, Worker
from faultlab.sim.network import RELIABLE, NetworkProfile
from faultlab.sim.world import World

__all__ = ["SimJob", "JobRun", "build_job", "run_job", "LAB_TIMEOUT"]

LAB_TIMEOUT = 180.0  # every process of the 2020-22 test script runs under a 180 s limit


@dataclass
class SimJob:
    """A simulated job: its World, folder and the names of its workers."""

    world: World
    workdir: Path
    app: App
    files: list[str]
    n_reduce: int
    workers: list[str] = field(default_factory=list)

    @property
    def coordinator(self) -> Coordinator:
        node = self.world.node(COORDINATOR)
        assert isinstance(node, Coordinator)
        return node

    def worker(self, name: str) -> Worker | None:
        """The running incarnation of worker ``name`` (None while it is crashed)."""
        node = self.world.nodes.get(name)
        return node if isinstance(node, Worker) else None

    def add_worker(self, name: str | None = None, *, app: App | str | None = None,
                   max_tasks: int | None = None, worker_class: type[Worker] = Worker,
                   give_up: float = 10.0) -> str:
        """Start one more worker (named ``w<k>`` by default); it may join a running job."""
        name = name or f"w{len(self.workers)}"
        the_app = self.app if app is None else (load_app(app) if isinstance(app, str) else app)
        workdir = self.workdir

        def factory() -> Worker:
            return worker_class(the_app, workdir, max_tasks=max_tasks, give_up=give_up,
                                is_alive=self.is_alive)

        self.workers.append(name)
        self.world.add_node(name, factory)
        return name

    def is_alive(self, worker_id: str) -> bool:
        """Is the worker incarnation ``name.incarnation`` running (the apps' ``kill -0``)?"""
        name, _, inc = worker_id.rpartition(".")
        node = self.worker(name)
        return (node is not None and not node.stopped and inc.isdigit()
                and self.world.incarnation.get(name) == int(inc))


@dataclass
class JobRun:
    """What :func:`run_job` saw."""

    completed: bool                     # the coordinator finished (done, then lingered)
    virtual_seconds: float
    exits: list[tuple[float, str, int]]  # (time, worker, exit code), in order
    restarts: int


def build_job(
    workdir: str | Path,
    files: Sequence[str | Path],
    app: App | str,
    *,
    n_reduce: int = 10,
    workers: int = 3,
    seed: int = 0,
    profile: NetworkProfile = RELIABLE,
    task_timeout: float = 10.0,
    linger: float = 1.0,
    max_tasks: int | None = None,
    worker_class: type[Worker] = Worker,
    give_up: float = 10.0,
    log_events: bool = False,
    record_steps: bool = False,
) -> SimJob:
    """A started World with a coordinator over ``files`` and ``workers`` workers."""
    world = World(seed, profile, log_events=log_events, record_steps=record_steps)
    file_names = [str(f) for f in files]
    world.add_node(COORDINATOR, lambda: Coordinator(file_names, n_reduce,
                                                    task_timeout=task_timeout, linger=linger))
    job = SimJob(world, Path(workdir), load_app(app) if isinstance(app, str) else app,
                 file_names, n_reduce)
    for _ in range(workers):
        job.add_worker(max_tasks=max_tasks, worker_class=worker_class, give_up=give_up)
    world.start()
    return job


def run_job(
    job: SimJob,
    *,
    timeout: float = LAB_TIMEOUT,
    restart_delay: float | None = None,
    restart: Sequence[str] | None = None,
    tick: float | None = None,
    on_tick: Callable[[SimJob], None] | None = None,
    on_exit: Callable[[SimJob, str, int], None] | None = None,
) -> JobRun:
    """Run until the coordinator finishes or ``timeout`` virtual seconds pass.

    A worker that stops is crashed in the World; those in ``restart`` (all, when it is None)
    are restarted ``restart_delay`` seconds later while the coordinator runs (no restarts
    when ``restart_delay`` is None). ``on_tick`` runs every ``tick`` seconds; ``on_exit`` is
    told of each process exit, the coordinator's included (name ``coordinator``, code 0).
    """
    world = job.world
    coordinator = job.coordinator
    deadline = world.now + timeout
    restart_at: dict[str, float] = {}
    next_tick = world.now + tick if tick else None
    exits: list[tuple[float, str, int]] = []
    restarts = 0

    def stopped_worker() -> bool:
        return any(n.stopped for n in (job.worker(w) for w in job.workers) if n is not None)

    while not coordinator.finished:
        wake = min([deadline, *restart_at.values()] + ([next_tick] if next_tick else []))
        world.run_until(lambda: coordinator.finished or stopped_worker(),
                        max(0.0, wake - world.now))
        for name in list(job.workers):
            node = job.worker(name)
            if node is None or not node.stopped:
                continue
            code = node.exit_code if node.exit_code is not None else 1
            world.crash(name)
            exits.append((world.now, name, code))
            if on_exit is not None:
                on_exit(job, name, code)
            if (restart_delay is not None and not coordinator.finished
                    and (restart is None or name in restart)):
                restart_at[name] = world.now + restart_delay
        if coordinator.finished:
            exits.append((world.now, COORDINATOR, 0))
            if on_exit is not None:
                on_exit(job, COORDINATOR, 0)
            break
        for name, when in sorted(restart_at.items()):
            if when <= world.now:
                del restart_at[name]
                world.restart(name)
                restarts += 1
        if next_tick is not None and world.now >= next_tick:
            next_tick += tick or 0.0
            if on_tick is not None:
                on_tick(job)
        if world.now >= deadline:
            break
    return JobRun(coordinator.finished, world.now, exits, restarts)
