"""How the checker scales with the history's length (not a test; issue 18's proof).

Generates linearizable and non-linearizable histories (kv put/get, and registers keyed as
Jepsen's ``independent`` checker writes them), of 10^4, 10^5 and 10^6 operations, on 10 and
1,000 keys, with 10 and 50 calls in flight; writes each to a JSON-lines file and times the
whole command (``python -m faultlab.checker FILE --timeout T``'s main, in a fresh process,
reading included) and its peak memory (VmHWM). Prints one row per history and the growth
ratio of the time per 10x of operations (goal: <= 12 for these partitionable histories).

    python bench/checker_scale.py                     # everything (a few minutes)
    python bench/checker_scale.py --sizes 1e4,1e5 --keys 10 --in-flight 10 --models kv

Where ``PORCUPINE_DIR`` names a Porcupine checkout and ``go`` is on the PATH, the kv
histories are also checked by Porcupine in the same run (a small Go program, written
here, reads the same history converted to its event form) and the ratio is printed;
otherwise the script says that it was skipped.

How the histories are made: ``in_flight`` clients each call, wait and call again; an
operation's linearization point lies inside its interval; outputs come from running the
operations in the order of their points, so the history is linearizable by construction.
The non-linearizable variant changes the output of one read past the middle to a value
never written.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from faultlab.checker.formats.jsonl import write_history
from faultlab.checker.history import Operation

MODEL_OF = {"kv": "kv", "register": "independent-register"}


def generate(model: str, n: int, keys: int, in_flight: int, bad: bool, seed: int = 1
             ) -> list[Operation]:
    """A linearizable history (``bad``: with one impossible read), sorted by call."""
    rng = random.Random(seed)
    free = [0.0] * in_flight
    raw = []
    for i in range(n):
        c = i % in_flight
        call = free[c] + rng.random()
        point = call + rng.random() * in_flight * 0.5
        ret = point + rng.random() * in_flight * 0.5
        free[c] = ret
        raw.append((point, c, rng.randrange(keys), rng.random() < 0.5, call, ret, i))
    raw.sort()
    value: dict[int, Any] = {}
    ops = []
    for _point, c, k, write, call, ret, i in raw:
        call, ret = round(call, 3), round(ret, 3)
        if model == "kv":
            key = f"k{k}"
            if write:
                value[k] = str(i)
                inp: dict[str, Any] = {"op": "put", "key": key, "value": str(i)}
                ops.append(Operation(c, inp, None, call, ret))
            else:
                inp = {"op": "get", "key": key}
                ops.append(Operation(c, inp, value.get(k, ""), call, ret))
        elif write:
            value[k] = i
            ops.append(Operation(c, {"op": "write", "key": k, "value": i}, None, call, ret))
        else:
            ops.append(Operation(c, {"op": "read", "key": k}, value.get(k), call, ret))
    ops.sort(key=lambda op: op.call)
    if bad:
        reads = ("get", "read")
        j = next(j for j in range(n // 2, n) if ops[j].input["op"] in reads)
        o = ops[j]
        ops[j] = Operation(o.client, o.input, "never written" if model == "kv" else -1,
                           o.call, o.ret)
    return ops


#: Runs the command line's main and reports the process's peak memory (VmHWM: RSS since
#: exec; ru_maxrss would count the benchmark's own memory, inherited at fork).
CHECKER = """import sys
from faultlab.checker.cli import main
try:
    code = main(sys.argv[1:])
finally:
    hwm = [ln for ln in open("/proc/self/status") if ln.startswith("VmHWM")]
    sys.stderr.write("\\nHWM " + (hwm[0].split()[1] if hwm else "0") + "\\n")
sys.exit(code)
"""


def run_command(argv: list[str], timeout: float) -> tuple[int, float, float]:
    """(exit code, wall seconds, peak RSS in MB: -1 if unknown) of a command in a fresh
    process (killed after ``timeout`` seconds)."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    wall = time.monotonic() - start
    hwm = [ln for ln in err.splitlines() if ln.startswith("HWM ")]
    return proc.returncode, wall, int(hwm[-1].split()[1]) / 1024 if hwm else -1.0


VERDICT = {0: "ok", 1: "illegal", 2: "unknown", 3: "bad input"}

