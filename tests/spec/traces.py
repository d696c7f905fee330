"""Seeded runs of the Raft and Paxos implementations that record their traces (JSON lines):
crashes, restarts, partitions, duplicated messages and an unreliable network."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

from faultlab.paxos.harness import UNRELIABLE_2015, Tester, build
from faultlab.raft.server import build_cluster
from faultlab.sim.network import PROFILES
from faultlab.tools.seeds import seed_for
from faultlab.tools.trace import TraceRecorder


def raft_trace(seed: int, seconds: float = 3.0) -> list[str]:
    """Three Raft servers on the unreliable network; proposals whenever there is a leader,
    a crash and restart of s1, a partition of s0 then a heal, duplicated messages."""
    w = build_cluster(seed, 3, PROFILES["unreliable"])
    out = io.StringIO()
    rec = TraceRecorder(w, "raft", out)
    cmd = 100
    t = 0.0
    while t < seconds - 1e-9:
        w.run_for(0.25)
        t += 0.25
        for name in w.servers:
            node = w.nodes.get(name)
            if node is not None and node.raft.role == "leader":
                node.raft.start(cmd)
                rec(w, ("start", name, cmd))  # as the lab tester records Start
                cmd += 1
        if abs(t - 1.0) < 1e-9:
            w.crash("s1")
        if abs(t - 1.5) < 1e-9:
            w.restart("s1")
        if abs(t - 2.0) < 1e-9:
            w.partition(["s0"], ["s1", "s2"])
        if abs(t - 2.5) < 1e-9:
            w.heal()
        msgs = w.messages()
        if msgs and t < 2:
            w.duplicate(msgs[0].id)
    return out.getvalue().splitlines()


def paxos_trace(seed: int) -> list[str]:
    """Three Paxos peers on the 2015 unreliable network: competing proposals, a crash and
    restart, a partition with a proposal on the minority side, a duplicated message."""
    w = build(seed, npeers=3, profile=UNRELIABLE_2015)
    out = io.StringIO()
    TraceRecorder(w, "paxos", out)
    w.nodes["p0"].px.start(0, "a")
    w.nodes["p1"].px.start(0, "b")
    msgs = w.messages()
    if msgs:
        w.duplicate(msgs[-1].id)
    w.run_for(0.3)
    w.crash("p2")
    w.nodes["p1"].px.start(1, "c")
    w.run_for(0.3)
    w.restart("p2")
    w.partition(["p0"], ["p1", "p2"])
    w.nodes["p0"].px.start(2, "d")
    w.run_for(0.5)
    w.heal()
    w.run_for(2.0)  # a proposer's back-off after the partition can reach about a second
    return out.getvalue().splitlines()


def _lab_tests(lab: str, file: str) -> Any:
    """tests/<lab>/<file> as a module (its folder joins sys.path for the lab's helpers)."""
    folder = Path(__file__).resolve().parents[1] / lab
    if str(folder) not in sys.path:
        sys.path.append(str(folder))
    spec = importlib.util.spec_from_file_location(f"faultlab_{lab}_{Path(file).stem}",
                                                  folder / file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def paxos_lab_trace(test: str, folder: Path) -> Path:
    """Run a test of tests/paxos/test_paxos_lab.py with its usual seed, recording its trace
    into ``folder``; returns the trace's path."""
    lab = _lab_tests("paxos", "test_paxos_lab.py")
    seed = seed_for(test)   # tests/paxos/conftest.py's seed of ``test``
    path = folder / f"{test}-{seed}.jsonl"
    made: list[Tester] = []

    def make(npaxos: int, **options: Any) -> Tester:
        made.append(Tester(npaxos, seed, name=test, trace=path, **options))
        return made[-1]

    try:
        getattr(lab, test)(make)
    finally:
        for t in made:
            t.close()
    return path


def raft_lab_trace(test: str, folder: Path) -> Path:
    """Run a test of tests/raft/test_2<x>.py (the part from its name) with its usual seed,
    recording its trace (``FAULTLAB_TRACE_DIR``) into ``folder``; returns the trace's path."""
    lab = _lab_tests("raft", f"test_{test.rsplit('_', 1)[1]}.py")
    from raft_tester import Config  # importable once _lab_tests put tests/raft on the path

    made: list[Config] = []

    def make(n: int, unreliable: bool = False, snapshot: bool = False) -> Config:
        made.append(Config(test, n, unreliable, snapshot))
        return made[-1]

    saved = os.environ.get("FAULTLAB_TRACE_DIR")
    os.environ["FAULTLAB_TRACE_DIR"] = str(folder)
    try:
        getattr(lab, test)(make)
    finally:
        for cfg in made:
            cfg.cleanup()
        if saved is None:
            del os.environ["FAULTLAB_TRACE_DIR"]
        else:
            os.environ["FAULTLAB_TRACE_DIR"] = saved
    return folder / f"{test}.jsonl"


def parse(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(ln) for ln in lines]


def dump(rows: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(r) for r in rows]
