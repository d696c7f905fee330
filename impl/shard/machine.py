"""The Hypothesis state machine that attacks the sharded key/value service.

Hypothesis chooses every step (see :class:`faultlab.tools.explore.WorldMachine`): deliver,
drop or duplicate a message, fire a timer (elections, polls of the controller, retries),
crash and restart servers, partition, heal, start clerk calls, and reconfigure: an
administrator's Join, Leave or Move through the controller, interleaved with everything
else. The World has 3 controller servers and 2 groups of 3 (gids 100, 101) on Raft, group
100 joined at the start.

Besides single events, a step may let the seeded scheduler run the World for up to 0.6 s
(``run_for``): a reconfiguration takes several polls, pulls and log rounds, and without such
steps an example of 50-200 single events rarely gets a shard moved while clerks use it.

Checked after every step: for each configuration number and shard, at most one group has a
replica that serves the shard in that configuration; the controller's replicas agree on
every configuration they both have; and each configuration follows from the one before as
a correct controller makes it (:func:`~faultlab.shard.config.transition_problems`). At
teardown (healed, restarted, reliable) every call returns, then (after a Join of both
groups) a Get of every key; the shard clerks' history, open calls included, must be
linearizable under the kv model (unknown is a failure), and every acknowledged Append is in
the final values. Each seeded bug of :mod:`faultlab.shard.bugs` has a machine here
(``faultlab explore shard-bug-...``) that this exploration fails.
"""

from __future__ import annotations

from typing import ClassVar

from faultlab.kv.checks import acknowledged_appends_missing, require_linearizable
from faultlab.shard import bugs
from faultlab.shard.cluster import add_ctrler_clerk, add_shard_clerk, build, ctrler_names
from faultlab.shard.cluster import group_names as names_of
from faultlab.shard.config import NSHARDS, transition_problems
from faultlab.shard.ctrler import CtrlerServer
from faultlab.shard.server import ShardKVServer
from faultlab.sim.network import ADVERSARIAL
from faultlab.sim.world import World
from faultlab.tools.explore import WorldMachine, pick
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

__all__ = ["ShardMachine", "CtrlerMachine", "serving_conflicts", "controller_problems",
           "KEYS", "GIDS", "BUG_MACHINES"]

GIDS = (100, 101)
KEYS = ("0", "1", "2", "3")    # shards 8, 9, 0, 1
ADMIN = "admin"
CLERKS = ("c0", "c1")


def serving_conflicts(world: World) -> list[str]:
    """(configuration, shard) pairs that more than one group serves."""
    serving: dict[tuple[int, int], set[int]] = {}
    for name, node in world.nodes.items():
        if isinstance(node, ShardKVServer) and name not in world.crashed:
            sm = node.sm
            for s in range(NSHARDS):
                if sm.serves(s):
                    serving.setdefault((sm.config.num, s), set()).add(node.gid)
    return [f"configuration {num}, shard {s}: served by groups {sorted(g)}"
            for (num, s), g in sorted(serving.items()) if len(g) > 1]


def controller_problems(world: World) -> list[str]:
    """Controller replicas that disagree on a configuration, and configurations that do not
    follow from the one before as a correct controller makes them."""
    stores = [(n, node.sm) for n, node in world.nodes.items()
              if isinstance(node, CtrlerServer) and n not in world.crashed]
    if not stores:
        return []
    longest = max((sm.configs for _, sm in stores), key=len)
    problems = [f"controller replicas disagree on configuration {i}: {n} has {c}"
                for n, sm in stores for i, c in enumerate(sm.configs) if c != longest[i]]
    for before, after in zip(longest, longest[1:], strict=False):
        problems += transition_problems(before, after)
    return problems


