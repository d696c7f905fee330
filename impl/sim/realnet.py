"""The real transport: the same Node classes as real processes, in real time, on real sockets.

One process runs one node. Its Context keeps the simulated one's meaning:

* ``send(dst, msg)`` writes a frame to ``dst``'s address: a 4-byte big-endian length, then
  the :mod:`codec` encoding of ``(src, msg)``; a TCP address is ``(host, port)``, a UNIX
  socket address is a path string. Connections are opened lazily and reopened after a
  failure; a request that cannot be written is reported to ``on_send_failed``, as a lost
  request is in simulation. Nothing is retried: protocols retry on their own timers.
* timers are ``loop.call_later``; ``now()`` is seconds of monotonic time since start.
* the persister is a :class:`FilePersister`: state and snapshot in one file, written to a
  temporary file, fsynced, renamed over the old one, and the directory fsynced, so a crash
  leaves either the old pair or the new pair, never a mix.
* ``random`` is seeded from the seed, the node's name and its incarnation (the number of
  times it started on this data directory), as in simulation.
* ``log`` appends JSON lines to ``<data_dir>/<name>.events.jsonl``.

Handlers run on the event loop one at a time, as in simulation: a node never sees two events
at once. An exception in a handler stops the node and is raised by :func:`run_node`: it is
a bug, and stays visible. A malformed *input* never reaches a handler: a frame whose payload
:func:`faultlab.sim.wire.parse_frame` rejects, that names a sender outside the address book,
or carries a message the node does not take (``accepts``, when the node class sets it), is
dropped with one log line (the events file and stderr) and the node keeps serving; a frame
header over :data:`~faultlab.sim.wire.MAX_FRAME` ends its connection. A node that sends to a
name outside the address book (one a message carried) has it logged and, for a request,
reported to ``on_send_failed``, as an unreachable peer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from faultlab.sim import codec
from faultlab.sim.messages import is_reply
from faultlab.sim.node import ClientNode, Context, Node, node_seed
from faultlab.sim.persister import Persister, State, joined
from faultlab.sim.wire import MAX_FRAME, FrameError, parse_frame
from faultlab.sim.world import CallRecord

__all__ = ["FilePersister", "run_node", "run_client", "Address", "MAX_FRAME"]

Address = str | tuple[str, int]


class FilePersister(Persister):
    """A persister on disk with the in-memory Persister's methods (see module docstring)."""

    __slots__ = ("folder", "path")

    def __init__(self, folder: str | Path, name: str = "persist") -> None:
        super().__init__()
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / f"{name}.bin"
        if self.path.exists():
            try:
                state, self._snapshot = codec.decode(self.path.read_bytes())
                self._set_state(state)
            except (codec.CodecError, ValueError) as e:
                raise OSError(f"{self.path}: corrupt persister file ({e})") from None

    def save(self, state: State, snapshot: bytes | None = None) -> None:
        if snapshot is None:
            snapshot = self._snapshot
        state = joined(state)
        data = codec.encode((state, bytes(snapshot)))
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        fd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        super().save(state, snapshot)


def frame(src: str, msg: Any) -> bytes:
    payload = codec.encode((src, msg))
    return len(payload).to_bytes(4, "big") + payload


async def read_frame(reader: asyncio.StreamReader) -> bytes | None:
    """The next frame's payload on a connection; None at a clean end of stream. A header
    announcing more than MAX_FRAME bytes is a ConnectionError: nothing after it can be
    trusted to start a frame."""
    try:
        head = await reader.readexactly(4)
    except asyncio.IncompleteReadError as e:
        if e.partial:
            raise ConnectionError("connection closed inside a frame header") from None
        return None
    n = int.from_bytes(head, "big")
    if n > MAX_FRAME:
        raise ConnectionError(f"frame of {n} bytes exceeds the {MAX_FRAME}-byte limit")
    try:
        return await reader.readexactly(n)
    except asyncio.IncompleteReadError:
        raise ConnectionError(f"connection closed inside a frame of {n} bytes") from None


