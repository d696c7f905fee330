"""The lab 2 tester (6.824 2022 ``src/raft/config.go``) on the World, in virtual time.

What config.go does with goroutines and sleeps happens here by running the World's seeded
scheduler: ``sleep(d)`` is ``world.run_for(d)``, and every budget (5 s to elect, 10 s and 2 s
in ``one``, the back-off of ``wait``, 120 s per test) is virtual time. Every test gets its own
seed (from its name, or ``FAULTLAB_SEED``), printed at the start, and every failure message
carries it. ``FAULTLAB_TRACE_DIR=DIR`` writes each test's abstract-state trace to
``DIR/<test>.jsonl``.

Crash, restart and disconnect follow B.0.3: ``crash1`` disconnects the server and crashes it
(its persister survives, a copy goes to the next incarnation); ``start1`` restarts it, still
disconnected, and in snapshot mode the persisted snapshot comes back first (Raft hands it
to the applier at start, the consensus contract's restart rule; config.go reads it itself);
``connect``/``disconnect`` enable or cut every link between the server and the connected
ones.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import IO, Any

from faultlab.raft.checks import Applier
from faultlab.raft.raft import Raft
from faultlab.raft.server import build_cluster, server_names
from faultlab.sim.network import LONG_REORDERING, RELIABLE, UNRELIABLE, NetworkProfile
from faultlab.tools.seeds import seed_for
from faultlab.tools.trace import TraceRecorder, trace_path

RAFT_ELECTION_TIMEOUT = 1.0   # the tester's notion of "one election" (seconds)
SNAPSHOT_INTERVAL = 10
MAX_LOG_SIZE = 2000
LONG_DELAYS_MS = 7000         # LongDelays(true): unreachable peers fail after 0-7 s


def long_delays(profile: NetworkProfile) -> NetworkProfile:
    return dataclasses.replace(profile, name=f"{profile.name}+long-delays",
                               max_unreachable_report_ms=LONG_DELAYS_MS)


RELIABLE_NET = long_delays(RELIABLE)
UNRELIABLE_NET = long_delays(UNRELIABLE)
REORDERING_NET = long_delays(LONG_REORDERING)


Sleeps = Generator[float, None, Any]  # a tester "goroutine": yields the seconds it sleeps


@dataclass(order=True)
class Task:
    wake: int  # virtual time in microseconds
    seq: int
    gen: Sleeps = field(compare=False)
    done: bool = field(default=False, compare=False)
    result: Any = field(default=None, compare=False)


class Config:
    """One test's cluster and the helpers of config.go (names kept, in snake case)."""

    def __init__(self, name: str, n: int, unreliable: bool = False, snapshot: bool = False,
                 seed: int | None = None) -> None:
        self.name = name
        self.n = n
        self.seed = seed_for(name) if seed is None else seed
        self.rng = random.Random(f"tester:{self.seed}")   # the test's own rand
        self.names = server_names(n)
        self.applier = Applier(self.names, SNAPSHOT_INTERVAL if snapshot else None,
                               context=self._where_suffix())
        self.world = build_cluster(self.seed, n, UNRELIABLE_NET if unreliable else RELIABLE_NET,
                                   on_apply=self.applier.apply, on_boot=self.applier.boot,
                                   record_steps=False)
        self.connected = [True] * n
        self.wall0 = time.perf_counter()
        self.trace: TraceRecorder | None = None
        self._trace_file: IO[str] | None = None
        path = trace_path(f"{name}.jsonl")
        if path is not None:
            self._trace_file = path.open("w")
            self.trace = TraceRecorder(self.world, "raft", self._trace_file)
        print(f"\n{name}: seed {self.seed} (set FAULTLAB_SEED={self.seed} to replay)")
        self.begin_desc = ""
        self.t0 = 0.0
        self.wall_t0 = 0.0
        self.rpcs0 = self.bytes0 = self.cmds0 = 0
        self.max_index0 = 0
        self.tasks: list[Task] = []
        self._task_seq = 0
        self._task_error: BaseException | None = None

    # ------------------------------------------------------------------ failures

    def _where_suffix(self) -> str:
        return f" [{self.name}, seed {self.seed}; FAULTLAB_SEED={self.seed} replays it]"

    def fatal(self, message: str) -> None:
        raise AssertionError(f"{message} (at {self.world.now:.3f}s virtual)"
                             f"{self._where_suffix()}")

    # ------------------------------------------------------------------ time

    @property
    def now(self) -> float:
        return self.world.now

    def sleep(self, seconds: float) -> None:
        """time.Sleep in the test's main goroutine: the World runs, and so do the test's
        background goroutines (:meth:`go`) whose sleeps end meanwhile."""
        w = self.world
        target = w.now_us + round(seconds * 1_000_000)
        while True:
            self._check_tasks()
            due = min((t.wake for t in self.tasks if not t.done), default=None)
            if due is None or due > target:
                break
            if due > w.now_us:
                w.run_for((due - w.now_us) / 1_000_000)
            for task in sorted(t for t in self.tasks if not t.done and t.wake <= w.now_us):
                self._resume(task)
        if target > w.now_us:
            w.run_for((target - w.now_us) / 1_000_000)
        self._check_tasks()

    def go(self, gen: Sleeps) -> Task:
        """Start a background goroutine: a generator that yields how long it sleeps."""
        self._task_seq += 1
        task = Task(self.world.now_us, self._task_seq, gen)
        self.tasks.append(task)
        return task

    def join(self, tasks: list[Task]) -> list[Any]:
        """wg.Wait(): run until every task in ``tasks`` returned; their results."""
        while not all(t.done for t in tasks):
            pending = [t.wake for t in self.tasks if not t.done]
            self.sleep(max(0, min(pending) - self.world.now_us) / 1_000_000)
        return [t.result for t in tasks]

    def _resume(self, task: Task) -> None:
        try:
            delay = task.gen.send(None)
        except StopIteration as stop:
            task.done, task.result = True, stop.value
            self.tasks.remove(task)
            return
        except BaseException as e:  # a Fatalf in a goroutine fails the test
            task.done = True
            self.tasks.remove(task)
            self._task_error = e
            return
        task.wake = self.world.now_us + round(delay * 1_000_000)

    def _check_tasks(self) -> None:
        if self._task_error is not None:
            error, self._task_error = self._task_error, None
            raise error

    def drive(self, gen: Sleeps) -> Any:
        """Run a goroutine-style helper in the main goroutine; its result."""
        try:
            delay = next(gen)
            while True:
                self.sleep(delay)
                delay = gen.send(None)
        except StopIteration as stop:
            return stop.value

    # ------------------------------------------------------------------ servers

    def raft(self, i: int) -> Raft | None:
        """cfg.rafts[i]: the live Raft of server i (None while crashed)."""
        node = self.world.nodes.get(self.names[i])
        return node.raft if node is not None else None  # type: ignore[attr-defined]

    def start(self, i: int, command: Any) -> tuple[int, int, bool]:
        """rf.Start(command) on server i (recorded in the trace as a step)."""
        r = self.raft(i)
        if r is None:
            return -1, 0, False
        result = r.start(command)
        if self.trace is not None:
            self.trace(self.world, ("start", self.names[i], command))
        return result

    def get_state(self, i: int) -> tuple[int, bool]:
        r = self.raft(i)
        assert r is not None, f"server {i} is crashed"
        return r.get_state()

    def _apply_links(self) -> None:
        w = self.world
        w.heal()
        for i in range(self.n):
            if not self.connected[i]:
                w.isolate(self.names[i])

    def connect(self, i: int) -> None:
        self.connected[i] = True
        self._apply_links()

    def disconnect(self, i: int) -> None:
        self.connected[i] = False
        self._apply_links()

    def crash1(self, i: int) -> None:
        self.disconnect(i)
        if self.names[i] not in self.world.crashed:
            self.world.crash(self.names[i])

    def start1(self, i: int) -> None:
        """Restart server i from its persisted state (still disconnected)."""
        self.crash1(i)
        self.world.restart(self.names[i])

    def set_unreliable(self, unreliable: bool) -> None:
        self.world.set_profile(UNRELIABLE_NET if unreliable else RELIABLE_NET)

    def set_long_reordering(self) -> None:
        self.world.set_profile(REORDERING_NET)

    def log_size(self) -> int:
        """The largest Raft state size among servers."""
        return max(p.state_size() for p in self.world.persisters.values())

    def rpc_total(self) -> int:
        return self.world.counters.requests

    def bytes_total(self) -> int:
        return self.world.counters.bytes

    # ------------------------------------------------------------------ checks

    def check_one_leader(self) -> int:
        for _ in range(10):
            self.sleep((450 + self.rng.randrange(100)) / 1000)
            leaders: dict[int, list[int]] = {}
            for i in range(self.n):
                if self.connected[i]:
                    term, is_leader = self.get_state(i)
                    if is_leader:
                        leaders.setdefault(term, []).append(i)
            last_term = -1
            for term, ls in leaders.items():
                if len(ls) > 1:
                    self.fatal(f"term {term} has {len(ls)} (>1) leaders")
                last_term = max(last_term, term)
            if leaders:
                return leaders[last_term][0]
        self.fatal("expected one leader, got none")
        raise AssertionError  # unreachable

    def check_terms(self) -> int:
        term = -1
        for i in range(self.n):
            if self.connected[i]:
                xterm, _ = self.get_state(i)
                if term == -1:
                    term = xterm
                elif term != xterm:
                    self.fatal("servers disagree on term")
        return term

    def check_no_leader(self) -> None:
        for i in range(self.n):
            if self.connected[i]:
                _, is_leader = self.get_state(i)
                if is_leader:
                    self.fatal(f"expected no leader among connected servers, "
                               f"but {i} claims to be leader")

    def n_committed(self, index: int) -> tuple[int, Any]:
        return self.applier.n_committed(index)

    def wait(self, index: int, n: int, start_term: int) -> Any:
        to = 0.010
        for _ in range(30):
            nd, _ = self.n_committed(index)
            if nd >= n:
                break
            self.sleep(to)
            if to < 1.0:
                to *= 2
            if start_term > -1:
                for i in range(self.n):
                    r = self.raft(i)
                    if r is not None and r.get_state()[0] > start_term:
                        return -1  # someone moved on; can no longer guarantee we'll win
        nd, cmd = self.n_committed(index)
        if nd < n:
            self.fatal(f"only {nd} decided for index {index}; wanted {n}")
        return cmd

    def one(self, cmd: Any, expected_servers: int, retry: bool) -> int:
        """Do a complete agreement on ``cmd``: for up to 10 s find a leader that takes it,
        then for up to 2 s wait for ``expected_servers`` servers to apply it; its index."""
        return self.drive(self.one_go(cmd, expected_servers, retry))

    def one_go(self, cmd: Any, expected_servers: int, retry: bool) -> Sleeps:
        t0 = self.now
        starts = 0
        while self.now - t0 < 10:
            index = -1
            for _ in range(self.n):
                starts = (starts + 1) % self.n
                if self.connected[starts] and self.raft(starts) is not None:
                    index1, _, ok = self.start(starts, cmd)
                    if ok:
                        index = index1
                        break
            if index != -1:
                t1 = self.now
                while self.now - t1 < 2:
                    nd, cmd1 = self.n_committed(index)
                    if nd > 0 and nd >= expected_servers and cmd1 == cmd:
                        return index
                    yield 0.020
                if not retry:
                    self.fatal(f"one({cmd!r}) failed to reach agreement")
            else:
                yield 0.050
        self.fatal(f"one({cmd!r}) failed to reach agreement")

    # ------------------------------------------------------------------ begin / end

    def begin(self, description: str) -> None:
        print(f"{description} ...")
        self.begin_desc = description
        self.t0 = self.now
        self.wall_t0 = time.perf_counter()
        self.rpcs0 = self.rpc_total()
        self.bytes0 = self.bytes_total()
        self.cmds0 = self.applier.applied_count
        self.max_index0 = self.applier.max_index

    def end(self) -> None:
        virtual = self.now - self.t0
        if virtual > 120:
            self.fatal("test took longer than 120 seconds (virtual time)")
        wall = time.perf_counter() - self.wall_t0
        npeers = self.n
        nrpc = self.rpc_total() - self.rpcs0
        nbytes = self.bytes_total() - self.bytes0
        ncmds = self.applier.max_index - self.max_index0
        print(f"  ... Passed --  {virtual:5.1f}s virtual  {wall:5.2f}s wall  {npeers} peers  "
              f"{nrpc:6d} rpcs  {nbytes:8d} bytes  {ncmds:4d} cmds")

    def cleanup(self) -> None:
        if self._trace_file is not None:
            self._trace_file.close()
            self._trace_file = None
