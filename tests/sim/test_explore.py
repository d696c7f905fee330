"""The Hypothesis driver finds a seeded bug, shrinks it, and the replay file reproduces it."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from faultlab.cli import main
from faultlab.tools.example_register import BuggyRegisterMachine, RegisterMachine
from faultlab.tools.explore import FIND_ONLY, NO_EXPLAIN
from faultlab.tools.replay import load_replay, replay
from faultlab.tools.shrink import failure_signature, shrink
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test


def test_correct_register_survives_exploration(replays):
    run_state_machine_as_test(RegisterMachine, settings=settings(phases=NO_EXPLAIN))
    assert not list(replays.iterdir())


def test_seeded_bug_is_found_shrunk_and_replayed(replays, capsys):
    with pytest.raises(AssertionError, match="stale read") as caught:
        run_state_machine_as_test(
            BuggyRegisterMachine,
            settings=settings(settings.get_profile("ci"), phases=FIND_ONLY,
                              report_multiple_bugs=False),
        )
    notes = "\n".join(getattr(caught.value, "__notes__", []))
    assert "seed" in notes and "faultlab replay" in notes

    path = replays / "BuggyRegisterMachine.json"
    record = load_replay(path)
    outcome = replay(record)
    assert outcome.reproduced, (outcome.error, record["error"])
    assert main(["replay", str(path)]) == 1
    assert "same failure as recorded" in capsys.readouterr().out

    # The smallest counterexample needs 5 steps: write, its delivery to the primary, the
    # early reply's delivery, a read, and one step that keeps the backup from learning the
    # write first (a drop, a partition or a crash); settling does the rest.
    small = shrink(record)
    assert small["exploration_steps"] <= 8, small["steps"]
    assert failure_signature(small["error"]) == "AssertionError: stale read"
    assert replay(small).reproduced
    assert main(["replay", "--shrink", str(path)]) == 1
    out = capsys.readouterr().out
    assert "shrunk" in out and "same failure as recorded" in out
    assert (replays / "BuggyRegisterMachine.min.json").exists()


def test_replay_of_a_passing_run_says_so(replays, capsys):
    record = {"faultlab_replay": 1, "machine": "faultlab.tools.example_register:RegisterMachine",
              "seed": 1, "faults": [], "error": "", "steps": [
                  ["invoke", "c0", {"op": "write", "value": "a"}], ["deliver", 1]]}
    path = replays / "ok.json"
    path.write_text(json.dumps(record))
    assert main(["replay", str(path)]) == 1  # the open write never settles in the end checks
    record["steps"] += [["deliver", 3], ["deliver", 4], ["deliver", 5]]
    path.write_text(json.dumps(record))
    assert main(["replay", str(path)]) == 0
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize("content, problem", [
    ("not json", "not a replay file"),
    ('{"faultlab_replay": 1, "seed": 1, "steps": []}', "missing field 'machine'"),
    ('{"faultlab_replay": 1, "machine": "os:path", "seed": 1, "steps": []}',
     "'os:path' is not one of faultlab's machines"),
    ('{"faultlab_replay": 1, "machine": "this:x", "seed": 1, "steps": []}',
     "--allow-module this"),
])
def test_bad_replay_files_are_one_line_errors(replays, capsys, content, problem):
    path = replays / "bad.json"
    path.write_text(content)
    assert main(["replay", str(path)]) == 3
    err = capsys.readouterr().err
    assert problem in err and err.count("\n") == 1


def test_explore_command_finds_shrinks_and_explains_the_seeded_bug(replays):
    # In a fresh interpreter, as a user runs it: Hypothesis's generation depends on the
    # modules loaded, and the tests that ran before in this process load many.
    run = subprocess.run([sys.executable, "-m", "faultlab.cli", "explore",
                          "register-bug-early-ack", "--seed", "1", "--examples", "300"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stderr
    out = run.stdout
    assert "FAILED: AssertionError: stale read" in out
    record = load_replay(replays / "BuggyRegisterMachine.min.json")
    assert record["exploration_steps"] <= 8
    # the explanation shows the early reply reaching the writer (Hypothesis's generation
    # depends on the modules loaded, so which clerk wrote is not fixed)
    assert re.search(r"deliver WriteOk primary -> c\d", out), out
    assert replay(record).reproduced


def test_explore_command_passes_the_correct_register(replays, capsys):
    assert main(["explore", "register", "--seed", "1", "--examples", "60"]) == 0
    assert "no failure found" in capsys.readouterr().out
