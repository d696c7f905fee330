"""Every failing lab test reports its World seed and the command that replays it, plain
asserts included: the ``seed`` fixture and report hook of faultlab's pytest plugin
(faultlab.tools.pytest_plugin, registered by installing faultlab), shown on a
failing pb test and failing mr tests (a seed from the test's name, and a seed parameter)."""

from __future__ import annotations

from pathlib import Path

import pytest
from faultlab.tools.seeds import seed_for

pytest_plugins = ["pytester"]

TESTS = Path(__file__).resolve().parent

FAILING = '''
import pytest
from faultlab.mr.simulate import build_job, run_job
from pb_harness import Lab


def test_pb_plain_assert(seed):
    lab = Lab(seed)
    lab.sleep(1.0)
    assert lab.primary() == "nobody"


def test_mr_plain_assert(tmp_path, seed):
    book = tmp_path / "book.txt"
    book.write_text("a b a\\n")
    run = run_job(build_job(tmp_path, [str(book)], "wc", workers=1, seed=seed))
    assert not run.completed


@pytest.mark.parametrize("seed", [4])
def test_mr_seed_parameter(tmp_path, seed):
    book = tmp_path / "book.txt"
    book.write_text("a b a\\n")
    run = run_job(build_job(tmp_path, [str(book)], "wc", workers=1, seed=seed))
    assert not run.completed


def test_no_world():
    assert 1 == 2
'''


def test_failing_pb_and_mr_tests_report_their_seed(pytester: pytest.Pytester,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FAULTLAB_SEED", raising=False)
    monkeypatch.setenv("PYTHONPATH", str(TESTS / "pb"))   # pb_harness, for the subprocess
    pytester.makepyfile(test_failing=FAILING)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=4)
    out = result.stdout.str()
    for test in ("test_pb_plain_assert", "test_mr_plain_assert"):
        s = seed_for(test)
        assert (f"World seed {s}; replay with FAULTLAB_SEED={s} python -m pytest "
                f"'test_failing.py::{test}'") in out, out
    assert ("World seed 4; replay with python -m pytest "
            "'test_failing.py::test_mr_seed_parameter[4]'") in out, out
    assert out.count("faultlab seed") == 3   # a test without a World has no seed to report
