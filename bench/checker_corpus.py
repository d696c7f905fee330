"""Benchmark the linearizability checker on Porcupine's corpus (not a test).

Prints each corpus file's median check time over ``--runs`` runs, the total, and the
ratio to Porcupine v1.3.0 (Go) measured on this kind of machine: 0.85 s for the 108 files,
etcd_002 0.285 s, kv c50-ok 0.162 s; kv c50 without partitioning did not finish in 120 s
there (target here: under 10 s). Then c50-ok/c50-bad without partitioning, capped.
``--ablate`` reruns the corpus with each pruning rule switched off, to show what it buys.

    python bench/checker_corpus.py [--runs 3] [--cap 20] [--ablate] [--quiet]

The corpus is ``$FAULTLAB_CORPUS`` or ``<repo>/../shared/corpus/porcupine``. Times are of
``check`` only; reading the files is reported separately.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from checker.formats import load_history  # noqa: E402
from checker.linearizability import DEFAULT_PRUNING, Pruning, Verdict, check  # noqa: E402

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


def time_check(ops, model, runs: int, **kw) -> tuple[float, Verdict, int]:
    times, verdict, nodes = [], Verdict.UNKNOWN, 0
    for _ in range(runs):
        t = time.perf_counter()
        r = check(ops, model, **kw)
        times.append(time.perf_counter() - t)
        verdict, nodes = r.verdict, r.nodes
    return statistics.median(times), verdict, nodes


def run_corpus(corpus: Path, runs: int, pruning: Pruning, cap: float | None,
               quiet: bool) -> tuple[float, dict[str, float], int]:
    total, per, wrong = 0.0, {}, 0
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
        flag = "" if verdict.value == expected(name) else f"  MISMATCH (expected "\
            f"{expected(name)})"
        wrong += bool(flag)
        if not quiet:
            print(f"{name:24} {len(h.ops):5d} {verdict.value:>8} {nodes:7d} {med:9.4f}{flag}")
    if not quiet:
        print(f"reading the {len(loaded)} files took {read_time:.3f} s (not in the total)")
    return total, per, wrong


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
    print(f"\nTOTAL {n} files: {total:.3f} s (median of {args.runs} per file); "
          f"Porcupine 0.85 s -> ratio {total / PORCUPINE_TOTAL:.3f}; verdict mismatches: {wrong}")
    for name, go in PORCUPINE.items():
        print(f"  {name}: {per[name]:.4f} s vs Porcupine {go} s -> ratio {per[name] / go:.3f}")

    print(f"\nWithout partitioning (cap {args.cap:g} s, 1 run each; Porcupine: >120 s, "
          f"target < {NOPART_TARGET:g} s):")
    for name in ("kv/c50-ok.txt", "kv/c50-bad.txt"):
        h = load_history(corpus / name)
        med, verdict, nodes = time_check(h.ops, "kv", 1, partition=False, timeout=args.cap)
        print(f"  {name}: {verdict.value} in {med:.3f} s ({nodes} nodes); "
              f"{'within' if verdict.value == expected(name) and med < NOPART_TARGET else 'MISSES'}"
              f" the target")

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
        }
        for label, pr in variants.items():
            t = time.perf_counter()
            sub_total, sub, bad = run_corpus(corpus, 1, pr, args.cap, True)
            wall = time.perf_counter() - t
            worst = max(sub, key=sub.get)
            print(f"  {label:44} total {sub_total:8.3f} s  worst {worst} {sub[worst]:.3f} s"
                  f"  mismatches/unknown {bad}  (wall {wall:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
