"""The Hypothesis machine of the sharded service (faultlab explore shard) finds nothing wrong
with the correct service: reconfigurations interleaved with calls, message faults, crashes
and partitions keep one serving group per shard and configuration, a linearizable history,
and every acknowledged append."""

from __future__ import annotations

from faultlab.shard.machine import ShardMachine
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test


def test_the_correct_sharded_service_survives_exploration(replays):
    run_state_machine_as_test(ShardMachine, settings=settings(
        max_examples=min(settings().max_examples, 60), stateful_step_count=100))
