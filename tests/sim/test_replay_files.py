"""Replay files are untrusted input: only faultlab's machines run (or a module the user
names), the versioned schema is checked with the file and field named, a step that does not
apply is bad input (exit 3), never a failed run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from faultlab.cli import main
from faultlab.tools.example_register import BuggyRegisterMachine
from faultlab.tools.replay import ReplayError, load_replay, replay
from faultlab.tools.replay_schema import REPLAY_FORMAT
from hypothesis import given
from hypothesis import strategies as st

REGISTER = "faultlab.tools.example_register:RegisterMachine"
WRITE = ["invoke", "c0", {"op": "write", "value": "a"}]


def record(**fields) -> dict:
    return {"faultlab_replay": REPLAY_FORMAT, "machine": REGISTER, "seed": 1,
            "steps": [WRITE, ["deliver", 1]], **fields}


def one_line_error(capsys, argv: list[str], code: int = 3) -> str:
    assert main(argv) == code
    err = capsys.readouterr().err
    assert err.startswith("faultlab: error: ") and err.count("\n") == 1, err
    return err


def test_a_file_cannot_choose_a_module_to_import(tmp_path):
    """``"machine": "this:x"`` used to import Python's ``this`` (it prints the Zen)."""
    path = tmp_path / "evil.json"
    path.write_text(json.dumps(record(machine="this:x")))
    r = subprocess.run([sys.executable, "-m", "faultlab.cli", "replay", str(path)],
                       capture_output=True, text=True, env=dict(os.environ), timeout=120)
    assert r.returncode == 3, r
    assert "Beautiful is better than ugly" not in r.stdout
    assert "not one of faultlab's machines" in r.stderr and "--allow-module this" in r.stderr
    assert r.stderr.count("\n") == 1


MY_MACHINE = '''
from faultlab.tools.example_register import BuggyRegisterMachine

class MyMachine(BuggyRegisterMachine):
    pass
'''


def test_allow_module_runs_a_machine_of_the_users_own(tmp_path, monkeypatch, capsys):
    (tmp_path / "my_machines.py").write_text(MY_MACHINE)
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(record(machine="my_machines:MyMachine")))
    one_line_error(capsys, ["replay", str(path)])
    assert "my_machines" not in sys.modules  # refused before any import
    assert main(["replay", str(path), "--allow-module", "my_machines"]) == 1
    assert "replaying my_machines:MyMachine" in capsys.readouterr().out
    path.write_text(json.dumps(record(machine="os:path")))
    err = one_line_error(capsys, ["replay", str(path), "--allow-module", "os"])
    assert "not a WorldMachine" in err


def test_a_registry_name_is_a_machine_too(tmp_path, capsys):
    path = tmp_path / "named.json"
    path.write_text(json.dumps(record(machine="register")))
    assert load_replay(path)["machine"] == REGISTER
    assert main(["replay", str(path)]) == 1  # the open write never settles


@pytest.mark.parametrize("fields, problem", [
    ({"seed": "abc"}, "field 'seed': 'abc' is not a whole number"),
    ({"seed": True}, "field 'seed'"),
    ({"seed": 1.5}, "field 'seed'"),
    ({"faultlab_replay": 2}, "field 'faultlab_replay': 2 is not a replay format"),
    ({"machine": 7}, "field 'machine'"),
    ({"steps": {"a": 1}}, "field 'steps': not a list"),
    ({"steps": [WRITE, "deliver 1"]}, "field 'steps[1]'"),
    ({"steps": [WRITE, []]}, "field 'steps[1]'"),
    ({"steps": [["teleport", "c0"]]}, "field 'steps[0][0]': unknown step 'teleport'"),
    ({"steps": [WRITE, ["deliver", "1"]]}, "field 'steps[1][1]': '1' is not a message"),
    ({"steps": [WRITE, ["deliver", 1, 2]]}, "field 'steps[1]': deliver takes 1 argument"),
    ({"steps": [["crash", 3]]}, "field 'steps[0][1]': 3 is not a node name"),
    ({"steps": [["advance", -1]]}, "field 'steps[0][1]': -1 is not seconds"),
    ({"steps": [["partition", ["a", "b"]]]}, "field 'steps[0][1]'"),
    ({"faults": ["drop", "meteor"]}, "field 'faults'"),
    ({"error": 5}, "field 'error'"),
    ({"exploration_steps": -1}, "field 'exploration_steps'"),
    ({"colour": "red"}, "unknown field 'colour'"),
])
def test_schema_errors_name_the_file_and_the_field(tmp_path, capsys, fields, problem):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(record(**fields)))
    err = one_line_error(capsys, ["replay", str(path)])
    assert f"{path}: " in err and problem in err, err


@pytest.mark.parametrize("content, problem", [
    (b"[" * 100_000, "nested too deeply"),
    (b"\xff\xfe\x00garbage", "not a replay file"),
    (b'{"faultlab_replay": 1, "machine": "register", "seed": ' + b"9" * 5000 + b', "steps": []}',
     "not a replay file"),
    (b'{"faultlab_replay": 1, "machine": "register", "seed": 1, "steps": [["advance", NaN]]}',
     "is not seconds"),
    (b"", "not a replay file"),
])
def test_unreadable_files_are_one_line_errors(tmp_path, capsys, content, problem):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    assert problem in one_line_error(capsys, ["replay", str(path)])


