"""Exploration campaigns (faultlab.tools.campaign): examples/s on 1 and 2 worker processes
and their ratio, and the time to the first failure of seeded bugs with 1 and 2 workers.

    python bench/campaign.py [--machine raft] [--seconds S] [--bugs NAME,...] [--seeds N]
                             [--limit S]

Throughput: a time-limited campaign of the correct ``--machine`` (no failure to stop it),
``--seconds`` long, on 1 then 2 workers; the baseline is the 1-worker run of the same
machine in the same run. Time to first failure: for each seeded bug and each of ``--seeds``
campaign seeds, the wall-clock time from starting the campaign (worker processes included)
to the failure, unshrunk, without an example database; medians over the seeds, ratio
2 workers / 1. A hunt that finds nothing within ``--limit`` seconds counts as the limit and
is marked. Figures depend on the free cores: on a machine shared with other work, 2 workers
gain less than 2x.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile

from faultlab.tools.campaign import run_campaign
from faultlab.tools.machines import MACHINES

BUGS = "register-bug-early-ack,raft-bug-commit-old-term,raft-bug-forget-voted-for"


def spec(name: str) -> str:
    return MACHINES[name][0] if name in MACHINES else name


def throughput(machine: str, workers: int, seconds: float) -> tuple[float, float, float]:
    """(examples/s, steps/s, cores the workers got) of a ``seconds``-long campaign on
    ``workers`` processes; the cores say how much of the machine other work left them."""
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    c = run_campaign(spec(machine), seed=1, workers=workers, examples=None,
                     time_limit=seconds, database=None)
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    cores = (used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime) / c.elapsed
    if c.error is not None:
        raise SystemExit(f"{machine} failed, it cannot measure throughput: {c.error}")
    return c.examples / c.elapsed, c.steps / c.elapsed, cores


def time_to_failure(bug: str, workers: int, seed: int, limit: float) -> tuple[float, bool]:
    """(seconds to the first failure, found?) of a campaign on the seeded ``bug``."""
    c = run_campaign(spec(bug), seed=seed, workers=workers, examples=None, time_limit=limit,
                     database=None)
    return c.elapsed, c.error is not None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--machine", default="raft", help="correct machine for throughput (raft)")
    ap.add_argument("--seconds", type=float, default=10.0, help="throughput run length (10)")
    ap.add_argument("--bugs", default=BUGS, help=f"seeded-bug machines ({BUGS})")
    ap.add_argument("--seeds", type=int, default=5, help="campaign seeds per bug (5)")
    ap.add_argument("--limit", type=float, default=60.0, help="give up a hunt after S (60)")
    args = ap.parse_args()
    os.environ["FAULTLAB_REPLAY_DIR"] = tempfile.mkdtemp(prefix="faultlab-bench-")
    print(f"{os.cpu_count()} cores; throughput of {args.machine}, {args.seconds:g}s each")
    rates = {w: throughput(args.machine, w, args.seconds) for w in (1, 2)}
    for w, (ex, st, cores) in rates.items():
        print(f"  {w} worker{'s' if w > 1 else ' '}: {ex:8,.1f} examples/s  {st:10,.0f} steps/s"
              f"  ({cores:.2f} cores busy)")
    per_core = {w: ex / cores for w, (ex, _, cores) in rates.items()}
    print(f"  ratio 2/1 workers: {rates[2][0] / rates[1][0]:.2f}x examples/s; per busy core "
          f"{per_core[1]:,.1f} and {per_core[2]:,.1f} examples/s "
          f"({per_core[2] / per_core[1]:.2f}x: the cost of running in parallel)")
    print(f"time to first failure, median of seeds 1..{args.seeds} (limit {args.limit:g}s)")
    for bug in [b.strip() for b in args.bugs.split(",") if b.strip()]:
        medians = {}
        line = f"  {bug:30s}"
        for w in (1, 2):
            runs = [time_to_failure(bug, w, s, args.limit) for s in range(1, args.seeds + 1)]
            medians[w] = statistics.median(t for t, _ in runs)
            missed = sum(not found for _, found in runs)
            line += f"  {w}w {medians[w]:6.2f}s" + (f" ({missed} not found)" if missed else "")
        print(f"{line}  ratio 2/1 {medians[2] / medians[1]:.2f}", flush=True)


if __name__ == "__main__":
    main()
