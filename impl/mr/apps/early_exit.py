"""Early exit: reduce takes 3 s for the keys (file names) holding "sherlock" or "tom", so a
worker or coordinator that exits before every output is final is caught."""

from __future__ import annotations

from collections.abc import Generator

from faultlab.mr.app import AppContext


def map(filename: str, contents: str) -> list[tuple[str, str]]:
    return [(filename, "1")]


def reduce(key: str, values: list[str], *, ctx: AppContext) -> Generator:
    if "sherlock" in key or "tom" in key:
        yield ctx.sleep(3.0)
    return str(len(values))
