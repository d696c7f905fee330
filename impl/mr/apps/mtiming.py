"""Map parallelism: each map records when it ran and how many workers were mapping with it."""

from __future__ import annotations

from collections.abc import Generator

from faultlab.mr.app import AppContext
from faultlab.mr.apps.parallel import nparallel


def map(filename: str, contents: str, *, ctx: AppContext) -> Generator:
    started = ctx.now()
    n = yield from nparallel("map", ctx)
    return [(f"times-{ctx.worker}", f"{started:.1f}"), (f"parallel-{ctx.worker}", str(n))]


def reduce(key: str, values: list[str]) -> str:
    return " ".join(sorted(values))
