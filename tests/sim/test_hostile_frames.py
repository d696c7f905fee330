"""Hostile frames thrown over loopback at live node processes (the example register's backup
over TCP, the MapReduce coordinator over its UNIX socket): each is dropped with one log line,
no traceback, and the node keeps serving."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from faultlab.mr.corpus import generate_corpus
from faultlab.mr.files import output_lines
from faultlab.mr.process import socket_dir
from faultlab.mr.protocol import MrAskTask, MrTask
from faultlab.mr.sequential import reference_lines
from faultlab.sim import codec
from faultlab.sim.realnet import PROTOCOL_VERSION, frame, hello_frame, run_client
from faultlab.tools.example_register import Clerk, ReadOk, Replicate
from test_wire import big_int_payload, nested

ENV = dict(os.environ)


def raw(payload: bytes) -> bytes:
    return len(payload).to_bytes(4, "big") + payload


def in_pair(sender: str, value_bytes: bytes) -> bytes:
    return raw(b"\x07\x02" + codec.encode(sender) + value_bytes)


def hostile(sender: str, wrong_types: Any, not_taken: Any, good: Any) -> list[bytes]:
    """One of each kind of bad frame, ``sender`` being a name the node knows."""
    return [
        raw(b"\x7f\x7f\x7f"),                                  # undecodable
        raw(codec.encode((sender, good))[:-1]),                # truncated
        frame("mallory", good),                                # unknown sender
        frame(sender, wrong_types),                            # a field of the wrong type
        frame(sender, not_taken),                              # a message the node does not take
        frame(sender, 42),                                     # not a message
        in_pair(sender, b"\x08\x01\x08\x00\x00"),              # unhashable map key
        raw(nested(50_000)),                                   # deep nesting
        raw(big_int_payload(400_000)),                         # a 400 KB integer
        in_pair(sender, b"\x09\x03Zzz\x00"),                   # an unknown record type
    ]


def connect(address: str | tuple[str, int]) -> socket.socket:
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    for _ in range(500):
        s = socket.socket(family)
        try:
            s.connect(address)
            return s
        except OSError:
            s.close()
            time.sleep(0.02)
    raise AssertionError(f"nothing listens on {address}")


def bad_openings(sender: str) -> list[bytes]:
    """Connections that must be closed at once, ``sender`` being a name the node knows."""
    return [
        b"\xff\xff\xff\xff",                                 # an oversized header
        frame(sender, 42),                                   # no hello
        hello_frame(sender, version=PROTOCOL_VERSION + 1),   # another protocol version
        hello_frame(sender, cluster="other"),                # another cluster
        hello_frame("mallory"),                              # a node it does not know
    ]


def throw(address: str | tuple[str, int], sender: str, frames: list[bytes]) -> None:
    """All the frames on one connection opened with a hello, then each bad opening on a
    connection of its own."""
    with connect(address) as s:
        s.sendall(hello_frame(sender))
        for f in frames:
            s.sendall(f)
    for opening in bad_openings(sender):
        with connect(address) as s:
            s.sendall(opening)


def check_log(stderr: str, events: Path, dropped: int) -> None:
    assert "Traceback" not in stderr, stderr
    lines = [ln for ln in stderr.splitlines() if "dropped a frame" in ln]
    assert len(lines) == dropped, stderr
    logged = [json.loads(ln) for ln in events.read_text().splitlines()]
    assert sum(e["event"] == "drop-frame" for e in logged) == dropped
    closed = [e["error"] for e in logged if e["event"] == "bad-connection"]
    assert len(closed) == len(bad_openings("x")), closed
    for words in ("exceeds", "did not start with a hello", "protocol version", "cluster",
                  "unknown node"):
        assert any(words in reason for reason in closed), (words, closed)


def test_backup_process_survives_every_hostile_frame(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    addresses = {"backup": ["127.0.0.1", port], "primary": str(tmp_path / "primary.sock"),
                 "c0": str(tmp_path / "c0.sock")}
    book = tmp_path / "addresses.json"
    book.write_text(json.dumps(addresses))
    backup = subprocess.Popen([sys.executable, "-m", "faultlab.sim.realnet", "backup",
                               "faultlab.tools.example_register:Backup", str(book),
                               str(tmp_path / "data"), "--timeout", "60"],
                              env=ENV, stderr=subprocess.PIPE, text=True)
    try:
        frames = hostile("primary", Replicate("1", "x"), ReadOk(1, "x"), Replicate(1, "x"))
        start = time.monotonic()
        throw(("127.0.0.1", port), "primary", frames + [frame("primary", Replicate(1, "x"))])
        book_of = {k: v if isinstance(v, str) else tuple(v) for k, v in addresses.items()}
        value = None
        while value != "x" and time.monotonic() - start < 20:  # the frames are read meanwhile
            history = run_client("c0", Clerk, book_of, [{"op": "read"}],
                                 data_dir=tmp_path / "c0", timeout=20)
            value = history[0].output
        assert value == "x"  # still serving, and it took the good frame after the bad ones
        assert backup.poll() is None
    finally:
        backup.kill()
        _, stderr = backup.communicate()
    check_log(stderr, tmp_path / "data" / "backup.events.jsonl", len(frames))


def test_mapreduce_coordinator_survives_every_hostile_frame(tmp_path):
    work = tmp_path / "job"
    work.mkdir()
    inputs = [str(p) for p in generate_corpus(tmp_path / "books", 0.05)[:2]]
    coordinator = subprocess.Popen([sys.executable, "-m", "faultlab.mr.cli", "coordinator",
                                    *inputs, "--dir", str(work), "--nreduce", "2"],
                                   env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
    sockets = socket_dir(work)
    try:
        frames = hostile("w0", MrAskTask(5, "1", 0), MrTask(1, "map"),  # type: ignore[arg-type]
                         MrAskTask("x", 1, 0))
        throw(str(sockets / "coordinator.sock"), "w0", frames)
        worker = subprocess.Popen([sys.executable, "-m", "faultlab.mr.cli", "worker", "wc",
                                   "--dir", str(work)], env=ENV)
        assert worker.wait(60) == 0
        _, stderr = coordinator.communicate(timeout=30)
        assert coordinator.returncode == 0  # it served the job to its end
        assert output_lines(work) == reference_lines("wc", inputs)
        check_log(stderr, sockets / "data" / "coordinator.events.jsonl", len(frames))
    finally:
        if coordinator.poll() is None:
            coordinator.kill()
            coordinator.communicate()
        shutil.rmtree(sockets, ignore_errors=True)


@pytest.mark.parametrize("argv, problem", [
    (["nobody", "faultlab.tools.example_register:Backup"], "'nobody' is not in"),
    (["backup", "faultlab.tools.example_register:Primary.nothing"], "cannot load factory"),
    (["backup", "faultlab.tools.example_register"], "not module:callable"),
    (["backup", "faultlab.mr.coordinator:Coordinator"], "without arguments"),
    (["backup", "faultlab.tools.example_register:PRIMARY"], "not callable"),
])
def test_realnet_command_mistakes_are_one_line(tmp_path, argv, problem):
    book = tmp_path / "addresses.json"
    book.write_text(json.dumps({"backup": str(tmp_path / "b.sock")}))
    name, factory = argv
    r = subprocess.run([sys.executable, "-m", "faultlab.sim.realnet", name, factory, str(book),
                        str(tmp_path / "d"), "--timeout", "5"], env=ENV, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and problem in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


@pytest.mark.parametrize("content, problem", [
    ("[1, 2]", "not a JSON object"),
    ('{"backup": 5}', "neither a socket path"),
    ('{"backup": ["h", "port"]}', "neither a socket path"),
    ("[" * 100_000, "not a JSON address book"),
    (b"\xff\xfe", "not a JSON address book"),
])
def test_realnet_address_book_mistakes_are_one_line(tmp_path, content, problem):
    book = tmp_path / "addresses.json"
    book.write_bytes(content if isinstance(content, bytes) else content.encode())
    r = subprocess.run([sys.executable, "-m", "faultlab.sim.realnet", "backup",
                        "faultlab.tools.example_register:Backup", str(book), str(tmp_path / "d")],
                       env=ENV, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and problem in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
