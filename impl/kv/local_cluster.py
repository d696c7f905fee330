"""A key/value cluster of real server processes on this machine, and control over them.

:class:`LocalCluster` starts one ``faultlab serve kv`` process per node on 127.0.0.1 (free
ports unless given), each with its own data folder, and can kill (SIGKILL), restart, pause
(SIGSTOP) and resume (SIGCONT) any of them: ``faultlab cluster kv``, the nemesis test and the
TCP benchmark all use it. Each server's standard input is a pipe from here, so a server
stops when this process ends, however it ends: no process is left behind.

``peer_view(name)`` lets a caller give each server its own address book (a test routes
server-to-server traffic through proxies that way); clients always use the servers' own
addresses.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from faultlab.kv.cluster_config import ClusterConfig, format_peers

__all__ = ["LocalCluster", "free_ports", "serve_command"]


def free_ports(n: int, host: str = "127.0.0.1") -> list[int]:
    """``n`` distinct ports that nothing listens on now."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind((host, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def serve_command(config: ClusterConfig, name: str, data: Path, *extra: str) -> list[str]:
    """The command line of one server process of ``config``."""
    return [sys.executable, "-m", "faultlab.cli", "serve", "kv", "--id", name,
            "--peers", format_peers(config.nodes), "--data", str(data),
            "--engine", config.engine, "--cluster-id", config.cluster,
            "--maxraftstate", str(config.maxraftstate), "--stop-on-stdin-eof", *extra]


class LocalCluster:
    """``n`` servers of one cluster as child processes (see the module docstring)."""

    def __init__(self, n: int, data: Path, *, engine: str = "raft",
                 cluster: str = "faultlab", maxraftstate: int | None = None,
                 ports: list[int] | None = None, extra: tuple[str, ...] = (),
                 peer_view: Callable[[str], dict[str, tuple[str, int]]] | None = None,
                 log_to_files: bool = True) -> None:
        ports = ports or free_ports(n)
        options = {} if maxraftstate is None else {"maxraftstate": maxraftstate}
        self.config = ClusterConfig({f"s{i}": ("127.0.0.1", ports[i]) for i in range(n)},
                                    cluster=cluster, engine=engine, **options)
        self.data = Path(data)
        self.extra = extra
        self.peer_view = peer_view
        self.log_to_files = log_to_files
        self.procs: dict[str, subprocess.Popen] = {}
        self.paused: set[str] = set()
        self._logs: dict[str, IO[str]] = {}

    @property
    def names(self) -> list[str]:
        return self.config.names

    def data_dir(self, name: str) -> Path:
        return self.data / name

    # ------------------------------------------------------------------ processes

    def start(self, name: str | None = None) -> None:
        """Start every server, or server ``name`` (again, on its data folder)."""
        for n in [name] if name else self.names:
            if n in self.procs and self.procs[n].poll() is None:
                raise RuntimeError(f"{n} is running")
            config = self.config
            if self.peer_view is not None:
                config = config.with_options(nodes=self.peer_view(n))
            self.data_dir(n).mkdir(parents=True, exist_ok=True)
            stderr = None
            if self.log_to_files:
                stderr = self._logs[n] = open(self.data / f"{n}.log", "a")  # noqa: SIM115
            self.procs[n] = subprocess.Popen(
                serve_command(config, n, self.data_dir(n), *self.extra),
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=stderr,
                start_new_session=True)

    def kill(self, name: str) -> None:
        """SIGKILL: the server loses everything it had not written to its data folder."""
        proc = self.procs[name]
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGCONT)  # a paused process dies as well
            proc.kill()
        proc.wait()
        self.paused.discard(name)

    def restart(self, name: str) -> None:
        self.kill(name)
        self.start(name)

    def pause(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGSTOP)
        self.paused.add(name)

    def resume(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGCONT)
        self.paused.discard(name)

    def stop(self, grace: float = 5.0) -> None:
        """Stop every server: SIGTERM (after SIGCONT), then SIGKILL after ``grace``."""
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGCONT)
                    proc.terminate()
        deadline = time.monotonic() + grace
        for proc in self.procs.values():
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdin is not None:
                proc.stdin.close()
        for log in self._logs.values():
            log.close()
        self._logs.clear()

    def __enter__(self) -> LocalCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def exited(self) -> dict[str, int]:
        """Servers that ended by themselves: name -> exit code."""
        return {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}

    # ------------------------------------------------------------------ what they say

    def statuses(self) -> dict[str, dict]:
        """Each server's last ``status`` event (its term, role, leader, snapshot)."""
        out = {}
        for n in self.names:
            path = self.data_dir(n) / f"{n}.events.jsonl"
            with contextlib.suppress(OSError):
                out[n] = _last_status(path)
        return {n: s for n, s in out.items() if s is not None}

    def leader(self) -> tuple[str, int] | None:
        """Of the running servers, the one that says it leads in the highest term, with
        that term."""
        gone = set(self.exited()) | self.paused
        leading = [(s["term"], n) for n, s in self.statuses().items()
                   if s["role"] == "leader" and n not in gone]
        if not leading:
            return None
        term, name = max(leading)
        return name, term

    def log_tail(self, name: str, lines: int = 5) -> str:
        path = self.data / f"{name}.log"
        with contextlib.suppress(OSError):
            return "\n".join(path.read_text().splitlines()[-lines:])
        return ""


def _last_status(path: Path) -> dict | None:
    """The last status event of an events file (read from its end)."""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - 65536))
        tail = f.read().splitlines()
    for line in reversed(tail):
        with contextlib.suppress(ValueError):
            event = json.loads(line)
            if event.get("event") == "status":
                return event
    return None
