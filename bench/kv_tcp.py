"""A real 3-node faultlab KV cluster on loopback beside PySyncObj (not a test; issue 15's bench).

    python bench/kv_tcp.py                       # raft, 1/8/32 clients, 5 s a point
    python bench/kv_tcp.py --engine paxos --seconds 3 --clients 8
    python bench/kv_tcp.py --pso memory          # PySyncObj's defaults only
    python bench/kv_tcp.py --repeat 2            # every point twice: the spread

Both sides run 3 server processes on 127.0.0.1 and are driven by the same clients: N
coroutines in one asyncio loop in this process, each looping for ``--seconds`` (after
``--warmup`` seconds not counted) on its own 8 keys, half Puts and half Gets (``--puts``),
each call waiting for its answer before the next. Printed per client count: completed calls
per second, p50 and p99 latency (call to answer, monotonic clock) of each side, and the
ratios faultlab / PySyncObj of throughput and of p99, measured in the same run.

faultlab: ``LocalCluster`` (``faultlab serve kv`` processes, default maxraftstate), clients
are :class:`RealClerk` s, one connection each, retrying as the clerk does. Every Get goes
through the log. Durability: every save of a server's state is on disk (appended to its log
and fdatasynced; saves of one turn of the event loop share one fdatasync) before any message
that depends on it is sent, and a Raft leader acknowledges a Put only once a majority has it
on disk.

PySyncObj (``pip install pysyncobj``, optional extra ``bench``): 3 processes of this file
(``--pso-node``), each a ``SyncObj`` holding a ``ReplDict``. PySyncObj is a library embedded
in an application, which then serves its own clients; so each process also runs a small TCP
front end (length-prefixed JSON, one asyncio loop in the main thread; the SyncObj ticks on
its own thread, as it does by default), and each client holds one connection to the
leader's front end (found before the clock starts, as faultlab's clerks find the leader). A
Put is ``ReplDict.set`` with a callback that answers once the command is applied; a Get is
a replicated read (a ``@replicated`` getter on a ReplDict subclass) so that, as on
faultlab's side, every Get goes through the log (``ReplDict.get`` answers from the local
copy, which may be stale). ``--pso`` picks the settings, a row each (default: all three):
``memory`` is PySyncObj's defaults (journal in memory; commands wait for the tick, which
sends AppendEntries every 100 ms or when something was applied), ``file`` the same with its
file journal, ``nobatch`` its ``appendEntriesUseBatch=False`` (each command replicated at
once: its low-latency setting).

Durability differs, and the table says so: PySyncObj has no fsync anywhere. Its default
journal is in memory; its file journal writes each entry into an mmap that is not flushed
while running (the term/vote file is rewritten at once, without fsync). A machine crash can
lose acknowledged writes there; on faultlab's side it cannot. PySyncObj's servers log
"truncating already-applied log entries ... may have diverged" when a repeated
AppendEntries makes them cut and re-append entries they applied; the table counts those
lines (the bench does not check PySyncObj's replicas). Figures on a shared 2-core machine
are noisy: use ``--repeat`` and read the ranges.

If pysyncobj is not installed, faultlab's side runs alone and a line says so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from faultlab.kv.local_cluster import LocalCluster, free_ports
from faultlab.kv.process import RealClerk

CALL_TIMEOUT = 10.0
KEYS_PER_CLIENT = 8


def workload(i: int, n: int, puts: float) -> tuple[str, str, str | None]:
    """Client ``i``'s ``n``-th call: (op, key, value); the same on both sides. Deterministic:
    the puts fraction is spread evenly over the calls."""
    key = f"c{i}-k{n % KEYS_PER_CLIENT}"
    if int((n + 1) * puts) > int(n * puts):
        return "put", key, f"v{i}.{n}"
    return "get", key, None


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    k = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[k]


class Result:
    """Completed calls, their latencies and the failures of one measured point."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.latencies: list[float] = []
        self.failures = 0
        self.warnings = 0   # PySyncObj's "state machine may have diverged" lines

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def p(self, q: float) -> float:
        return percentile(sorted(self.latencies), q)


