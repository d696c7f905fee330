"""Exploration campaigns: one machine explored by several processes at once, until a number
of examples, a time limit, the first failure or Ctrl-C.

Each worker runs :func:`faultlab.tools.explore.explore` with its own seed, derived from the
campaign's printed seed and the worker's global index (``--shard I/N`` shifts the indices, so
CI matrix jobs given the same seed explore disjoint seeds). Worker 0 of shard 1 uses the seed
itself, so a one-worker campaign is exactly ``explore(seed=...)``. A failure in any worker
stops the others; its replay file (each worker writes into a folder of its own) becomes
``<Machine>.json`` in :func:`faultlab.tools.explore.replay_dir`, as a one-process exploration
writes it. The Hypothesis example database (:mod:`faultlab.tools.exampledb`) is shared by all
workers and, through Redis or a shared folder, by campaigns on other machines.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Campaign", "run_campaign", "worker_seed", "round_seed"]

_SPREAD = 0x9E3779B1  # odd, so index -> index * _SPREAD is one-to-one modulo 2**32
_ROUND = 10**6  # examples per Hypothesis run when only a time limit bounds the campaign
_TICK = 0.25  # seconds between progress reports


def worker_seed(seed: int, index: int) -> int:
    """The seed of the worker (or later round) with global ``index``: ``seed`` itself for 0,
    distinct for every index below 2**32."""
    return (seed + index * _SPREAD) % 2**32


def round_seed(seed: int, *, shard: tuple[int, int], workers: int, worker: int,
               round_no: int) -> int:
    """The seed of ``worker``'s ``round_no``-th Hypothesis run in shard ``shard`` = (I, N):
    global index I-1 + N*worker + N*workers*round_no, so that no two workers, rounds or
    shards (of campaigns given the same seed and worker count) share a seed."""
    shard_i, shard_n = shard
    return worker_seed(seed, shard_i - 1 + shard_n * (worker + workers * round_no))


@dataclass
class Campaign:
    """What a campaign did: totals over its workers, and its first failure."""

    machine: str
    seed: int
    workers: int
    examples: int = 0
    steps: int = 0
    elapsed: float = 0.0
    failures: int = 0
    error: str | None = None
    replay: Path | None = None
    failed_seed: int | None = None
    interrupted: bool = False
    per_worker: list[tuple[int, int]] = field(default_factory=list)  # (examples, steps)


def _quota(examples: int | None, workers: int, k: int) -> int | None:
    if examples is None:
        return None
    return examples // workers + (1 if k < examples % workers else 0)


def _work(spec: str, k: int, shard: tuple[int, int], workers: int, seed: int,
          examples: int | None, steps: int, deadline: float | None, database: str | None,
          folder: str, counters, stop_event, results) -> None:
    """One worker: rounds of :func:`explore` until its quota, the deadline, a failure, or the
    campaign's stop. Ctrl-C is the parent's to handle: it sets the stop event."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ["FAULTLAB_REPLAY_DIR"] = folder
    from faultlab.tools.exampledb import open_database
    from faultlab.tools.explore import explore
    from faultlab.tools.replay import machine_class

    cls = machine_class(spec)
    db = open_database(database)
    done_examples = done_steps = 0

    def stop() -> bool:
        return stop_event.is_set() or (deadline is not None and time.time() >= deadline)

    round_no = 0
    while not stop() and (examples is None or done_examples < examples):
        s = round_seed(seed, shard=shard, workers=workers, worker=k, round_no=round_no)
        budget = _ROUND if examples is None else examples - done_examples

        def progress(r, base_e=done_examples, base_s=done_steps) -> None:
            counters[3 * k] = base_e + r.examples
            counters[3 * k + 1] = base_s + r.steps

        r = explore(cls, seed=s, examples=budget, steps=steps, progress=progress,
                    database=db, stop=stop)
        done_examples += r.examples
        done_steps += r.steps
        counters[3 * k], counters[3 * k + 1] = done_examples, done_steps
        if r.error is not None:
            counters[3 * k + 2] = 1
            stop_event.set()
            results.put((k, done_examples, done_steps, r.error,
                         str(r.replay) if r.replay else None, s))
            return
        if r.examples == 0:  # stopped before its first example, or nothing left to generate
            break
        round_no += 1
    results.put((k, done_examples, done_steps, None, None, None))


