"""The real-cluster commands as a user runs them: README's "Run a real cluster" commands (on
free ports), a restart that resumes from the data folders, no process left behind when the
supervisor is interrupted or killed, garbage thrown at a live server, and one-line errors."""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from faultlab.kv.local_cluster import free_ports
from faultlab.kv.messages import KVRequest, Op
from faultlab.sim.realnet import frame, hello_frame

ROOT = Path(__file__).resolve().parents[2]
SECTION = (ROOT / "README.md").read_text().split("## Run a real cluster")[1].split("\n## ")[0]
BLOCKS = re.findall(r"^```[a-z]*\n(.*?)^```", SECTION, re.M | re.S)
FAULTLAB = [sys.executable, "-m", "faultlab.cli"]


def command(line: str) -> list[str]:
    import shlex

    words = shlex.split(line)
    assert words[0] == "faultlab", line
    return FAULTLAB + words[1:]


def on_free_ports(text: str, base: int, n: int = 3) -> str:
    """``text`` with the README's ports base..base+n-1 moved to free ones."""
    for old, new in zip(range(base, base + n), free_ports(n), strict=True):
        text = text.replace(f":{old}", f":{new}").replace(f" {old}", f" {new}")
    return text


def run(line: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    r = subprocess.run(command(line), cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in r.stderr, r.stderr
    return r


def servers_running(marker: str) -> list[int]:
    """Pids of processes whose command line contains ``marker``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if marker in cmdline and "serve kv" in cmdline:
                pids.append(int(entry.name))
    return pids


def wait_for_line(proc: subprocess.Popen, prefix: str, timeout: float = 60) -> list[str]:
    """Lines of ``proc``'s stdout up to the first that starts with ``prefix``."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith(prefix):
            return lines
    raise AssertionError(f"no line {prefix!r} from the cluster:\n" + "\n".join(lines))


def gone(marker: str, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while servers_running(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not servers_running(marker)


def start_cluster(line: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(command(line), cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_the_readme_local_cluster_commands_work_and_ctrl_c_leaves_nothing(tmp_path):
    start, calls = BLOCKS[0].strip(), BLOCKS[1]
    assert start.startswith("faultlab cluster kv") and "--base-port 7000" in start
    moved = on_free_ports(start + "\n" + calls, 7000)
    start, *calls = moved.strip().splitlines()
    port = re.search(r"--base-port (\d+)", start).group(1)
    cluster = start_cluster(start, tmp_path)
    try:
        printed = wait_for_line(cluster, "leader: ")
        assert f"s0  127.0.0.1:{port}" in "\n".join(printed)
        outputs = [run(c, tmp_path) for c in calls]
        for r in outputs:
            assert r.returncode == 0, r.stderr
        assert [r.stdout for r in outputs] == ["OK\n", "OK\n", "hello, world\n"]
        assert "`get` prints `hello, world`" in SECTION
    finally:
        cluster.send_signal(signal.SIGINT)
        out, err = cluster.communicate(timeout=30)
    assert cluster.returncode == 0, err
    assert "stopped 3 servers" in out
    assert "Traceback" not in err
    assert gone(f"127.0.0.1:{port}", timeout=1), "a server outlived its cluster"


def test_servers_end_with_a_supervisor_killed_by_sigkill(tmp_path):
    (port,) = free_ports(1)
    cluster = start_cluster(f"faultlab cluster kv --nodes 3 --base-port {port}", tmp_path)
    try:
        wait_for_line(cluster, "leader: ")
        assert len(servers_running(f"127.0.0.1:{port}")) == 3
    finally:
        cluster.kill()
        cluster.communicate(timeout=30)
    assert gone(f"127.0.0.1:{port}"), "servers outlived their SIGKILLed supervisor"


def test_the_readme_cluster_file_serves_and_a_restarted_cluster_resumes(tmp_path):
    toml = next(b for b in BLOCKS if b.startswith("cluster = "))
    serves = next(b for b in BLOCKS if b.startswith("faultlab serve kv"))
    moved = on_free_ports(toml + "\0" + serves, 7100)
    toml, serves = moved.split("\0")
    (tmp_path / "cluster.toml").write_text(toml)
    *servers, client = serves.strip().splitlines()
    assert len(servers) == 3 and "--cluster cluster.toml" in client

    def start_all() -> list[subprocess.Popen]:
        return [subprocess.Popen(command(s), cwd=tmp_path, stderr=subprocess.PIPE, text=True)
                for s in servers]

    def stop(procs: list[subprocess.Popen]) -> list[str]:
        for p in procs:
            p.terminate()
        return [p.communicate(timeout=30)[1] for p in procs]

    procs = start_all()
    try:
        r = run(client, tmp_path)
        assert r.returncode == 0 and r.stdout == "OK\n", r.stderr
    finally:
        logs = stop(procs)
    assert all("serving kv on raft" in log and "cluster 'demo'" in log for log in logs), logs
    assert any("role follower -> leader" in log for log in logs), logs
    procs = start_all()  # the same data folders: the value must still be there
    try:
        r = run("faultlab kv get greeting --cluster cluster.toml", tmp_path)
        assert (r.returncode, r.stdout) == (0, "hello\n"), r.stderr
    finally:
        logs = stop(procs)
    assert all("incarnation 1" in log for log in logs), logs


def test_a_live_server_survives_garbage_and_keeps_serving(tmp_path, seed):
    """Random bytes, random frames, frames after a good hello, and a client request of the
    wrong types, each on a connection of its own: dropped or closed with a log line, no
    traceback, and the server still answers."""
    rng = random.Random(seed)
    (port,) = free_ports(1)
    peers = f"s0=127.0.0.1:{port}"
    server = subprocess.Popen(command(f"faultlab serve kv --id s0 --peers {peers} "
                                      f"--data {tmp_path / 's0'}"),
                              stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(300):  # wait until it listens
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.02)
        junk = [rng.randbytes(rng.randrange(1, 200)) for _ in range(40)]
        framed = [len(j).to_bytes(4, "big") + j for j in junk]
        wrong = frame("mallory", KVRequest(Op("put", 5, "x")))  # type: ignore[arg-type]
        openings = junk + [hello_frame("mallory") + f for f in framed] + [
            hello_frame("mallory") + wrong,
            hello_frame("mallory") + (1 << 31).to_bytes(4, "big"),
        ]
        for blob in openings:
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.sendall(blob)
        r = run(f"faultlab kv put k v --cluster {peers}", tmp_path)
        assert (r.returncode, r.stdout) == (0, "OK\n"), r.stderr
        r = run(f"faultlab kv get k --cluster {peers}", tmp_path)
        assert (r.returncode, r.stdout) == (0, "v\n"), r.stderr
        assert server.poll() is None
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    assert "Traceback" not in err, err
    assert "dropped a frame" in err and "closed a connection" in err


@pytest.mark.parametrize("args, problem", [
    (["serve", "kv", "--id", "s9", "--peers", "s0=127.0.0.1:7000", "--data", "d"],
     "not a node of the cluster"),
    (["serve", "kv", "--id", "s0", "--peers", "s0=127.0.0.1", "--data", "d"],
     "not HOST:PORT"),
    (["serve", "kv", "--id", "s0", "--peers", "s0=127.0.0.1:1,s0=127.0.0.1:2", "--data", "d"],
     "listed twice"),
    (["serve", "kv", "--id", "s0", "--config", "missing.toml", "--data", "d"], "no such file"),
    (["serve", "kv", "--id", "s0", "--peers", "s0=127.0.0.1:7000", "--data", "d",
      "--seeded-bug", "nope"], "unknown (known:"),
    (["kv", "get", "k", "--cluster", "nonsense"], "not ID=HOST:PORT"),
    (["nemesis", "kv", "--faults", "flood"], "unknown fault 'flood'"),
])
def test_mistakes_are_one_line(tmp_path, args, problem):
    r = subprocess.run(FAULTLAB + args, cwd=tmp_path, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and problem in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


@pytest.mark.parametrize("content, problem", [
    ("cluster = [", "not TOML"),
    ('engine = "raft"\n', "no [nodes] table"),
    ('colour = "blue"\n[nodes]\ns0 = "127.0.0.1:7000"\n', "unknown setting 'colour'"),
    ('engine = "zab"\n[nodes]\ns0 = "127.0.0.1:7000"\n', "unknown engine 'zab'"),
    ('[nodes]\ns0 = "127.0.0.1:99999"\n', "port in 1..65535"),
    ('[nodes]\ns0 = 7000\n', "must be a \"HOST:PORT\" string"),
])
def test_cluster_file_mistakes_are_one_line(tmp_path, content, problem):
    (tmp_path / "c.toml").write_text(content)
    r = subprocess.run(FAULTLAB + ["kv", "get", "k", "--cluster", "c.toml"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and problem in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_a_port_in_use_and_a_silent_cluster_are_one_line_exit_1(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = subprocess.run(FAULTLAB + ["serve", "kv", "--id", "s0", "--peers",
                                       f"s0=127.0.0.1:{port}", "--data", "d"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert r.returncode == 1 and "cannot serve at" in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    (silent,) = free_ports(1)
    r = subprocess.run(FAULTLAB + ["kv", "put", "k", "v", "--cluster",
                                   f"s0=127.0.0.1:{silent}", "--timeout", "1"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "no answer from the cluster within 1 s" in r.stderr, r.stderr
    assert "may or may not have taken effect" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_servers_of_another_engine_or_cluster_are_refused(tmp_path):
    """The hello carries the cluster and the engine: a paxos server and a server of another
    cluster id cannot join a raft cluster; each refusal is one line in the refuser's log."""
    ports = free_ports(3)
    peers = ",".join(f"s{i}=127.0.0.1:{p}" for i, p in enumerate(ports))
    extra = {"s0": [], "s1": ["--engine", "paxos"], "s2": ["--cluster-id", "other"]}
    procs = {n: subprocess.Popen(FAULTLAB + ["serve", "kv", "--id", n, "--peers", peers,
                                             "--data", str(tmp_path / n), *extra[n]],
                                 stderr=subprocess.PIPE, text=True) for n in extra}
    try:
        time.sleep(3)  # elections: s0 asks s1 and s2 for votes, they ask s0
    finally:
        for p in procs.values():
            p.terminate()
        logs = {n: p.communicate(timeout=30)[1] for n, p in procs.items()}
    assert "Traceback" not in "".join(logs.values())
    assert "'s0' is of cluster 'faultlab/kv-raft', not 'faultlab/kv-paxos'" in logs["s1"], \
        logs["s1"]
    assert "'s2' is of cluster 'other/kv-raft', not 'faultlab/kv-raft'" in logs["s0"], logs["s0"]
    assert "role follower -> leader" not in logs["s0"]  # no majority of its kind


def test_the_nemesis_command_audits_a_run_and_saves_its_history(tmp_path):
    data = tmp_path / "run"
    r = subprocess.run(FAULTLAB + ["nemesis", "kv", "--seconds", "3", "--seed", "5",
                                   "--data", str(data)], capture_output=True, text=True,
                       timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "nemesis seed 5: 3 servers on raft" in r.stdout
    assert re.search(r"nemesis seed 5: 3 raft servers, \d+ calls .*: OK", r.stdout), r.stdout
    checked = subprocess.run(FAULTLAB + ["check", str(data / "history.jsonl")],
                             capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0 and "linearizable" in checked.stdout, checked.stdout
    again = subprocess.run(FAULTLAB + ["nemesis", "kv", "--data", str(data)],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and "not empty" in again.stderr  # nothing overwritten
