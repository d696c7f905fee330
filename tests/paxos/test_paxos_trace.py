"""Abstract-state traces of Paxos runs (the input of the TLA+ conformance check, issue 8)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from faultlab.paxos.harness import Tester
from faultlab.paxos.machine import PaxosMachine
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

FIELDS = {"acceptor", "decided", "proposer", "dones", "floor", "max"}


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_tester_trace(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "paxos.jsonl"
    t = Tester(3, seed, unreliable=True, trace=path)
    for i in range(3):
        t.start(i, 0, f"v{i}")
    t.waitn(0, 3)
    t.part([0, 1], [2])
    t.start(2, 1, "minority")
    t.start(0, 1, "majority")
    t.waitmajority(1)
    t.done(0, 0)
    t.close()
    lines = read(path)
    assert lines[0] == {"faultlab_trace": 1, "system": "paxos", "seed": seed,
                        "nodes": ["p0", "p1", "p2"]}
    assert [line["i"] for line in lines[1:]] == list(range(len(lines) - 1))
    kinds = {line["step"][0] for line in lines[1:]}
    assert {"init", "start", "deliver", "partition", "done"} <= kinds
    deliveries = [line for line in lines[1:] if line["step"][0] == "deliver"]
    assert {d["event"]["type"] for d in deliveries} >= {"PaxosPrepare", "PaxosPrepareReply",
                                                        "PaxosAccept", "PaxosAcceptReply"}
    for line in lines[1:]:
        for name, state in line["states"].items():
            assert set(state) == FIELDS, (name, state)
            for seq, acc in state["acceptor"].items():
                assert acc["accepted"] <= acc["promised"], (line["i"], name, seq, acc)
    final = lines[-1]["states"]
    assert final["p0"]["decided"]["1"] == "majority"
    assert final["p0"]["dones"][0] == 0
    assert "1" not in final["p2"]["decided"]


def test_machine_traces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAULTLAB_TRACE_DIR", str(tmp_path))
    monkeypatch.setenv("FAULTLAB_REPLAY_DIR", str(tmp_path / "replays"))
    run_state_machine_as_test(PaxosMachine, settings=settings(max_examples=5))
    files = sorted(tmp_path.glob("paxos-machine-*.jsonl"))
    assert files
    for f in files:
        lines = read(f)
        assert lines[0]["system"] == "paxos" and lines[1]["step"] == ["init"]
        assert all(set(s) == FIELDS for line in lines[1:] for s in line["states"].values()
                   if s is not None)
