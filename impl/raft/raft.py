"""Raft, as in Figure 2 of the extended paper, as a component a host node embeds.

The component is sans-IO: it never touches the network, clock or disk itself, only the host's
:class:`faultlab.sim.node.Context` (``send``, ``set_timer``, ``cancel_timer``, ``random``,
``persister``). The host forwards messages and timers to :meth:`Raft.on_message` and
:meth:`Raft.on_timer` (they return False for what is not Raft's) and receives committed
commands and installed snapshots through the ``apply`` callback, one
:class:`faultlab.consensus.ApplyMsg` at a time, in index order. It implements the
:class:`faultlab.consensus.ConsensusLog` interface, so a service can embed Raft or the Paxos log.

The code follows the figure's sections in order:

* **State** (persistent: ``current_term``, ``voted_for``, ``log``; volatile: ``commit_index``,
  ``last_applied``; leaders: ``next_index``, ``match_index``). Log indices start at 1. The log
  holds the entries after the snapshot: entry ``i`` is ``log[i - snapshot_index - 1]``, and
  ``snapshot_index``/``snapshot_term`` describe the last entry the snapshot covers (0/0 when
  there is none). Persistent state is saved, with the codec, before any message that depends
  on it is sent.
* **RequestVote**: grant when the candidate's term is current, we have not voted for someone
  else in it, and the candidate's log is at least as up-to-date as ours (last term, then
  length; section 5.4.1).
* **AppendEntries**: reject a stale leader; otherwise check that our log has an entry at
  ``prev_log_index`` with ``prev_log_term``; on a mismatch reply with the conflicting term and
  its first index, so the leader can skip a whole term per round trip (the "fast backup" of
  section 5.3's footnote); on a match delete a conflicting suffix (and only a conflicting
  one: a delayed, shorter AppendEntries must not cut entries that came later), append what is
  new, and advance ``commit_index`` to ``min(leader_commit, index of last new entry)``.
* **InstallSnapshot** (section 7): replace the log prefix by the leader's snapshot, keep a
  suffix that follows it consistently, and hand the snapshot to the service.
* **Rules for servers**: any message with a higher term makes us a follower of that term;
  followers and candidates start an election when their randomized election timeout passes
  without hearing from a current leader or granting a vote; a candidate that gathers a
  majority becomes leader and sends heartbeats at once and every ``HEARTBEAT`` seconds;
  the leader replicates new entries at once, backs ``next_index`` up on rejections, and
  advances ``commit_index`` to the largest N replicated on a majority **with
  log[N].term == current_term** (entries of older terms are committed only indirectly,
  Figure 8); every server applies entries ``last_applied+1 .. commit_index`` in order.

Seeded bugs are subclasses in :mod:`faultlab.raft.bugs`, each overriding one hook of
:class:`Raft` (``candidate_up_to_date``, ``may_commit_by_counting``, ``durable_voted_for``,
``resolve_conflict``, ``apply_limit``) with one classic mistake, so the tests can show that
the Hypothesis machine catches it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from faultlab.consensus import ApplyMsg
from faultlab.raft.messages import (
    AppendEntries,
    AppendEntriesReply,
    InstallSnapshot,
    InstallSnapshotReply,
    RequestVote,
    RequestVoteReply,
)
from faultlab.sim import codec
from faultlab.sim.node import Context

__all__ = ["Raft", "FOLLOWER", "CANDIDATE", "LEADER", "HEARTBEAT",
           "ELECTION_TIMEOUT", "ELECTION_TIMER", "HEARTBEAT_TIMER"]

FOLLOWER, CANDIDATE, LEADER = "follower", "candidate", "leader"

HEARTBEAT = 0.1                   # seconds between a leader's AppendEntries rounds (<= 10/s)
ELECTION_TIMEOUT = (0.3, 0.6)     # randomized election timeout range, in seconds
MAX_ENTRIES = 256                 # entries per AppendEntries at most
CHUNK = 64                        # log entries per joined piece of the persisted state
ELECTION_TIMER = "raft:election"
HEARTBEAT_TIMER = "raft:heartbeat"

class Raft:
    """One Raft peer. ``peers`` names every server of the cluster, ``me`` included."""

    def __init__(
        self,
        ctx: Context,
        peers: Sequence[str],
        me: str,
        apply: Callable[[ApplyMsg], None],
    ) -> None:
        self.ctx = ctx
        self.peers = tuple(peers)
        self.me = me
        self.others = tuple(p for p in self.peers if p != me)
        self.majority = len(self.peers) // 2 + 1
        self.apply = apply

        # Persistent state on all servers (saved before answering any RPC).
        self.current_term = 0
        self.voted_for: str | None = None
        self.log: list[tuple[int, Any]] = []      # entries snapshot_index+1 .. last
        self._encoded: list[bytes] = []             # codec encoding of each log entry
        self._chunks: list[bytes] = []              # joined runs of CHUNK of those
        self.snapshot_index = 0
        self.snapshot_term = 0
        # Volatile state on all servers.
        self.commit_index = 0
        self.last_applied = 0
        self.role = FOLLOWER
        self.leader_id: str | None = None
        self.votes: set[str] = set()
        # Volatile state on leaders (reinitialized after election).
        self.next_index: dict[str, int] = {}
        self.match_index: dict[str, int] = {}
        self.sent_index: dict[str, int] = {}   # highest index sent to a peer (not verified)
        self._applying = False

    # ------------------------------------------------------------------ log helpers

    def last_log_index(self) -> int:
        return self.snapshot_index + len(self.log)

    def last_log_term(self) -> int:
        return self.log[-1][0] if self.log else self.snapshot_term

    def term_at(self, index: int) -> int | None:
        """Term of the entry at ``index``; None when the log does not hold it (any more)."""
        if index == self.snapshot_index:
            return self.snapshot_term
        if self.snapshot_index < index <= self.last_log_index():
            return self.log[index - self.snapshot_index - 1][0]
        return None

    def entry(self, index: int) -> tuple[int, Any]:
        return self.log[index - self.snapshot_index - 1]

    # ------------------------------------------------------------------ persistence

    def _log_append(self, entries: Sequence[tuple[int, Any]]) -> None:
        self.log.extend(entries)
        self._encoded.extend(codec.encode(e) for e in entries)

    def _log_truncate(self, pos: int) -> None:
        """Delete log[pos:] (list positions, not indices)."""
        del self.log[pos:]
        del self._encoded[pos:]
        self._unchunk(pos)

    def _log_drop_prefix(self, pos: int) -> None:
        """Keep log[pos:] only; new lists, so the dropped entries are freed."""
        self.log = self.log[pos:]
        self._encoded = self._encoded[pos:]
        self._chunks = []

    def _unchunk(self, pos: int) -> None:
        """Entry ``pos`` changed: the joined chunks from the one holding it on are stale."""
        del self._chunks[pos // CHUNK:]

    def _encoded_pieces(self) -> list[bytes]:
        """The log's encoded entries as whole chunks of ``CHUNK`` entries (each joined once
        and kept while its entries stay) followed by the entries after the last chunk."""
        done = len(self._chunks) * CHUNK
        while done + 2 * CHUNK <= len(self._encoded):
            self._chunks.append(b"".join(self._encoded[done:done + CHUNK]))
            done += CHUNK
        return [*self._chunks, *self._encoded[done:]]

    def persisted_state(self) -> tuple[bytes, ...]:
        """``codec.encode((currentTerm, votedFor, snapshotIndex, snapshotTerm, log))`` in
        pieces (the persister joins them when read), built from the cached encoding of each
        entry (the codec writes a tuple as tag, count, items): saving after an append neither
        re-encodes nor copies the whole log."""
        head = codec.encode((self.current_term, self.durable_voted_for(), self.snapshot_index,
                             self.snapshot_term, ()))
        return codec.last_pieces(head, len(self.log), self._encoded_pieces())

    def durable_voted_for(self) -> str | None:
        """The votedFor that persisting saves (a vote must survive a restart)."""
        return self.voted_for

    def persist(self, snapshot: bytes | None = None) -> None:
        """Save currentTerm, votedFor and the log (and the snapshot, atomically, if given)."""
        self.ctx.persister.save(self.persisted_state(), snapshot)

    def state_size(self) -> int:
        return self.ctx.persister.state_size()

    def restore(self) -> None:
        """Read the persisted state (:meth:`on_start` then hands the snapshot to the service)."""
        data = self.ctx.persister.read_state()
        if not data:
            return
        term, voted, s_index, s_term, log = codec.decode(data)
        self.current_term, self.voted_for = term, voted
        self.snapshot_index, self.snapshot_term = s_index, s_term
        self.log, self._encoded, self._chunks = [], [], []
        self._log_append([tuple(e) for e in log])
        # Everything up to the snapshot was applied by the service before it was taken; the
        # service gets the snapshot back through apply (the contract's restart rule).
        self.commit_index = self.last_applied = s_index

    # ------------------------------------------------------------------ host interface

    def on_start(self) -> None:
        self.restore()
        if self.snapshot_index > 0:
            self.apply(ApplyMsg(snapshot_valid=True, snapshot=self.ctx.persister.read_snapshot(),
                                snapshot_term=self.snapshot_term,
                                snapshot_index=self.snapshot_index))
        self._reset_election_timer()

    def on_message(self, src: str, msg: Any) -> bool:
        handler = _HANDLERS.get(type(msg))
        if handler is None:
            return False
        handler(self, src, msg)
        return True

    def on_send_failed(self, dst: str, msg: Any) -> bool:
        """Raft ignores undelivered messages (heartbeats and retries recover them)."""
        return type(msg) in _HANDLERS

    def on_timer(self, name: str) -> bool:
        if name == ELECTION_TIMER:
            if self.role != LEADER:
                self._start_election()
            return True
        if name == HEARTBEAT_TIMER:
            if self.role == LEADER:
                self._broadcast_append_entries()
                self.ctx.set_timer(HEARTBEAT_TIMER, HEARTBEAT)
            return True
        return False

    def start(self, command: Any) -> tuple[int, int, bool]:
        """Propose ``command``: (index it will have if committed, current term, is leader)."""
        if self.role != LEADER:
            return -1, self.current_term, False
        self._log_append([(self.current_term, command)])
        self.persist()
        index = self.last_log_index()
        self._advance_commit_index()  # a one-server cluster commits at once
        for peer in self.others:
            # Replicate at once, unless entries sent earlier are not acknowledged yet: then
            # their reply (or the next heartbeat, if they were lost) carries this one too.
            if self.sent_index[peer] <= self.match_index[peer]:
                self._send_append_entries(peer)
        return index, self.current_term, True

    def get_state(self) -> tuple[int, bool]:
        return self.current_term, self.role == LEADER

    def leader_hint(self) -> str | None:
        """This server if it leads, else the leader of the current term it heard from."""
        return self.me if self.role == LEADER else self.leader_id

    def snapshot(self, index: int, data: bytes) -> None:
        """The service applied everything up to ``index`` and ``data`` captures it: drop the
        log prefix through ``index`` (the list is rebuilt, so the entries are freed) and save
        the state and the snapshot in one step."""
        if index <= self.snapshot_index or index > self.last_applied:
            return
        term = self.term_at(index)
        assert term is not None
        self._log_drop_prefix(index - self.snapshot_index)
        self.snapshot_index, self.snapshot_term = index, term
        self.persist(data)

    # ------------------------------------------------------------------ rules for all servers

    def _reset_election_timer(self) -> None:
        lo, hi = ELECTION_TIMEOUT
        self.ctx.set_timer(ELECTION_TIMER, self.ctx.random.uniform(lo, hi))

    def _observe_term(self, term: int) -> None:
        """If RPC request or response contains term T > currentTerm: set currentTerm = T,
        convert to follower."""
        if term > self.current_term:
            self.current_term = term
            self.voted_for = None
            self.leader_id = None
            self.persist()
            self._become_follower()

    def _become_follower(self) -> None:
        if self.role == LEADER:
            self.ctx.cancel_timer(HEARTBEAT_TIMER)
            self._reset_election_timer()
        self.role = FOLLOWER
        self.votes = set()
        self.next_index, self.match_index, self.sent_index = {}, {}, {}

    def apply_limit(self) -> int:
        """The last index this server may apply: its commitIndex."""
        return self.commit_index

    def _apply_committed(self) -> None:
        """If commitIndex > lastApplied: increment lastApplied, apply log[lastApplied]."""
        if self._applying:  # the service may call snapshot() from inside apply
            return
        self._applying = True
        try:
            limit = self.apply_limit()
            while self.last_applied < limit:
                index = self.last_applied + 1
                term, command = self.entry(index)
                self.last_applied = index
                self.apply(ApplyMsg(command_valid=True, command=command, command_index=index,
                                    command_term=term))
        finally:
            self._applying = False

    # ------------------------------------------------------------------ elections

    def _start_election(self) -> None:
        """On conversion to candidate: increment currentTerm, vote for self, reset the
        election timer, send RequestVote to all other servers."""
        self.role = CANDIDATE
        self.current_term += 1
        self.voted_for = self.me
        self.leader_id = None
        self.votes = {self.me}
        self.persist()
        self._reset_election_timer()
        if len(self.votes) >= self.majority:
            self._become_leader()
            return
        rv = RequestVote(self.current_term, self.me, self.last_log_index(), self.last_log_term())
        for peer in self.others:
            self.ctx.send(peer, rv)

    def candidate_up_to_date(self, rv: RequestVote) -> bool:
        """Section 5.4.1: the candidate's log is at least as up-to-date as ours."""
        return (rv.last_log_term, rv.last_log_index) >= (
            self.last_log_term(), self.last_log_index())

    def _on_request_vote(self, src: str, rv: RequestVote) -> None:
        self._observe_term(rv.term)
        granted = (rv.term == self.current_term
                   and self.voted_for in (None, rv.candidate)
                   and self.candidate_up_to_date(rv))
        if granted:
            if self.voted_for != rv.candidate:
                self.voted_for = rv.candidate
                self.persist()
            self._reset_election_timer()
        self.ctx.send(src, RequestVoteReply(self.current_term, granted))

    def _on_request_vote_reply(self, src: str, reply: RequestVoteReply) -> None:
        self._observe_term(reply.term)
        if self.role != CANDIDATE or reply.term != self.current_term or not reply.granted:
            return
        self.votes.add(src)
        if len(self.votes) >= self.majority:
            self._become_leader()

    def _become_leader(self) -> None:
        """Upon election: initialize nextIndex/matchIndex, send initial empty AppendEntries
        (heartbeat) to each server, and repeat during idle periods."""
        self.role = LEADER
        self.leader_id = self.me
        self.votes = set()
        self.ctx.cancel_timer(ELECTION_TIMER)
        self.next_index = dict.fromkeys(self.others, self.last_log_index() + 1)
        self.match_index = dict.fromkeys(self.others, 0)
        self.sent_index = dict.fromkeys(self.others, 0)
        self._broadcast_append_entries()
        self.ctx.set_timer(HEARTBEAT_TIMER, HEARTBEAT)

    # ------------------------------------------------------------------ replication (leader)

    def _broadcast_append_entries(self) -> None:
        for peer in self.others:
            self._send_append_entries(peer)

    def _send_append_entries(self, peer: str) -> None:
        """Send the entries from nextIndex[peer] on, or the snapshot when the log no longer
        holds the entry before them."""
        next_index = self.next_index[peer]
        if next_index <= self.snapshot_index:
            self.sent_index[peer] = self.snapshot_index
            self.ctx.send(peer, InstallSnapshot(
                self.current_term, self.me, self.snapshot_index, self.snapshot_term,
                self.ctx.persister.read_snapshot()))
            return
        prev = next_index - 1
        start = prev - self.snapshot_index
        entries = tuple(self.log[start:start + MAX_ENTRIES])
        prev_term = self.term_at(prev)
        assert prev_term is not None
        self.sent_index[peer] = prev + len(entries)
        self.ctx.send(peer, AppendEntries(self.current_term, self.me, prev, prev_term, entries,
                                          self.commit_index))

    def _on_append_entries_reply(self, src: str, reply: AppendEntriesReply) -> None:
        self._observe_term(reply.term)
        if self.role != LEADER or reply.term != self.current_term:
            return  # a stale reply
        if reply.success:
            if reply.match_index > self.match_index[src]:
                self.match_index[src] = reply.match_index
                self.next_index[src] = max(self.next_index[src], reply.match_index + 1)
                self._advance_commit_index()
            if self.sent_index[src] < self.last_log_index():
                self._send_append_entries(src)  # more to send (a batch was full)
            return
        # Fast backup: skip the follower's whole conflicting term, or to the end of its log.
        new_next = reply.conflict_index
        if reply.conflict_term:
            last_of_term = self._last_index_of_term(reply.conflict_term)
            if last_of_term is not None:
                new_next = last_of_term + 1
        new_next = max(new_next, self.match_index[src] + 1, 1)
        if new_next >= self.next_index[src]:
            return  # a stale rejection: we already backed up past it
        self.next_index[src] = new_next
        self._send_append_entries(src)

    def _last_index_of_term(self, term: int) -> int | None:
        for i in range(len(self.log) - 1, -1, -1):
            t = self.log[i][0]
            if t == term:
                return self.snapshot_index + i + 1
            if t < term:
                return None
        return self.snapshot_index if self.snapshot_term == term else None

    def may_commit_by_counting(self, term: int | None) -> bool:
        """Only entries of the current term are committed by counting replicas (Figure 8)."""
        return term == self.current_term

    def _advance_commit_index(self) -> None:
        """If there exists an N > commitIndex such that a majority of matchIndex[i] >= N and
        log[N].term == currentTerm: set commitIndex = N."""
        for n in range(self.last_log_index(), self.commit_index, -1):
            term = self.term_at(n)
            if not self.may_commit_by_counting(term):
                break  # terms only decrease going back: no current-term entry below
            count = 1 + sum(1 for p in self.others if self.match_index[p] >= n)
            if count >= self.majority:
                self.commit_index = n
                self._apply_committed()
                # Tell the followers now rather than at the next heartbeat (those with
                # entries in flight learn it from the reply that follows).
                for peer in self.others:
                    if self.sent_index[peer] <= self.match_index[peer]:
                        self._send_append_entries(peer)
                return

    def _on_install_snapshot_reply(self, src: str, reply: InstallSnapshotReply) -> None:
        self._observe_term(reply.term)
        if self.role != LEADER or reply.term != self.current_term:
            return
        if reply.last_included_index > self.match_index[src]:
            self.match_index[src] = reply.last_included_index
            self.next_index[src] = max(self.next_index[src], reply.last_included_index + 1)
            self._advance_commit_index()
        if self.next_index[src] <= self.last_log_index():
            self._send_append_entries(src)

    # ------------------------------------------------------------------ replication (follower)

    def resolve_conflict(self, pos: int, entries: Sequence[tuple[int, Any]]) -> bool:
        """Log position ``pos`` conflicts with ``entries[0]``: delete it and all that follow
        it, append ``entries``. True: the log now ends with the leader's entries."""
        self._log_truncate(pos)
        self._log_append(entries)
        return True

    def _on_append_entries(self, src: str, ae: AppendEntries) -> None:
        self._observe_term(ae.term)
        if ae.term < self.current_term:  # reply false if term < currentTerm
            self.ctx.send(src, AppendEntriesReply(self.current_term, False, 0, 0, 0))
            return
        if self.role == CANDIDATE:  # another server won this term's election
            self._become_follower()
        if self.role == LEADER:
            return  # two leaders in one term cannot happen (Election Safety)
        self.leader_id = ae.leader
        self._reset_election_timer()

        prev, prev_term, entries = ae.prev_log_index, ae.prev_log_term, ae.entries
        if prev < self.snapshot_index:
            # The snapshot covers committed, hence matching, entries: skip those.
            if prev + len(entries) <= self.snapshot_index:
                self.ctx.send(src, AppendEntriesReply(self.current_term, True,
                                                      self.snapshot_index, 0, 0))
                return
            entries = entries[self.snapshot_index - prev:]
            prev, prev_term = self.snapshot_index, self.snapshot_term
        # Reply false if the log doesn't contain an entry at prevLogIndex whose term matches.
        if prev > self.last_log_index():
            self.ctx.send(src, AppendEntriesReply(self.current_term, False, 0, 0,
                                                  self.last_log_index() + 1))
            return
        local = self.term_at(prev)
        if local != prev_term:
            assert local is not None
            first = prev
            while first - 1 > self.snapshot_index and self.term_at(first - 1) == local:
                first -= 1
            self.ctx.send(src, AppendEntriesReply(self.current_term, False, 0, local, first))
            return
        # If an existing entry conflicts with a new one (same index, different terms), delete
        # the existing entry and all that follow it; append any new entries not in the log.
        changed = False
        for k, new in enumerate(entries):
            index = prev + 1 + k
            if index > self.last_log_index():
                self._log_append(entries[k:])
                changed = True
                break
            if self.term_at(index) != new[0]:
                changed = True
                if self.resolve_conflict(index - self.snapshot_index - 1, entries[k:]):
                    break
        if changed:
            self.persist()
        last_new = prev + len(entries)
        if ae.leader_commit > self.commit_index:
            self.commit_index = max(self.commit_index, min(ae.leader_commit, last_new))
        self._apply_committed()
        self.ctx.send(src, AppendEntriesReply(self.current_term, True, last_new, 0, 0))

    def _on_install_snapshot(self, src: str, msg: InstallSnapshot) -> None:
        self._observe_term(msg.term)
        if msg.term < self.current_term:
            self.ctx.send(src, InstallSnapshotReply(self.current_term, 0))
            return
        if self.role == CANDIDATE:
            self._become_follower()
        if self.role == LEADER:
            return
        self.leader_id = msg.leader
        self._reset_election_timer()
        index, term = msg.last_included_index, msg.last_included_term
        if index > self.commit_index:
            if self.term_at(index) == term and index <= self.last_log_index():
                self._log_drop_prefix(index - self.snapshot_index)  # keep what follows
            else:
                self._log_truncate(0)
            self.snapshot_index, self.snapshot_term = index, term
            self.commit_index = self.last_applied = index
            self.persist(msg.data)
            self.apply(ApplyMsg(snapshot_valid=True, snapshot=msg.data, snapshot_term=term,
                                snapshot_index=index))
        self.ctx.send(src, InstallSnapshotReply(self.current_term, index))

    # ------------------------------------------------------------------ observation

    def abstract_state(self) -> dict[str, Any]:
        """The state the TLA+ trace records (documented in impl/raft/README.md)."""
        return {
            "term": self.current_term,
            "role": self.role,
            "voted_for": self.voted_for,
            "log": [[t, c] for t, c in self.log],
            "snapshot_index": self.snapshot_index,
            "snapshot_term": self.snapshot_term,
            "commit_index": self.commit_index,
            "last_applied": self.last_applied,
            "votes": sorted(self.votes),
            "next_index": dict(sorted(self.next_index.items())),
            "match_index": dict(sorted(self.match_index.items())),
        }

    def fingerprint_state(self) -> Any:
        return (self.current_term, self.voted_for, self.snapshot_index, self.snapshot_term,
                tuple(self.log), self.commit_index, self.last_applied, self.role,
                tuple(sorted(self.votes)), tuple(sorted(self.next_index.items())),
                tuple(sorted(self.match_index.items())))



_HANDLERS: dict[type, Callable[[Raft, str, Any], None]] = {
    RequestVote: Raft._on_request_vote,
    RequestVoteReply: Raft._on_request_vote_reply,
    AppendEntries: Raft._on_append_entries,
    AppendEntriesReply: Raft._on_append_entries_reply,
    InstallSnapshot: Raft._on_install_snapshot,
    InstallSnapshotReply: Raft._on_install_snapshot_reply,
}
