"""What the key/value tests check, shared by the lab tester, the Hypothesis machine and the
demo: the history is linearizable, and each clerk's appends are all there, once, in order.

Unlike the course's tester, an undecided check is not a pass: :func:`audit` reports the
verdict, and :func:`require_linearizable` fails on ILLEGAL and on UNKNOWN alike.
Calls that never returned are in the history as open operations (they may or may not have
taken effect), never dropped.
"""

from __future__ import annotations

from collections.abc import Iterable

from faultlab.checker.linearizability import CheckResult, Verdict, check
from faultlab.sim.world import World
from faultlab.tools.history import operations

__all__ = ["audit", "require_linearizable", "append_value", "check_appends",
           "acknowledged_appends_missing"]

# The labs give their checker 1 s and pass a history it cannot decide in time; here an
# undecided check fails, so the budget is wall-clock room for a loaded machine (a 49k-call
# history takes about half a second on an idle core), not a property of the service.
LINEARIZABILITY_TIMEOUT = 10.0


def audit(world: World, clerks: Iterable[str] | None = None,
          timeout: float = LINEARIZABILITY_TIMEOUT, model: str = "kv") -> CheckResult:
    """Check the calls of ``clerks`` (default: every clerk) against ``model`` (the kv
    model; the single server of :mod:`faultlab.kvsrv` is checked with ``versioned-kv``)."""
    ops = operations(world)
    if clerks is not None:
        names = sorted(world.clients)
        keep = {names.index(c) for c in clerks}
        ops = [op for op in ops if op.client in keep]
    return check(ops, model, timeout=timeout)


def require_linearizable(world: World, where: str, clerks: Iterable[str] | None = None,
                         timeout: float = LINEARIZABILITY_TIMEOUT,
                         model: str = "kv") -> CheckResult:
    """:func:`audit`, raising AssertionError (with ``where``: test and seed) unless OK."""
    result = audit(world, clerks, timeout, model)
    n = sum(1 for r in world.history if clerks is None or r.client in set(clerks))
    if result.verdict is Verdict.ILLEGAL:
        raise AssertionError(f"history of {n} calls is not linearizable{where}")
    if result.verdict is Verdict.UNKNOWN:
        raise AssertionError(f"linearizability of {n} calls undecided within {timeout}s "
                             f"(unknown is not a pass){where}")
    return result


def append_value(client: int | str, j: int) -> str:
    """The value the Go tests append: "x <client> <j> y"."""
    return f"x {client} {j} y"


def check_appends(value: str, client: int | str, count: int) -> str | None:
    """kvraft's checkClntAppends: appends 0..count-1 of ``client`` each once, in order;
    the problem in words, or None."""
    last = -1
    for j in range(count):
        wanted = append_value(client, j)
        at = value.find(wanted)
        if at < 0:
            return f"missing element {wanted!r} in Append result"
        if value.find(wanted, at + 1) >= 0:
            return f"duplicate element {wanted!r} in Append result"
        if at <= last:
            return f"wrong order for element {wanted!r} in Append result"
        last = at
    return None


def acknowledged_appends_missing(world: World, final: dict[str, str]) -> list[str]:
    """Acknowledged appends (calls that returned) absent from ``final`` (key -> value)."""
    missing = []
    for rec in world.history:
        inp = rec.input
        if (rec.done and isinstance(inp, dict) and inp.get("op") == "append"
                and inp["value"] not in final.get(inp["key"], "")):
            missing.append(f"{rec.client}: append {inp['value']!r} to {inp['key']!r}")
    return missing
