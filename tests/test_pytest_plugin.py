"""faultlab's pytest plugin: ``--faultlab-seeds`` (and ``FAULTLAB_SEEDS``) run each test that
takes the ``seed`` fixture once per seed, a failing seed is reported with the command that
replays just it (and that command does), tests with their own seed parameter or no seed are
left alone, and a bad seed list is a one-line usage error."""

from __future__ import annotations

import pytest
from faultlab.tools.pytest_plugin import parse_seeds

pytest_plugins = ["pytester"]

SUITE = r'''
import pytest

def test_seeded(seed):
    print(f"\nran seed {seed}")
    assert seed != 2

@pytest.mark.parametrize("seed", [40])
def test_own_seed(seed):
    print(f"\nran own seed {seed}")

def test_no_seed():
    print("\nran no seed")
'''


def ran(result: pytest.RunResult, what: str) -> list[str]:
    return sorted(line.split("ran ")[1] for line in result.outlines
                  if line.startswith("ran ") and what in line)


def test_parse_seeds():
    assert parse_seeds("1-3") == [1, 2, 3]
    assert parse_seeds("5, 1-2,5") == [5, 1, 2]
    for bad in ("a", "3-1", "1-", "-1"):
        with pytest.raises(ValueError):
            parse_seeds(bad)


@pytest.mark.parametrize("how", ["option", "env"])
def test_every_seeded_test_runs_once_per_seed_and_the_failing_seed_replays(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    monkeypatch.delenv("FAULTLAB_SEED", raising=False)
    pytester.makepyfile(test_suite=SUITE)
    if how == "env":
        monkeypatch.setenv("FAULTLAB_SEEDS", "1-4")
        args = ["-s", "-p", "no:cacheprovider"]
    else:
        monkeypatch.delenv("FAULTLAB_SEEDS", raising=False)
        args = ["-s", "-p", "no:cacheprovider", "--faultlab-seeds", "1-4"]
    result = pytester.runpytest_subprocess(*args)
    result.assert_outcomes(passed=5, failed=1)
    assert ran(result, "seed ") == ["own seed 40", "seed 1", "seed 2", "seed 3", "seed 4"]
    assert ran(result, "no seed") == ["no seed"]
    command = "python -m pytest 'test_suite.py::test_seeded[seed2]' --faultlab-seeds 2"
    assert f"World seed 2; replay with {command}" in result.stdout.str()
    monkeypatch.delenv("FAULTLAB_SEEDS", raising=False)
    again = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider",
                                          "test_suite.py::test_seeded[seed2]",
                                          "--faultlab-seeds", "2")
    again.assert_outcomes(failed=1)
    assert ran(again, "seed") == ["seed 2"]


def test_without_seeds_each_test_runs_once(pytester: pytest.Pytester,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FAULTLAB_SEEDS", raising=False)
    monkeypatch.delenv("FAULTLAB_SEED", raising=False)
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider")
    assert len(ran(result, "seed")) == 3


def test_a_bad_seed_list_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--faultlab-seeds", "9-1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--faultlab-seeds: not a range of seeds from low to high: '9-1'" in \
        result.stderr.str()