class ReconfiguringMachine(WorldMachine):
    """What both shard machines share: an administrator who reconfigures the controller,
    steps that let the World run a while, and the controller's checks after every step."""

    groups: ClassVar[tuple[int, ...]]
    initially_joined: ClassVar[frozenset[int]] = frozenset()

    def group_servers(self, gid: int) -> list[str]:
        raise NotImplementedError

    @precondition(lambda self: ADMIN not in self.world.open_calls)
    @rule(kind=st.integers(0, 2), g=st.integers(0, 255), shard=st.integers(0, NSHARDS - 1))
    def reconfigure(self, kind: int, g: int, shard: int) -> None:
        """A Join, a Leave or a Move. Never the Leave of the last group (with no group left
        the labs' design keeps the shards nowhere: nobody pulls them, so a later Join starts
        them empty) nor of a group not joined; never a Move to a group that is not joined."""
        joined = getattr(self, "joined", set(self.initially_joined))
        gid = pick(list(self.groups), g)
        if kind == 0:
            op, joined = {"op": "join", "groups": {gid: self.group_servers(gid)}}, joined | {gid}
        elif kind == 1 and gid in joined and joined - {gid}:
            op, joined = {"op": "leave", "gids": [gid]}, joined - {gid}
        elif kind == 2 and gid in joined:
            op = {"op": "move", "shard": shard, "gid": gid}
        else:
            return
        self.joined = joined
        self._guard(lambda: self.world.invoke(ADMIN, op))

    @rule(cs=st.integers(1, 60))
    def run_for(self, cs: int) -> None:
        """Let the seeded scheduler run the World for ``cs`` hundredths of a second."""
        self._guard(lambda: self.world.run_until(lambda: False, timeout=cs / 100))

    def check_safety(self) -> None:
        problems = controller_problems(self.world)
        assert not problems, f"controller: {problems[0]}"


class ShardMachine(ReconfiguringMachine):
    server: ClassVar[type[ShardKVServer]] = ShardKVServer
    ctrler: ClassVar[type[CtrlerServer]] = CtrlerServer
    settle_timeout: ClassVar[float] = 60.0
    groups = GIDS
    initially_joined = frozenset({GIDS[0]})

    @classmethod
    def build_world(cls, seed: int) -> World:
        world = build(seed, gids=GIDS, engine="raft", profile=ADVERSARIAL,
                      server=cls.server, ctrler=cls.ctrler)
        ctrlers = ctrler_names(3)
        add_ctrler_clerk(world, ADMIN, ctrlers)
        for c in CLERKS:
            add_shard_clerk(world, c, ctrlers)
        world.invoke(ADMIN, {"op": "join", "groups": {GIDS[0]: names_of(GIDS[0], 3)}})
        first = names_of(GIDS[0], 3)
        # examples start with group 100 serving configuration 1 (elections done)
        return cls.warm_up(world, lambda: ADMIN not in world.open_calls and any(
            world.nodes[n].sm.config.num == 1 and world.nodes[n].log.get_state()[1]
            for n in first), 10.0)

    def call_input(self) -> st.SearchStrategy:
        self.counter = getattr(self, "counter", 0) + 1
        n = self.counter
        key = st.sampled_from(KEYS)
        return st.one_of(
            st.builds(lambda k: {"op": "get", "key": k}, key),
            st.builds(lambda k: {"op": "append", "key": k, "value": f"<{n}>"}, key),
        )

    # the administrator is not a clerk the call rule picks: it reconfigures
    @precondition(lambda self: any(c not in self.world.open_calls for c in CLERKS))
    @rule(i=st.integers(0, 255), data=st.data())
    def call(self, i: int, data: st.DataObject) -> None:
        client = pick([c for c in CLERKS if c not in self.world.open_calls], i)
        value = data.draw(self.call_input(), label="input")
        self._guard(lambda: self.world.invoke(client, value))

    def group_servers(self, gid: int) -> list[str]:
        return names_of(gid, 3)

    def check_safety(self) -> None:
        conflicts = serving_conflicts(self.world)
        assert not conflicts, f"a shard served by two groups: {conflicts[0]}"
        super().check_safety()

    def end_checks(self) -> None:
        w = self.world
        # every shard owned again (a Leave of both groups leaves data nowhere to be served)
        w.call(ADMIN, {"op": "join", "groups": {g: names_of(g, 3) for g in GIDS}},
               self.settle_timeout)
        final = {k: w.call(pick(CLERKS, i), {"op": "get", "key": k}, self.settle_timeout)
                 for i, k in enumerate(KEYS)}
        missing = acknowledged_appends_missing(w, final)
        assert not missing, f"acknowledged appends lost: {missing[:3]}"
        require_linearizable(w, f" (seed {self.seed})", CLERKS, timeout=10.0)


