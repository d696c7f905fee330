"""Unit tests of the Raft component: persistence format, restart, snapshots, traces."""

from __future__ import annotations

import json
import random

from faultlab.raft.checks import Applier, SafetyMonitor
from faultlab.raft.raft import LEADER
from faultlab.raft.server import build_cluster
from faultlab.sim import codec
from faultlab.tools.trace import TraceRecorder
from raft_tester import Config


def _elected(world):
    world.run_until(lambda: any(n.raft.role == LEADER for n in world.nodes.values()), 5)
    return next(name for name, n in world.nodes.items() if n.raft.role == LEADER)


def test_persisted_state_is_the_codec_encoding_of_the_state():
    rng = random.Random(5)
    world = build_cluster(5, 3)
    leader = _elected(world)
    raft = world.nodes[leader].raft
    for k in range(300):  # varint counts cross 127 entries; commands of several types
        raft.start(rng.choice([k, f"cmd{k}", b"\x00" * (k % 7), (k, "x"), -k * 1000]))
    world.run_for(1)
    for name in world.servers:
        r = world.nodes[name].raft
        expected = codec.encode((r.current_term, r.voted_for, r.snapshot_index,
                                 r.snapshot_term, tuple(r.log)))
        assert world.persisters[name].read_state() == expected
        assert codec.decode(expected)[4] == tuple(r.log)


def test_restart_restores_term_vote_and_log():
    world = build_cluster(7, 3)
    leader = _elected(world)
    for k in range(5):
        world.nodes[leader].raft.start(k)
    world.run_for(1)
    before = {n: (world.nodes[n].raft.current_term, world.nodes[n].raft.voted_for,
                  list(world.nodes[n].raft.log)) for n in world.servers}
    for n in world.servers:
        world.crash(n)
    for n in world.servers:
        world.restart(n)
        r = world.nodes[n].raft
        assert (r.current_term, r.voted_for, list(r.log)) == before[n]
        assert r.commit_index == r.last_applied == 0  # volatile, relearned from the leader


def test_snapshot_frees_the_log_prefix_and_survives_restart():
    applier = Applier(["s0", "s1", "s2"], snapshot_interval=10)
    world = build_cluster(11, 3, on_apply=applier.apply, on_boot=applier.boot)
    leader = _elected(world)
    for k in range(95):
        world.nodes[leader].raft.start(k)
    world.run_for(2)
    for n in world.servers:
        r = world.nodes[n].raft
        assert r.snapshot_index == 89 and len(r.log) == 95 - 89
        assert world.persisters[n].state_size() < 200
        assert codec.decode(world.persisters[n].read_snapshot())[0] == 89
    world.crash("s1")
    world.restart("s1")
    r = world.nodes["s1"].raft
    assert (r.snapshot_index, r.commit_index, len(r.log)) == (89, 89, 6)
    assert applier.last_applied["s1"] == 89


def test_monitor_stays_quiet_on_a_correct_run_and_checks_every_changed_step():
    world = build_cluster(3, 5)
    monitor = SafetyMonitor(world)
    leader = _elected(world)
    for k in range(10):
        world.nodes[leader].raft.start(k)
    world.run_for(0.5)
    world.isolate(leader)
    world.nodes[leader].raft.start("lost")
    world.run_for(3)
    world.heal()
    leader = _elected(world)
    world.nodes[leader].raft.start("after")
    world.run_for(3)
    assert monitor.checks > 10 and len(monitor.committed) == 11


def test_tester_exports_a_trace(tmp_path, monkeypatch):
    monkeypatch.setenv("FAULTLAB_TRACE_DIR", str(tmp_path))
    cfg = Config("trace_demo", 3)
    cfg.one(42, 3, False)
    cfg.crash1(0)
    cfg.start1(0)
    cfg.connect(0)
    cfg.one(43, 3, True)
    cfg.cleanup()
    lines = [json.loads(x) for x in (tmp_path / "trace_demo.jsonl").read_text().splitlines()]
    assert lines[0]["faultlab_trace"] == 1 and lines[0]["nodes"] == ["s0", "s1", "s2"]
    states = [s for line in lines[1:] for s in line["states"].values() if s is not None]
    assert set(states[0]) == {"term", "role", "voted_for", "log", "snapshot_index",
                              "snapshot_term", "commit_index", "last_applied", "votes",
                              "next_index", "match_index"}
    assert any(line["step"][0] == "start" and line["step"][2] == 42 for line in lines[1:])
    assert any(line["step"][0] == "restart" for line in lines[1:])
    assert any(line.get("event", {}).get("type") == "AppendEntries" for line in lines[1:])
    assert [42, 43] == [c for _, c in max((s["log"] for s in states), key=len)]


def test_trace_recorder_sees_abstract_state():
    world = build_cluster(1, 3)
    recorder = TraceRecorder(world, "raft")
    _elected(world)
    roles = {s["role"] for line in recorder.lines[1:] for s in line["states"].values()}
    assert roles == {"follower", "candidate", "leader"}
