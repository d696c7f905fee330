"""Fixtures of the Paxos tests: a per-test World seed (``FAULTLAB_SEED`` overrides it),
a tester factory, and the seed printed with every failure."""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Iterator

import pytest
from faultlab.paxos.harness import Tester


def _seed_for(name: str) -> int:
    env = os.environ.get("FAULTLAB_SEED")
    return int(env) if env else zlib.crc32(name.encode()) % 2**31


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> int:
    s = _seed_for(request.node.name)
    request.node.faultlab_seeds = [s]
    return s


@pytest.fixture
def make_tester(request: pytest.FixtureRequest, seed: int) -> Iterator[Callable[..., Tester]]:
    made: list[Tester] = []

    def make(npaxos: int, **options: object) -> Tester:
        t = Tester(npaxos, seed, name=request.node.name, **options)  # type: ignore[arg-type]
        made.append(t)
        return t

    yield make
    for t in made:
        t.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    seeds = getattr(item, "faultlab_seeds", None)
    if report.failed and seeds:
        report.sections.append(
            ("faultlab", f"World seed {seeds[0]}; rerun with FAULTLAB_SEED={seeds[0]}"))
