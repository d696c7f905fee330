"""The real transport: the same Node classes as real processes, in real time, on real sockets.

One process runs one node. Its Context keeps the simulated one's meaning:

* ``send(dst, msg)`` writes a frame to ``dst``'s address: a 4-byte big-endian length, then
  the :mod:`codec` encoding of ``(src, msg)``; a TCP address is ``(host, port)``, a UNIX
  socket address is a path string. Connections are opened lazily and reopened after a
  failure; a request that cannot be written is reported to ``on_send_failed``, as a lost
  request is in simulation. Nothing is retried: protocols retry on their own timers.
* timers are ``loop.call_later``; ``now()`` is seconds of monotonic time since start.
* the persister is a :class:`~faultlab.sim.file_persister.FilePersister`: state and
  snapshot in one file, an append-only log of whole saves, each fdatasynced, rewritten
  (temporary file, fsync, rename, fsync the folder) when it has grown, so a crash leaves
  either the old pair or the new pair, never a mix. Saves are group-committed: a
  handler's save marks the state pending, messages sent meanwhile are held, and one flush
  at the next turn of the loop writes the state of every handler that ran in between, then
  sends what they held. A message never leaves before the state saved ahead of it is on
  disk (a crash loses only saves that nothing outside the process has seen), and a burst of
  requests costs one fsync, not one each.
* ``random`` is seeded from the seed, the node's name and its incarnation (the number of
  times it started on this data directory), as in simulation.
* ``log`` appends JSON lines to ``<data_dir>/<name>.events.jsonl``.

Every connection opens with a hello frame, ``("faultlab-hello", version, cluster, name)``:
a connection from a peer of another :data:`PROTOCOL_VERSION` or another cluster, or one
that does not start with a hello, is closed with one log line, and every later frame on a
connection must come from the name its hello gave. A cluster is a string such as
``"prod/kv-raft"``; a client need only give the part before the slash (the cluster's id:
the detail after it is the servers' business). Connections carry frames both ways, so a
client outside the address book (a clerk on any host, say) is served: a node built with
``clients=`` (message classes) takes those messages from names it does not know, and its
replies go back on the connection the request came in on, for as long as it is open.

A node that has a ``status()`` method (a small dict: role, term, leader...) has every change
of it written as one line readable by a person (stderr, when ``human`` is set) and as a
``status`` event; connections lost and made again are told the same way.

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
from typing import Any, TextIO

from faultlab.sim import codec
from faultlab.sim.file_persister import FilePersister
from faultlab.sim.messages import is_reply
from faultlab.sim.node import ClientNode, Context, Node, node_seed
from faultlab.sim.wire import MAX_FRAME, WIRE_LIMITS, FrameError, parse_frame
from faultlab.sim.world import CallRecord

__all__ = ["FilePersister", "Runtime", "run_node", "run_client", "Address", "MAX_FRAME",
           "PROTOCOL_VERSION", "hello_frame"]

Address = str | tuple[str, int]
PROTOCOL_VERSION = 1
HELLO = "faultlab-hello"
DEFAULT_CLUSTER = "faultlab"


def frame(src: str, msg: Any) -> bytes:
    payload = codec.encode((src, msg))
    return len(payload).to_bytes(4, "big") + payload


def hello_frame(name: str, cluster: str = DEFAULT_CLUSTER,
                version: int = PROTOCOL_VERSION) -> bytes:
    """The first frame of every connection (see the module docstring)."""
    payload = codec.encode((HELLO, version, cluster, name))
    return len(payload).to_bytes(4, "big") + payload


def parse_hello(payload: bytes) -> tuple[str, str]:
    """The name and cluster a hello frame gives, of this protocol version; a
    ConnectionError naming the problem otherwise."""
    try:
        value = codec.decode(payload, WIRE_LIMITS)
    except codec.CodecError:
        value = None
    if not (type(value) is tuple and len(value) == 4 and value[0] == HELLO
            and type(value[1]) is int and type(value[2]) is str and type(value[3]) is str):
        raise ConnectionError("the connection did not start with a hello")
    _, version, cluster, name = value
    if version != PROTOCOL_VERSION:
        raise ConnectionError(f"{name!r} speaks protocol version {version}, "
                              f"this node {PROTOCOL_VERSION}")
    return name, cluster


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
    """Runs one node on the running asyncio loop. Use :func:`run_node` or :func:`run_client`,
    or, for several nodes in one loop (clerks of a test or a benchmark), build it and await
    :meth:`start` and :meth:`close` yourself.

    ``addresses`` is the address book; a node whose name is not in it (a clerk) listens on
    nothing and is reached only on the connections it opens. ``clients`` are the message
    classes taken from names outside the book, ``cluster`` the id every hello must carry,
    ``human`` a stream for the lines a person reads (status changes, connections).
    """

    def __init__(self, name: str, factory: Callable[[], Node],
                 addresses: Mapping[str, Address], data_dir: str | Path, seed: int, *,
                 cluster: str = DEFAULT_CLUSTER, clients: tuple[type, ...] = (),
                 human: TextIO | None = None) -> None:
        self.name = name
        self.addresses = dict(addresses)
        self.cluster = cluster
        self.clients = clients
        self.human = human
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.t0 = time.monotonic()
        self.loop = asyncio.get_running_loop()
        self.timers: dict[str, asyncio.TimerHandle] = {}
        self.writers: dict[str, asyncio.StreamWriter] = {}
        self.return_paths: dict[str, asyncio.StreamWriter] = {}  # clients, on their connection
        self.queues: dict[str, asyncio.Queue] = {}
        self.senders: dict[str, asyncio.Task] = {}
        self.tasks: set[asyncio.Task] = set()
        self.unreachable: set[str] = set()
        self.changed = asyncio.Event()
        self.error: BaseException | None = None
        self.server: asyncio.AbstractServer | None = None
        self.call: CallRecord | None = None
        self.status: dict | None = None
        self._events = open(self.data_dir / f"{name}.events.jsonl", "a")  # noqa: SIM115
        boots = self.data_dir / f"{name}.incarnation"
        incarnation = int(boots.read_text()) + 1 if boots.exists() else 0
        boots.write_text(str(incarnation))
        self.persister = FilePersister(self.data_dir, name, on_dirty=self._commit_soon)
        self.held: list[tuple[str, Any]] = []  # sent while a save was pending: wait for it
        self.ctx = RealContext(self, name, incarnation, seed, self.persister)
        self.node = factory()
        self.node.ctx = self.ctx

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        address = self.addresses.get(self.name)
        if isinstance(address, str):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(address)
            self.server = await asyncio.start_unix_server(self._serve, path=address)
        elif address is not None:
            host, port = address
            self.server = await asyncio.start_server(self._serve, host, port)
        self._run(self.node.on_start)

    async def close(self) -> None:
        if self.error is None:
            with contextlib.suppress(OSError):
                self._commit()  # a stop, not a crash: what was saved is kept
        self.ctx.alive = False
        for handle in self.timers.values():
            handle.cancel()
        for task in [*self.tasks, *self.senders.values()]:
            task.cancel()
        for w in [*self.writers.values(), *self.return_paths.values()]:
            w.close()
        if self.server is not None:
            self.server.close()
        self.persister.close()
        self._events.close()

    def _run(self, handler: Callable[..., None], *args: Any) -> None:
        """Run one event handler; remember the first exception and stop."""
        if self.error is not None or not self.ctx.alive:
            return
        try:
            handler(*args)
        except BaseException as e:  # handed to run_node's caller
            self.error = e
        self._note_status()
        self.changed.set()

    def _note_status(self) -> None:
        status = getattr(self.node, "status", None)
        if status is None:
            return
        now = status()
        if now != self.status:
            old, self.status = self.status or {}, now
            self.log("status", now)
            self.tell(", ".join(f"{k} {old[k]} -> {v}" if k in old else f"{k} {v}"
                                for k, v in now.items() if k not in old or old[k] != v))

    def tell(self, line: str) -> None:
        """One line for a person (when ``human`` is set)."""
        if self.human is not None:
            now = time.time()
            stamp = time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1000):03d}"
            self.human.write(f"{stamp} {self.name}: {line}\n")  # one write: lines of
            self.human.flush()                                    # processes stay whole

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
        """A connection someone opened to this node: a hello, then their frames."""
        peer = None
        try:
            payload = await read_frame(reader)
            if payload is None:
                return
            peer, cluster = parse_hello(payload)
            if peer in self.addresses:
                expected = self.cluster
            elif self.clients:
                expected = self.cluster.partition("/")[0]
            else:
                raise ConnectionError(f"hello from unknown node {peer!r}")
            if cluster != expected:
                raise ConnectionError(f"{peer!r} is of cluster {cluster!r}, not {expected!r}")
            await self._read(peer, reader, writer)
        except (ConnectionError, OSError) as e:
            self.log("bad-connection", {"peer": peer, "error": str(e)})
            self.tell(f"closed a connection{f' from {peer}' if peer else ''}: {e}")
        except asyncio.CancelledError:
            pass  # the node is shutting down
        finally:
            if peer is not None and self.return_paths.get(peer) is writer:
                self._forget_client(peer)
            writer.close()

    async def _read(self, peer: str, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter | None) -> None:
        """Hand ``peer``'s frames to the node until the connection ends; a client's
        connection (``writer`` given) becomes its return path."""
        while True:
            payload = await read_frame(reader)
            if payload is None:
                return
            item = self._admit(peer, payload)
            if item is None:
                continue
            if writer is not None and peer not in self.addresses:
                self.return_paths[peer] = writer
            self._run(self.node.on_message, *item)

    def _admit(self, peer: str, payload: bytes) -> tuple[str, Any] | None:
        """The frame's (src, msg) if the node may see it; else None, and one log line."""
        try:
            src, msg = parse_frame(payload)
        except FrameError as e:
            self.drop(str(e))
            return None
        if src != peer:
            self.drop(f"{type(msg).__name__} from {src!r} on the connection of {peer!r}")
            return None
        if src not in self.addresses and not isinstance(msg, self.clients):
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

    def _forget_client(self, client: str) -> None:
        """A client's connection ended: nothing more can reach it."""
        self.return_paths.pop(client, None)
        self.queues.pop(client, None)
        task = self.senders.pop(client, None)
        if task is not None:
            task.cancel()

    # ---------------------------------------------------------------- outgoing

    # Group commit: a handler's save only marks the state pending, and every message sent
    # while a save is pending is held. One flush at the next turn of the loop writes the
    # state of all the handlers that ran in between with one fsync, then sends what they
    # held, in order: no message leaves before the state it may depend on is on disk.

    def _commit_soon(self) -> None:
        self.loop.call_soon(self._commit)

    def _commit(self) -> None:
        try:
            self.persister.flush()
        except OSError as e:  # a disk that refuses a write stops the node, as a bug does
            self.error = e
            self.changed.set()
            return
        held, self.held = self.held, []
        for dst, msg in held:
            self._send_now(dst, msg)

    def send(self, dst: str, msg: Any) -> None:
        if self.persister.pending:
            self.held.append((dst, msg))
        else:
            self._send_now(dst, msg)

    def _send_now(self, dst: str, msg: Any) -> None:
        if dst == self.name:
            self.loop.call_soon(self._run, self.node.on_message, self.name, msg)
            return
        if dst not in self.addresses and dst not in self.return_paths:
            self.log("send-unknown-node", {"dst": dst, "msg": type(msg).__name__})
            if not is_reply(msg):
                self.loop.call_soon(self._run, self.node.on_send_failed, dst, msg)
            return
        q = self.queues.get(dst)
        if q is None:
            q = self.queues[dst] = asyncio.Queue()
            self.senders[dst] = self.loop.create_task(self._sender(dst, q))
        q.put_nowait(msg)

    async def _sender(self, dst: str, q: asyncio.Queue) -> None:
        """Write ``dst``'s queue in order; on failure report the requests and reconnect."""
        while True:
            msg = await q.get()
            try:
                writer = (self.writers.get(dst) or self.return_paths.get(dst)
                          or await self._connect(dst))
                writer.write(frame(self.name, msg))
                await writer.drain()
            except (OSError, ConnectionError) as e:
                self._lost(dst, e)
                if not is_reply(msg):
                    self._run(self.node.on_send_failed, dst, msg)

    async def _connect(self, dst: str) -> asyncio.StreamWriter:
        address = self.addresses.get(dst)
        if address is None:
            raise ConnectionError(f"no connection to {dst!r} any more")
        if isinstance(address, str):
            reader, writer = await asyncio.open_unix_connection(address)
        else:
            reader, writer = await asyncio.open_connection(*address)
        writer.write(hello_frame(self.name, self.cluster))
        self.writers[dst] = writer
        task = self.loop.create_task(self._replies(dst, reader, writer))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        if dst in self.unreachable:
            self.unreachable.discard(dst)
            self.tell(f"connected to {dst} again")
            self.log("reconnect", {"peer": dst})
        return writer

    async def _replies(self, dst: str, reader: asyncio.StreamReader,
                       writer: asyncio.StreamWriter) -> None:
        """What comes back on a connection this node opened (a server's replies to a
        clerk); its end tells that ``dst`` is gone."""
        try:
            await self._read(dst, reader, None)
            error: BaseException = ConnectionError("closed by the peer")
        except (ConnectionError, OSError) as e:
            error = e
        except asyncio.CancelledError:
            return
        if self.writers.get(dst) is writer:
            self._lost(dst, error)

    def _lost(self, dst: str, error: BaseException) -> None:
        bad = self.writers.pop(dst, None)
        if bad is not None:
            bad.close()
        if dst in self.return_paths:
            self._forget_client(dst)
        elif dst not in self.unreachable:
            self.unreachable.add(dst)
            self.tell(f"lost the connection to {dst} ({error or type(error).__name__})")
            self.log("disconnect", {"peer": dst, "error": str(error)})

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

    def begin_call(self, input: Any) -> CallRecord:
        """Give the clerk its next call; its record, completed when the clerk answers."""
        if self.call is not None and not self.call.done:
            raise RuntimeError(f"clerk {self.name} has a call left open")
        self.call = CallRecord(self.name, input, self.ctx.now())
        self._run(self.node.on_call, input)  # type: ignore[attr-defined]
        return self.call

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
    **options: Any,
) -> Node:
    """Run node ``name`` in this process until ``until(node)`` holds or ``timeout`` passes.

    Returns the node (so a caller can read its final state). Raises the first exception a
    handler raised. With neither ``until`` nor ``timeout`` it runs until interrupted.
    ``options`` go to :class:`Runtime` (cluster, clients, human).
    """
    if name not in addresses:
        raise ValueError(f"no address for node {name!r}")

    async def main() -> Node:
        rt = Runtime(name, factory, addresses, data_dir, seed, **options)
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
                record = rt.begin_call(value)
                records.append(record)
                if not await rt.wait(lambda _n: record.done, timeout):  # noqa: B023
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