class RealContext(Context):
    """Context of a node running under :class:`Runtime` (real time, real sockets)."""

    __slots__ = ("_rt",)

    def __init__(self, rt: Runtime, name: str, incarnation: int, seed: int,
                 persister: FilePersister) -> None:
        super().__init__(name, incarnation, node_seed(seed, name, incarnation), persister)
        self._rt = rt

    def send(self, dst: str, msg: Any) -> None:
        if self.alive:
            self._rt.send(dst, msg)

    def set_timer(self, name: str, delay: float) -> None:
        if self.alive:
            self._rt.set_timer(name, delay)

    def cancel_timer(self, name: str) -> None:
        self._rt.cancel_timer(name)

    def now(self) -> float:
        return time.monotonic() - self._rt.t0

    def log(self, event: str, **fields: Any) -> None:
        if self.alive:
            self._rt.log(event, fields)

    def complete(self, output: Any) -> None:
        if self.alive:
            self._rt.complete(output)


class Runtime:
    """Runs one node on the running asyncio loop. Use :func:`run_node` or :func:`run_client`."""

    def __init__(self, name: str, factory: Callable[[], Node],
                 addresses: Mapping[str, Address], data_dir: str | Path, seed: int) -> None:
        if name not in addresses:
            raise ValueError(f"no address for node {name!r}")
        self.name = name
        self.addresses = dict(addresses)
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.t0 = time.monotonic()
        self.loop = asyncio.get_running_loop()
        self.timers: dict[str, asyncio.TimerHandle] = {}
        self.writers: dict[str, asyncio.StreamWriter] = {}
        self.queues: dict[str, asyncio.Queue] = {}
        self.tasks: set[asyncio.Task] = set()
        self.changed = asyncio.Event()
        self.error: BaseException | None = None
        self.server: asyncio.AbstractServer | None = None
        self.call: CallRecord | None = None
        self._events = open(self.data_dir / f"{name}.events.jsonl", "a")  # noqa: SIM115
        boots = self.data_dir / f"{name}.incarnation"
        incarnation = int(boots.read_text()) + 1 if boots.exists() else 0
        boots.write_text(str(incarnation))
        self.ctx = RealContext(self, name, incarnation, seed, FilePersister(self.data_dir, name))
        self.node = factory()
        self.node.ctx = self.ctx

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        address = self.addresses[self.name]
        if isinstance(address, str):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(address)
            self.server = await asyncio.start_unix_server(self._serve, path=address)
        else:
            host, port = address
            self.server = await asyncio.start_server(self._serve, host, port)
        self._run(self.node.on_start)

    async def close(self) -> None:
        self.ctx.alive = False
        for handle in self.timers.values():
            handle.cancel()
        for task in self.tasks:
            task.cancel()
        for w in self.writers.values():
            w.close()
        if self.server is not None:
            self.server.close()
        self._events.close()

    def _run(self, handler: Callable[..., None], *args: Any) -> None:
        """Run one event handler; remember the first exception and stop."""
        if self.error is not None or not self.ctx.alive:
            return
        try:
            handler(*args)
        except BaseException as e:  # handed to run_node's caller
            self.error = e
        self.changed.set()

    async def wait(self, until: Callable[[Node], bool] | None, timeout: float | None) -> bool:
        deadline = None if timeout is None else self.loop.time() + timeout
        while True:
            if self.error is not None:
                raise self.error
            if until is not None and until(self.node):
                return True
            self.changed.clear()
            remaining = None if deadline is None else deadline - self.loop.time()
            if remaining is not None and remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)

    # ---------------------------------------------------------------- incoming

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                payload = await read_frame(reader)
                if payload is None:
                    break
                item = self._admit(payload)
                if item is not None:
                    self._run(self.node.on_message, *item)
        except (ConnectionError, OSError) as e:
            self.log("bad-connection", {"error": str(e)})
        except asyncio.CancelledError:
            pass  # the node is shutting down
        finally:
            writer.close()

    def _admit(self, payload: bytes) -> tuple[str, Any] | None:
        """The frame's (src, msg) if the node may see it; else None, and one log line."""
        try:
            src, msg = parse_frame(payload)
        except FrameError as e:
            self.drop(str(e))
            return None
        if src not in self.addresses:
            self.drop(f"{type(msg).__name__} from unknown node {src!r}")
            return None
        accepts = getattr(self.node, "accepts", None)
        if accepts is not None and not isinstance(msg, accepts):
            self.drop(f"{type(msg).__name__} from {src!r}: not a message {self.name} takes")
            return None
        return src, msg

    def drop(self, reason: str) -> None:
        """Report one rejected input: a line in the events file and one on stderr."""
        self.log("drop-frame", {"reason": reason})
        print(f"realnet: {self.name}: dropped a frame: {reason}", file=sys.stderr, flush=True)

    # ---------------------------------------------------------------- outgoing

    def send(self, dst: str, msg: Any) -> None:
        if dst not in self.addresses:
            self.log("send-unknown-node", {"dst": dst, "msg": type(msg).__name__})
            if not is_reply(msg):
                self.loop.call_soon(self._run, self.node.on_send_failed, dst, msg)
            return
        if dst == self.name:
            self.loop.call_soon(self._run, self.node.on_message, self.name, msg)
            return
        q = self.queues.get(dst)
        if q is None:
            q = self.queues[dst] = asyncio.Queue()
            task = self.loop.create_task(self._sender(dst, q))
            self.tasks.add(task)
        q.put_nowait(msg)

    async def _sender(self, dst: str, q: asyncio.Queue) -> None:
        """Write ``dst``'s queue in order; on failure report the requests and reconnect."""
        while True:
            msg = await q.get()
            try:
                writer = self.writers.get(dst) or await self._connect(dst)
                writer.write(frame(self.name, msg))
                await writer.drain()
            except (OSError, ConnectionError):
                bad = self.writers.pop(dst, None)
                if bad is not None:
                    bad.close()
                if not is_reply(msg):
                    self._run(self.node.on_send_failed, dst, msg)

    async def _connect(self, dst: str) -> asyncio.StreamWriter:
        address = self.addresses[dst]
        if isinstance(address, str):
            _, writer = await asyncio.open_unix_connection(address)
        else:
            _, writer = await asyncio.open_connection(*address)
        self.writers[dst] = writer
        return writer

    # ---------------------------------------------------------------- timers, log, calls

    def set_timer(self, name: str, delay: float) -> None:
        self.cancel_timer(name)
        self.timers[name] = self.loop.call_later(max(0.0, delay), self._fire, name)

    def cancel_timer(self, name: str) -> None:
        handle = self.timers.pop(name, None)
        if handle is not None:
            handle.cancel()

    def _fire(self, name: str) -> None:
        self.timers.pop(name, None)
        self._run(self.node.on_timer, name)

    def log(self, event: str, fields: dict) -> None:
        line = {"t": round(time.monotonic() - self.t0, 6), "node": self.name, "event": event,
                **fields}
        self._events.write(json.dumps(line, default=repr) + "\n")
        self._events.flush()

    def complete(self, output: Any) -> None:
        if self.call is None or self.call.done:
            raise RuntimeError(f"clerk {self.name} completed a call it was not given")
        self.call.output = output
        self.call.ret = time.monotonic() - self.t0


