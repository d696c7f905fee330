"""A nemesis run against real server processes, as Jepsen does it, on one machine.

A :class:`~faultlab.kv.local_cluster.LocalCluster` of KV servers talks server to server
through :class:`~faultlab.tools.proxy.LinkProxies`; clerks in this process make calls for a
bounded time and count while the nemesis kills servers (SIGKILL, restarted on their data
folders), pauses them (SIGSTOP, then SIGCONT) and partitions them (links cut at the
proxies), half the time aiming at the leader. Every call is timed on the monotonic clock; a
call without an answer within ``op_timeout`` stays in the history as an open operation (it
may or may not have taken effect) and its clerk is replaced. At the end every fault is
healed, and one clerk reads every key. The history is saved as JSON lines
(``<data>/history.jsonl``: ``faultlab check`` audits and draws it again).

The verdict (:attr:`NemesisReport.problems`, empty when all is well): the whole history,
final reads included, is linearizable (an undecided check is a problem too); every
acknowledged append is in its key's final value; the cluster answered the final reads; no
server died by itself. The seed fixes the fault schedule and the clerks' operations (the
timing is the machine's own, so a run is repeatable in what it does, not to the
microsecond).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from faultlab.checker.formats.jsonl import write_history
from faultlab.checker.linearizability import CheckResult, Verdict, check
from faultlab.kv.local_cluster import LocalCluster, free_ports
from faultlab.kv.process import RealClerk
from faultlab.sim.world import CallRecord
from faultlab.tools.history import operations_of
from faultlab.tools.proxy import LinkProxies

__all__ = ["NemesisOptions", "NemesisReport", "run_nemesis", "run_until_failure", "FAULTS"]

FAULTS = ("kill", "pause", "partition")
APPEND_KEYS = ("a0", "a1", "a2", "a3")
REGISTER_KEYS = ("r0", "r1")


@dataclass(frozen=True)
class NemesisOptions:
    nodes: int = 3
    engine: str = "raft"
    seconds: float = 10.0          # of clients and faults (the final reads come after)
    max_ops: int = 20_000
    clients: int = 5
    seed: int = 0
    faults: tuple[str, ...] = FAULTS
    op_timeout: float = 1.5
    seeded_bug: str | None = None  # run servers with this bug (see faultlab.kv.bugs)
    check_timeout: float = 60.0


@dataclass
class NemesisReport:
    options: NemesisOptions
    history: list[CallRecord] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)     # "t=3.21 kill s1 (leader)", ...
    final: dict[str, str] = field(default_factory=dict)
    result: CheckResult | None = None
    problems: list[str] = field(default_factory=list)
    history_file: Path | None = None  # the history as JSON lines (faultlab check reads it)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        calls = len(self.history)
        done = sum(r.done for r in self.history)
        o = self.options
        head = (f"nemesis seed {o.seed}: {o.nodes} {o.engine} servers"
                f"{f' with seeded bug {o.seeded_bug}' if o.seeded_bug else ''}, {calls} calls "
                f"({calls - done} open), {len(self.faults)} faults: "
                f"{'OK' if self.ok else 'FAILED'}")
        saved = [f"  history: {self.history_file}"] if self.history_file else []
        return "\n".join([head, *(f"  problem: {p}" for p in self.problems), *saved])


def run_nemesis(options: NemesisOptions, data: Path,
                progress: Callable[[str], None] | None = None) -> NemesisReport:
    """One run (see the module docstring); the servers are stopped when it returns."""
    return asyncio.run(_Run(options, Path(data), progress or (lambda _s: None)).main())


def run_until_failure(options: NemesisOptions, data: Path, runs: int,
                      progress: Callable[[str], None] | None = None
                      ) -> tuple[NemesisReport, int]:
    """Up to ``runs`` runs (seeds ``seed``, ``seed+1``, ...; data in ``data/run-K``) until one
    finds a problem: a nemesis meets a bug by chance, so a hunt is several tries. The last
    report, and how many runs it took."""
    for k in range(1, runs + 1):
        report = run_nemesis(replace(options, seed=options.seed + k - 1), Path(data) / f"run-{k}",
                             progress)
        if not report.ok:
            break
    return report, k


class _Run:
    def __init__(self, options: NemesisOptions, data: Path,
                 progress: Callable[[str], None]) -> None:
        self.o = options
        self.data = data
        self.say = progress
        self.rng = random.Random(options.seed)
        self.report = NemesisReport(options)
        self.origin = time.monotonic()
        self.stop_at = self.origin + options.seconds
        self.killed: set[str] = set()

    def now(self) -> float:
        return time.monotonic() - self.origin

    async def main(self) -> NemesisReport:
        o = self.o
        names = [f"s{i}" for i in range(o.nodes)]
        targets = {n: ("127.0.0.1", p) for n, p in zip(names, free_ports(o.nodes), strict=True)}
        proxies = await LinkProxies(targets).start()
        extra = ("--seeded-bug", o.seeded_bug) if o.seeded_bug else ()
        cluster = LocalCluster(o.nodes, self.data, engine=o.engine,
                               ports=[targets[n][1] for n in names], extra=extra,
                               peer_view=proxies.view)
        self.say(f"nemesis seed {o.seed}: {o.nodes} servers on {o.engine}, {o.clients} "
                 f"clerks, {o.seconds:g} s, faults {','.join(o.faults)}")
        try:
            cluster.start()
            clerks = [asyncio.ensure_future(self._clerk(cluster, i)) for i in range(o.clients)]
            await self._nemesis(cluster, proxies)
            await asyncio.gather(*clerks)
            self._heal(cluster, proxies)
            await self._final_reads(cluster)
            for name, code in sorted(cluster.exited().items()):
                self.report.problems.append(f"server {name} exited by itself (code {code}): "
                                            f"{cluster.log_tail(name, 3)}")
        finally:
            cluster.stop()
            await proxies.close()
        self._judge()
        self.say(self.report.summary())
        return self.report

    # ------------------------------------------------------------------ clerks

    async def _clerk(self, cluster: LocalCluster, i: int) -> None:
        """Calls until the time or the count is up; a clerk whose call timed out is replaced
        (its request may still be in flight: the call stays open in the history)."""
        rng = random.Random(f"{self.o.seed}/clerk/{i}")
        generation, n = 0, 0
        history = self.report.history
        while time.monotonic() < self.stop_at and len(history) < self.o.max_ops:
            async with RealClerk(cluster.config, f"c{i}-{generation}", origin=self.origin,
                                 data_dir=self.data / "clerks" / f"c{i}-{generation}") as clerk:
                while time.monotonic() < self.stop_at and len(history) < self.o.max_ops:
                    n += 1
                    record = await clerk.call(self._operation(rng, i, n), self.o.op_timeout)
                    history.append(record)
                    if not record.done:
                        break
            generation += 1

    @staticmethod
    def _operation(rng: random.Random, i: int, n: int) -> dict:
        r = rng.random()
        if r < 0.55:
            return {"op": "append", "key": rng.choice(APPEND_KEYS), "value": f"<{i}.{n}>"}
        if r < 0.85:
            return {"op": "get", "key": rng.choice(APPEND_KEYS + REGISTER_KEYS)}
        return {"op": "put", "key": rng.choice(REGISTER_KEYS), "value": f"{i}.{n}"}

    # ------------------------------------------------------------------ the nemesis

    async def _nemesis(self, cluster: LocalCluster, proxies: LinkProxies) -> None:
        """One fault at a time: inject, hold, heal, rest; until the time is up."""
        await asyncio.sleep(self.rng.uniform(0.5, 1.0))
        while self.o.faults and time.monotonic() < self.stop_at - 0.5:
            kind = self.rng.choice(self.o.faults)
            victim = self._victim(cluster)
            hold = self.rng.uniform(0.3, 2.0)
            if kind == "kill":
                self._log(f"kill {victim}")
                cluster.kill(victim)
                self.killed.add(victim)
                await asyncio.sleep(hold)
                self._log(f"restart {victim}")
                cluster.start(victim)
                self.killed.discard(victim)
            elif kind == "pause":
                self._log(f"pause {victim}")
                cluster.pause(victim)
                await asyncio.sleep(hold)
                self._log(f"resume {victim}")
                cluster.resume(victim)
            else:
                names = list(cluster.names)
                self.rng.shuffle(names)
                names.remove(victim)
                size = self.rng.randint(1, max(1, (len(names) + 1) // 2))
                minority = [victim, *names[:size - 1]]
                rest = [n for n in cluster.names if n not in minority]
                self._log(f"partition {'+'.join(sorted(minority))} | {'+'.join(sorted(rest))}")
                proxies.partition(minority, rest)
                await asyncio.sleep(hold)
                self._log("heal")
                proxies.heal()
            await asyncio.sleep(self.rng.uniform(0.2, 1.0))

    def _victim(self, cluster: LocalCluster) -> str:
        """The leader half the time (when one is known), else any server."""
        leader = cluster.leader()
        if leader is not None and self.rng.random() < 0.5:
            self._log(f"(aiming at the leader {leader[0]})")
            return leader[0]
        return self.rng.choice(cluster.names)

    def _log(self, what: str) -> None:
        line = f"t={self.now():.2f} {what}"
        self.report.faults.append(line)
        self.say(line)

    def _heal(self, cluster: LocalCluster, proxies: LinkProxies) -> None:
        proxies.heal()
        for name in sorted(cluster.paused):
            cluster.resume(name)
        for name in sorted(self.killed):
            cluster.start(name)
        self.killed.clear()
        self._log("healed everything")

    async def _final_reads(self, cluster: LocalCluster) -> None:
        async with RealClerk(cluster.config, "final", origin=self.origin,
                             data_dir=self.data / "clerks" / "final") as clerk:
            for key in APPEND_KEYS + REGISTER_KEYS:
                record = await clerk.call({"op": "get", "key": key}, 30.0)
                self.report.history.append(record)
                if not record.done:
                    self.report.problems.append(
                        f"the cluster did not answer the final read of {key} within 30 s")
                    return
                self.report.final[key] = record.output

    # ------------------------------------------------------------------ the verdict

    def _judge(self) -> None:
        report = self.report
        ops = operations_of(report.history)
        report.history_file = self.data / "history.jsonl"
        write_history(ops, report.history_file, model="kv", seed=self.o.seed,
                      nemesis=",".join(self.o.faults))
        report.result = result = check(ops, "kv", timeout=self.o.check_timeout)
        if result.verdict is Verdict.ILLEGAL:
            report.problems.append(f"the history of {len(ops)} calls is not linearizable")
        elif result.verdict is Verdict.UNKNOWN:
            report.problems.append(f"linearizability of {len(ops)} calls undecided within "
                                   f"{self.o.check_timeout:g} s (unknown is not a pass)")
        if len(report.final) == len(APPEND_KEYS + REGISTER_KEYS):
            for r in report.history:
                if r.done and r.input["op"] == "append" and \
                        r.input["value"] not in report.final[r.input["key"]]:
                    report.problems.append(f"acknowledged append {r.input['value']} to "
                                           f"{r.input['key']} is not in the final value")
