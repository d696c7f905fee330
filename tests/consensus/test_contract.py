"""The consensus contract (faultlab.consensus), one suite run against both engines.

Each test builds its servers through ``make_log`` only, so it cannot depend on which engine
is below; the checks of tests/consensus/contract.py run at every ApplyMsg (increasing
indexes within an incarnation, snapshot first after a restart, one command per index across
servers and incarnations, every reported proposal outcome true to the log).
"""

from __future__ import annotations

import pytest
from contract import ENGINES, Cluster, Host
from faultlab.consensus import ConsensusLog, Outcome, make_log
from faultlab.sim.network import RELIABLE, UNRELIABLE
from faultlab.sim.world import World

pytestmark = pytest.mark.parametrize("engine", ENGINES)

PROFILES = pytest.mark.parametrize("profile", [RELIABLE, UNRELIABLE], ids=lambda p: p.name)


def leader(c: Cluster, timeout: float = 10.0) -> str:
    """A server that takes proposals (any peer on Paxos, the leader on Raft)."""
    found: list[str] = []

    def ready() -> bool:
        for name in c.live():
            if c.host(name).log.get_state()[1]:
                found.append(name)
                return True
        return False

    assert c.world.run_until(ready, timeout), f"no server takes proposals (seed {c.seed})"
    return found[0]


def test_factory_builds_either_engine_from_the_same_arguments(engine: str) -> None:
    world = World(0)
    built: list[ConsensusLog] = []

    class Probe(Host):
        def on_start(self) -> None:
            self.log = make_log(engine, self.ctx, ["a", "b"], self.ctx.name, lambda m: None)
            built.append(self.log)

    world.add_node("a", lambda: Probe(None))  # type: ignore[arg-type]
    world.start()
    log = built[0]
    assert type(log).__name__ == {"raft": "Raft", "paxos": "PaxosLog"}[engine]
    for method in ("on_start", "on_message", "on_timer", "on_send_failed", "start",
                   "get_state", "leader_hint", "snapshot", "state_size"):
        assert callable(getattr(log, method)), method
    with pytest.raises(ValueError, match="unknown consensus engine"):
        make_log("zab", world.contexts["a"], ["a"], "a", lambda m: None)
    with pytest.raises(ValueError, match="not one of the peers"):
        make_log(engine, world.contexts["a"], ["b"], "a", lambda m: None)


@PROFILES
def test_commands_commit_in_one_order_everywhere(engine: str, profile, seed: int) -> None:
    c = Cluster(engine, 3, seed, profile)
    leader(c)
    c.submit([f"cmd{k}" for k in range(30)])
    c.world.run_for(2.0)
    c.assert_converged()
    logged = [cmd for cmd, _ in c.record.committed.values()]
    assert sorted(set(logged)) == sorted(f"cmd{k}" for k in range(30)), (
        f"a command is missing (seed {seed})")


def test_none_is_a_command_like_any_other(engine: str, seed: int) -> None:
    c = Cluster(engine, 3, seed)
    c.submit([None, 0, "", ("t", 1)])
    c.world.run_for(1.0)
    c.assert_converged()
    assert {cmd for cmd, _ in c.record.committed.values()} >= {None, 0, "", ("t", 1)}


@PROFILES
def test_restart_hands_back_the_snapshot_then_the_suffix(engine: str, profile, seed: int
                                                         ) -> None:
    c = Cluster(engine, 3, seed, profile, snapshot_bytes=600)
    c.submit([f"a{k:03d}" + "x" * 16 for k in range(40)])
    c.world.run_for(1.0)
    assert c.record.snapshots_taken > 0, "the service never had to snapshot"
    for name in c.names:
        before = sorted(c.host(name).state)
        c.world.crash(name)
        c.world.restart(name)
        after = c.host(name)
        assert after.ctx.persister.snapshot_size() > 0
        # on_start handed the snapshot back at once (Host checks it was the first ApplyMsg)
        assert not after.first_apply, f"{name} restarted without its snapshot (seed {seed})"
        assert sorted(after.state) == before[:len(after.state)]
    c.submit([f"b{k}" for k in range(10)])
    c.world.run_for(2.0)
    c.assert_converged()


@PROFILES
def test_outcomes_are_true_to_the_log_under_crashes_and_partitions(engine: str, profile,
                                                                   seed: int) -> None:
    c = Cluster(engine, 5, seed, profile, snapshot_bytes=900)
    c.submit([f"x{k}" for k in range(60)], chaos=True)
    c.heal_all()
    c.submit(["final"])
    c.world.run_for(3.0)
    c.settle_terms()
    c.assert_converged()
    outcomes = {p.outcome for p in c.record.proposals}
    assert Outcome.COMMITTED in outcomes
    assert c.world.counters.lost > 0 or profile is RELIABLE


def test_a_lost_proposal_is_reported_lost_or_unknown_never_committed(engine: str, seed: int
                                                                     ) -> None:
    """A proposer cut off from the others proposes; the others commit without it; after the
    heal its proposal's index holds another command, and it learns so."""
    c = Cluster(engine, 3, seed)
    first = leader(c)
    c.submit(["warm-up"])
    others = [n for n in c.names if n != first]
    c.world.partition([first], others)
    stranded = c.propose("stranded", at=first)
    assert stranded is not None
    c.world.run_for(0.5)
    c.submit([f"majority{k}" for k in range(5)])
    c.world.heal()
    c.world.run_for(3.0)
    c.settle_terms()
    assert stranded.outcome in (Outcome.LOST, Outcome.UNKNOWN), (
        f"the stranded proposal is {stranded.outcome} (seed {seed})")
    c.assert_converged()
    held = c.record.committed.get(stranded.index)
    assert held is not None and held[0] != "stranded"


def test_compaction_bounds_the_persisted_state_even_with_a_peer_down(engine: str,
                                                                    seed: int) -> None:
    bound = 1000
    c = Cluster(engine, 3, seed, snapshot_bytes=bound)
    c.world.crash("s2")
    c.submit([f"{k:04d}" + "v" * 20 for k in range(200)])
    up = [n for n in c.names if n != "s2"]
    worst = max(c.record.max_state[n] for n in up)
    assert worst <= 8 * bound, f"persisted state reached {worst} bytes (seed {seed})"
    assert c.record.snapshots_taken < 200 * len(up) // 4, (
        f"{c.record.snapshots_taken} snapshots for 200 commands: compaction does not free "
        f"enough (seed {seed})")
    # the peer that was down catches up from a snapshot, not from a log nobody kept
    c.world.restart("s2")
    c.submit(["after"])
    c.world.run_for(3.0)
    c.assert_converged()
    assert c.record.snapshots_installed > 0, "s2 caught up without a snapshot"
