"""The key/value service as real processes: the servers and clerks of the simulation, unchanged,
on the real transport (:mod:`faultlab.sim.realnet`).

:func:`serve` runs one server in this process until it is told to stop (SIGTERM, SIGINT, or
the end of its standard input when ``stop_on_eof``: a supervisor that dies, even by SIGKILL,
takes its servers with it). ``kill -USR1`` makes it print where it is (a stack trace on
stderr) and go on. Its state is in its data folder, written through the file persister; a
server started again on the same folder resumes from it.

:class:`RealClerk` is a clerk for a program (tests, benchmarks, the ``faultlab kv``
command): each call is recorded with its call and return times on the monotonic clock, a
call that does not return in time stays open (its outcome unknown), and the clerk must then
be closed (its request may still be in flight). Clerks need no address: servers answer on
the connection a request came in on.
"""

from __future__ import annotations

import asyncio
import faulthandler
import os
import signal
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from faultlab.kv.clerk import Clerk
from faultlab.kv.cluster_config import ClusterConfig
from faultlab.kv.messages import KVRequest, op_from_input
from faultlab.kv.server import KVServer
from faultlab.sim.realnet import Runtime
from faultlab.sim.world import CallRecord

__all__ = ["serve", "RealClerk", "call_once", "server_factory"]


def server_factory(config: ClusterConfig, server: type[KVServer] = KVServer
                   ) -> Callable[[], KVServer]:
    names = config.names
    return lambda: server(names, engine=config.engine, maxraftstate=config.maxraftstate)


def serve(config: ClusterConfig, name: str, data_dir: str | Path, *, seed: int = 0,
          server: type[KVServer] = KVServer, stop_on_eof: bool = False,
          human: TextIO | None = sys.stderr) -> None:
    """Run server ``name`` of ``config`` until stopped (see the module docstring). Raises
    the first exception a handler raised (a bug), OSError for a port or folder refused."""
    if name not in config.nodes:
        raise ValueError(f"{name!r} is not a node of the cluster "
                         f"(it has {', '.join(config.names)})")

    faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=False)

    async def main() -> None:
        rt = Runtime(name, server_factory(config, server), config.nodes, data_dir, seed,
                     cluster=config.tag, clients=(KVRequest,), human=human)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if stop_on_eof:
            _on_eof(loop, stop.set)
        try:
            await rt.start()
            host, port = config.nodes[name]
            rt.tell(f"serving kv on {config.engine} at {host}:{port}, cluster "
                    f"{config.cluster!r}, incarnation {rt.ctx.incarnation}, data {data_dir}")
            running = asyncio.ensure_future(rt.wait(None, None))
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if running.done():
                running.result()  # a handler's exception
            running.cancel()
            rt.tell("stopped")
        finally:
            await rt.close()

    asyncio.run(main())


def _on_eof(loop: asyncio.AbstractEventLoop, stop: Callable[[], None]) -> None:
    fd = sys.stdin.fileno()

    def readable() -> None:
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(fd)
            stop()

    loop.add_reader(fd, readable)


class RealClerk:
    """A clerk of a real cluster, in the running asyncio loop. ``origin`` is the monotonic
    time its records count from (give every clerk of one history the same)."""

    def __init__(self, config: ClusterConfig, name: str | None = None, *,
                 data_dir: str | Path | None = None, origin: float | None = None,
                 clerk: Callable[[list[str]], Clerk] = Clerk) -> None:
        self.config = config
        self.name = name or f"clerk-{uuid.uuid4().hex[:12]}"
        self._tmp = None if data_dir is not None else tempfile.TemporaryDirectory(
            prefix="faultlab-clerk-")
        self.data_dir = Path(data_dir if data_dir is not None else self._tmp.name)
        self.origin = origin
        self._clerk = clerk
        self.rt: Runtime | None = None

    async def start(self) -> RealClerk:
        servers = self.config.names
        self.rt = Runtime(self.name, lambda: self._clerk(servers), self.config.nodes,
                          self.data_dir, 0, cluster=self.config.cluster)
        if self.origin is None:
            self.origin = self.rt.t0
        await self.rt.start()
        return self

    async def close(self) -> None:
        if self.rt is not None:
            await self.rt.close()
            self.rt = None
        if self._tmp is not None:
            self._tmp.cleanup()

    async def __aenter__(self) -> RealClerk:
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def call(self, input: Any, timeout: float) -> CallRecord:
        """Make one call; its record, open (``ret`` None) if no answer came in ``timeout``
        seconds. A bad input is a ValueError before anything is sent."""
        rt = self.rt
        if rt is None:
            raise RuntimeError("the clerk is not started")
        op_from_input(input, self.name, 0)  # a ValueError naming what is wrong
        shift = rt.t0 - self.origin
        record = rt.begin_call(input)
        await rt.wait(lambda _n: record.done, timeout)
        if not record.done:  # what it is now: an answer coming later does not change it
            return CallRecord(self.name, input, record.call + shift)
        return CallRecord(self.name, input, record.call + shift, record.output,
                          record.ret + shift)


def call_once(config: ClusterConfig, input: Any, timeout: float) -> CallRecord:
    """One call by a fresh clerk (the ``faultlab kv`` command)."""

    async def main() -> CallRecord:
        async with RealClerk(config) as clerk:
            return await clerk.call(input, timeout)

    return asyncio.run(main())
