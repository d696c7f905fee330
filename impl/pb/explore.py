"""The Hypothesis state machine that attacks the primary/backup service.

Hypothesis chooses every step (see :class:`faultlab.tools.explore.WorldMachine`): deliver, drop or
duplicate a message, fire a timer (pings, viewservice ticks, retries: this is how virtual
time passes), crash and restart pbservice servers (the viewservice, like the lab's, never
fails), partition any of the viewservice, the servers and the clerks into two sides, isolate
a server, cut a server off from the viewservice only (as the 2015 partition tests do), heal,
start clerk calls (Get/Put/Append on two keys, with unique values), and let the system run
undisturbed for a while (the seeded scheduler's steps, in time order).

The World starts from one of three points chosen by the seed: nothing happened yet; view 1
formed and acknowledged; or a view with a primary and an initialised backup, acknowledged
(the seeded scheduler runs the first steps; only the steps after that are Hypothesis's).

Checked after every step (by a :class:`ViewMonitor` that watches every World step):

* views only advance by the rule: view n+1 follows view n, it starts only after the primary
  of view n was seen pinging with n, and its primary was the primary or backup of view n;
* at most one server acts as primary for a view: every successful answer a clerk receives
  for view n comes from view n's primary;
* the backup is never behind: while a primary treats its backup as initialised for its view
  and the backup holds that view's state, the backup has applied every Put/Append the
  primary has applied (:func:`backup_behind`).

At teardown (network healed, servers restarted, reliable network) the system must settle:
every call returns and the current view is in service, and then a Get of every key returns
(the lab's "final Put/Get works"; it also reads back any write that was lost) -- unless the
service lost its data for good (both copies crashed, so the view's primary can never serve:
the lab's design cannot recover from that, and the machine then only checks safety).
The history, open calls included, must be linearizable under the
checker's kv model; an unknown verdict (search timeout) is reported as a Hypothesis event.

Seeded-bug variants (``Buggy...`` classes) run one bug each (a subclass of faultlab.pb.bugs).
"""

from __future__ import annotations

from typing import ClassVar

from faultlab.checker.linearizability import Verdict, check
from faultlab.pb.bugs import AdvanceWithoutAck, NoDuplicateDetection, ReplyBeforeBackupAck
from faultlab.pb.cluster import build, vs_view
from faultlab.pb.common import OK, VIEWSERVICE, PBReply, View, VSPing
from faultlab.pb.server import PBServer
from faultlab.pb.viewservice import ViewServer
from faultlab.sim.network import ADVERSARIAL
from faultlab.sim.world import CallTimeout, Envelope, World
from faultlab.tools.explore import CallAll, WorldMachine, pick
from faultlab.tools.history import operations
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

__all__ = ["ViewMonitor", "PBMachine", "BuggyReplyBeforeAckMachine",
           "BuggyAdvanceWithoutAckMachine", "BuggyNoDuplicateDetectionMachine",
           "wedged", "in_service", "backup_behind", "check_history"]

KEYS = ("a", "b")


class ViewMonitor:
    """World observer: records view changes, acknowledgements and who served in which view,
    and notes every violation of the view rule or of the one-primary-per-view rule."""

    def __init__(self, world: World) -> None:
        vs = world.node(VIEWSERVICE)
        self.current: View = vs.view  # type: ignore[attr-defined]
        self.views: dict[int, View] = {self.current.num: self.current}
        self.acked: set[int] = {self.current.num} if vs.acked else set()  # type: ignore
        self.served: dict[int, set[str]] = {}
        self.violations: list[str] = []
        world.observers.append(self)

    def __call__(self, world: World, step: tuple) -> None:
        last = world.last
        if step[0] == "deliver" and isinstance(last, Envelope) and last.id == step[1]:
            msg = last.msg
            cur = self.current
            if isinstance(msg, VSPing):
                if msg.viewnum == cur.num and last.src == cur.primary:
                    self.acked.add(cur.num)
            elif isinstance(msg, PBReply) and msg.err == OK and last.dst in world.clients:
                servers = self.served.setdefault(msg.viewnum, set())
                servers.add(last.src)
                view = self.views.get(msg.viewnum)
                if len(servers) > 1 or (view is not None and view.primary != last.src):
                    self.violations.append(
                        f"two primaries: view {msg.viewnum} ({view}) served by "
                        f"{sorted(servers)} at t={world.now:.3f}")
        new = vs_view(world)
        cur = self.current
        if new == cur:
            return
        if new.num != cur.num + 1:
            self.violations.append(f"view rule: view {cur} followed by {new}")
        elif cur.num > 0 and cur.num not in self.acked:
            self.violations.append(
                f"view rule: view {new} started before the primary acknowledged {cur}")
        elif cur.num > 0 and new.primary not in (cur.primary, cur.backup):
            self.violations.append(f"view rule: primary of {new} was not in {cur}")
        elif new.primary == new.backup:
            self.violations.append(f"view rule: {new} has the same primary and backup")
        self.views[new.num] = new
        self.current = new


