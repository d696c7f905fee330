"""``faultlab mutants``: the campaign over the seeded bugs reports each as caught (with its
counterexample, shrunk) or escaped within the budget, and its score decides the exit code."""

from __future__ import annotations

import json

from faultlab.cli import main
from faultlab.tools.mutants import bug_machines


def test_every_seeded_bug_machine_is_in_the_campaign():
    names = bug_machines()
    assert len(names) >= 20
    assert {n.split("-bug-")[0] for n in names} == {"kv", "paxos", "pb", "raft", "register",
                                                      "shard"}


def test_a_caught_bug_scores_and_its_counterexample_is_shrunk(tmp_path, capsys):
    assert main(["mutants", "register", "--examples", "200", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "register-bug-early-ack" in out and "caught" in out
    assert "mutation score: 1 of 1 caught (100 %)" in out
    (small,) = (tmp_path / "register-bug-early-ack").glob("*.min.json")
    record = json.loads(small.read_text())
    assert record["exploration_steps"] < record["shrunk_from"]


def test_an_escape_within_the_budget_fails_the_campaign(tmp_path, capsys):
    # the lost-proposal bug needs hundreds of examples (tests/kv/test_kv_machine.py): 3 miss it
    assert main(["mutants", "kv-bug-reply-for-any-command", "--examples", "3", "--no-shrink",
                 "--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "ESCAPED" in out and "mutation score: 0 of 1 caught (0 %)" in out


def test_an_unknown_system_is_a_one_line_error(capsys):
    assert main(["mutants", "zab"]) == 2
    err = capsys.readouterr().err
    assert "no seeded bugs for zab" in err and len(err.strip().splitlines()) == 1
