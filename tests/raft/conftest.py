"""Fixtures of the Raft tests: ``make_config`` builds a tester named after the test.

Every failure of a lab test carries its seed: the tester's own failure messages include it,
and for any other exception (an assertion in the runtime, a crash in Raft) the report gets a
"faultlab seed" section (the ``seed`` fixture of tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from raft_tester import Config


@pytest.fixture
def make_config(request: pytest.FixtureRequest,
                seed: int) -> Iterator[Callable[..., Config]]:
    made: list[Config] = []

    def make(n: int, unreliable: bool = False, snapshot: bool = False) -> Config:
        cfg = Config(request.node.name, n, unreliable, snapshot, seed=seed)
        made.append(cfg)
        return cfg

    yield make
    for cfg in made:
        cfg.cleanup()