def test_a_step_that_does_not_apply_is_bad_input_not_a_failed_run(tmp_path, capsys):
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(record(steps=[WRITE, ["deliver", 999]], error="x: y")))
    err = one_line_error(capsys, ["replay", str(path)])
    assert "step 2 ['deliver', 999] does not apply: message 999 is not in flight" in err
    assert "does not apply" in one_line_error(capsys, ["replay", "--shrink", str(path)])
    path.write_text(json.dumps(record(steps=[["crash", "nobody"]])))
    assert "unknown node 'nobody'" in one_line_error(capsys, ["replay", str(path)])


def test_shrink_needs_a_recorded_error(tmp_path, capsys):
    path = tmp_path / "no-error.json"
    path.write_text(json.dumps(record()))
    err = one_line_error(capsys, ["replay", "--shrink", str(path)])
    assert "no recorded failure (field 'error')" in err


def test_verbose_replay_prints_readable_steps(tmp_path, capsys):
    path = tmp_path / "run.json"
    path.write_text(json.dumps(record()))
    main(["replay", "-v", str(path)])
    out = capsys.readouterr().out
    assert "   1. invoke c0 {'op': 'write', 'value': 'a'}" in out
    assert "   2. deliver Write c0 -> primary: Write(client='c0', seq=1, value='a')" in out


# ---------------------------------------------------------------- fuzz: the replay reader

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                               max_size=4),
    max_leaves=12)
well_formed_steps = st.one_of(
    st.tuples(st.sampled_from(["deliver", "drop", "duplicate", "fire"]),
              st.integers(-2, 12)).map(list),
    st.tuples(st.sampled_from(["crash", "restart", "isolate", "deafen"]),
              st.sampled_from(["primary", "backup", "c0", "c1", "zz"])).map(list),
    st.just(["heal"]),
    st.tuples(st.just("advance"), st.floats(0, 5)).map(list),
    st.tuples(st.just("invoke"), st.sampled_from(["c0", "c1", "primary"]),
              st.sampled_from([{"op": "read"}, {"op": "write", "value": "v"}]) | json_values
              ).map(list),
)
well_formed = st.fixed_dictionaries(
    {"faultlab_replay": st.just(REPLAY_FORMAT),
     "machine": st.sampled_from(["register", "register-bug-early-ack", REGISTER]),
     "seed": st.integers(0, 5), "steps": st.lists(well_formed_steps, max_size=10)},
    optional={"faults": st.just(["drop"]), "error": st.text(max_size=5)})
records = st.fixed_dictionaries(  # every field possibly garbage
    {"faultlab_replay": st.just(REPLAY_FORMAT) | json_values,
     "machine": st.sampled_from(["register", "this:x"]) | json_values,
     "seed": st.integers(0, 5) | json_values,
     "steps": st.lists(well_formed_steps | json_values, max_size=8) | json_values},
    optional={"faults": st.just(["drop"]) | json_values, "error": json_values})


@given(well_formed | records | json_values)
def test_fuzzed_replay_file_is_an_outcome_or_a_replay_error_in_bounded_time(tmp_path_factory,
                                                                              content):
    path = tmp_path_factory.mktemp("fuzz") / "r.json"
    path.write_text(json.dumps(content))
    start = time.perf_counter()
    try:
        outcome = replay(load_replay(path))
    except ReplayError as e:
        assert str(e).startswith(str(path)) or "does not apply" in str(e), e
    else:
        assert outcome.steps_applied == outcome.total_steps or outcome.error is not None
    assert time.perf_counter() - start < 10


@given(st.binary(max_size=200))
def test_fuzzed_replay_bytes_are_a_record_or_a_replay_error(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("fuzz") / "r.json"
    path.write_bytes(content)
    try:
        assert isinstance(load_replay(Path(path)), dict)
    except ReplayError:
        pass


def test_the_explorers_own_files_pass_the_schema(replays):
    from faultlab.tools.explore import explore

    result = explore(BuggyRegisterMachine, seed=1, examples=300)
    assert result.replay is not None
    assert load_replay(result.replay)["machine"].endswith(":BuggyRegisterMachine")


def test_search_and_explore_keep_their_counterexamples_apart(replays, capsys):
    assert main(["search", "register-bug-early-ack"]) == 1
    assert main(["explore", "register-bug-early-ack", "--seed", "1", "--no-shrink"]) == 1
    searched = load_replay(replays / "BuggyRegisterMachine.search.json")
    explored = load_replay(replays / "BuggyRegisterMachine.json")
    assert searched["steps"] != explored["steps"]
    out = capsys.readouterr().out
    assert f"replay file: {replays / 'BuggyRegisterMachine.search.json'}" in out
    assert replay(searched).reproduced and replay(explored).reproduced