GO_MAIN = """package main

// Reads a kv history (one JSON object a line: call/return events) and checks it.
import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/anishathalye/porcupine"
)

type in struct {
	Op, Key, Value string
}

type line struct {
	Kind  string `json:"kind"`
	Id    int    `json:"id"`
	Cl    int    `json:"client"`
	Input in     `json:"input"`
	Out   string `json:"output"`
}

func main() {
	f, _ := os.Open(os.Args[1])
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var events []porcupine.Event
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			panic(err)
		}
		if l.Kind == "call" {
			events = append(events, porcupine.Event{ClientId: l.Cl,
				Kind: porcupine.CallEvent, Value: l.Input, Id: l.Id})
		} else {
			events = append(events, porcupine.Event{ClientId: l.Cl,
				Kind: porcupine.ReturnEvent, Value: l.Out, Id: l.Id})
		}
	}
	model := porcupine.Model{
		Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
			m := map[string][]porcupine.Operation{}
			var keys []string
			for _, op := range h {
				k := op.Input.(in).Key
				if _, ok := m[k]; !ok {
					keys = append(keys, k)
				}
				m[k] = append(m[k], op)
			}
			var out [][]porcupine.Operation
			for _, k := range keys {
				out = append(out, m[k])
			}
			return out
		},
		PartitionEvent: func(h []porcupine.Event) [][]porcupine.Event {
			keyOf := map[int]string{}
			m := map[string][]porcupine.Event{}
			var keys []string
			for _, e := range h {
				if e.Kind == porcupine.CallEvent {
					keyOf[e.Id] = e.Value.(in).Key
				}
				k := keyOf[e.Id]
				if _, ok := m[k]; !ok {
					keys = append(keys, k)
				}
				m[k] = append(m[k], e)
			}
			var out [][]porcupine.Event
			for _, k := range keys {
				out = append(out, m[k])
			}
			return out
		},
		Init: func() interface{} { return "" },
		Step: func(state, input, output interface{}) (bool, interface{}) {
			i, s := input.(in), state.(string)
			switch i.Op {
			case "get":
				return output.(string) == s, s
			case "put":
				return true, i.Value
			}
			return true, s + i.Value
		},
		Equal: func(a, b interface{}) bool { return a == b },
	}
	res := porcupine.CheckEventsVerbose(model, events, 600*time.Second)
	fmt.Println(res)
	if res == porcupine.Ok {
		os.Exit(0)
	}
	os.Exit(1)
}
"""


def porcupine_harness(work: Path) -> Path | None:
    """Build the Go program against ``$PORCUPINE_DIR``; None (and why) when not possible."""
    pdir = os.environ.get("PORCUPINE_DIR")
    go = shutil.which("go")
    if not pdir or not go:
        print("Porcupine: skipped (set PORCUPINE_DIR to a checkout and put go on the PATH)")
        return None
    src = work / "porc"
    src.mkdir(exist_ok=True)
    (src / "main.go").write_text(GO_MAIN)
    (src / "go.mod").write_text(
        "module scalebench\n\ngo 1.21\n\nrequire github.com/anishathalye/porcupine v0.0.0\n\n"
        f"replace github.com/anishathalye/porcupine => {Path(pdir).resolve()}\n")
    built = subprocess.run([go, "build", "-o", str(work / "porc-check"), "."], cwd=src,
                           capture_output=True, text=True)
    if built.returncode != 0:
        print(f"Porcupine: skipped (go build failed: {built.stderr.strip()[:200]})")
        return None
    return work / "porc-check"


def write_events(ops: list[Operation], path: Path) -> None:
    """The kv history as Porcupine events (calls before returns at equal times)."""
    events = []
    for i, op in enumerate(ops):
        events.append((op.call, 0, i, {"kind": "call", "id": i, "client": op.client,
                                       "input": {"Op": op.input["op"], "Key": op.input["key"],
                                                 "Value": op.input.get("value", "")}}))
        events.append((op.ret, 1, i, {"kind": "return", "id": i, "client": op.client,
                                      "output": op.output or ""}))
    events.sort(key=lambda e: e[:3])
    with open(path, "w") as f:
        for e in events:
            f.write(json.dumps(e[3]) + "\n")


def main(argv: list[str] | None = None) -> int:
    """Run the matrix and print the table; exit 1 if a verdict was wrong."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="1e4,1e5,1e6")
    p.add_argument("--keys", default="10,1000")
    p.add_argument("--in-flight", default="10,50")
    p.add_argument("--models", default="kv,register")
    p.add_argument("--kinds", default="ok,bad")
    p.add_argument("--timeout", type=float, default=120.0, help="--timeout given to the checker")
    args = p.parse_args(argv)
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    wrong = 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        porc = porcupine_harness(work) if "kv" in args.models else None
        print(f"{'model':<9} {'keys':>5} {'fly':>4} {'kind':<4} {'ops':>8} {'verdict':<8} "
              f"{'time s':>8} {'MB':>6} {'x/10x':>6}" + ("  porcupine s  ratio" if porc else ""))
        for model in args.models.split(","):
            for keys in map(int, args.keys.split(",")):
                for fly in map(int, args.in_flight.split(",")):
                    for kind in args.kinds.split(","):
                        prev: tuple[int, float] | None = None
                        for n in sizes:
                            ops = generate(model, n, keys, fly, kind == "bad")
                            path = work / "h.jsonl"
                            write_history(ops, path, model=MODEL_OF[model])
                            del ops
                            code, wall, mb = run_command(
                                [sys.executable, "-c", CHECKER, str(path),
                                 "--timeout", str(args.timeout)], args.timeout * 2 + 60)
                            verdict = VERDICT.get(code, f"exit {code}")
                            want = "ok" if kind == "ok" else "illegal"
                            if verdict not in (want, "unknown"):
                                wrong += 1
                            growth = ""
                            if prev is not None and n == prev[0] * 10 and prev[1] > 0:
                                growth = f"{wall / prev[1]:.1f}"
                            prev = (n, wall)
                            row = (f"{model:<9} {keys:>5} {fly:>4} {kind:<4} {n:>8} "
                                   f"{verdict:<8} {wall:>8.2f} {mb:>6.0f} {growth:>6}")
                            if porc is not None and model == "kv":
                                ev = work / "h.events"
                                write_events(generate(model, n, keys, fly, kind == "bad"), ev)
                                _, pwall, _ = run_command([str(porc), str(ev)], 660)
                                row += f"  {pwall:>11.2f}  {wall / pwall:>5.2f}"
                            print(row, flush=True)
    if wrong:
        print(f"{wrong} wrong verdict(s)")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
