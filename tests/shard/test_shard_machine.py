"""The Hypothesis machines of the sharded service (faultlab explore shard, shard-ctrler): the
correct service survives exploration (reconfigurations interleaved with calls, message faults,
crashes and partitions keep one serving group per shard and configuration, controller
replicas that agree on minimal, balanced configurations, a linearizable history and every
acknowledged append), and ``faultlab explore shard-bug-...`` finds each seeded bug of
faultlab.shard.bugs within a budget, its replay file reproducing the failure.

Budgets: over seeds 1-8, the first failure came within 93 examples (serving before
arrival), 205 (skipped configurations), 233 (replica-dependent rebalance) and 156
(non-minimal rebalance) of up to 50 steps; the migration without duplicate tables needs
longer examples and, with 100 steps, came within 613 over seeds 1-4: it runs in the deep
profile.
"""

from __future__ import annotations

import re

import pytest
from faultlab.cli import main
from faultlab.shard import bugs
from faultlab.shard.config import Config, transition_problems
from faultlab.shard.machine import BUG_MACHINES, CtrlerMachine, ShardMachine
from faultlab.tools.machines import MACHINES
from faultlab.tools.replay import load_replay, replay
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

#: registered name -> (bug, examples, steps, what the failure says)
EXPLORED = {
    "shard-bug-serve-before-arrival": (bugs.ServeBeforeArrival, 300, 50,
                                       "acknowledged appends lost|not linearizable"),
    "shard-bug-migrate-without-dups": (bugs.MigrateWithoutDuplicates, 1500, 100,
                                       "not linearizable|acknowledged appends lost"),
    "shard-bug-skip-configurations": (bugs.SkipConfigurations, 400, 50,
                                      "served by two groups|did not return|did not settle|"
                                      "acknowledged appends lost|not linearizable"),
    "shard-bug-replica-dependent-rebalance": (bugs.ReplicaDependentRebalance, 500, 50,
                                              "controller replicas disagree"),
    "shard-bug-non-minimal-rebalance": (bugs.NonMinimalRebalance, 300, 50,
                                        "moved between groups that neither joined nor left"),
}
DEEP = {"shard-bug-migrate-without-dups"}


def test_the_correct_sharded_service_survives_exploration(replays):
    run_state_machine_as_test(ShardMachine, settings=settings(
        max_examples=min(settings().max_examples, 60), stateful_step_count=100))


def test_the_correct_controller_survives_exploration(replays):
    run_state_machine_as_test(CtrlerMachine, settings=settings(
        max_examples=min(settings().max_examples, 100), stateful_step_count=100))


def test_every_seeded_bug_has_a_registered_machine():
    assert sorted(b.__name__ for b in BUG_MACHINES) == sorted(
        b.__name__ for b in (*bugs.GROUP_BUGS, *bugs.CTRLER_BUGS))
    for name, (bug, *_rest) in EXPLORED.items():
        machine = BUG_MACHINES[bug]
        assert bug in (getattr(machine, "server", None), getattr(machine, "ctrler", None))
        assert MACHINES[name][0] == f"faultlab.shard.machine:{machine.__name__}"


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.deep) if n in DEEP else n for n in sorted(EXPLORED)])
def test_explore_command_finds_the_seeded_bug(name, replays, capsys):
    bug, examples, steps, failure = EXPLORED[name]
    assert main(["explore", name, "--seed", "1", "--examples", str(examples),
                 "--steps", str(steps), "--no-shrink"]) == 1
    assert "FAILED:" in capsys.readouterr().out
    record = load_replay(replays / f"{BUG_MACHINES[bug].__name__}.json")
    assert re.search(failure, record["error"]), record["error"]
    outcome = replay(record)
    assert outcome.reproduced, (outcome.error, record["error"])


def _config(num: int, shards: tuple[int, ...]) -> Config:
    return Config(num, shards, tuple((g, (f"g{g}",)) for g in sorted(set(shards) - {0})))


def test_transitions_of_a_correct_controller_pass_and_others_do_not():
    one = _config(1, (1,) * 10)
    two = _config(2, (1, 1, 1, 1, 1, 2, 2, 2, 2, 2))
    assert transition_problems(one, two) == []                      # a Join, minimal
    moved = _config(3, (2, 1, 1, 1, 1, 2, 2, 2, 2, 2))
    assert transition_problems(two, moved) == []                    # a Move of one shard
    assert transition_problems(two, _config(3, (2, 2, 1, 1, 1, 2, 2, 2, 2, 2)))  # two moves
    three = _config(3, (1, 1, 1, 3, 3, 2, 2, 2, 2, 3))
    assert transition_problems(two, three) == []                    # a Join, minimal
    dealt = _config(3, (1, 2, 3, 1, 2, 3, 1, 2, 3, 1))              # round robin: not minimal
    assert any("neither joined nor left" in p for p in transition_problems(two, dealt))
    lopsided = _config(3, (1, 1, 1, 1, 1, 1, 2, 2, 2, 3))
    assert any("not balanced" in p for p in transition_problems(two, lopsided))
