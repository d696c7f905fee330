"""Reduce parallelism: map emits keys a-j; each reduce reports how many workers were reducing
at the same time as it."""

from __future__ import annotations

from collections.abc import Generator

from faultlab.mr.app import AppContext
from faultlab.mr.apps.parallel import nparallel


def map(filename: str, contents: str) -> list[tuple[str, str]]:
    return [(k, "1") for k in "abcdefghij"]


def reduce(key: str, values: list[str], *, ctx: AppContext) -> Generator:
    n = yield from nparallel("reduce", ctx)
    return str(n)
