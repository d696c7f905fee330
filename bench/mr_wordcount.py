"""Word count three ways on the same generated input: is MapReduce with 2 workers faster?

    python bench/mr_wordcount.py [--mb 50] [--workers 2] [--repeat 3] [--dir DIR]

1. the sequential reference, ``faultlab mr sequential wc`` (one process);
2. ``faultlab mr run wc --workers 2``: a coordinator and two worker processes;
3. the shell pipeline ``tr -s '[:space:]' '\\n' | sort | uniq -c`` (LC_ALL=C).

Each is a fresh process tree timed from start to exit (interpreter start-up included), best
wall time of ``--repeat`` runs; CPU is user+system time of all its processes. The MapReduce
output is checked against the reference. The pipeline counts whitespace-separated tokens,
punctuation included, so its output differs; it is there as a speed yardstick. The target of
the issue: the 2-worker run at least 1.5x faster than the sequential reference. That needs
two cores free: the load average is printed, and on Linux with ``sched_autogroup_enabled``
all processes of one terminal session share one session's CPU share, so on a busy machine
the coordinator and both workers together get no more CPU than the sequential run.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from faultlab.mr.corpus import generate_corpus  # noqa: E402
from faultlab.mr.files import output_lines  # noqa: E402


def timed(cmd: list[str] | str, **kwargs) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the whole process tree) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, **kwargs)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def best(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return min(runs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=float, default=50.0, help="input size in MB (default 50)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each; the best counts")
    ap.add_argument("--dir", default="/tmp/faultlab-bench-mr", help="scratch folder")
    args = ap.parse_args()

    work = Path(args.dir)
    inputs = work / f"input-{args.mb:g}mb"
    t0 = time.perf_counter()
    marker = inputs / ".complete"  # the corpus is deterministic: generate it once
    if marker.exists():
        files = [str(inputs / name) for name in marker.read_text().split()]
    else:
        files = [str(p) for p in generate_corpus(inputs, args.mb)]
        marker.write_text(" ".join(Path(f).name for f in files))
    total = sum(Path(f).stat().st_size for f in files)
    print(f"input: {len(files)} files, {total / 1e6:.1f} MB in {inputs} "
          f"(ready in {time.perf_counter() - t0:.1f}s)")
    env = dict(os.environ)
    py = [sys.executable, "-m", "faultlab.mr.cli"]
    seq_out, mr_out, sh_out = work / "sequential.txt", work / "mr", work / "shell.txt"
    quiet = {"env": env, "stdout": subprocess.DEVNULL}
    results: dict[str, list[tuple[float, float]]] = {"sequential": [], "mr": [], "shell": []}
    for k in range(args.repeat):
        print(f"round {k + 1}/{args.repeat}: load average {os.getloadavg()[0]:.1f}", flush=True)
        results["sequential"].append(
            timed([*py, "sequential", "wc", *files, "--out", str(seq_out)], **quiet))
        results["mr"].append(
            timed([*py, "run", "wc", *files, "--workers", str(args.workers),
                   "--out", str(mr_out), "--overwrite"], **quiet))
        pipeline = ("cat " + " ".join(f"'{f}'" for f in files) +
                    f" | tr -s '[:space:]' '\\n' | sort | uniq -c > '{sh_out}'")
        results["shell"].append(timed(["bash", "-c", pipeline],
                                      env={**os.environ, "LC_ALL": "C"}))
        for name, runs in results.items():
            print(f"  {name:10s} {runs[-1][0]:6.2f}s wall {runs[-1][1]:6.2f}s cpu")

    same = output_lines(mr_out) == output_lines([seq_out])
    seq, mr, sh = best(results["sequential"]), best(results["mr"]), best(results["shell"])
    print()
    print(f"{'':32s} {'wall':>7s} {'cpu':>7s}")
    print(f"{'sequential reference':32s} {seq[0]:6.2f}s {seq[1]:6.2f}s")
    print(f"{f'mr run, {args.workers} worker processes':32s} {mr[0]:6.2f}s {mr[1]:6.2f}s")
    print(f"{'tr | sort | uniq -c':32s} {sh[0]:6.2f}s {sh[1]:6.2f}s")
    print()
    speedup = seq[0] / mr[0]
    print(f"mr run vs sequential: {speedup:.2f}x faster (target >= 1.5x: "
          f"{'met' if speedup >= 1.5 else 'NOT met'})")
    print(f"mr run vs shell pipeline: {sh[0] / mr[0]:.2f}x "
          f"({'faster' if mr[0] < sh[0] else 'slower'})")
    print(f"sequential vs shell pipeline: {sh[0] / seq[0]:.2f}x")
    print(f"MapReduce output equals the sequential reference: {same}")
    print(f"cores {os.cpu_count()}, load average now {os.getloadavg()[0]:.1f}, "
          f"autogroup scheduling {_autogroup()}")
    return 0 if same else 1


def _autogroup() -> str:
    try:
        return {"1": "on", "0": "off"}[
            Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip()]
    except (OSError, KeyError):
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
