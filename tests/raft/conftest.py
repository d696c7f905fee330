"""Fixtures of the Raft tests: ``make_config`` builds a tester named after the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from raft_tester import Config


@pytest.fixture
def make_config(request: pytest.FixtureRequest) -> Iterator[Callable[..., Config]]:
    made: list[Config] = []

    def make(n: int, unreliable: bool = False, snapshot: bool = False) -> Config:
        cfg = Config(request.node.name, n, unreliable, snapshot)
        made.append(cfg)
        return cfg

    yield make
    for cfg in made:
        cfg.cleanup()
