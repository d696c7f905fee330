"""Fixtures of the Paxos tests: a tester factory on the per-test World seed (the ``seed``
fixture of tests/conftest.py, printed with every failure)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from faultlab.paxos.harness import Tester


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
