"""The crash test's app: each map and reduce call exits its worker with probability 0.33,
sleeps 0-10 s with probability 0.33, and otherwise behaves as ``nocrash``."""

from __future__ import annotations

from collections.abc import Generator

from faultlab.mr.app import AppContext
from faultlab.mr.apps import nocrash


def maybe_crash(ctx: AppContext) -> Generator:
    rr = ctx.random.randrange(1000)
    if rr < 330:
        ctx.exit(1)
    elif rr < 660:
        yield ctx.sleep(ctx.random.randrange(10_000) / 1000)


def map(filename: str, contents: str, *, ctx: AppContext) -> Generator:
    yield from maybe_crash(ctx)
    return nocrash.map(filename, contents)


def reduce(key: str, values: list[str], *, ctx: AppContext) -> Generator:
    yield from maybe_crash(ctx)
    return nocrash.reduce(key, values)