def run_node(
    name: str,
    factory: Callable[[], Node],
    addresses: Mapping[str, Address],
    *,
    data_dir: str | Path,
    seed: int = 0,
    until: Callable[[Node], bool] | None = None,
    timeout: float | None = None,
) -> Node:
    """Run node ``name`` in this process until ``until(node)`` holds or ``timeout`` passes.

    Returns the node (so a caller can read its final state). Raises the first exception a
    handler raised. With neither ``until`` nor ``timeout`` it runs until interrupted.
    """

    async def main() -> Node:
        rt = Runtime(name, factory, addresses, data_dir, seed)
        try:
            await rt.start()
            await rt.wait(until, timeout)
        finally:
            await rt.close()
        return rt.node

    return asyncio.run(main())


def run_client(
    name: str,
    factory: Callable[[], ClientNode],
    addresses: Mapping[str, Address],
    inputs: list[Any],
    *,
    data_dir: str | Path,
    seed: int = 0,
    timeout: float = 10.0,
) -> list[CallRecord]:
    """Make the clerk's calls one after another; their records (call and return times in
    seconds since the clerk started). A call that does not return within ``timeout`` is
    left open and ends the run."""

    async def main() -> list[CallRecord]:
        rt = Runtime(name, factory, addresses, data_dir, seed)
        records: list[CallRecord] = []
        try:
            await rt.start()
            for value in inputs:
                rt.call = CallRecord(name, value, rt.ctx.now())
                records.append(rt.call)
                rt._run(rt.node.on_call, value)  # type: ignore[attr-defined]
                if not await rt.wait(lambda _n: rt.call is not None and rt.call.done, timeout):
                    break
        finally:
            await rt.close()
        return records

    return asyncio.run(main())


