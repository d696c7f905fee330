"""Exploration campaigns (faultlab.tools.campaign, ``faultlab explore --workers/--time/--shard``):
workers on disjoint seeds, the first failure stopped, shrunk and replayable, a time limit,
Ctrl-C, and the example database shared by two campaigns run as two processes, in a folder
and in a real Redis server."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from faultlab.cli import main
from faultlab.tools.campaign import round_seed, run_campaign
from faultlab.tools.replay import load_replay, replay

BUGGY = "faultlab.tools.example_register:BuggyRegisterMachine"
CORRECT = "faultlab.tools.example_register:RegisterMachine"


def faultlab(*args: str, cwd: Path, replays: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "FAULTLAB_REPLAY_DIR"}
    if replays is not None:
        env["FAULTLAB_REPLAY_DIR"] = str(replays)
    return subprocess.run([sys.executable, "-m", "faultlab.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_workers_rounds_and_shards_never_share_a_seed():
    seeds = [round_seed(7, shard=(i, 3), workers=4, worker=k, round_no=r)
             for i in (1, 2, 3) for k in range(4) for r in range(50)]
    assert len(set(seeds)) == len(seeds)
    # a one-worker campaign's first run is the plain exploration with the printed seed
    assert round_seed(7, shard=(1, 1), workers=1, worker=0, round_no=0) == 7


def test_two_workers_catch_the_seeded_bug_and_its_replay_file_reproduces_it(replays):
    c = run_campaign(BUGGY, seed=1, workers=2, examples=200, database=None)
    assert c.error is not None and c.error.startswith("AssertionError: stale read")
    assert c.failures >= 1 and c.replay == replays / "BuggyRegisterMachine.json"
    outcome = replay(load_replay(c.replay))
    assert outcome.error is not None and outcome.reproduced
    assert not [p for p in replays.iterdir() if p.name.startswith(".workers-")]


def test_a_time_limited_campaign_keeps_both_workers_busy_until_the_limit(replays):
    seen = []
    c = run_campaign(CORRECT, seed=3, workers=2, examples=None, time_limit=1.5,
                     database=None, progress=lambda c: seen.append(c.examples))
    assert c.error is None and not c.interrupted
    assert 1.5 <= c.elapsed < 10
    assert all(e > 0 for e, _ in c.per_worker), c.per_worker
    assert c.examples == sum(e for e, _ in c.per_worker)
    assert seen == sorted(seen) and seen[-1] > 0 and len(seen) >= 3


def test_ctrl_c_stops_every_worker_and_prints_the_summary(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "FAULTLAB_REPLAY_DIR"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "faultlab.cli", "explore", "register", "--seed", "1",
         "--workers", "2", "--time", "120", "--database", "none"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    children: list[int] = []
    deadline = time.time() + 60
    while len(children) < 2 and time.time() < deadline:
        time.sleep(0.2)
        children = [int(p) for p in subprocess.run(
            ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()]
    assert len(children) >= 2, "the workers did not start"
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: to the parent and workers
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err
    assert "examples," in out and "on 2 workers" in out
    assert "stopped by Ctrl-C: no failure found so far" in out
    for pid in children:
        stat = Path(f"/proc/{pid}/stat")
        assert not stat.exists() or stat.read_text().split()[2] == "Z"


@pytest.mark.parametrize("shard", ["0/2", "3/2", "1", "a/b"])
def test_a_bad_shard_is_a_one_line_error(shard, capsys):
    assert main(["explore", "register", "--shard", shard]) == 2
    err = capsys.readouterr().err
    assert err.startswith("faultlab: error: argument --shard: not I/N with 1 <= I <= N")
    assert err.count("\n") == 1


def test_an_unreachable_redis_is_a_one_line_error(tmp_path):
    pytest.importorskip("redis", reason="the redis client is not installed (faultlab[redis])")
    r = faultlab("explore", "register", "--database", f"redis://127.0.0.1:{free_port()}",
                 cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("faultlab: error: --database redis://") and "cannot reach" in \
        r.stderr and r.stderr.count("\n") == 1


# ---------------------------------------------------------------- a shared example database

def shares_counterexamples(database: str, empty: str, tmp_path: Path) -> None:
    """Campaign A (one process) finds the seeded bug and saves it in ``database``; campaign B
    (another process, another seed, one example) replays it from there first and fails the
    same way, on the same World; with the ``empty`` database B's one example passes."""
    a = faultlab("explore", "register-bug-early-ack", "--seed", "1", "--workers", "2",
                 "--database", database, "--no-shrink", cwd=tmp_path, replays=tmp_path / "a")
    assert a.returncode == 1, a.stdout + a.stderr
    b_alone = faultlab("explore", "register-bug-early-ack", "--seed", "12345", "--examples",
                       "1", "--database", empty, cwd=tmp_path, replays=tmp_path / "c")
    assert b_alone.returncode == 0 and "no failure found" in b_alone.stdout, b_alone.stdout
    b = faultlab("explore", "register-bug-early-ack", "--seed", "12345", "--examples", "1",
                 "--database", database, cwd=tmp_path, replays=tmp_path / "b")
    assert b.returncode == 1, b.stdout + b.stderr
    found = json.loads((tmp_path / "a" / "BuggyRegisterMachine.json").read_text())
    replayed = json.loads((tmp_path / "b" / "BuggyRegisterMachine.json").read_text())
    assert (replayed["seed"], replayed["faults"], replayed["steps"], replayed["error"]) == \
        (found["seed"], found["faults"], found["steps"], found["error"])
    assert "shrunk" in b.stdout


def test_a_second_campaign_replays_the_first_ones_counterexample_from_a_folder(tmp_path):
    shares_counterexamples(str(tmp_path / "db"), str(tmp_path / "empty"), tmp_path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    """A real redis-server on a free port, for this test only."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (Debian: apt-get install redis-server)")
    pytest.importorskip("redis", reason="the redis client is not installed (faultlab[redis])")
    import redis

    port = free_port()
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        else:
            pytest.fail("redis-server did not answer")
        yield f"redis://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_second_campaign_replays_the_first_ones_counterexample_from_redis(redis_url,
                                                                           tmp_path):
    shares_counterexamples(f"{redis_url}/0", f"{redis_url}/1", tmp_path)


def test_by_default_a_rerun_replays_the_saved_counterexample_first(tmp_path):
    args = ("explore", "register-bug-early-ack", "--examples", "1", "--no-shrink")
    first = faultlab(*args[:2], "--seed", "1", "--no-shrink", cwd=tmp_path)
    assert first.returncode == 1 and (tmp_path / ".faultlab" / "examples").is_dir()
    # one example of another seed passes on its own (no database), fails with the saved one
    assert faultlab(*args, "--seed", "12345", "--database", "none", cwd=tmp_path).returncode == 0
    again = faultlab(*args, "--seed", "12345", cwd=tmp_path)
    assert again.returncode == 1
    assert again.stdout.splitlines()[2] == first.stdout.splitlines()[2]  # the same FAILED line
