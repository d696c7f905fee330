"""Hypothesis profiles for the whole suite, chosen by FAULTLAB_PROFILE.

* ``ci``   bounded and derandomized: the same examples on every CI run (the default in CI).
* ``dev``  the default elsewhere: random examples, a little more of them.
* ``deep`` long exploration for bug hunting: ``FAULTLAB_PROFILE=deep pytest -m "deep or not deep"``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from faultlab.tools.seeds import replay_hint, seed_for
from hypothesis import HealthCheck, settings

_common = dict(
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
)
settings.register_profile("ci", max_examples=100, stateful_step_count=50, derandomize=True,
                          database=None, **_common)
settings.register_profile("dev", max_examples=150, stateful_step_count=50, **_common)
settings.register_profile("deep", max_examples=5000, stateful_step_count=200, **_common)

PROFILE = os.environ.get("FAULTLAB_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
if PROFILE not in ("ci", "dev", "deep"):
    raise SystemExit(f"FAULTLAB_PROFILE must be ci, dev or deep, not {PROFILE!r}")
settings.load_profile(PROFILE)


@pytest.fixture
def replays(tmp_path, monkeypatch):
    """A private folder for the replay files a test's explorations and searches write."""
    monkeypatch.setenv("FAULTLAB_REPLAY_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> int:
    """This test's World seed (see faultlab.tools.seeds); printed when the test fails.

    Every lab's tests take their seed from here (or, to try several, as a ``seed``
    parameter), directly or through their tester's fixture, so that any failure of theirs,
    a plain assert included, reports the seed and how to replay it."""
    s = seed_for(request.node.name)
    request.node.faultlab_seeds = [s]
    return s


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    report = yield
    if report.failed:
        seeds = getattr(item, "faultlab_seeds", None)
        params = getattr(getattr(item, "callspec", None), "params", {})
        if seeds:
            hint = replay_hint(seeds, item.nodeid)
        elif isinstance(params.get("seed"), int):
            hint = replay_hint([params["seed"]], item.nodeid, parameter=True)
        else:
            return report
        report.sections.append(("faultlab seed", hint))
    return report
