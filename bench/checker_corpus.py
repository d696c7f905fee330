"""Benchmark the linearizability checker on Porcupine's corpus (not a test).

Prints each corpus file's median check time over ``--runs`` runs, the total, and the
ratio to Porcupine v1.3.0 (Go) measured on this kind of machine: 0.85 s for the 108 files,
etcd_002 0.285 s, kv c50-ok 0.162 s; kv c50 without partitioning did not finish in 120 s
there (target here: under 10 s). Then c50-ok/c50-bad without partitioning, capped, with
rule 8 (independent groups found from the model's step) on and off.
``--ablate`` reruns the corpus with each pruning rule switched off, to show what it buys.

    python bench/checker_corpus.py [--runs 3] [--cap 20] [--ablate] [--quiet]

The corpus is ``$FAULTLAB_CORPUS`` or ``<repo>/../shared/corpus/porcupine``. Times are of
``check`` only; reading the files is reported separately.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

from faultlab.checker.formats import load_history  # noqa: E402
from faultlab.checker.history import Operation  # noqa: E402
from faultlab.checker.linearizability import DEFAULT_PRUNING, Pruning, Verdict, check  # noqa: E402

PORCUPINE_TOTAL = 0.85
PORCUPINE = {"jepsen/etcd_002.log": 0.285, "kv/c50-ok.txt": 0.162}
NOPART_TARGET = 10.0
OK_ETCD = set("002 005 007 018 025 031 038 045 048 049 051 053 056 067 075 076 080 087 092 "
              "098 100 101 102".split())


def corpus_dir() -> Path:
    env = os.environ.get("FAULTLAB_CORPUS")
    return Path(env) if env else (REPO / ".." / "shared" / "corpus" / "porcupine").resolve()


def expected(name: str) -> str:
    if name.startswith("kv/"):
        return "ok" if "-ok" in name else "illegal"
    return "ok" if name[-7:-4] in OK_ETCD else "illegal"


def files(corpus: Path) -> list[str]:
    names = [f"kv/{p.name}" for p in sorted((corpus / "kv").glob("*.txt"))]
    names += [f"jepsen/{p.name}" for p in sorted((corpus / "jepsen").glob("*.log"))
              if p.stat().st_size > 0]
    return names


CPU: dict[str, float] = {}  # file -> median CPU seconds of the last run_corpus
NODES: dict[str, int] = {}  # file -> search nodes in the last run_corpus
READ: dict[str, float] = {}  # "time": seconds spent reading the corpus files once


def time_check(ops, model, runs: int, **kw) -> tuple[float, Verdict, int]:
    """Median wall time of ``runs`` checks (CPU time of this process kept in CPU["last"])."""
    times, cpus, verdict, nodes = [], [], Verdict.UNKNOWN, 0
    for _ in range(runs):
        c, t = time.process_time(), time.perf_counter()
        r = check(ops, model, **kw)
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
        verdict, nodes = r.verdict, r.nodes
    CPU["last"] = statistics.median(cpus)
    return statistics.median(times), verdict, nodes


def run_corpus(corpus: Path, runs: int, pruning: Pruning, cap: float | None,
               quiet: bool) -> tuple[float, dict[str, float], int]:
    """Check every corpus file; returns (total median wall time, per file, mismatches)."""
    total, per, wrong = 0.0, {}, 0
    NODES.clear()
    loaded = {}
    t0 = time.perf_counter()
    for name in files(corpus):
        loaded[name] = load_history(corpus / name)
    read_time = time.perf_counter() - t0
    if not quiet:
        print(f"{'file':24} {'ops':>5} {'verdict':>8} {'nodes':>7} {'median s':>9}")
    for name, h in loaded.items():
        med, verdict, nodes = time_check(h.ops, h.model, runs, timeout=cap, pruning=pruning)
        total += med
        per[name] = med
        CPU[name] = CPU["last"]
        NODES[name] = nodes
        flag = "" if verdict.value == expected(name) else f"  MISMATCH (expected "\
            f"{expected(name)})"
        wrong += bool(flag)
        if not quiet:
            print(f"{name:24} {len(h.ops):5d} {verdict.value:>8} {nodes:7d} {med:9.4f}{flag}")
    READ["time"] = read_time
    if not quiet:
        print(f"reading the {len(loaded)} files took {read_time:.3f} s (not in the total)")
    return total, per, wrong


def open_kv_history(n: int, p_open: float, seed: int) -> list[Operation]:
    """A kv history on one key, linearizable by construction, with a share of open calls
    (half of which took effect): what crashed or timed-out clients leave behind."""
    rng = random.Random(seed)
    value, ops, t = "", [], 0
    for i in range(n):
        t += 10
        is_open = rng.random() < p_open
        call, ret = t - rng.randrange(30), None if is_open else t + rng.randrange(30)
        took = not is_open or rng.random() < 0.5
        r = rng.random()
        if r < 0.5:
            op = "append" if r < 0.45 else "put"
            v = f"x{i}y"
            if took:
                value = value + v if op == "append" else v
            ops.append(Operation(i % 8, {"op": op, "key": "k", "value": v}, None, call, ret))
        else:
            ops.append(Operation(i % 8, {"op": "get", "key": "k"}, value, call, ret or t + 1))
    return ops


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cap", type=float, default=20.0,
                    help="time cap in seconds for each unpartitioned c50 run and ablation file")
    ap.add_argument("--ablate", action="store_true", help="measure each pruning rule's effect")
    ap.add_argument("--quiet", action="store_true", help="only the summary lines")
    args = ap.parse_args(argv)
    corpus = corpus_dir()
    if not corpus.is_dir():
        print(f"corpus not found at {corpus} (set FAULTLAB_CORPUS)", file=sys.stderr)
        return 2

    total, per, wrong = run_corpus(corpus, args.runs, DEFAULT_PRUNING, None, args.quiet)
    n = len(per)
    cpu_total = sum(CPU[name] for name in per)
    print(f"\nTOTAL {n} files: {total:.3f} s wall, {cpu_total:.3f} s CPU (median of {args.runs} "
          f"per file); Porcupine 0.85 s -> ratio {total / PORCUPINE_TOTAL:.3f} wall, "
          f"{cpu_total / PORCUPINE_TOTAL:.3f} CPU; verdict mismatches: {wrong}")
    for name, go in PORCUPINE.items():
        print(f"  {name}: {per[name]:.4f} s wall, {CPU[name]:.4f} s CPU vs Porcupine {go} s "
              f"-> ratio {per[name] / go:.3f} wall, {CPU[name] / go:.3f} CPU")
    both = total + READ["time"]
    print(f"  reading + checking: {both:.3f} s wall -> ratio {both / PORCUPINE_TOTAL:.3f}")
    print(f"  load average now: {os.getloadavg()[0]:.2f} (other work on the machine inflates "
          "wall times; CPU time is this process only)")

    print(f"\nWithout partitioning (cap {args.cap:g} s, median of {args.runs}; Porcupine: "
          f">120 s, target < {NOPART_TARGET:g} s); rule 8 (independent groups) on, then off:")
    for name in ("kv/c50-ok.txt", "kv/c50-bad.txt"):
        h = load_history(corpus / name)
        for label, pr, runs in (("on", DEFAULT_PRUNING, args.runs),
                                ("off", replace(DEFAULT_PRUNING, components=False), 1)):
            med, verdict, nodes = time_check(h.ops, "kv", runs, partition=False,
                                             timeout=args.cap, pruning=pr)
            ok = verdict.value == expected(name) and med < NOPART_TARGET
            print(f"  {name} rule 8 {label:3}: {verdict.value} in {med:.3f} s wall, "
                  f"{CPU['last']:.3f} s CPU ({nodes} nodes); "
                  f"{'within' if ok else 'MISSES'} the target")

    print(f"\nkv, one key, 2000 ops with open calls (cap {args.cap:g} s; the observes hint "
          "on and off):")
    for p_open in (0.05, 0.15):
        ops = open_kv_history(2000, p_open, 1)
        for label, pr in (("on", DEFAULT_PRUNING), ("off", replace(DEFAULT_PRUNING,
                                                                     unseen_open=False))):
            med, verdict, nodes = time_check(ops, "kv", 1, timeout=args.cap, pruning=pr)
            print(f"  {p_open:.0%} open, unseen-open rule {label:3}: {verdict.value} in "
                  f"{med:.3f} s ({nodes} nodes)")

    if args.ablate:
        print(f"\nAblation: corpus total with one rule off (cap {args.cap:g} s per file, "
              f"1 run; 'unknown' counts the capped files):")
        variants = {
            "all rules on": DEFAULT_PRUNING,
            "no read absorption": replace(DEFAULT_PRUNING, read_absorption=False),
            "no dead-read pruning (may_become)": replace(DEFAULT_PRUNING, dead_reads=False),
            "no lookahead (dead reads: candidates only)": replace(DEFAULT_PRUNING, lookahead=0),
            "no identical-candidate pruning": replace(DEFAULT_PRUNING,
                                                      identical_candidates=False),
            "no open-subset dominance": replace(DEFAULT_PRUNING, open_subsets=False),
            "open no-ops tried too": replace(DEFAULT_PRUNING, skip_open_noops=False),
            "partitions in order (no round-robin)": replace(DEFAULT_PRUNING, round_robin=False),
            "no unseen-open rule (observes)": replace(DEFAULT_PRUNING, unseen_open=False),
            "no independent groups (rule 8)": replace(DEFAULT_PRUNING, components=False),
            "all rules off (plain search with cache)": Pruning(
                read_absorption=False, skip_open_noops=False, identical_candidates=False,
                open_subsets=False, dead_reads=False, lookahead=0, round_robin=False,
                unseen_open=False, components=False),
        }
        for label, pr in variants.items():
            t = time.perf_counter()
            sub_total, sub, bad = run_corpus(corpus, 1, pr, args.cap, True)
            wall = time.perf_counter() - t
            worst = max(sub, key=sub.get)
            cpu = sum(CPU[k] for k in sub)
            kv = sum(v for k, v in NODES.items() if k.startswith("kv/"))
            etcd = sum(v for k, v in NODES.items() if k.startswith("jepsen/"))
            print(f"  {label:42} nodes kv {kv:8d} etcd {etcd:8d}  CPU {cpu:7.3f} s  "
                  f"worst {worst} {sub[worst]:.3f} s  wrong/capped {bad}  (wall {wall:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
