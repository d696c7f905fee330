"""The Hypothesis state machine over Paxos, and proof that it catches the seeded bugs.

``test_paxos_machine`` explores the correct implementation under the active profile
(``FAULTLAB_PROFILE``; CI: ci = 100 examples of 50 steps, derandomized). Each seeded-bug test
runs the same machine on a buggy peer under the ci profile whatever the active one (so it is
deterministic everywhere) and asserts that it fails with the expected violation, that the
failure was shrunk (the replay file Hypothesis wrote last is the shrunk counterexample) and
that replaying that file reproduces it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from faultlab.paxos.machine import (
    FivePeerMachine,
    IgnoreAcceptedMachine,
    MiscountedMajorityMachine,
    PaxosMachine,
    VolatilePromiseMachine,
)
from faultlab.tools.explore import FIND_ONLY
from faultlab.tools.replay import load_replay, replay
from faultlab.tools.shrink import shrink
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test


def test_paxos_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAULTLAB_REPLAY_DIR", str(tmp_path))
    run_state_machine_as_test(PaxosMachine)


@pytest.mark.parametrize(("machine", "violation"), [
    (VolatilePromiseMachine, "Acceptor stability violated"),
    (IgnoreAcceptedMachine, "Agreement violated"),
    (MiscountedMajorityMachine, "Agreement violated"),
], ids=["volatile-promise", "ignore-accepted", "miscounted-majority"])
def test_seeded_bug_is_caught(machine: type[PaxosMachine], violation: str, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAULTLAB_REPLAY_DIR", str(tmp_path))
    with pytest.raises(AssertionError) as caught:
        run_state_machine_as_test(machine, settings=settings(
            settings.get_profile("ci"), phases=FIND_ONLY, report_multiple_bugs=False))
    assert violation in str(caught.value)
    record = load_replay(tmp_path / f"{machine.__name__}.json")
    assert violation in record["error"]
    outcome = replay(record)
    assert outcome.reproduced, (outcome.error, record["error"])
    small = shrink(record)
    print(f"{machine.__name__}: shrunk {small['shrunk_from']} steps to "
          f"{small['exploration_steps']}: {small['described']}")
    assert violation in small["error"]
    assert small["exploration_steps"] <= 20, small["described"]
    assert replay(small).reproduced


@pytest.mark.deep
def test_paxos_machine_five_peers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAULTLAB_REPLAY_DIR", str(tmp_path))
    run_state_machine_as_test(FivePeerMachine)