CTRL_GIDS = (10, 20, 30, 40)


class CtrlerMachine(ReconfiguringMachine):
    """The shard controller alone (3 replicas on Raft) under an administrator's Joins,
    Leaves and Moves of four groups, with message faults, crashes and partitions: the
    controller bugs need more groups than the two of :class:`ShardMachine` (with two, every
    order of handing out shards and every round robin gives the same minimal moves), and
    the controller needs no group servers to be checked. After every step:
    :func:`controller_problems`."""

    ctrler: ClassVar[type[CtrlerServer]] = CtrlerServer
    settle_timeout: ClassVar[float] = 60.0
    groups = CTRL_GIDS

    @classmethod
    def build_world(cls, seed: int) -> World:
        world = build(seed, gids=(), engine="raft", profile=ADVERSARIAL, ctrler=cls.ctrler)
        ctrlers = ctrler_names(3)
        add_ctrler_clerk(world, ADMIN, ctrlers)
        return cls.warm_up(world, lambda: any(world.nodes[n].log.get_state()[1]
                                              for n in ctrlers), 10.0)

    @precondition(lambda self: False)  # the administrator's calls are reconfigure's
    @rule()
    def call(self) -> None:
        """No clerk calls but the administrator's."""

    def group_servers(self, gid: int) -> list[str]:
        return [f"g{gid}-0"]

    def end_checks(self) -> None:
        latest = self.world.call(ADMIN, {"op": "query", "num": -1}, self.settle_timeout)
        assert latest is not None
        self.check_safety()


def _bug_machine(bug: type) -> type[WorldMachine]:
    if issubclass(bug, ShardKVServer):
        base, slot, name = ShardMachine, "server", f"Shard{bug.__name__}Machine"
    else:
        base, slot, name = CtrlerMachine, "ctrler", f"Ctrler{bug.__name__}Machine"
    return type(name, (base,), {slot: bug, "__module__": __name__,
                                "__doc__": f"{base.__name__} with the seeded bug "
                                           f"{bug.__name__}."})


ShardServeBeforeArrivalMachine = _bug_machine(bugs.ServeBeforeArrival)
ShardMigrateWithoutDuplicatesMachine = _bug_machine(bugs.MigrateWithoutDuplicates)
ShardSkipConfigurationsMachine = _bug_machine(bugs.SkipConfigurations)
CtrlerReplicaDependentRebalanceMachine = _bug_machine(bugs.ReplicaDependentRebalance)
CtrlerNonMinimalRebalanceMachine = _bug_machine(bugs.NonMinimalRebalance)

#: the seeded bug's class -> the machine running it
BUG_MACHINES: dict[type, type[WorldMachine]] = {
    bugs.ServeBeforeArrival: ShardServeBeforeArrivalMachine,
    bugs.MigrateWithoutDuplicates: ShardMigrateWithoutDuplicatesMachine,
    bugs.SkipConfigurations: ShardSkipConfigurationsMachine,
    bugs.ReplicaDependentRebalance: CtrlerReplicaDependentRebalanceMachine,
    bugs.NonMinimalRebalance: CtrlerNonMinimalRebalanceMachine,
}