def wedged(world: World) -> bool:
    """True when the service can never serve again: the current view's primary knows the
    view but does not hold its state (its data was lost), so it will never acknowledge it."""
    v = vs_view(world)
    node = world.nodes.get(v.primary)
    return (isinstance(node, PBServer) and node.view.num == v.num
            and node.synced != v.num)


def backup_behind(world: World) -> str:
    """The primary/backup invariant: while a primary treats its backup as initialised for
    view n, and that backup holds view n's state, the backup has applied every Put/Append the
    primary has applied (it applies each one first). Returns a description of a violation."""
    v = vs_view(world)
    for name, node in world.nodes.items():
        if not isinstance(node, PBServer) or not node.is_active():
            continue
        pv = node.view
        backup = world.nodes.get(pv.backup)
        if (node.backup_synced == pv.num and isinstance(backup, PBServer)
                and backup.view.num == pv.num and backup.synced == pv.num
                and backup.applied < node.applied):
            return (f"backup behind primary: {name} applied {node.applied} operations in view "
                    f"{pv.num}, its backup {pv.backup} only {backup.applied} (viewservice at "
                    f"view {v.num}, t={world.now:.3f})")
    return ""


def in_service(world: World) -> bool:
    """The viewservice's view is acknowledged, and its primary serves with its backup (if
    any) initialised."""
    v = vs_view(world)
    node = world.nodes.get(v.primary)
    return (world.node(VIEWSERVICE).acked  # type: ignore[attr-defined]
            and isinstance(node, PBServer) and node.view == v and node.is_serving())


def check_history(world: World, timeout: float = 20.0) -> Verdict:
    """The kv-model verdict on the World's history; raises AssertionError when illegal."""
    result = check(operations(world), "kv", timeout=timeout)
    if result.verdict is Verdict.ILLEGAL:
        raise AssertionError(f"history not linearizable: kv model, seed {world.seed}")
    return result.verdict


def _initialised(world: World, depth: int) -> bool:
    vs = world.node(VIEWSERVICE)
    v = vs.view  # type: ignore[attr-defined]
    if depth == 1:
        return v.num >= 1 and vs.acked  # type: ignore[attr-defined]
    return bool(v.primary and v.backup and vs.acked)  # type: ignore[attr-defined]


