"""Group commit on the real transport: a message never leaves before the state saved ahead of
it is on disk, however late the flush, and one flush serves several saves.

A saver node saves a counter and then sends it (three times a handler, from timers and from
the watcher's acks, so handlers meet in one turn of the loop); the watcher, in the same
loop, reads the saver's file from disk whenever a message arrives and counts a message whose
number the file does not hold yet. The flush is delayed on purpose (as a disk that is slow
would delay it), and the same check fails for a runtime that sends without waiting for it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from faultlab.sim import codec
from faultlab.sim.messages import message
from faultlab.sim.node import Node
from faultlab.sim.realnet import FilePersister, Runtime

SAVES = 60
PER_HANDLER = 3
FLUSH_DELAY = 0.01


@message
class Note:
    n: int


@message(reply=True)
class NoteAck:
    n: int


class Saver(Node):
    def on_start(self) -> None:
        self.n = 0
        self.ctx.set_timer("tick", 0.0)

    def step(self) -> None:
        for _ in range(PER_HANDLER):
            if self.n < SAVES:
                self.n += 1
                self.ctx.persister.save(codec.encode(self.n))
                self.ctx.send("watcher", Note(self.n))

    def on_timer(self, name: str) -> None:
        self.step()
        if self.n < SAVES:
            self.ctx.set_timer("tick", 0.0)

    def on_message(self, src: str, msg: Any) -> None:
        self.step()


class Watcher(Node):
    def __init__(self, saver_dir: Path) -> None:
        self.saver_dir = saver_dir
        self.seen: list[int] = []
        self.ahead: list[tuple[int, int]] = []  # (message's number, the file's) when ahead

    def on_message(self, src: str, msg: Any) -> None:
        data = FilePersister(self.saver_dir, "saver").read_state()
        on_disk = codec.decode(data) if data else 0
        if on_disk < msg.n:
            self.ahead.append((msg.n, on_disk))
        self.seen.append(msg.n)
        self.ctx.send(src, NoteAck(msg.n))


class SlowDisk(Runtime):
    """The runtime with its flush a little later than the next turn of the loop."""

    def _commit_soon(self) -> None:
        self.loop.call_later(FLUSH_DELAY, self._commit)


class SendsBeforeFlush(SlowDisk):
    """Known-bad: sends at once, whether or not a save is pending."""

    def send(self, dst: str, msg: Any) -> None:
        self._send_now(dst, msg)


def run(tmp_path: Path, saver_runtime: type[Runtime]) -> tuple[Saver, Watcher, FilePersister]:
    book = {"saver": str(tmp_path / "saver.sock"), "watcher": str(tmp_path / "watcher.sock")}

    async def main() -> tuple[Saver, Watcher, FilePersister]:
        watcher = Runtime("watcher", lambda: Watcher(tmp_path / "saver"), book,
                          tmp_path / "watcher", 0)
        await watcher.start()
        saver = saver_runtime("saver", Saver, book, tmp_path / "saver", 0)
        await saver.start()
        try:
            done = await watcher.wait(lambda w: len(w.seen) >= SAVES, 20.0)
            assert done, f"the watcher saw {len(watcher.node.seen)} of {SAVES} notes"
        finally:
            await saver.close()
            await watcher.close()
        return saver.node, watcher.node, saver.persister

    return asyncio.run(main())


def test_no_message_leaves_before_the_state_saved_ahead_of_it_is_on_disk(tmp_path):
    saver, watcher, persister = run(tmp_path, SlowDisk)
    assert watcher.seen == list(range(1, SAVES + 1))
    assert watcher.ahead == []
    # one flush for several saves: each handler saved PER_HANDLER times
    assert persister.writes == SAVES
    assert persister.flushes <= SAVES // PER_HANDLER


def test_the_check_catches_a_runtime_that_sends_before_the_flush(tmp_path):
    _, watcher, _ = run(tmp_path, SendsBeforeFlush)
    assert watcher.ahead, "every note found its number on disk, though none waited for it"


def test_a_stopped_runtime_leaves_its_last_saved_state_on_disk(tmp_path):
    saver, _, _ = run(tmp_path, SlowDisk)
    assert codec.decode(FilePersister(tmp_path / "saver", "saver").read_state()) == saver.n


def test_a_persister_without_group_commit_writes_every_save_at_once(tmp_path):
    p = FilePersister(tmp_path, "p")
    for k in range(3):
        p.save(codec.encode(k))
        assert codec.decode(FilePersister(tmp_path, "p").read_state()) == k
    assert p.flushes == 3 and not p.pending
