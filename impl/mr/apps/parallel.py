"""How many workers are inside a map (or reduce) call right now: the timing apps' detector.

Each caller leaves a marker file named after its worker in the work directory, counts the
markers of workers still alive, waits a second (so overlapping callers see each other) and
removes its marker. Under simulation "at the same time" means overlapping virtual intervals.
"""

from __future__ import annotations

from collections.abc import Generator

from faultlab.mr.app import AppContext


def nparallel(phase: str, ctx: AppContext) -> Generator:
    prefix = f"mr-worker-{phase}-"
    mine = ctx.workdir / f"{prefix}{ctx.worker}"
    mine.write_text("x")
    running = sum(1 for p in sorted(ctx.workdir.iterdir())
                  if p.name.startswith(prefix) and ctx.alive(p.name[len(prefix):]))
    yield ctx.sleep(1.0)
    mine.unlink(missing_ok=True)
    return running
