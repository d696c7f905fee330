"""The coordinator: map tasks (one per input file), then reduce tasks, handed out on request.

A task is idle, in progress or done. A worker asking for work gets the first idle map task;
once every map task is done, the first idle reduce task; when none is idle it is told to
wait, and when the whole job is done, to exit. A task still in progress ``task_timeout``
seconds (10 s, the labs' rule) after it was handed out becomes idle again and goes to the
next worker that asks. The first report of a task's completion counts, whichever attempt it
comes from: every attempt writes complete files by renaming, so any of them will do. Nothing
is handed out twice while its worker is within its time, so a job without failures runs
each task exactly once (the jobcount test).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from faultlab.mr.protocol import EXIT, MAP, REDUCE, WAIT, MrAskTask, MrReport, MrReportAck, MrTask
from faultlab.sim.node import Node

__all__ = ["Coordinator", "TaskState", "IDLE", "IN_PROGRESS", "DONE"]

IDLE, IN_PROGRESS, DONE = "idle", "in-progress", "done"
TASK_TIMEOUT = 10.0


@dataclass(slots=True)
class TaskState:
    kind: str
    index: int
    state: str = IDLE
    attempts: int = 0     # how many times it was handed out
    worker: str = ""      # the worker of the latest attempt
    started: float = 0.0  # when the latest attempt was handed out
    done_by: str = ""


class Coordinator(Node):
    """See the module docstring. ``done`` tells the job is complete; ``finished`` turns true
    ``linger`` seconds later (the lab's coordinator exits a second after ``Done()``), so the
    workers still asking learn that they may exit."""

    accepts = (MrAskTask, MrReport)

    def __init__(
        self,
        files: Sequence[str],
        n_reduce: int,
        *,
        task_timeout: float = TASK_TIMEOUT,
        linger: float = 1.0,
        progress: Callable[[str, Coordinator], None] | None = None,
    ) -> None:
        if not files:
            raise ValueError("a job needs at least one input file")
        if n_reduce < 1:
            raise ValueError("n_reduce must be at least 1")
        self.files = list(files)
        self.n_reduce = n_reduce
        self.task_timeout = task_timeout
        self.linger = linger
        self.progress = progress
        self.maps = [TaskState(MAP, i) for i in range(len(self.files))]
        self.reduces = [TaskState(REDUCE, i) for i in range(n_reduce)]
        self.maps_done = 0
        self.reduces_done = 0
        self.done = False
        self.done_at: float | None = None
        self.finished = False
        self.reassigned = 0
        self.duplicate_reports = 0
        self.jobs_by_worker: dict[str, int] = {}   # completions credited to each worker
        self.reported_jobs: dict[str, int] = {}    # each worker's own latest count
        self._answered: dict[str, tuple[int, Any]] = {}  # worker id -> (seq, reply)

    def fingerprint_state(self) -> Any:
        return {k: v for k, v in vars(self).items() if k not in ("ctx", "progress")}

    # ------------------------------------------------------------------ requests

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, (MrAskTask, MrReport)):
            self.reported_jobs[msg.worker] = max(self.reported_jobs.get(msg.worker, 0),
                                                 msg.jobs_done)
            # Keyed by worker incarnation, not by node name: a restarted worker reuses its
            # name (and, as a process, its socket) but numbers its requests from 1 again.
            seen = self._answered.get(msg.worker)
            if seen is not None and seen[0] == msg.seq:  # a resent request: same answer
                self.ctx.send(src, seen[1])
                return
            if seen is not None and msg.seq < seen[0]:
                return  # a stale duplicate: its worker has moved on and ignores any answer
            reply = self._assign(msg) if isinstance(msg, MrAskTask) else self._report(msg)
            self._answered[msg.worker] = (msg.seq, reply)
            self.ctx.send(src, reply)

    def _assign(self, msg: MrAskTask) -> MrTask:
        if self.done:
            return MrTask(msg.seq, EXIT)
        phase = self.maps if self.maps_done < len(self.maps) else self.reduces
        for t in phase:
            if t.state == IDLE:
                t.state, t.worker, t.started = IN_PROGRESS, msg.worker, self.ctx.now()
                t.attempts += 1
                self.ctx.set_timer(f"deadline:{t.kind}:{t.index}", self.task_timeout)
                self.ctx.log("assign", kind=t.kind, task=t.index, attempt=t.attempts,
                             worker=msg.worker)
                return MrTask(msg.seq, t.kind, t.index, t.attempts,
                              self.files[t.index] if t.kind == MAP else "",
                              len(self.maps), self.n_reduce)
        return MrTask(msg.seq, WAIT)

    def _report(self, msg: MrReport) -> MrReportAck:
        tasks = self.maps if msg.kind == MAP else self.reduces
        if not 0 <= msg.task < len(tasks):
            return MrReportAck(msg.seq)
        t = tasks[msg.task]
        if t.state == DONE:
            self.duplicate_reports += 1
            return MrReportAck(msg.seq)
        t.state, t.done_by = DONE, msg.worker
        self.ctx.cancel_timer(f"deadline:{t.kind}:{t.index}")
        self.jobs_by_worker[msg.worker] = self.jobs_by_worker.get(msg.worker, 0) + 1
        if t.kind == MAP:
            self.maps_done += 1
        else:
            self.reduces_done += 1
        self.ctx.log("done", kind=t.kind, task=t.index, attempt=msg.attempt, worker=msg.worker)
        if self.reduces_done == len(self.reduces):
            self.done = True
            self.done_at = self.ctx.now()
            self.ctx.set_timer("finish", self.linger)
        if self.progress is not None:
            self.progress(f"{t.kind} {t.index} done by {msg.worker}", self)
        return MrReportAck(msg.seq)

    # ------------------------------------------------------------------ timers

    def on_timer(self, name: str) -> None:
        if name == "finish":
            self.finished = True
            return
        _, kind, index = name.split(":")
        t = (self.maps if kind == MAP else self.reduces)[int(index)]
        if t.state == IN_PROGRESS:  # its worker ran out of time: the next asker gets it
            t.state = IDLE
            self.reassigned += 1
            self.ctx.log("expire", kind=t.kind, task=t.index, attempt=t.attempts,
                         worker=t.worker)
            if self.progress is not None:
                self.progress(f"{t.kind} {t.index} timed out on {t.worker}; reassigning",
                              self)

    def summary(self) -> str:
        return (f"map {self.maps_done}/{len(self.maps)}, "
                f"reduce {self.reduces_done}/{len(self.reduces)}")