async def drive(clients: int, warmup: float, seconds: float, puts: float, call) -> Result:
    """Run ``clients`` loops of ``call(i, n, op, key, value)`` (an awaitable of the call's
    latency, or None for a failure, which ends that client); count the calls that start
    and end inside the measured window."""
    loop = asyncio.get_running_loop()
    start = loop.time() + warmup
    end = start + seconds
    result = Result(seconds)

    async def one(i: int) -> None:
        n = 0
        while loop.time() < end:
            began = loop.time()
            latency = await call(i, n, *workload(i, n, puts))
            n += 1
            if began >= start and loop.time() <= end:
                if latency is None:
                    result.failures += 1
                else:
                    result.latencies.append(latency)
            if latency is None:
                return  # a clerk with an open call cannot make another

    await asyncio.gather(*(one(i) for i in range(clients)))
    return result


# ---------------------------------------------------------------------------- faultlab


def faultlab_point(engine: str, clients: int, warmup: float, seconds: float,
                   puts: float) -> Result:
    with tempfile.TemporaryDirectory(prefix="kvtcp-") as tmp, \
            LocalCluster(3, Path(tmp), engine=engine) as cluster:
        wait_for(lambda: cluster.leader() is not None, 20.0, "faultlab elected no leader")
        return asyncio.run(_faultlab_clients(cluster, clients, warmup, seconds, puts))


async def _faultlab_clients(cluster: LocalCluster, clients: int, warmup: float,
                            seconds: float, puts: float) -> Result:
    clerks = [await RealClerk(cluster.config).start() for _ in range(clients)]
    try:
        async def call(i: int, n: int, op: str, key: str, value: str | None) -> float | None:
            request = {"op": op, "key": key} if value is None else \
                {"op": op, "key": key, "value": value}
            rec = await clerks[i].call(request, CALL_TIMEOUT)
            return None if rec.ret is None else rec.ret - rec.call

        return await drive(clients, warmup, seconds, puts, call)
    finally:
        for c in clerks:
            await c.close()


