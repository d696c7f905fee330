"""The file persister's log: a crash at any byte of a save leaves the old state or the new
one, later saves are not hidden behind a torn one, compaction keeps state and snapshot, the
earlier whole-file format still reads, and a writer killed at random keeps what it saved."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time

import pytest
from faultlab.sim import codec, file_persister
from faultlab.sim.file_persister import MAGIC, FilePersister


def saved(states: list[bytes], folder, snapshot_at: int = -1) -> FilePersister:
    p = FilePersister(folder)
    for k, s in enumerate(states):
        p.save(s, b"snap-%d" % k if k == snapshot_at else None)
    p.close()
    return p


def test_a_cut_at_every_byte_of_the_last_save_leaves_the_old_or_the_new_state(tmp_path):
    states = [b"state-%d" % k * (k + 1) for k in range(5)]
    saved(states, tmp_path, snapshot_at=4)
    whole = (tmp_path / "persist.bin").read_bytes()
    last = len(file_persister.record(states[-1], b"snap-4"))
    for cut in range(len(whole) - last, len(whole) + 1):
        (tmp_path / "persist.bin").write_bytes(whole[:cut])
        p = FilePersister(tmp_path)
        if cut == len(whole):
            assert (p.read_state(), p.read_snapshot()) == (states[-1], b"snap-4")
        else:
            assert (p.read_state(), p.read_snapshot()) == (states[-2], b""), cut


def test_a_damaged_last_save_reads_as_the_one_before(tmp_path):
    saved([b"one", b"two"], tmp_path)
    data = bytearray((tmp_path / "persist.bin").read_bytes())
    data[-1] ^= 0xFF
    (tmp_path / "persist.bin").write_bytes(bytes(data))
    assert FilePersister(tmp_path).read_state() == b"one"


def test_a_save_after_a_torn_tail_is_read_back(tmp_path):
    saved([b"one", b"two"], tmp_path)
    path = tmp_path / "persist.bin"
    path.write_bytes(path.read_bytes()[:-2])  # "two" torn
    p = FilePersister(tmp_path)
    assert p.read_state() == b"one"
    p.save(b"three")
    p.close()
    assert FilePersister(tmp_path).read_state() == b"three"


def test_compaction_bounds_the_file_and_keeps_state_and_snapshot(tmp_path, monkeypatch):
    monkeypatch.setattr(file_persister, "COMPACT_MIN", 4096)
    p = FilePersister(tmp_path)
    p.save(b"s0", b"the-snapshot")
    sizes = []
    for k in range(400):
        state = b"state-%d" % k + b"x" * 100
        p.save(state)
        sizes.append((tmp_path / "persist.bin").stat().st_size)
        again = FilePersister(tmp_path)
        assert (again.read_state(), again.read_snapshot()) == (state, b"the-snapshot")
    p.close()
    assert max(sizes) <= 4096 + 200 and min(sizes[200:]) < max(sizes[200:])  # compacted
    assert p.flushes == 401
    assert sorted(f.name for f in tmp_path.iterdir()) == ["persist.bin"]


def test_the_earlier_whole_file_format_is_read_and_rewritten_as_a_log(tmp_path):
    (tmp_path / "persist.bin").write_bytes(codec.encode((b"old-state", b"old-snap")))
    p = FilePersister(tmp_path)
    assert (p.read_state(), p.read_snapshot()) == (b"old-state", b"old-snap")
    p.save(b"new-state")
    p.close()
    assert (tmp_path / "persist.bin").read_bytes().startswith(MAGIC)
    again = FilePersister(tmp_path)
    assert (again.read_state(), again.read_snapshot()) == (b"new-state", b"old-snap")


@pytest.mark.parametrize("content", [MAGIC + b"\x00\x00\x00\x05garbage", b"\x7fgarbage",
                                     codec.encode((1, 2))])
def test_a_file_that_is_no_persister_file_is_reported(tmp_path, content):
    (tmp_path / "persist.bin").write_bytes(content)
    with pytest.raises(OSError, match="corrupt persister file"):
        FilePersister(tmp_path)


WRITER = """
import sys
from faultlab.sim import file_persister
from faultlab.sim.file_persister import FilePersister
file_persister.COMPACT_MIN = 8192  # compactions too, not only appends
p = FilePersister(sys.argv[1])
k = int(p.read_state() or b"0")
while True:
    k += 1
    p.save(b"%d" % k + b"." * (k % 997), b"snap-%d" % k if k % 7 == 0 else None)
    print(k, flush=True)
"""


def test_a_writer_killed_at_random_keeps_every_save_it_finished(tmp_path, seed):
    rng = random.Random(seed)
    (tmp_path / "writer.py").write_text(WRITER)
    last = 0
    for _ in range(20):
        proc = subprocess.Popen([sys.executable, str(tmp_path / "writer.py"), str(tmp_path)],
                                stdout=subprocess.PIPE, text=True)
        time.sleep(rng.uniform(0.05, 0.25))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        done = [int(x) for x in out.split()]
        p = FilePersister(tmp_path)
        k = int(p.read_state().split(b".")[0] or b"0")
        finished = done[-1] if done else last
        assert finished <= k <= finished + 1, f"seed {seed}: saved {finished}, read {k}"
        expected = b"%d" % k + b"." * (k % 997) if k else b""  # k 0: nothing saved yet
        assert p.read_state() == expected, f"seed {seed}"
        assert p.read_snapshot() in (b"snap-%d" % (k - k % 7), b""), f"seed {seed}"
        last = k
