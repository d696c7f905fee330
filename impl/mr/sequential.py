"""The sequential reference: the same app run in one loop, the expected output of every job.

It maps every input file in order, groups all values by key, and calls reduce once per key
in sorted key order, exactly what a correct MapReduce job must produce, with none of the
machinery (no tasks, no intermediate files, no combiner). Apps that wait are run on a
private virtual clock, so the reference never sleeps.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

from faultlab.mr.app import (
    App,
    AppContext,
    AppError,
    Step,
    WorkerExit,
    cycle_collector_paused,
    load_app,
)
from faultlab.mr.files import atomic_write, format_output

__all__ = ["run_sequential", "reference_lines"]


def _drive(step: Step, clock: list[float]) -> object:
    try:
        while True:
            clock[0] += next(step)
    except StopIteration as stop:
        return stop.value


def run_sequential(
    app: App | str, files: Sequence[str | Path], out: str | Path | None = None, *,
    seed: int = 0,
) -> list[tuple[str, str]]:
    """The reference output as sorted ``(key, value)`` pairs; written to ``out`` if given."""
    app = load_app(app) if isinstance(app, str) else app
    clock = [0.0]
    workdir = Path(out).parent if out is not None else Path.cwd()
    ctx = AppContext("sequential", workdir, lambda: clock[0], random.Random(seed))
    groups: dict[str, list[str]] = {}
    get = groups.get
    try:
        with cycle_collector_paused():
            for name in files:
                with open(name, encoding="utf-8", errors="replace") as f:
                    contents = f.read()
                for k, v in _drive(app.call_map(str(name), contents, ctx), clock):  # type: ignore[union-attr]
                    vs = get(k)
                    if vs is None:
                        groups[k] = [v]
                    else:
                        vs.append(v)
            result = [(k, _drive(app.call_reduce(k, groups[k], ctx), clock))
                      for k in sorted(groups)]
    except WorkerExit as e:
        raise AppError(f"app {app.name!r} exited (code {e.code}) in the sequential run; "
                       "use a variant that does not crash (e.g. nocrash for crash)") from None
    if out is not None:
        atomic_write(Path(out), format_output(result))
    return [(k, str(v)) for k, v in result]


def reference_lines(app: App | str, files: Sequence[str | Path]) -> list[str]:
    """The reference in the labs' comparison form: sorted non-empty ``key value`` lines."""
    return sorted(line for k, v in run_sequential(app, files) if (line := f"{k} {v}"))
