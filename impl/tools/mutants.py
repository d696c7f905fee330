"""A mutation campaign over the project's own seeded bugs: how good is the explorer at
finding them?

Every machine registered as ``<system>-bug-<name>`` (:data:`faultlab.tools.machines.MACHINES`)
runs one seeded bug. :func:`campaign` explores each within the same budget (examples and
steps, one seed), shrinks what it found, and reports per bug: caught or escaped, examples
and seconds to the first failure, and the counterexample's length before and after
shrinking; the score is the share caught. An escape within the budget is not a proof the
bug is invisible: the deep-profile tests give some bugs larger budgets.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MutantResult", "bug_machines", "campaign", "format_report"]


@dataclass
class MutantResult:
    name: str
    caught: bool
    examples: int
    seconds: float
    error: str = ""
    found_steps: int = 0    # World steps of the failing example
    shrunk_steps: int = 0   # ... after shrinking (0: not shrunk)


def bug_machines(systems: Sequence[str] = ()) -> list[str]:
    """The registered seeded-bug machines, of ``systems`` only when given (a system is the
    part before ``-bug-``: raft, paxos, pb, kv, shard, register; or a machine's full name)."""
    from faultlab.tools.machines import MACHINES

    names = sorted(n for n in MACHINES if "-bug-" in n)
    if systems:
        names = [n for n in names if n.split("-bug-")[0] in systems or n in systems]
    return names


def campaign(names: Sequence[str], *, seed: int, examples: int, steps: int,
             replays: Path, shrink: bool = True,
             progress: Callable[[MutantResult], None] | None = None) -> list[MutantResult]:
    """Explore every bug of ``names`` with the same budget; replay files go to ``replays``."""
    import os

    from faultlab.tools.explore import explore
    from faultlab.tools.machines import MACHINES
    from faultlab.tools.replay import load_replay, machine_class

    results = []
    saved = os.environ.get("FAULTLAB_REPLAY_DIR")
    for name in names:
        cls = machine_class(MACHINES[name][0])
        os.environ["FAULTLAB_REPLAY_DIR"] = str(replays / name)  # explore writes there
        started = time.perf_counter()
        try:
            found = explore(cls, seed=seed, examples=examples, steps=steps)
        finally:
            if saved is None:
                os.environ.pop("FAULTLAB_REPLAY_DIR", None)
            else:
                os.environ["FAULTLAB_REPLAY_DIR"] = saved
        result = MutantResult(name, found.error is not None, found.examples,
                              time.perf_counter() - started, found.error or "")
        if found.replay is not None:
            record = load_replay(found.replay, allow_modules=[cls.__module__])
            result.found_steps = len(record["steps"])
            if shrink:
                result.shrunk_steps = _shrunk_length(record, found.replay)
        results.append(result)
        if progress is not None:
            progress(result)
    return results


def _shrunk_length(record: dict, path: Path) -> int:
    from faultlab.tools.shrink import shrink

    try:
        small = shrink(record)
    except ValueError:
        return 0  # the failure did not reproduce on its steps alone
    path.with_name(path.stem + ".min.json").write_text(json.dumps(small, default=repr) + "\n")
    return small["exploration_steps"]


def format_report(results: Sequence[MutantResult], budget: str) -> list[str]:
    lines = [f"{'seeded bug':<40} {'verdict':<8} {'examples':>8} {'seconds':>8} "
             f"{'steps':>6} {'shrunk':>6}"]
    for r in results:
        lines.append(f"{r.name:<40} {'caught' if r.caught else 'ESCAPED':<8} {r.examples:>8} "
                     f"{r.seconds:>8.1f} {r.found_steps or '-':>6} {r.shrunk_steps or '-':>6}")
    caught = sum(r.caught for r in results)
    share = 100 * caught / len(results) if results else 0.0
    lines.append(f"mutation score: {caught} of {len(results)} caught ({share:.0f} %) within "
                 f"{budget}")
    return lines
