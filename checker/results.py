"""The checker's shared vocabulary: what a check answers and which pruning rules it uses.

Kept apart from the search, the scheduling and rule 8 so that each of them (and users, via
``checker.linearizability``) can name these types without importing the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .history import Operation

__all__ = ["DEFAULT_PRUNING", "CheckResult", "PartitionResult", "Pruning", "Verdict", "overall"]


@dataclass(frozen=True)
class Pruning:
    """Switches for the pruning rules (all on by default); for measuring what each is worth.

    Every rule keeps verdicts exact; turning one off only makes some searches slower.
    """

    read_absorption: bool = True
    skip_open_noops: bool = True
    identical_candidates: bool = True
    open_subsets: bool = True
    dead_reads: bool = True  # the model's may_become/is_reset hints
    lookahead: int = 2  # reads of each kind, called after the candidates, asked may_become
    unseen_open: bool = True  # the model's observes hint: skip open ops no read shows
    round_robin: bool = True  # interleave partitions, stop at the first failure
    components: bool = True  # rule 8: split a hard search into observed-independent groups
    components_after: int = 2048  # nodes the plain search wastes (beyond its deepest path)
    #                               before rule 8 starts
    sequential: bool = True  # a partition totally ordered by real time is just stepped


DEFAULT_PRUNING = Pruning()


class Verdict(StrEnum):
    """Outcome of a check; the values are the strings used in reports and JSON."""

    OK = "ok"
    ILLEGAL = "illegal"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value


@dataclass
class PartitionResult:
    """What the search found in one partition.

    ``ops`` is the partition's history sorted by call time; the indices below refer to it.
    ``linearizations`` are the longest partial linearizations found (the full one for an
    OK partition), as lists of (op index, state after the op). ``stuck`` are the operations
    that real time allowed next at the end of the longest one but the model refused;
    ``blocking`` is the completed operation whose return bounds that point, and
    ``fail_time`` its return time: no linearization gets past it. ``stuck`` also names the
    first read called later that can no longer succeed, when that is what ended the search.
    ``index`` is the partition's position in the model's partitioning. ``components`` is
    the number of independent groups the verdict came from (rule 8), 1 for a plain search.
    ``longest_exact`` is False when the longest partial linearizations of an illegal
    partition are only the longest found within the explanation's budget (a lower bound).
    """

    ops: list[Operation]
    verdict: Verdict
    linearizations: list[list[tuple[int, Any]]] = field(default_factory=list)
    stuck: list[int] = field(default_factory=list)
    blocking: int | None = None
    fail_time: float | None = None
    nodes: int = 0
    elapsed: float = 0.0
    index: int = 0
    components: int = 1
    longest_exact: bool = True


@dataclass
class CheckResult:
    """Overall verdict, plus per-partition details when ``verbose`` was asked for."""

    verdict: Verdict
    partitions: list[PartitionResult]
    elapsed: float
    nodes: int
    n_ops: int
    n_partitions: int

    @property
    def ok(self) -> bool:
        """True only for a proven-linearizable history."""
        return self.verdict is Verdict.OK


def overall(verdicts: set[Verdict]) -> Verdict:
    """One verdict from the partitions': any ILLEGAL decides, then any UNKNOWN."""
    if Verdict.ILLEGAL in verdicts:
        return Verdict.ILLEGAL
    if Verdict.UNKNOWN in verdicts:
        return Verdict.UNKNOWN
    return Verdict.OK
