"""The Hypothesis state machine over the primary/backup service, and its seeded bugs.

The correct service must survive the exploration (views advance by the rule, one primary per
view, the backup never behind, linearizable histories, final reads work); each seeded bug
must be caught under the ci profile whatever the active one (derandomized, so the same
examples everywhere), and its replay file shrinks to a short counterexample that still fails
the same way.
"""

from __future__ import annotations

import pytest
from faultlab.pb.explore import (
    BuggyAdvanceWithoutAckMachine,
    BuggyNoDuplicateDetectionMachine,
    BuggyReplyBeforeAckMachine,
    PBMachine,
)
from faultlab.tools.explore import FIND_ONLY, NO_EXPLAIN
from faultlab.tools.replay import load_replay, replay
from faultlab.tools.shrink import failure_signature, shrink
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test


def test_correct_service_survives_exploration(replays) -> None:
    run_state_machine_as_test(PBMachine, settings=settings(phases=NO_EXPLAIN))
    assert not list(replays.iterdir())


@pytest.mark.parametrize("machine, failure, max_steps", [
    # The primary answers a Put before its backup applied it: "backup behind primary" as soon
    # as the answer is sent. Shrinks to one step (the Put); settling runs it normally.
    (BuggyReplyBeforeAckMachine, "AssertionError: backup behind primary", 3),
    # The viewservice changes views without the primary's acknowledgement: shrinks to no
    # step at all from a seed whose World starts before any view (the start-up breaks it).
    (BuggyAdvanceWithoutAckMachine, "AssertionError: view rule", 3),
    # A retried Append is applied twice: the final reads make the history non-linearizable.
    # Shrinks to about nine steps (an Append, its delivery, a retry timer, ...).
    (BuggyNoDuplicateDetectionMachine, "AssertionError: history not linearizable", 15),
])
def test_seeded_bug_is_caught_and_shrunk(replays, machine, failure, max_steps) -> None:
    with pytest.raises(AssertionError) as caught:
        run_state_machine_as_test(
            machine, settings=settings(settings.get_profile("ci"), phases=FIND_ONLY,
                                       report_multiple_bugs=False))
    notes = "\n".join(getattr(caught.value, "__notes__", []))
    assert "seed" in notes and "faultlab replay" in notes
    record = load_replay(replays / f"{machine.__name__}.json")
    assert failure_signature(record["error"]) == failure, record["error"]
    assert replay(record).reproduced

    small = shrink(record)
    steps = small["steps"][:small["exploration_steps"]]
    print(f"{machine.__name__}: shrunk from {small['shrunk_from']} to "
          f"{small['exploration_steps']} steps: {steps}")
    assert failure_signature(small["error"]) == failure
    assert small["exploration_steps"] <= max_steps, steps
    assert replay(small).reproduced


@pytest.mark.deep
def test_correct_service_survives_deep_exploration(replays) -> None:
    """Long exploration (FAULTLAB_PROFILE=deep pytest -m deep tests/pb)."""
    run_state_machine_as_test(PBMachine, settings=settings(phases=NO_EXPLAIN))
    assert not list(replays.iterdir())
