"""Raft's RPCs as one-way messages (extended paper, Figure 2).

The network of the simulator carries one-way messages, so each reply carries what the
requester needs to use it without remembering the request: the responder's term and, for
AppendEntries, the index up to which the follower's log now matches the leader's (on
success) or where the leader should back up to (on failure).

Log entries travel as ``(term, command)`` tuples. Class names are what the codec puts on the
wire, so they count in the byte figures of the lab tests.
"""

from __future__ import annotations

from typing import Any

from faultlab.sim.messages import message

__all__ = [
    "RequestVote", "RequestVoteReply", "AppendEntries", "AppendEntriesReply",
    "InstallSnapshot", "InstallSnapshotReply", "RAFT_MESSAGES",
]


@message
class RequestVote:
    """Invoked by candidates to gather votes."""

    term: int             # candidate's term
    candidate: str        # candidate requesting the vote
    last_log_index: int   # index of the candidate's last log entry
    last_log_term: int    # term of the candidate's last log entry


@message(reply=True)
class RequestVoteReply:
    term: int             # current term of the voter, for the candidate to update itself
    granted: bool         # true means the candidate received the vote


@message
class AppendEntries:
    """Invoked by the leader to replicate log entries; also used as heartbeat."""

    term: int             # leader's term
    leader: str           # so followers can redirect clients
    prev_log_index: int   # index of the log entry immediately preceding the new ones
    prev_log_term: int    # term of the prev_log_index entry
    entries: tuple[tuple[int, Any], ...]  # (term, command) pairs; empty for a heartbeat
    leader_commit: int    # leader's commit index


@message(reply=True)
class AppendEntriesReply:
    term: int             # current term, for the leader to update itself
    success: bool         # follower contained an entry matching prev_log_index/prev_log_term
    match_index: int      # on success: prev_log_index + len(entries) (the verified prefix)
    conflict_term: int    # on failure: term of the conflicting entry, 0 if the log is too short
    conflict_index: int   # on failure: first index of conflict_term, or the log length + 1


@message
class InstallSnapshot:
    """Invoked by the leader to send a follower the snapshot its log no longer covers."""

    term: int
    leader: str
    last_included_index: int
    last_included_term: int
    data: bytes


@message(reply=True)
class InstallSnapshotReply:
    term: int
    last_included_index: int  # echoed, so the leader knows how far the follower now matches


RAFT_MESSAGES = (RequestVote, RequestVoteReply, AppendEntries, AppendEntriesReply,
                 InstallSnapshot, InstallSnapshotReply)
