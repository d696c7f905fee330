"""The file persister under SIGKILL: a writer killed at random points, hundreds of times,
always leaves on disk either the state it last finished saving or the one it was saving
(never a mix, never a torn or empty file), and the next writer goes on from it."""

from __future__ import annotations

import os
import random
import signal
import time

from faultlab.sim import codec
from faultlab.sim.realnet import FilePersister

KILLS = 300


def _writer(folder: str, start: int, ack_fd: int) -> None:
    """Child: save versions start+1, start+2, ... forever (state and snapshot both name the
    version, and the snapshot grows, so a mix or a torn write would show); after each save
    returns, write its number to ``ack_fd``."""
    p = FilePersister(folder)
    n = start
    while True:
        n += 1
        p.save(codec.encode(("state", n)), codec.encode(("snap", n, "x" * (n % 5000))))
        os.write(ack_fd, n.to_bytes(8, "big"))


def _last_ack(read_fd: int, data: bytes = b"") -> int:
    while chunk := os.read(read_fd, 65536):
        data += chunk
    data = data[: len(data) // 8 * 8]
    return int.from_bytes(data[-8:], "big") if data else -1


def test_a_writer_killed_anywhere_leaves_the_old_or_the_new_state(tmp_path, seed):
    rng = random.Random(seed)
    folder = str(tmp_path)
    version = 0
    FilePersister(folder).save(codec.encode(("state", 0)), codec.encode(("snap", 0, "")))
    for kill in range(KILLS):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the writer
            os.close(r)
            try:
                _writer(folder, version, w)
            finally:
                os._exit(1)
        os.close(w)
        first = os.read(r, 8)  # one save done (however loaded the machine), then anywhere
        time.sleep(rng.uniform(0, 0.004))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        acked = max(_last_ack(r, first), version)
        os.close(r)
        p = FilePersister(folder)  # raises on a corrupt file
        state = codec.decode(p.read_state())
        snap = codec.decode(p.read_snapshot())
        assert state[0] == "state" and snap[:2] == ("snap", state[1]), (kill, state, snap)
        assert snap[2] == "x" * (state[1] % 5000), f"kill {kill}: a torn snapshot"
        assert state[1] in (acked, acked + 1), \
            f"kill {kill}: on disk version {state[1]}, last finished save {acked}"
        version = state[1]
    assert version >= KILLS, "the writers made too little progress to test anything"
