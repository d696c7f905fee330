"""The real transport: the example register's nodes as real processes on UNIX and TCP
sockets, the file persister's atomic saves, and bad frames."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from faultlab.sim import codec
from faultlab.sim.realnet import FilePersister, frame, hello_frame, run_client, run_node
from faultlab.tools.example_register import Backup, Clerk, stale_reads

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(name: str, factory: str, addresses: Path, data: Path) -> subprocess.Popen:
    env = dict(os.environ)
    return subprocess.Popen([sys.executable, "-m", "faultlab.sim.realnet", name, factory,
                             str(addresses), str(data), "--timeout", "60"], env=env,
                            stderr=subprocess.PIPE, text=True)


@pytest.fixture(params=["unix", "tcp"])
def cluster(request, tmp_path):
    if request.param == "unix":
        addresses = {n: str(tmp_path / f"{n}.sock") for n in ("primary", "backup", "c0", "c1")}
    else:
        addresses = {n: ["127.0.0.1", free_port()] for n in ("primary", "backup", "c0", "c1")}
    path = tmp_path / "addresses.json"
    path.write_text(json.dumps(addresses))
    procs = {n: start(n, f"faultlab.tools.example_register:{cls}", path, tmp_path / n)
             for n, cls in (("primary", "Primary"), ("backup", "Backup"))}
    yield {k: v if isinstance(v, str) else tuple(v) for k, v in addresses.items()}, procs, tmp_path
    for p in procs.values():
        p.kill()
        p.wait()


def test_register_runs_as_real_processes_and_survives_a_backup_restart(cluster):
    addresses, procs, tmp = cluster
    writes = [{"op": "write", "value": f"v{k}"} for k in range(5)]
    history = run_client("c0", Clerk, addresses, writes + [{"op": "read"}],
                         data_dir=tmp / "c0", timeout=20)
    assert [r.done for r in history] == [True] * 6, [p.stderr.read() for p in procs.values()
                                                     if p.poll() is not None]
    assert history[-1].output == "v4"

    procs["backup"].kill()  # a real crash: the process dies, its file persister stays
    procs["backup"].wait()
    procs["backup"] = start("backup", "faultlab.tools.example_register:Backup",
                            tmp / "addresses.json", tmp / "backup")
    # a new clerk (a clerk keeps no state across runs, so it comes back under a new name)
    more = run_client("c1", Clerk, addresses, [{"op": "read"}, {"op": "write", "value": "w"},
                                               {"op": "read"}], data_dir=tmp / "c1", timeout=20)
    assert [r.output for r in more] == ["v4", None, "w"]
    assert not stale_reads(history + more)
    assert (tmp / "backup" / "backup.incarnation").read_text() == "1"


def test_file_persister_saves_state_and_snapshot_together(tmp_path):
    p = FilePersister(tmp_path)
    p.save(b"state-1", b"snap-1")
    p.save(b"state-2")  # the snapshot stays
    again = FilePersister(tmp_path)
    assert (again.read_state(), again.read_snapshot()) == (b"state-2", b"snap-1")
    assert again.state_size() == 7 and again.snapshot_size() == 6
    assert sorted(f.name for f in tmp_path.iterdir()) == ["persist.bin"]  # no temp file left


def test_corrupt_persister_file_is_reported(tmp_path):
    (tmp_path / "persist.bin").write_bytes(b"\x7fgarbage")
    with pytest.raises(OSError, match="corrupt persister file"):
        FilePersister(tmp_path)


def send_when_listening(path: str, *chunks: bytes) -> None:
    """Connect to a UNIX socket once its node listens, and write each chunk on a connection
    of its own."""
    for chunk in chunks:
        for _ in range(100):
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(path)
                break
            except OSError:
                s.close()
                time.sleep(0.02)
        s.sendall(chunk)
        s.close()


def test_node_reports_unreachable_peer_and_ignores_bad_frames(tmp_path):
    from faultlab.tools.example_register import Replicate

    addresses = {"backup": str(tmp_path / "b.sock"), "primary": str(tmp_path / "nobody.sock")}

    def poke() -> None:  # a garbage frame, then a good Replicate from "primary"
        send_when_listening(addresses["backup"],
                            hello_frame("primary") + b"\x00\x00\x00\x03\x7f\x7f\x7f",
                            hello_frame("primary") + frame("primary", Replicate(1, "x")))

    import threading

    t = threading.Thread(target=poke)  # the test's own client, outside the node's loop
    t.start()
    node = run_node("backup", Backup, addresses, data_dir=tmp_path / "d",
                    until=lambda n: n.value == "x", timeout=10)
    t.join()
    assert node.value == "x"
    assert codec.decode(FilePersister(tmp_path / "d", "backup").read_state()) == (1, "x")
    events = (tmp_path / "d" / "backup.events.jsonl").read_text()
    assert "drop-frame" in events


def test_a_send_to_a_name_outside_the_address_book_is_logged_not_raised(tmp_path):
    """A Write naming a client the address book does not know: the primary's WriteOk to it
    is logged as a send to an unknown node, and the primary keeps serving."""
    from faultlab.tools.example_register import Primary, Write

    addresses = {"primary": str(tmp_path / "p.sock"), "backup": str(tmp_path / "b.sock"),
                 "c0": str(tmp_path / "c0.sock")}

    def poke() -> None:
        writes = (hello_frame("c0") + frame("c0", Write("ghost", 1, "x"))
                  + frame("c0", Write("ghost", 2, "y")))
        send_when_listening(addresses["primary"], writes)

    import threading

    t = threading.Thread(target=poke)
    t.start()
    node = run_node("primary", lambda: Primary(ack_before_replicate=True), addresses,
                    data_dir=tmp_path / "d", until=lambda n: n.version == 2, timeout=10)
    t.join()
    assert node.version == 2  # both writes taken: the first unknown name stopped nothing
    events = [json.loads(line) for line in
              (tmp_path / "d" / "primary.events.jsonl").read_text().splitlines()]
    assert [e["dst"] for e in events if e["event"] == "send-unknown-node"] == ["ghost", "ghost"]


def test_a_handler_that_raises_still_stops_the_node(tmp_path):
    """Malformed input is dropped, but a bug in a handler stays visible: run_node raises it."""
    from faultlab.tools.example_register import Replicate

    class Broken(Backup):
        def on_message(self, src, msg):
            raise RuntimeError(f"seeded bug on {type(msg).__name__}")

    addresses = {"backup": str(tmp_path / "b.sock"), "primary": str(tmp_path / "p.sock")}
    import threading

    t = threading.Thread(target=send_when_listening,
                         args=(addresses["backup"],
                               hello_frame("primary") + frame("primary", Replicate(1, "x"))))
    t.start()
    with pytest.raises(RuntimeError, match="seeded bug on Replicate"):
        run_node("backup", Broken, addresses, data_dir=tmp_path / "d", timeout=10)
    t.join()