def run_campaign(
    spec: str,
    *,
    seed: int,
    workers: int = 1,
    examples: int | None = 200,
    time_limit: float | None = None,
    steps: int = 50,
    shard: tuple[int, int] = (1, 1),
    database: str | None = None,
    progress: Callable[[Campaign], None] | None = None,
) -> Campaign:
    """Explore machine ``spec`` (``module:Class``) with ``workers`` processes.

    ``examples`` is the campaign's total (split over the workers; None: no bound), and
    ``time_limit`` its wall-clock bound in seconds; at least one must be given. ``shard`` is
    ``(I, N)``, 1 <= I <= N. ``database`` as :func:`faultlab.tools.exampledb.open_database`
    takes it. ``progress`` hears of the totals a few times a second. Ctrl-C stops every
    worker and returns what was done, ``interrupted`` set."""
    from faultlab.tools.explore import replay_dir

    if examples is None and time_limit is None:
        raise ValueError("a campaign needs an example count or a time limit")
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    counters = ctx.Array("q", 3 * workers, lock=False)
    stop_event = ctx.Event()
    results = ctx.Queue()
    out = replay_dir()
    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".workers-", dir=out))
    started = time.perf_counter()
    deadline = None if time_limit is None else time.time() + time_limit
    c = Campaign(spec, seed, workers)
    procs = []
    for k in range(workers):
        folder = scratch / str(k)
        folder.mkdir()
        procs.append(ctx.Process(target=_work, daemon=True, args=(
            spec, k, shard, workers, seed,
            _quota(examples, workers, k), steps, deadline, database, str(folder),
            counters, stop_event, results)))
    finals: dict[int, tuple] = {}
    try:
        for p in procs:
            p.start()
        while len(finals) < workers:
            try:
                msg = _next(results, procs, finals, stop_event, c)
            except KeyboardInterrupt:
                c.interrupted = True
                stop_event.set()
                continue
            if msg is not None:
                finals[msg[0]] = msg
            c.examples = sum(counters[3 * k] for k in range(workers))
            c.steps = sum(counters[3 * k + 1] for k in range(workers))
            c.failures = sum(counters[3 * k + 2] for k in range(workers))
            c.elapsed = time.perf_counter() - started
            if progress is not None:
                progress(c)
        for p in procs:
            p.join()
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
                p.join()
        _collect(c, finals, workers, out)
        c.elapsed = time.perf_counter() - started
        shutil.rmtree(scratch, ignore_errors=True)
    return c


def _next(results, procs, finals: dict, stop_event, c: Campaign) -> tuple | None:
    """The next worker's final message, or None after a tick; a worker that died without
    one counts as failed (its exit code said how)."""
    try:
        return results.get(timeout=_TICK)
    except queue.Empty:
        pass
    for k, p in enumerate(procs):
        if k not in finals and not p.is_alive() and p.exitcode not in (0, None):
            stop_event.set()
            return (k, 0, 0, f"worker {k} died (exit code {p.exitcode})", None, None)
    return None


def _collect(c: Campaign, finals: dict, workers: int, out: Path) -> None:
    """Totals from the workers' final messages; the first failure's replay file moved to
    ``out/<Machine>.json``."""
    c.per_worker = [(finals[k][1], finals[k][2]) if k in finals else (0, 0)
                    for k in range(workers)]
    if finals:
        c.examples = sum(e for e, _ in c.per_worker)
        c.steps = sum(s for _, s in c.per_worker)
    failed = [m for m in finals.values() if m[3] is not None]
    c.failures = len(failed)
    if not failed:
        return
    # the failure reported first is the one that stopped the others
    first = next(m for m in finals.values() if m[3] is not None)
    c.error, c.failed_seed = first[3], first[5]
    if first[4]:
        target = out / Path(first[4]).name
        shutil.move(first[4], target)
        c.replay = target
