"""MapReduce as real processes: one coordinator and any number of workers on one machine.

They run the simulated nodes unchanged on the real transport (:mod:`faultlab.sim.realnet`):
UNIX sockets in a small folder of their own, a shared work folder for the files, real timers.
The socket folder is derived from the work folder, so ``faultlab mr coordinator`` and
``faultlab mr worker`` started on the same folder find each other, as the labs' processes
find the coordinator's socket by user id.

Worker names are slots ``w0`` ... ``w127``: the transport sends replies to a name's address,
so the coordinator must know every address up front. A worker takes the first slot whose lock
file it can lock (``flock``; the kernel releases it when the process dies, even by SIGKILL),
so a restarted worker reuses a free slot and its socket.
"""

from __future__ import annotations

import fcntl
import os
import random
import tempfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from faultlab.mr.app import App
from faultlab.mr.coordinator import Coordinator
from faultlab.mr.worker import COORDINATOR, Worker

__all__ = ["socket_dir", "addresses", "claim_slot", "run_coordinator", "run_worker",
           "MAX_WORKERS", "SlotError"]

MAX_WORKERS = 128


class SlotError(RuntimeError):
    """No worker slot is free, or the requested one is taken."""


def socket_dir(workdir: str | Path) -> Path:
    """The folder of the job's sockets, locks and process logs (short: socket paths are
    limited to about 100 bytes)."""
    key = zlib.crc32(str(Path(workdir).resolve()).encode())
    path = Path(tempfile.gettempdir()) / f"faultlab-mr-{os.getuid()}-{key:08x}"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def addresses(sockets: Path) -> dict[str, str]:
    names = [COORDINATOR] + [f"w{k}" for k in range(MAX_WORKERS)]
    return {name: str(sockets / f"{name}.sock") for name in names}


def claim_slot(sockets: Path, name: str | None = None) -> tuple[str, IO]:
    """Lock a worker slot (the given one, or the first free); keep the file open to hold it."""
    names = [name] if name else [f"w{k}" for k in range(MAX_WORKERS)]
    for n in names:
        if n not in addresses(sockets) or n == COORDINATOR:
            raise SlotError(f"worker name {n!r} is not one of w0..w{MAX_WORKERS - 1}")
        f = open(sockets / f"{n}.lock", "w")  # noqa: SIM115 (held for the process's life)
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            continue
        return n, f
    raise SlotError(f"worker name {name} is in use" if name
                    else f"all {MAX_WORKERS} worker slots are in use")


def coordinator_running(sockets: Path) -> bool:
    """Whether a coordinator holds this folder's coordinator lock."""
    try:
        with open(sockets / "coordinator.lock", "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(f, fcntl.LOCK_UN)
            return False
    except BlockingIOError:
        return True


def run_coordinator(
    files: Sequence[str],
    workdir: str | Path,
    n_reduce: int,
    *,
    task_timeout: float = 10.0,
    linger: float = 1.0,
    progress: Callable[[str, Coordinator], None] | None = None,
    timeout: float | None = None,
) -> Coordinator:
    """Serve one job until it is done (and ``linger`` seconds more); returns the node."""
    from faultlab.sim.realnet import run_node

    sockets = socket_dir(workdir)
    with open(sockets / "coordinator.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SlotError(f"a coordinator is already running on {workdir}") from None
        node = run_node(COORDINATOR,
                        lambda: Coordinator(files, n_reduce, task_timeout=task_timeout,
                                            linger=linger, progress=progress),
                        addresses(sockets), data_dir=sockets / "data",
                        seed=random.SystemRandom().randrange(2**31),
                        until=lambda n: n.finished, timeout=timeout)
    assert isinstance(node, Coordinator)
    return node


def run_worker(
    app: App,
    workdir: str | Path,
    *,
    name: str | None = None,
    give_up: float = 5.0,
    seed: int | None = None,
    timeout: float | None = None,
) -> Worker:
    """Run one worker until the job is done or the coordinator is gone; returns the node.

    An app that calls ``ctx.exit(code)`` ends the process at once with that code, as the
    labs' crash app does with ``os.Exit(1)``."""
    from faultlab.sim.realnet import run_node

    sockets = socket_dir(workdir)
    name, lock = claim_slot(sockets, name)
    try:
        def exit_now(code: int) -> None:
            if code:
                os._exit(code)

        def is_alive(worker_id: str) -> bool:
            try:
                os.kill(int(worker_id), 0)
            except (ValueError, ProcessLookupError):
                return False
            except PermissionError:
                return True
            return True

        node = run_node(name,
                        lambda: Worker(app, workdir, poll=0.05, give_up=give_up,
                                       worker_id=str(os.getpid()), is_alive=is_alive,
                                       on_exit=exit_now),
                        addresses(sockets), data_dir=sockets / "data",
                        seed=random.SystemRandom().randrange(2**31) if seed is None else seed,
                        until=lambda n: n.stopped, timeout=timeout)
    finally:
        lock.close()
    assert isinstance(node, Worker)
    return node