def wait_for(ready, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit(f"kv_tcp: {what} within {timeout:.0f} s")
        time.sleep(0.1)


# ---------------------------------------------------------------------------- PySyncObj


def have_pysyncobj() -> bool:
    try:
        import pysyncobj  # noqa: F401
    except ImportError:
        return False
    return True


async def _send(writer: asyncio.StreamWriter, obj: object) -> None:
    data = json.dumps(obj).encode()
    writer.write(len(data).to_bytes(4, "big") + data)
    await writer.drain()


async def _recv(reader: asyncio.StreamReader) -> object:
    n = int.from_bytes(await reader.readexactly(4), "big")
    return json.loads(await reader.readexactly(n))


def pso_node(index: int, raft_ports: list[int], front_port: int, journal: str | None,
             batch: bool) -> None:
    """One PySyncObj server and its front end (see the module docstring); ends when its
    standard input does (its supervisor is gone)."""
    from pysyncobj import FAIL_REASON, SyncObj, SyncObjConf, replicated
    from pysyncobj.batteries import ReplDict

    class ReadableDict(ReplDict):
        @replicated
        def read(self, key):
            return self.get(key, "")

    store = ReadableDict()
    addrs = [f"127.0.0.1:{p}" for p in raft_ports]
    conf = SyncObjConf(journalFile=journal, appendEntriesUseBatch=batch)
    node = SyncObj(addrs[index], addrs[:index] + addrs[index + 1:], consumers=[store],
                   conf=conf)

    def watch_stdin() -> None:
        sys.stdin.buffer.read()
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                req = await _recv(reader)
                if req[0] == "status":
                    await _send(writer, {"leader": node._isLeader(), "ready": node.isReady()})
                    continue
                done = loop.create_future()

                def callback(res, err, done=done):
                    loop.call_soon_threadsafe(done.set_result,
                                              (res, err == FAIL_REASON.SUCCESS))

                if req[0] == "put":
                    store.set(req[1], req[2], callback=callback)
                else:
                    store.read(req[1], callback=callback)
                value, ok = await done
                await _send(writer, [ok, value])
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", front_port)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


class PySyncObjCluster:
    """Three ``--pso-node`` processes of this file, stopped on exit; their stderr goes to
    files in ``data`` (:meth:`warnings` counts what they say of divergence)."""

    def __init__(self, data: Path, variant: str) -> None:
        ports = free_ports(6)
        self.raft, self.front = ports[:3], ports[3:]
        self.data, self.variant = data, variant
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> PySyncObjCluster:
        for i in range(3):
            cmd = [sys.executable, __file__, "--pso-node", str(i),
                   "--pso-ports", ",".join(map(str, self.raft + self.front))]
            if self.variant == "nobatch":
                cmd.append("--pso-no-batch")
            if self.variant == "file":
                cmd += ["--pso-journal-file", str(self.data / f"journal{i}.bin")]
            with open(self.data / f"node{i}.log", "w") as log:
                self.procs.append(subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                                   stdout=subprocess.DEVNULL, stderr=log))
        return self

    def __exit__(self, *exc: object) -> None:
        for p in self.procs:
            p.stdin.close()
        for p in self.procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def warnings(self) -> int:
        """Lines of the servers' logs that say a state machine may have diverged."""
        return sum(path.read_text().count("diverged") for path in self.data.glob("node*.log"))

    async def leader_port(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for port in self.front:
                try:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                except OSError:
                    continue
                await _send(writer, ["status"])
                status = await _recv(reader)
                writer.close()
                if status["leader"] and status["ready"]:
                    return port
            await asyncio.sleep(0.2)
        raise SystemExit(f"kv_tcp: PySyncObj elected no leader within {timeout:.0f} s")


def pysyncobj_point(variant: str, clients: int, warmup: float, seconds: float,
                    puts: float) -> Result:
    with tempfile.TemporaryDirectory(prefix="kvtcp-pso-") as tmp:
        with PySyncObjCluster(Path(tmp), variant) as cluster:
            result = asyncio.run(_pso_clients(cluster, clients, warmup, seconds, puts))
        result.warnings = cluster.warnings()
        return result


async def _pso_clients(cluster: PySyncObjCluster, clients: int, warmup: float,
                       seconds: float, puts: float) -> Result:
    port = await cluster.leader_port()
    conns = [await asyncio.open_connection("127.0.0.1", port) for _ in range(clients)]
    loop = asyncio.get_running_loop()
    try:
        async def call(i: int, n: int, op: str, key: str, value: str | None) -> float | None:
            reader, writer = conns[i]
            began = loop.time()
            await _send(writer, [op, key, value])
            try:
                ok, _ = await asyncio.wait_for(_recv(reader), CALL_TIMEOUT)
            except TimeoutError:
                return None
            return loop.time() - began if ok else None

        return await drive(clients, warmup, seconds, puts, call)
    finally:
        for _, writer in conns:
            writer.close()


# ---------------------------------------------------------------------------- the table


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def spread(values: list[float], fmt) -> str:
    """The median of repeated figures, with their range when there are several."""
    if not values:
        return "-"
    values = sorted(values)
    mid = statistics.median(values)
    if len(values) == 1:
        return fmt(mid)
    return f"{fmt(mid)} ({fmt(values[0])}-{fmt(values[-1])})"


PSO_VARIANTS = {
    "memory": "PySyncObj's defaults (journal in memory, commands batched each tick)",
    "file": "its file journal (mmap'd, never flushed while running), batched",
    "nobatch": "journal in memory, appendEntriesUseBatch=False (each command sent at once)",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["raft", "paxos"], default="raft")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds a point")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before measuring")
    parser.add_argument("--clients", default="1,8,32", help="client counts, comma-separated")
    parser.add_argument("--puts", type=float, default=0.5, help="fraction of calls that Put")
    parser.add_argument("--pso", default=",".join(PSO_VARIANTS),
                        help="PySyncObj settings to run, comma-separated "
                        f"({', '.join(PSO_VARIANTS)}; 'none' for faultlab alone)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of every point")
    parser.add_argument("--pso-node", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--pso-ports", help=argparse.SUPPRESS)
    parser.add_argument("--pso-journal-file", help=argparse.SUPPRESS)
    parser.add_argument("--pso-no-batch", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pso_node is not None:
        ports = [int(p) for p in args.pso_ports.split(",")]
        pso_node(args.pso_node, ports[:3], ports[3 + args.pso_node], args.pso_journal_file,
                 not args.pso_no_batch)
        return
    if not args.seconds > 0 or not args.warmup >= 0 or not 0 <= args.puts <= 1:
        parser.error("--seconds must be > 0, --warmup >= 0 and --puts in [0, 1]")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    try:
        counts = [int(c) for c in args.clients.split(",")]
    except ValueError:
        parser.error(f"--clients must be whole numbers, comma-separated: {args.clients!r}")
    variants = [] if args.pso == "none" else args.pso.split(",")
    unknown = set(variants) - set(PSO_VARIANTS)
    if unknown:
        parser.error(f"unknown --pso setting {', '.join(sorted(unknown))} "
                     f"(one of {', '.join(PSO_VARIANTS)}, or none)")
    if variants and not have_pysyncobj():
        print("kv_tcp: pysyncobj is not installed (pip install -e '.[bench]'): "
              "faultlab's side only")
        variants = []
    print(f"3 servers on 127.0.0.1, faultlab engine {args.engine}; {args.warmup:g} s warm-up, "
          f"then {args.seconds:g} s a point; {args.puts:.0%} Puts, the rest Gets through the "
          f"log; {args.repeat} run(s) a point: median (min-max)")
    print("faultlab fsyncs every save before sending what depends on it; PySyncObj never "
          "fsyncs. PySyncObj settings:")
    for v in variants:
        print(f"  {v:8} {PSO_VARIANTS[v]}")
    print(f"{'clients':>7} {'faultlab ops/s':>16} {'p50 ms':>15} {'p99 ms':>17}  "
          f"{'pso':8} {'pso ops/s':>16} {'p50 ms':>15} {'p99 ms':>17} "
          f"{'ops ratio':>9} {'p99 ratio':>9}")
    for clients in counts:
        fl = [faultlab_point(args.engine, clients, args.warmup, args.seconds, args.puts)
              for _ in range(args.repeat)]
        head = (f"{clients:>7} {spread([r.rate for r in fl], '{:.0f}'.format):>16} "
                f"{spread([r.p(0.5) for r in fl], ms):>15} "
                f"{spread([r.p(0.99) for r in fl], ms):>17}")
        notes = notes_of(fl, "faultlab")
        if not variants:
            print(head + notes, flush=True)
        for variant in variants:
            ps = [pysyncobj_point(variant, clients, args.warmup, args.seconds, args.puts)
                  for _ in range(args.repeat)]
            # a run in which a side completed nothing has no ratio
            pairs = [(a, b) for a, b in zip(fl, ps, strict=True) if a.latencies and b.latencies]
            ratio = [a.rate / b.rate for a, b in pairs]
            p99 = [a.p(0.99) / b.p(0.99) for a, b in pairs]
            print(f"{head}  {variant:8} {spread([r.rate for r in ps], '{:.0f}'.format):>16} "
                  f"{spread([r.p(0.5) for r in ps], ms):>15} "
                  f"{spread([r.p(0.99) for r in ps], ms):>17} "
                  f"{spread(ratio, '{:.2f}'.format):>9} {spread(p99, '{:.2f}'.format):>9}"
                  + notes + notes_of(ps, "pso"), flush=True)


def notes_of(results: list[Result], side: str) -> str:
    """What went wrong in a point's runs, if anything: failed calls, divergence warnings."""
    failures = sum(r.failures for r in results)
    warnings = sum(r.warnings for r in results)
    out = f"  {side}: {failures} calls failed" if failures else ""
    idle = sum(1 for r in results if not r.latencies)
    if idle:
        out += f"  {side}: {idle} run(s) completed no call in the window"
    if warnings:
        out += f"  {side}: {warnings} 'may have diverged' warnings"
    return out


if __name__ == "__main__":
    main()
