"""Job count: every map call leaves a marker file and takes 2-5 s; reduce counts the markers,
which equals the number of input files only if no map task ran twice."""

from __future__ import annotations

from collections.abc import Generator

from faultlab.mr.app import AppContext

PREFIX = "mr-worker-jobcount"


def map(filename: str, contents: str, *, ctx: AppContext) -> Generator:
    (ctx.workdir / f"{PREFIX}-{ctx.worker}-{ctx.calls}").write_text("x")
    yield ctx.sleep((2000 + ctx.random.randrange(3000)) / 1000)
    return [("a", "x")]


def reduce(key: str, values: list[str], *, ctx: AppContext) -> str:
    return str(sum(1 for p in ctx.workdir.iterdir() if p.name.startswith(PREFIX)))