def _load(spec: str) -> Callable[[], Node]:
    """The node factory ``module:callable`` names, checked to be callable without arguments
    (a ValueError in words otherwise)."""
    import importlib
    import inspect

    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise ValueError(f"factory {spec!r} is not module:callable")
    try:
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"cannot load factory {spec!r}: {e}") from None
    if not callable(obj):
        raise ValueError(f"factory {spec!r} is not callable")
    try:
        inspect.signature(obj).bind()
    except TypeError as e:
        raise ValueError(f"factory {spec!r} cannot be called without arguments: {e}") from None
    except ValueError:
        pass  # no signature to inspect (a builtin): the call will tell
    return obj


def _addresses(path: str) -> dict[str, Address]:
    """The address book file: {name: socket path, or [host, port]}."""
    try:
        raw = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise ValueError(f"{path}: not a JSON address book ({type(e).__name__})") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: not a JSON object of name: address")
    book: dict[str, Address] = {}
    for name, v in raw.items():
        if isinstance(v, str) and v:
            book[name] = v
        elif (isinstance(v, list) and len(v) == 2 and isinstance(v[0], str)
              and type(v[1]) is int and 0 <= v[1] < 65536):
            book[name] = (v[0], v[1])
        else:
            raise ValueError(f"{path}: address of {name!r} is neither a socket path nor "
                             f"[host, port]: {v!r}")
    return book


def main(argv: list[str] | None = None) -> int:
    """``python -m faultlab.sim.realnet NAME MODULE:FACTORY ADDRESSES.json DATA_DIR``: serve one
    node until interrupted (or ``--timeout``); used to start nodes as real processes."""
    import argparse

    from faultlab.errors import ArgumentParser, UserError

    ap = ArgumentParser(prog="python -m faultlab.sim.realnet", description=main.__doc__,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name")
    ap.add_argument("factory", help="module:callable that builds the node")
    ap.add_argument("addresses", help="JSON file: {name: path or [host, port]}")
    ap.add_argument("data_dir")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=None)
    try:
        args = ap.parse_args(argv)
        addresses = _addresses(args.addresses)
        if args.name not in addresses:
            raise ValueError(f"node {args.name!r} is not in {args.addresses} "
                             f"(it names {', '.join(sorted(addresses)) or 'nobody'})")
        if args.timeout is not None and not args.timeout >= 0:
            raise ValueError(f"--timeout must be a number of seconds >= 0: {args.timeout}")
        factory = _load(args.factory)
    except (UserError, ValueError) as e:
        print(f"realnet: error: {e}", file=sys.stderr)
        return 2
    try:
        with contextlib.suppress(KeyboardInterrupt):
            run_node(args.name, factory, addresses, data_dir=args.data_dir, seed=args.seed,
                     timeout=args.timeout)
    except OSError as e:  # a socket or data folder the system refuses
        print(f"realnet: error: {args.name}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
