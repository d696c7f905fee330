"""``faultlab replay FILE``: re-execute a recorded failure step by step."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from impl.errors import UserError
from impl.sim.replay import ReplayError, load_replay, replay


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "replay",
        help="re-execute a failure's replay file and show that it fails the same way",
        description="Re-execute the steps recorded in a replay file (written when a "
        "Hypothesis exploration fails) on a World built with the same seed, checking the "
        "machine's invariants after every step. Exit 1 when the failure is reached again, "
        "0 when the run passes.",
    )
    p.add_argument("file", help="replay file (.faultlab/replays/*.json)")
    p.add_argument("-v", "--verbose", action="store_true", help="print every step")
    p.add_argument("--shrink", action="store_true",
                   help="first shrink the failure to a minimal list of steps (delta debugging), "
                   "write it beside FILE as NAME.min.json, then replay that")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        record = load_replay(args.file)
        if args.shrink:
            record = _shrink(record, Path(args.file))
        print(f"replaying {record['machine']} seed {record['seed']}: "
              f"{len(record['steps'])} steps")
        on_step = (lambda i, s: print(f"  {i:4d} {s}")) if args.verbose else None
        outcome = replay(record, on_step)
    except ReplayError as e:
        raise UserError(str(e), code=3) from None
    if outcome.error is None:
        print(f"passed: all {outcome.total_steps} steps and the end checks "
              "(the recorded failure did not happen)")
        return 0
    where = (f"after step {outcome.steps_applied} of {outcome.total_steps}"
             if outcome.steps_applied < outcome.total_steps else "in the end checks")
    print(f"failed {where}: {outcome.error}")
    print("same failure as recorded" if outcome.reproduced
          else f"recorded failure was: {outcome.recorded_error}")
    return 1


def _shrink(record: dict, path: Path) -> dict:
    from impl.sim.shrink import shrink

    print(f"shrinking {path} ...", flush=True)
    try:
        small = shrink(record)
    except ValueError as e:
        raise UserError(f"{path}: cannot shrink: {e}", code=1) from None
    out = path.with_name(path.stem + ".min.json")
    out.write_text(json.dumps(small, default=repr) + "\n")
    print(f"shrunk {small['shrunk_from']} exploration steps to {small['exploration_steps']}: "
          f"{out}")
    return small
