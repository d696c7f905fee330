"""TLA+ throughput: trace steps validated per second, and TLC's distinct states per second on
the small models (spec/MC*.cfg).

    python bench/trace.py [--seconds S] [--workers N] [--models] [--file SYSTEM:TRACE ...]

Traces come from seeded runs of the implementations (tests/spec/traces.py: crashes,
partitions, duplicates, an unreliable network). A trace check includes TLC's start-up (JVM,
parsing, initial states: seconds), so the figure is also given without it: the start-up is
measured on a one-step prefix of the same trace and subtracted. ``--models`` adds the
model checks (tens of seconds each); ``--file`` times the check of a recorded trace (e.g. a
lab trace from ``FAULTLAB_TRACE_DIR``), with the size of its generated module.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "spec"))

from faultlab.checker.tla.cli import spec_check  # noqa: E402
from faultlab.checker.tla.runner import find_jar, tlc_unavailable_reason  # noqa: E402
from faultlab.checker.tla.trace import check_trace, read_trace, trace_module  # noqa: E402
from traces import paxos_trace, raft_trace  # noqa: E402


def bench_traces(seconds: float) -> None:
    for system, make, seeds in (("raft", raft_trace, range(1, 100)),
                                ("paxos", paxos_trace, range(3, 100))):
        steps = total = fixed = 0.0
        runs = 0
        start = time.monotonic()
        for seed in seeds:
            lines = make(seed)
            t0 = time.monotonic()
            check_trace(system, lines[:3], timeout=300)
            fixed += time.monotonic() - t0
            t0 = time.monotonic()
            verdict = check_trace(system, lines, timeout=300)
            total += time.monotonic() - t0
            if not verdict.ok:
                print(f"  {system} seed {seed}: does not conform!\n{verdict.report()}")
                continue
            steps += verdict.steps
            runs += 1
            if time.monotonic() - start > seconds:
                break
        search = total - fixed
        print(f"{system:5} traces: {runs} runs, {int(steps)} steps in {total:.1f}s: "
              f"{steps / total:,.0f} steps/s end to end; start-up {fixed / runs:.1f}s per "
              f"check, {steps / search if search > 0 else float('nan'):,.0f} steps/s after it")


def bench_file(spec: str) -> None:
    system, _, path = spec.partition(":")
    t0 = time.monotonic()
    header, lines = read_trace(path)
    t1 = time.monotonic()
    module, _ = trace_module(system, header, lines)
    t2 = time.monotonic()
    verdict = check_trace(system, path, timeout=900)
    total = time.monotonic() - t2
    print(f"{Path(path).name}: {verdict.steps} steps, {'conforms' if verdict.ok else 'FAILS'}, "
          f"{verdict.distinct:,} TLC states; read {t1 - t0:.1f}s, module "
          f"{len(module) / 1e6:.1f} MB in {t2 - t1:.1f}s, whole check {total:.1f}s "
          f"({verdict.tlc.tlc_label if verdict.tlc else 'TLC'})")


def bench_models(workers: int) -> None:
    for system in ("raft", "paxos"):
        res = spec_check(system, workers=workers, timeout=600)
        print(f"{system:5} model: {res.distinct:,} distinct states ({res.generated:,} generated)"
              f" in {res.seconds:.1f}s with {workers} workers: "
              f"{res.distinct / res.seconds:,.0f} distinct states/s "
              f"{'(ok)' if res.ok else '(' + res.summary() + ')'}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="per system, for traces")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--models", action="store_true", help="also time the model checks")
    ap.add_argument("--file", action="append", default=[], metavar="SYSTEM:TRACE",
                    help="time the check of a recorded trace instead of seeded runs")
    args = ap.parse_args()
    reason = tlc_unavailable_reason()
    if reason:
        print(reason)
        return 3
    print(f"tla2tools.jar: {find_jar()}")
    for spec in args.file:
        bench_file(spec)
    if not args.file:
        bench_traces(args.seconds)
    if args.models:
        bench_models(args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
