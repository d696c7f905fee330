"""faultlab's pytest plugin (entry point ``pytest11``): what every protocol test suite built on
faultlab gets by installing it, faultlab's own included.

* Hypothesis profiles, chosen by ``FAULTLAB_PROFILE`` (or ``ci`` when ``CI`` is set, else
  ``dev``): ``ci`` bounded and derandomized, the same examples on every CI run; ``dev``
  random, a little more; ``deep`` long exploration for bug hunting. Loaded when the plugin is
  imported, before any conftest, so a suite's own ``settings.load_profile`` still wins.
* The markers ``deep`` (long exploration) and ``browser`` (needs headless Chromium).
* The ``seed`` fixture: a test's World seed, from its name (faultlab.tools.seeds), and the
  ``replays`` fixture: a private folder for the replay files a test writes.
* ``--faultlab-seeds 1-200`` (or ``FAULTLAB_SEEDS``): every test that takes the ``seed``
  fixture runs once per seed listed, so rerunning the suite explores new interleavings
  (with pytest-xdist they spread over cores).
* A failing test's report names its World seed and the command that replays it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from faultlab.tools.seeds import replay_hint, seed_for
from hypothesis import HealthCheck, settings

__all__ = ["PROFILES", "SEEDS_ENV", "parse_seeds"]

PROFILES = ("ci", "dev", "deep")
SEEDS_ENV = "FAULTLAB_SEEDS"

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
if PROFILE in PROFILES:
    settings.load_profile(PROFILE)


def parse_seeds(text: str) -> list[int]:
    """``1-200``, ``7`` or ``1-5,9,20-22`` as the list of seeds; ValueError naming the bad
    part."""
    seeds: list[int] = []
    for part in text.split(","):
        lo, dash, hi = part.strip().partition("-")
        try:
            first, last = int(lo), int(hi if dash else lo)
        except ValueError:
            raise ValueError(f"not a seed or a range of seeds: {part.strip()!r}") from None
        if first < 0 or last < first:
            raise ValueError(f"not a range of seeds from low to high: {part.strip()!r}")
        seeds.extend(range(first, last + 1))
    return list(dict.fromkeys(seeds))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("faultlab").addoption(
        "--faultlab-seeds", metavar="SEEDS", default=None,
        help="run every test that takes the seed fixture once per seed: 1-200, 7, or "
        f"1-5,9 (default: ${SEEDS_ENV}, else one seed from each test's name)")


def pytest_configure(config: pytest.Config) -> None:
    if PROFILE not in PROFILES:
        raise pytest.UsageError(f"FAULTLAB_PROFILE must be ci, dev or deep, not {PROFILE!r}")
    config.addinivalue_line("markers", "deep: long exploration, excluded from the default run "
                            "(run with FAULTLAB_PROFILE=deep pytest -m deep)")
    config.addinivalue_line("markers", "browser: needs headless Chromium")
    text = config.getoption("faultlab_seeds") or os.environ.get(SEEDS_ENV)
    try:
        config.faultlab_seed_list = parse_seeds(text) if text else None  # type: ignore[attr-defined]
    except ValueError as e:
        where = "--faultlab-seeds" if config.getoption("faultlab_seeds") else SEEDS_ENV
        raise pytest.UsageError(f"{where}: {e}") from None


def _parametrizes_seed(metafunc: pytest.Metafunc) -> bool:
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0] if mark.args else mark.kwargs.get("argnames", "")
        if isinstance(names, str):
            names = [n.strip() for n in names.split(",")]
        if "seed" in names:
            return True
    return False


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    seeds = getattr(metafunc.config, "faultlab_seed_list", None)
    if seeds and "seed" in metafunc.fixturenames and not _parametrizes_seed(metafunc):
        metafunc.parametrize("seed", seeds, indirect=True, ids=[f"seed{s}" for s in seeds])


@pytest.fixture
def replays(tmp_path, monkeypatch):
    """A private folder for the replay files a test's explorations and searches write."""
    monkeypatch.setenv("FAULTLAB_REPLAY_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> int:
    """This test's World seed: one of ``--faultlab-seeds``, else from the test's name (see
    faultlab.tools.seeds); printed, with the command that replays it, when the test fails.

    A lab's tests take their seed from here (or, to try several, as a ``seed`` parameter),
    directly or through their tester's fixture, so that any failure of theirs, a plain
    assert included, reports the seed and how to replay it."""
    param = getattr(request, "param", None)
    s = seed_for(request.node.name) if param is None else param
    request.node.faultlab_seeds = [s]
    request.node.faultlab_seed_option = param is not None
    return s


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    report = yield
    if report.failed:
        seeds = getattr(item, "faultlab_seeds", None)
        params = getattr(getattr(item, "callspec", None), "params", {})
        if seeds and getattr(item, "faultlab_seed_option", False):
            hint = (f"World seed {seeds[0]}; replay with python -m pytest '{item.nodeid}' "
                    f"--faultlab-seeds {seeds[0]}")
        elif seeds:
            hint = replay_hint(seeds, item.nodeid)
        elif isinstance(params.get("seed"), int):
            hint = replay_hint([params["seed"]], item.nodeid, parameter=True)
        else:
            return report
        report.sections.append(("faultlab seed", hint))
    return report
