"""Fixtures of the Raft tests: ``make_config`` builds a tester named after the test.

Every failure of a lab test carries its seed: the tester's own failure messages include it,
and for any other exception (an assertion in the runtime, a crash in Raft) the report gets a
"faultlab seed" section.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from raft_tester import Config


@pytest.fixture
def make_config(request: pytest.FixtureRequest) -> Iterator[Callable[..., Config]]:
    made: list[Config] = []
    request.node.faultlab_configs = made

    def make(n: int, unreliable: bool = False, snapshot: bool = False) -> Config:
        cfg = Config(request.node.name, n, unreliable, snapshot)
        made.append(cfg)
        return cfg

    yield make
    for cfg in made:
        cfg.cleanup()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    report = yield
    configs = getattr(item, "faultlab_configs", None)
    if report.failed and configs:
        seeds = ", ".join(str(c.seed) for c in configs)
        report.sections.append(("faultlab seed", f"seed {seeds}; replay with "
                                f"FAULTLAB_SEED={configs[0].seed} pytest {item.nodeid}"))
    return report
