"""``faultlab demo`` rows for Raft: a seeded chaos run, Hypothesis examples, a caught bug."""

from __future__ import annotations

import dataclasses
import os
import random
import tempfile

from faultlab.demo_row import DemoRow

__all__ = ["demo", "chaos_run"]


def chaos_run(seed: int, n: int = 5, rounds: int = 60) -> tuple[dict, str | None]:
    """Five servers on an unreliable network with long delays; clients keep proposing while
    leaders crash, servers restart and partitions come and go; every World step is checked
    by the safety monitor and every apply by the applier; at the end the network heals and
    one more entry must commit everywhere. Returns figures and the violation (or None)."""
    from faultlab.raft.checks import Applier, SafetyMonitor
    from faultlab.raft.raft import LEADER
    from faultlab.raft.server import build_cluster, server_names
    from faultlab.sim.network import RELIABLE, UNRELIABLE

    names = server_names(n)
    applier = Applier(names, snapshot_interval=10, context=f" (seed {seed})")
    profile = dataclasses.replace(UNRELIABLE, max_unreachable_report_ms=7000)
    world = build_cluster(seed, n, profile, on_apply=applier.apply, on_boot=applier.boot,
                          record_steps=False)
    monitor = SafetyMonitor(world, applier)
    rng = random.Random(f"raft-demo:{seed}")
    crashes = partitions = 0
    try:
        for k in range(rounds):
            for name in names:
                if name in world.nodes:
                    world.nodes[name].raft.start(k * 100 + names.index(name))
            world.run_for(rng.choice([0.01, 0.05, 0.2, 0.5]))
            leaders = [s for s in names if s in world.nodes
                       and world.nodes[s].raft.role == LEADER]
            if leaders and rng.random() < 0.3:
                world.crash(rng.choice(leaders))
                crashes += 1
            if len(world.crashed) > 2 or (world.crashed and rng.random() < 0.3):
                world.restart(rng.choice(sorted(world.crashed)))
            if rng.random() < 0.15:
                side = rng.sample(names, rng.randint(1, n // 2))
                world.partition(side, [s for s in names if s not in side])
                partitions += 1
            elif world.blocked and rng.random() < 0.3:
                world.heal()
        world.heal()
        for name in sorted(world.crashed):
            world.restart(name)
        world.set_profile(RELIABLE)
        world.run_for(2)
        leader = next((s for s in names if world.nodes[s].raft.role == LEADER), None)
        ok = leader is not None
        if ok:
            index, _, _ = world.nodes[leader].raft.start("final")
            ok = world.run_until(lambda: applier.n_committed(index)[0] == n, 5)
        error = None if ok else "the healed cluster did not commit a new entry in 5 s"
    except AssertionError as e:
        error = str(e)
    c = world.counters
    figures = {"virtual": world.now, "crashes": crashes, "partitions": partitions,
               "committed": applier.max_index, "messages": c.delivered, "lost": c.lost,
               "checks": monitor.checks}
    return figures, error


def demo(seed: int) -> list[DemoRow]:
    """A seeded chaos run, a few Hypothesis examples on correct Raft, and one seeded bug
    caught by the same machine (under ten seconds of wall time together)."""
    from faultlab.raft.checks import SafetyViolation
    from faultlab.raft.machine import MUTANT_MACHINES, RaftMachine
    from hypothesis import HealthCheck, Phase, settings
    from hypothesis.stateful import run_state_machine_as_test

    rows = []
    figures, error = chaos_run(seed)
    rows.append(DemoRow(
        system="raft",
        driver="seeded scheduler, unreliable net",
        explored=(f"5 servers, {figures['crashes']} crashes, {figures['partitions']} "
                  f"partitions, {figures['messages']} msgs, {figures['lost']} lost, "
                  f"{figures['committed']} entries, {figures['virtual']:.1f}s virtual"),
        checked=f"safety after {figures['checks']} steps, applier, liveness after heal",
        verdict=error or "ok",
        ok=error is None,
    ))
    # Derandomized (the same examples for every seed): the seed drives the chaos run above.
    quick = settings(max_examples=15, stateful_step_count=30, deadline=None, database=None,
                     derandomize=True, phases=[Phase.generate],
                     suppress_health_check=list(HealthCheck))
    with tempfile.TemporaryDirectory() as folder:
        old = os.environ.get("FAULTLAB_REPLAY_DIR")
        os.environ["FAULTLAB_REPLAY_DIR"] = folder
        try:
            verdict, ok = "ok", True
            try:
                run_state_machine_as_test(RaftMachine, settings=quick)
            except Exception as e:  # a real finding: report it
                verdict, ok = f"FAILED: {str(e).splitlines()[0][:80]}", False
            rows.append(DemoRow("raft", "Hypothesis machine, adversarial",
                                "15 examples x 30 steps, 3 servers", "Raft safety properties",
                                verdict, ok))
            bug = "commit_old_term_by_counting"
            machine = MUTANT_MACHINES[bug]
            try:
                run_state_machine_as_test(machine, settings=settings(
                    quick, max_examples=100, stateful_step_count=50))
                verdict, ok = "not caught", False
            except SafetyViolation as e:
                verdict, ok = f"bug caught: {str(e).split(':')[0]}", True
            rows.append(DemoRow(f"raft (seeded bug: {bug})", "Hypothesis machine, adversarial",
                                "up to 100 examples x 50 steps, 3 servers",
                                "Raft safety properties", verdict, ok))
        finally:
            if old is None:
                os.environ.pop("FAULTLAB_REPLAY_DIR", None)
            else:
                os.environ["FAULTLAB_REPLAY_DIR"] = old
    return rows
