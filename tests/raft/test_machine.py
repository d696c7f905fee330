"""The Hypothesis machine on correct Raft (3 and 5 servers), and on each seeded bug.

Correct Raft must survive the exploration of the loaded profile (``FAULTLAB_PROFILE``; CI
uses ``ci``: 100 examples of up to 50 steps, derandomized). Each seeded bug must be caught
within the same budget: the test asserts that the machine fails with a safety violation,
that Hypothesis shrank the failing example (the final counterexample runs no more rules
than the first failing example found), and that the replay file of the counterexample
reproduces the failure.

The mutant tests are derandomized under every profile: they assert that a bug is found
within a budget, so the examples tried must not change from run to run. (With random
examples, 10 runs of 100 examples each: the Figure 8 bug was found in 6 runs, votedFor not
persisted in 9, the other three bugs in all 10.) Hypothesis's explain phase is left out of
the mutant tests (it re-runs the machine very many times), and shrinking is bounded to
``SHRINK_SECONDS`` of wall time per bug through Hypothesis's shrinking deadline, so the
suite stays within its time budget; the counterexample is still a shrunk one.
"""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import Phase, settings
from hypothesis.internal.conjecture import engine as hypothesis_engine
from hypothesis.stateful import run_state_machine_as_test

from impl.raft.checks import SafetyViolation
from impl.raft.machine import MUTANT_MACHINES, MUTANT_MACHINES5, RaftMachine, RaftMachine5
from impl.raft.raft import BUGS
from impl.sim.replay import load_replay, replay

SHRINK_SECONDS = 20
NO_EXPLAIN = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink]


@pytest.mark.parametrize("machine", [RaftMachine, RaftMachine5], ids=["3", "5"])
def test_machine_correct_raft(machine):
    started = time.perf_counter()
    run_state_machine_as_test(machine)
    print(f"\n{machine.__name__}: {settings.default.max_examples} examples passed in "
          f"{time.perf_counter() - started:.1f}s wall")


def test_every_bug_has_a_machine():
    assert sorted(MUTANT_MACHINES) == sorted(BUGS)
    for bug, machine in MUTANT_MACHINES.items():
        assert machine.bugs == {bug}
    assert RaftMachine.bugs == frozenset()


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_machine_catches_seeded_bug(bug, tmp_path, monkeypatch):
    monkeypatch.setattr(hypothesis_engine, "MAX_SHRINKING_SECONDS", SHRINK_SECONDS,
                        raising=False)
    check_caught(MUTANT_MACHINES[bug], bug, tmp_path, monkeypatch)


@pytest.mark.deep
@pytest.mark.parametrize("bug", sorted(BUGS))
def test_machine5_catches_seeded_bug(bug, tmp_path, monkeypatch):
    """The five-server machine on each bug, with unbounded shrinking."""
    check_caught(MUTANT_MACHINES5[bug], bug, tmp_path, monkeypatch)


def check_caught(base, bug, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FAULTLAB_REPLAY_DIR", str(tmp_path))
    failures: list[tuple[int, int]] = []  # (rules run, World steps) of each failing run

    class Recording(base):  # the same machine, remembering the size of each failing run
        rules_run = 0

        def check_safety(self):  # runs after every rule
            self.rules_run += 1
            super().check_safety()

        def _guard(self, action):
            try:
                return super()._guard(action)
            except Exception:
                failures.append((self.rules_run, len(self.world.steps)))
                raise

    Recording.__name__ = Recording.__qualname__ = base.__name__
    Recording.__module__ = base.__module__
    started = time.perf_counter()
    with pytest.raises(SafetyViolation) as caught:
        run_state_machine_as_test(
            Recording, settings=settings(settings.default, phases=NO_EXPLAIN, derandomize=True,
                                         database=None, report_multiple_bugs=False))
    wall = time.perf_counter() - started
    record = load_replay(tmp_path / f"{base.__name__}.json")
    outcome = replay(record)
    (rules0, steps0), (rules1, steps1) = failures[0], failures[-1]
    print(f"\n{bug}: caught in {wall:.1f}s wall; first failing run: {rules0} rules, {steps0} "
          f"World steps; shrunk to {rules1} rules, {steps1} World steps; {caught.value}")
    assert record["machine"].endswith(f":{base.__name__}")
    assert outcome.reproduced, (outcome.error, record["error"])
    assert len(record["steps"]) == steps1
    assert len(failures) >= 2 and rules1 <= rules0, "the counterexample was not shrunk"


def test_machine_exports_traces(tmp_path, monkeypatch):
    monkeypatch.setenv("FAULTLAB_RAFT_TRACE", str(tmp_path))
    run_state_machine_as_test(RaftMachine, settings=settings(settings.default, max_examples=5))
    files = sorted(tmp_path.glob("RaftMachine-*.jsonl"))
    assert len(files) >= 5
    lines = [json.loads(x) for f in files for x in f.read_text().splitlines()]
    assert lines[0]["faultlab_trace"] == 1 and lines[0]["system"] == "raft"
    steps = {line["step"][0] for line in lines if "step" in line}
    assert {"init", "deliver", "fire"} <= steps
