"""Seeded bugs of Raft, as subclasses of the correct peer: each overrides one hook of
:class:`~faultlab.raft.raft.Raft` with one classic mistake, and the Hypothesis machine
(faultlab.raft.machine) must catch every one of them. The production class carries no bug
flags; a cluster runs a bug by its class (``build_cluster(..., raft=...)``), and
:func:`raft_with` gives the class for a set of bug names (the machines' ``bugs``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from faultlab.raft.messages import RequestVote
from faultlab.raft.raft import Raft
from faultlab.sim import codec

__all__ = ["BUGS", "raft_with", "VoteWithoutUpToDateCheck",
           "CommitOldTermByCounting", "ForgetVotedFor", "KeepConflictingSuffix",
           "ApplyBeyondCommit"]


class VoteWithoutUpToDateCheck(Raft):
    """RequestVote grants a vote without checking that the candidate's log is up-to-date."""

    def candidate_up_to_date(self, rv: RequestVote) -> bool:
        return True


class CommitOldTermByCounting(Raft):
    """The leader commits an entry of an earlier term once a majority stores it."""

    def may_commit_by_counting(self, term: int | None) -> bool:
        return True


class ForgetVotedFor(Raft):
    """votedFor is not persisted, so a restarted server can vote twice in one term."""

    def durable_voted_for(self) -> str | None:
        return None


class KeepConflictingSuffix(Raft):
    """AppendEntries overwrites a conflicting entry but keeps the entries after it."""

    def resolve_conflict(self, pos: int, entries: Sequence[tuple[int, Any]]) -> bool:
        self.log[pos] = entries[0]  # the entries after it stay
        self._encoded[pos] = codec.encode(entries[0])
        self._unchunk(pos)
        return False


class ApplyBeyondCommit(Raft):
    """Servers apply entries up to the end of their log instead of up to commitIndex."""

    def apply_limit(self) -> int:
        return self.last_log_index()

    def start(self, command: Any) -> tuple[int, int, bool]:
        result = super().start(command)
        if result[2]:
            self._apply_committed()
        return result


#: bug name -> the Raft subclass that has it
BUGS: dict[str, type[Raft]] = {
    "vote_without_up_to_date_check": VoteWithoutUpToDateCheck,
    "commit_old_term_by_counting": CommitOldTermByCounting,
    "forget_voted_for": ForgetVotedFor,
    "keep_conflicting_suffix": KeepConflictingSuffix,
    "apply_beyond_commit": ApplyBeyondCommit,
}

def raft_with(bugs: Iterable[str]) -> type[Raft]:
    """The Raft class with every bug named in ``bugs`` (each overrides its own hook)."""
    names = sorted(set(bugs))
    unknown = [b for b in names if b not in BUGS]
    if unknown:
        raise ValueError(f"unknown Raft bugs {unknown}; known: {sorted(BUGS)}")
    if not names:
        return Raft
    if len(names) == 1:
        return BUGS[names[0]]
    return type("+".join(BUGS[b].__name__ for b in names), tuple(BUGS[b] for b in names), {})
