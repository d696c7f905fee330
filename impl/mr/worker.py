"""The worker: ask for a task, run it, report it, ask again; exit when the job is done.

A map task reads its input file, calls the app's ``map`` and writes ``n_reduce``
intermediate files; a reduce task merges its bucket from every map task, calls ``reduce`` on
each key in sorted order and writes ``mr-out-Y``. Files are always renamed into place
(:mod:`faultlab.mr.files`). The task runs as a generator: an app that waits yields a sleep, the
worker arms a timer and resumes it when the timer fires, so a simulated worker "runs" for
virtual seconds while other nodes act, and a real one does the same on real timers.

Requests are resent every ``retry`` seconds until answered (the same ``seq``, so the
coordinator answers with the same task). A worker that hears nothing from the coordinator for
``give_up`` seconds assumes the job is over and exits, as the labs' workers do when their RPC
fails. An app calling ``ctx.exit(code)`` stops the worker at once: in simulation the worker
goes silent (the harness then crashes it), in a process ``on_exit`` ends the process.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from faultlab.mr.app import App, AppContext, Step, WorkerExit, cycle_collector_paused, load_app
from faultlab.mr.files import (
    atomic_write,
    format_output,
    output_name,
    read_reduce_input,
    write_map_output,
)
from faultlab.mr.protocol import EXIT, MAP, REDUCE, WAIT, MrAskTask, MrReport, MrReportAck, MrTask
from faultlab.sim.node import Node

__all__ = ["Worker", "COORDINATOR"]

COORDINATOR = "coordinator"


class Worker(Node):
    """See the module docstring.

    ``max_tasks`` makes the worker die (exit code 1) when it is handed a task after it was
    already handed ``max_tasks``, holding that task: the 2015 tests' worker that "dies after
    10 RPCs" accepted ten jobs and then failed the eleventh, which had to go elsewhere.
    """

    accepts = (MrTask, MrReportAck)

    def __init__(
        self,
        app: App | str,
        workdir: str | Path,
        *,
        coordinator: str = COORDINATOR,
        poll: float = 0.2,
        retry: float = 1.0,
        give_up: float = 10.0,
        max_tasks: int | None = None,
        worker_id: str | None = None,
        is_alive: Callable[[str], bool] | None = None,
        on_exit: Callable[[int], None] | None = None,
    ) -> None:
        self.app = load_app(app) if isinstance(app, str) else app
        self.workdir = Path(workdir)
        self.coordinator = coordinator
        self.poll, self.retry, self.give_up = poll, retry, give_up
        self.max_tasks = max_tasks
        self.tasks_received = 0
        self.worker_id = worker_id
        self.is_alive = is_alive
        self.on_exit = on_exit
        self.seq = 0
        self.rpcs = 0
        self.jobs_done = 0
        self.request: MrAskTask | MrReport | None = None
        self.task: MrTask | None = None
        self.running: Step | None = None
        self.last_contact = 0.0
        self.exit_code: int | None = None
        self.told_to_exit = False
        self.answers = 0  # answers from the coordinator (none: there was no coordinator)
        self.history: list[tuple[str, int, int]] = []  # (kind, task, attempt) finished here
        self.appctx: AppContext | None = None

    def fingerprint_state(self) -> Any:
        return (self.seq, self.rpcs, self.jobs_done, self.request, self.task, self.exit_code)

    @property
    def stopped(self) -> bool:
        return self.exit_code is not None

    @property
    def finished(self) -> bool:
        """Exited because the coordinator said the job is done (not by giving up)."""
        return self.stopped and self.told_to_exit

    def on_start(self) -> None:
        if self.worker_id is None:
            self.worker_id = f"{self.ctx.name}.{self.ctx.incarnation}"
        kwargs = {} if self.is_alive is None else {"is_alive": self.is_alive}
        self.appctx = AppContext(self.worker_id, self.workdir, self.ctx.now, self.ctx.random,
                                 **kwargs)
        self.last_contact = self.ctx.now()
        self._ask()

    # ------------------------------------------------------------------ requests

    def _ask(self) -> None:
        self.seq += 1
        self._call(MrAskTask(self.worker_id or "", self.seq, self.jobs_done))

    def _call(self, msg: MrAskTask | MrReport) -> None:
        if self.stopped:
            return
        self.rpcs += 1
        self.request = msg
        self.ctx.send(self.coordinator, msg)
        self.ctx.set_timer("retry", self.retry)

    def on_message(self, src: str, msg: Any) -> None:
        if src != self.coordinator:
            return  # only the coordinator answers a worker
        if self.stopped or self.request is None or getattr(msg, "seq", None) != self.seq:
            return  # a late answer to an old request
        self.request = None
        self.ctx.cancel_timer("retry")
        self.last_contact = self.ctx.now()
        self.answers += 1
        if isinstance(msg, MrReportAck):
            self._ask()
        elif isinstance(msg, MrTask):
            if msg.kind == EXIT:
                self.told_to_exit = True
                self._exit(0)
            elif msg.kind == WAIT:
                self.ctx.set_timer("poll", self.poll)
            elif msg.kind in (MAP, REDUCE):
                self.tasks_received += 1
                if self.max_tasks is not None and self.tasks_received > self.max_tasks:
                    self._exit(1)
                    return
                self.task = msg
                self.running = self._run_map(msg) if msg.kind == MAP else self._run_reduce(msg)
                self._resume()

    def on_timer(self, name: str) -> None:
        if self.stopped:
            return
        if name == "app":
            self._resume()
        elif name == "poll":
            self._ask()
        elif name == "retry" and self.request is not None:
            if self.ctx.now() - self.last_contact >= self.give_up:
                self._exit(0)  # the coordinator is gone: the job is over
                return
            self._call(self.request)

    def on_send_failed(self, dst: str, msg: Any) -> None:
        """The request did not get through (lost, or no coordinator yet or any more): try
        again soon rather than at the next ``retry``."""
        if not self.stopped and msg is self.request:
            self.ctx.set_timer("retry", min(self.retry, 0.1))

    # ------------------------------------------------------------------ running a task

    def _resume(self) -> None:
        assert self.running is not None and self.task is not None
        try:
            with cycle_collector_paused():
                delay = next(self.running)
        except StopIteration:
            t, self.task, self.running = self.task, None, None
            self.jobs_done += 1
            self.history.append((t.kind, t.task, t.attempt))
            self.seq += 1
            self._call(MrReport(self.worker_id or "", self.seq, t.kind, t.task, t.attempt,
                                self.jobs_done))
        except WorkerExit as e:
            self._exit(e.code)
        else:
            self.ctx.set_timer("app", delay)

    def _run_map(self, t: MrTask) -> Step:
        with open(t.file, encoding="utf-8", errors="replace") as f:
            contents = f.read()
        assert self.appctx is not None
        kva = yield from self.app.call_map(t.file, contents, self.appctx)
        write_map_output(self.workdir, t.task, t.n_reduce, kva, self.app.combine)

    def _run_reduce(self, t: MrTask) -> Step:
        groups = read_reduce_input(self.workdir, t.task, t.n_map)
        keys = sorted(groups)
        assert self.appctx is not None
        if self.app.plain_reduce:
            fn = self.app.reduce_fn()
            self.appctx.calls += len(keys)
            out = [(k, fn(k, groups[k])) for k in keys]
        else:
            out = []
            for k in keys:
                v = yield from self.app.call_reduce(k, groups[k], self.appctx)
                out.append((k, v))
        atomic_write(self.workdir / output_name(t.task), format_output(out))

    def _exit(self, code: int) -> None:
        self.exit_code = code
        self.request = self.running = None
        for timer in ("retry", "poll", "app"):
            self.ctx.cancel_timer(timer)
        self.ctx.log("exit", code=code)
        if self.on_exit is not None:
            self.on_exit(code)