class PBMachine(CallAll, WorldMachine):
    """The correct service under attack: no violation may ever appear."""

    server_class: ClassVar[type[PBServer]] = PBServer   # a seeded bug's subclass swaps it
    viewservice_class: ClassVar[type[ViewServer]] = ViewServer
    settle_timeout: ClassVar[float] = 10.0

    @classmethod
    def build_world(cls, seed: int) -> World:
        world = build(seed, servers=3, clerks=3, profile=ADVERSARIAL, server=cls.server_class,
                      viewservice=cls.viewservice_class)
        depth = (2, 0, 1, 2)[seed % 4]
        if depth:
            cls.warm_up(world, lambda: _initialised(world, depth), 10.0)
        return world

    def call_input(self) -> st.SearchStrategy:
        self.calls = getattr(self, "calls", 0) + 1
        n = self.calls
        return st.tuples(st.sampled_from(("get", "put", "append")), st.sampled_from(KEYS)).map(
            lambda t: {"op": t[0], "key": t[1]} if t[0] == "get"
            else {"op": t[0], "key": t[1], "value": f"{t[0][0]}{n}."})

    def search_workload(self) -> dict[str, list]:
        """For bounded search: an Append then a Get on one key, and a Get from another clerk."""
        c = sorted(self.world.clients)
        return {c[0]: [{"op": "append", "key": "a", "value": "x."}, {"op": "get", "key": "a"}],
                c[1]: [{"op": "get", "key": "a"}]}

    def _monitor(self) -> ViewMonitor:
        monitor = getattr(self, "monitor", None)
        if monitor is None or getattr(self, "monitored", None) is not self.world:
            monitor = self.monitor = ViewMonitor(self.world)
            self.monitored = self.world
        return monitor

    def check_safety(self) -> None:
        monitor = self._monitor()
        if monitor.violations:
            raise AssertionError(monitor.violations[0])
        behind = backup_behind(self.world)
        if behind:
            raise AssertionError(behind)

    def settled(self) -> bool:
        """Every call returned and the current view is in service (or the data is lost)."""
        return wedged(self.world) or (not self.world.open_calls and in_service(self.world))

    def end_checks(self) -> None:
        self.check_safety()
        if not wedged(self.world):  # the lab's "final Put/Get works": read every key again
            for i, key in enumerate(KEYS):
                clerk = sorted(self.world.clients)[i % len(self.world.clients)]
                try:
                    self.world.call(clerk, {"op": "get", "key": key}, self.settle_timeout)
                except CallTimeout as e:
                    raise AssertionError(f"final Get failed: {e}") from None
                self.check_safety()
        if check_history(self.world) is Verdict.UNKNOWN:
            _event("linearizability: unknown (search timed out)")
        if wedged(self.world):
            _event("service lost its data (both copies crashed)")

    # ---------------------------------------------------------------- system-specific rules

    def crash_candidates(self) -> list[str]:
        """Only pbservice servers, and one at a time (see ``crash``)."""
        if self.world.crashed:
            return []
        return [s for s in self._pb_servers() if s not in self.world.crashed]

    @precondition(lambda self: "crash" in self.faults and not self.world.crashed)
    @rule(i=st.integers(0, 255))
    def crash(self, i: int) -> None:
        """Crash a pbservice server (never the viewservice; one server down at a time, as in
        the lab's crash tests: a restarted server may still be uninitialised, so data can
        still be lost to a second crash, but not to three at once)."""
        up = [s for s in self._pb_servers() if s not in self.world.crashed]
        self._guard(lambda: self.world.crash(pick(up, i)))

    @precondition(lambda self: "partition" in self.faults)
    @rule(mask=st.integers(0, 2**16 - 1))
    def partition(self, mask: int) -> None:
        """Split the viewservice, the servers and the clerks into two sides."""
        names = self.world.names
        side = [n for k, n in enumerate(names) if mask >> k & 1]
        other = [n for n in names if n not in side]
        self._guard(lambda: self.world.partition(side, other))

    @precondition(lambda self: "partition" in self.faults)
    @rule(i=st.integers(0, 255), clerks_too=st.booleans())
    def isolate(self, i: int, clerks_too: bool) -> None:
        """Cut one server off from the viewservice and the other servers (and the clerks)."""
        name = pick(self._pb_servers(), i)
        others = [n for n in self.world.names if n != name
                  and (clerks_too or n not in self.world.clients)]
        self._guard(lambda: self.world.partition([name], others))

    @precondition(lambda self: "partition" in self.faults)
    @rule(i=st.integers(0, 255))
    def cut_from_viewservice(self, i: int) -> None:
        """The 2015 tests' special partition: a server can no longer ping the viewservice but
        still talks to everyone else."""
        name = pick(self._pb_servers(), i)
        self._guard(lambda: (self.world.block(name, VIEWSERVICE),
                             self.world.block(VIEWSERVICE, name)))

    @precondition(lambda self: any(p.node == VIEWSERVICE for p in self.world.pending.values()))
    @rule()
    def viewservice_tick(self) -> None:
        """Let a ping interval pass at the viewservice (servers may miss their pings)."""
        pid = next(p.id for p in self.world.pending.values() if p.node == VIEWSERVICE)
        self._guard(lambda: self.world.fire(pid))

    @rule(ms=st.sampled_from((100, 300, 600, 1000)))
    def run(self, ms: int) -> None:
        """Let the system run undisturbed (the seeded scheduler, in time order) for a while."""
        self._guard(lambda: self.world.run_until(self._unsafe, ms / 1000))

    def _unsafe(self) -> bool:
        """Safety after every step of a run, as a replay checks it: a state that is wrong
        only in the middle of a run is caught at the step that made it, and replays so."""
        self.check_safety()
        return False

    def _pb_servers(self) -> list[str]:
        return [n for n in self.world.servers if n != VIEWSERVICE]


def _event(text: str) -> None:
    try:
        event(text)
    except Exception:  # outside a Hypothesis test (replay, shrink): nothing to report to
        pass


class BuggyReplyBeforeAckMachine(PBMachine):
    """Seeded bug: the primary answers before the backup acknowledged the operation."""

    server_class = ReplyBeforeBackupAck


class BuggyAdvanceWithoutAckMachine(PBMachine):
    """Seeded bug: the viewservice changes views without the primary's acknowledgement."""

    viewservice_class = AdvanceWithoutAck


class BuggyNoDuplicateDetectionMachine(PBMachine):
    """Seeded bug: the primary applies a retried or duplicated Put/Append again."""

    server_class = NoDuplicateDetection
