"""One row of the ``faultlab demo`` table, in a leaf module of its own.

Each lab's ``demo.py`` returns these rows; keeping the class here (importing nothing) lets a
lab build its rows without importing :mod:`faultlab.demo`, the command that runs every lab.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

__all__ = ["DemoRow", "format_rows", "WIDTH"]

WIDTH = 100  # a terminal's columns the table must fit, whatever the rows say


@dataclass
class DemoRow:
    """What one demo run drove, explored and checked, and whether it came out as expected."""

    system: str
    driver: str
    explored: str
    checked: str
    verdict: str
    ok: bool


def format_rows(rows: list[DemoRow], width: int = WIDTH) -> list[str]:
    """The demo's table as lines of at most ``width`` columns: per row, a heading line
    (``[ok]`` or ``[UNEXPECTED]``, the system, the verdict), then its driver, what it explored
    and what was checked, each wrapped under its label. No field's length widens it."""
    lines: list[str] = []
    label = len("explored") + 2
    for r in rows:
        head = f"[{'ok' if r.ok else 'UNEXPECTED'}] {r.system}: {r.verdict}"
        lines += textwrap.wrap(head, width, subsequent_indent=" " * 6,
                               break_on_hyphens=False)
        for name, text in (("driver", r.driver), ("explored", r.explored),
                           ("checked", r.checked)):
            lines += textwrap.wrap(text, width, initial_indent=f"    {name:<{label}}",
                                   subsequent_indent=" " * (4 + label),
                                   break_on_hyphens=False) or [f"    {name}"]
    return lines


def service_rows(system: str, run, seed: int, explored: str, checked: str,
                 bug: type, bug_driver: str) -> list[DemoRow]:
    """The rows of a replicated service's demo: ``run(seed, engine, server)`` on each engine
    (returning calls, verdict, first problem), then the same run with the seeded ``bug``,
    which must be caught."""
    rows = []
    for engine in ("raft", "paxos"):
        calls, verdict, problem = run(seed, engine, None)
        rows.append(DemoRow(
            f"{system} on {engine}", "seeded scheduler, unreliable net",
            f"{calls} calls, {explored}", checked,
            verdict + (f"; {problem}" if problem else ""), verdict == "ok" and not problem))
    calls, verdict, problem = run(seed, "raft", bug)
    caught = verdict == "illegal" or bool(problem)
    rows.append(DemoRow(
        f"{system} on raft, seeded bug", bug_driver, f"{calls} calls",
        "linearizability (kv model)",
        f"{verdict} (bug {'caught' if caught else 'NOT caught'})", caught))
    return rows
