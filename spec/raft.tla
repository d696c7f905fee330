-------------------------------- MODULE raft --------------------------------
(***************************************************************************)
(* Raft (extended paper, Figure 2) at the granularity of faultlab's        *)
(* implementation (impl/raft/raft.py): one action per event a server       *)
(* handles -- an election timeout, a heartbeat, the delivery of one        *)
(* message, a client request, a log compaction -- plus the network's and   *)
(* the World's own steps (drop, duplicate, crash, restart).  Messages      *)
(* carry the implementation's fields under the implementation's names, so *)
(* a delivered message of a trace is looked up in the bag as it is.        *)
(*                                                                         *)
(* Logs are kept whole: log[i][k] is entry k even when a snapshot covers   *)
(* it; snapshotIndex[i] says how much of it the snapshot replaced.  The    *)
(* snapshot data itself is abstract: an InstallSnapshot message carries    *)
(* the leader's log prefix it stands for.  Applying is not modelled: the   *)
(* implementation applies every committed entry within the same event.     *)
(* The mapping to the implementation is documented in spec/README.md.      *)
(* Names l and stage are the trace modules' variables: TLC 2.15 confuses a *)
(* parameter or LET name with a variable of the same name in an extending  *)
(* module, so this module uses neither.                                    *)
(***************************************************************************)
EXTENDS Naturals, Sequences, FiniteSets

CONSTANTS
    Server,       \* the servers' names
    Nil,          \* no server (votedFor before voting)
    MaxEntries,   \* entries per AppendEntries at most (impl: MAX_ENTRIES)
    Values        \* commands clients may propose (model checking only)

VARIABLES
    currentTerm,  \* [Server -> Nat], persistent
    votedFor,     \* [Server -> Server \cup {Nil}], persistent
    log,          \* [Server -> Seq(<<term, command>>)], persistent, whole (see above)
    snapshotIndex,\* [Server -> Nat], persistent: entries 1..snapshotIndex are a snapshot
    role,         \* [Server -> {"follower", "candidate", "leader"}]
    commitIndex,  \* [Server -> Nat]
    votes,        \* [Server -> SUBSET Server]: votes a candidate gathered
    nextIndex,    \* [Server -> [Server -> Nat]]: a leader's next entry to send per peer
    matchIndex,   \* [Server -> [Server -> Nat]]: a leader's verified prefix per peer
    sentIndex,    \* [Server -> [Server -> Nat]]: a leader's highest index sent per peer
    up,           \* [Server -> BOOLEAN]: FALSE while crashed
    msgs          \* bag of messages in flight: [message -> number of copies]

serverVars == <<currentTerm, votedFor, log, snapshotIndex, role, commitIndex, votes>>
leaderVars == <<nextIndex, matchIndex, sentIndex>>
vars == <<serverVars, leaderVars, up, msgs>>

Follower == "follower"
Candidate == "candidate"
Leader == "leader"

Min(a, b) == IF a < b THEN a ELSE b
Max(a, b) == IF a > b THEN a ELSE b
MaxOf(S) == CHOOSE x \in S : \A y \in S : y <= x
IsQuorum(S) == 2 * Cardinality(S) > Cardinality(Server)

----------------------------------------------------------------------------
(* The bag of messages.                                                    *)

Copies(m) == IF m \in DOMAIN msgs THEN msgs[m] ELSE 0
WithAll(B, S) == [m \in DOMAIN B \cup S |->
                    (IF m \in DOMAIN B THEN B[m] ELSE 0) + (IF m \in S THEN 1 ELSE 0)]
Without(B, m) == IF B[m] = 1 THEN [x \in DOMAIN B \ {m} |-> B[x]]
                 ELSE [B EXCEPT ![m] = @ - 1]
\* consume m and send the messages of S
Reply(m, S) == msgs' = WithAll(Without(msgs, m), S)

----------------------------------------------------------------------------
(* Logs.                                                                   *)

LastIndex(i) == Len(log[i])
TermAt(i, k) == IF k = 0 THEN 0 ELSE log[i][k][1]
LastTerm(i) == TermAt(i, LastIndex(i))
\* the last index of term t in the part of the log no snapshot replaced, else 0
LastIndexOfTerm(i, t) ==
    LET ks == {k \in snapshotIndex[i]..LastIndex(i) : k > 0 /\ TermAt(i, k) = t}
    IN IF ks = {} THEN 0 ELSE MaxOf(ks)

\* What a leader i with commit index ci sends peer j whose next index is ni: entries
\* from ni on, or its snapshot when its log no longer holds the entry before them.
ToPeerC(i, j, ni, ci) ==
    IF ni <= snapshotIndex[i]
    THEN [type |-> "InstallSnapshot", src |-> i, dst |-> j, term |-> currentTerm[i],
          leader |-> i, last_included_index |-> snapshotIndex[i],
          last_included_term |-> TermAt(i, snapshotIndex[i]),
          snapshot |-> SubSeq(log[i], 1, snapshotIndex[i])]
    ELSE [type |-> "AppendEntries", src |-> i, dst |-> j, term |-> currentTerm[i],
          leader |-> i, prev_log_index |-> ni - 1, prev_log_term |-> TermAt(i, ni - 1),
          entries |-> SubSeq(log[i], ni, Min(LastIndex(i), ni - 1 + MaxEntries)),
          leader_commit |-> ci]
ToPeer(i, j, ni) == ToPeerC(i, j, ni, commitIndex[i])

\* sentIndex after sending ToPeer(i, j, ni)
SentAfter(i, j, ni) ==
    IF ni <= snapshotIndex[i] THEN sentIndex[i][j]
    ELSE Min(LastIndex(i), ni - 1 + MaxEntries)

\* The commit index a leader reaches with match indices mi: the largest entry of its
\* current term stored on a quorum (entries of older terms only indirectly).
CommitFor(i, mi) ==
    LET ok == {n \in (commitIndex[i] + 1)..LastIndex(i) :
                  TermAt(i, n) = currentTerm[i] /\ IsQuorum({i} \cup {p \in Server : mi[p] >= n})}
    IN IF ok = {} THEN commitIndex[i] ELSE MaxOf(ok)

Zero == [j \in Server |-> 0]
NoLeader == [j \in Server |-> Zero]

----------------------------------------------------------------------------
Init ==
    /\ currentTerm = [i \in Server |-> 0]
    /\ votedFor = [i \in Server |-> Nil]
    /\ log = [i \in Server |-> << >>]
    /\ snapshotIndex = [i \in Server |-> 0]
    /\ role = [i \in Server |-> Follower]
    /\ commitIndex = [i \in Server |-> 0]
    /\ votes = [i \in Server |-> {}]
    /\ nextIndex = NoLeader
    /\ matchIndex = NoLeader
    /\ sentIndex = NoLeader
    /\ up = [i \in Server |-> TRUE]
    /\ msgs = [m \in {} |-> 0]

----------------------------------------------------------------------------
(* Timers.                                                                 *)

\* The election timer of a follower or candidate fires: a new election.
Timeout(i) ==
    /\ up[i] /\ role[i] # Leader
    /\ role' = [role EXCEPT ![i] = Candidate]
    /\ currentTerm' = [currentTerm EXCEPT ![i] = @ + 1]
    /\ votedFor' = [votedFor EXCEPT ![i] = i]
    /\ votes' = [votes EXCEPT ![i] = {i}]
    /\ msgs' = WithAll(msgs, {[type |-> "RequestVote", src |-> i, dst |-> j,
                               term |-> currentTerm[i] + 1, candidate |-> i,
                               last_log_index |-> LastIndex(i),
                               last_log_term |-> LastTerm(i)] : j \in Server \ {i}})
    /\ UNCHANGED <<log, snapshotIndex, commitIndex, leaderVars, up>>

\* The heartbeat timer of a leader fires: AppendEntries (or a snapshot) to every peer.
Heartbeat(i) ==
    /\ up[i] /\ role[i] = Leader
    /\ msgs' = WithAll(msgs, {ToPeer(i, j, nextIndex[i][j]) : j \in Server \ {i}})
    /\ sentIndex' = [sentIndex EXCEPT ![i] = [j \in Server |->
                        IF j = i THEN @[j] ELSE SentAfter(i, j, nextIndex[i][j])]]
    /\ UNCHANGED <<serverVars, nextIndex, matchIndex, up>>

\* A client's command reaches leader i (Start): append it and replicate it at once to
\* every peer with nothing unacknowledged in flight (the others get it with the reply to
\* what is in flight, or with the next heartbeat).
ClientRequest(i, v) ==
    /\ up[i] /\ role[i] = Leader
    /\ log' = [log EXCEPT ![i] = Append(@, <<currentTerm[i], v>>)]
    /\ LET ll == LastIndex(i) + 1
           idle == {j \in Server \ {i} : sentIndex[i][j] <= matchIndex[i][j]}
           Send(j) == [type |-> "AppendEntries", src |-> i, dst |-> j, term |-> currentTerm[i],
                       leader |-> i, prev_log_index |-> nextIndex[i][j] - 1,
                       prev_log_term |-> TermAt(i, nextIndex[i][j] - 1),
                       entries |-> SubSeq(log'[i], nextIndex[i][j],
                                          Min(ll, nextIndex[i][j] - 1 + MaxEntries)),
                       leader_commit |-> commitIndex'[i]]
       IN /\ commitIndex' = [commitIndex EXCEPT ![i] =
                IF IsQuorum({i}) THEN ll ELSE @]
          /\ msgs' = WithAll(msgs, {IF nextIndex[i][j] <= snapshotIndex[i]
                                    THEN ToPeer(i, j, nextIndex[i][j]) ELSE Send(j)
                                    : j \in idle})
          /\ sentIndex' = [sentIndex EXCEPT ![i] = [j \in Server |->
                IF j \notin idle \/ nextIndex[i][j] <= snapshotIndex[i] THEN @[j]
                ELSE Min(ll, nextIndex[i][j] - 1 + MaxEntries)]]
    /\ UNCHANGED <<currentTerm, votedFor, snapshotIndex, role, votes, nextIndex, matchIndex,
                   up>>

\* The service snapshots everything up to n (applied = committed): the log prefix goes.
Compact(i, n) ==
    /\ up[i] /\ snapshotIndex[i] < n /\ n <= commitIndex[i]
    /\ snapshotIndex' = [snapshotIndex EXCEPT ![i] = n]
    /\ UNCHANGED <<currentTerm, votedFor, log, role, commitIndex, votes, leaderVars, up, msgs>>

----------------------------------------------------------------------------
(* Message handlers.  Each first applies "if a message carries a term T >  *)
(* currentTerm: set currentTerm = T and convert to follower" (t1, r1, v1,  *)
(* vs1 below are the state after that rule), then the handler proper.     *)

StepDown(i, m) == m.term > currentTerm[i]
T1(i, m) == Max(currentTerm[i], m.term)
R1(i, m) == IF StepDown(i, m) THEN Follower ELSE role[i]
V1(i, m) == IF StepDown(i, m) THEN Nil ELSE votedFor[i]
VS1(i, m) == IF StepDown(i, m) THEN {} ELSE votes[i]
\* leader state after the rule (a leader that steps down forgets it)
LeaderReset(i, m) ==
    /\ nextIndex' = [nextIndex EXCEPT ![i] = IF StepDown(i, m) THEN Zero ELSE @]
    /\ matchIndex' = [matchIndex EXCEPT ![i] = IF StepDown(i, m) THEN Zero ELSE @]
    /\ sentIndex' = [sentIndex EXCEPT ![i] = IF StepDown(i, m) THEN Zero ELSE @]

Deliverable(i, m) == up[i] /\ m.dst = i

HandleRequestVote(i, m) ==
    LET t1 == T1(i, m)
        v1 == V1(i, m)
        upToDate == \/ m.last_log_term > LastTerm(i)
                    \/ m.last_log_term = LastTerm(i) /\ m.last_log_index >= LastIndex(i)
        granted == /\ m.term = t1
                   /\ v1 \in {Nil, m.candidate}   \* GUARD:one-vote-per-term
                   /\ upToDate                    \* GUARD:up-to-date
    IN /\ currentTerm' = [currentTerm EXCEPT ![i] = t1]
       /\ role' = [role EXCEPT ![i] = R1(i, m)]
       /\ votes' = [votes EXCEPT ![i] = VS1(i, m)]
       /\ votedFor' = [votedFor EXCEPT ![i] = IF granted THEN m.candidate ELSE v1]
       /\ LeaderReset(i, m)
       /\ Reply(m, {[type |-> "RequestVoteReply", src |-> i, dst |-> m.src, term |-> t1,
                     granted |-> granted]})
       /\ UNCHANGED <<log, snapshotIndex, commitIndex, up>>

HandleRequestVoteReply(i, m) ==
    LET t1 == T1(i, m)
        count == R1(i, m) = Candidate /\ m.term = t1 /\ m.granted
        vs == IF count THEN VS1(i, m) \cup {m.src} ELSE VS1(i, m)
        win == count /\ IsQuorum(vs)
        ni == LastIndex(i) + 1
    IN /\ currentTerm' = [currentTerm EXCEPT ![i] = t1]
       /\ votedFor' = [votedFor EXCEPT ![i] = V1(i, m)]
       /\ IF win
          THEN \* becomes leader: next = last + 1, heartbeats to every peer at once
               /\ role' = [role EXCEPT ![i] = Leader]
               /\ votes' = [votes EXCEPT ![i] = {}]
               /\ nextIndex' = [nextIndex EXCEPT ![i] = [j \in Server |-> ni]]
               /\ matchIndex' = [matchIndex EXCEPT ![i] = Zero]
               /\ sentIndex' = [sentIndex EXCEPT ![i] = [j \in Server |->
                                   IF j = i THEN 0 ELSE SentAfter(i, j, ni)]]
               /\ Reply(m, {ToPeer(i, j, ni) : j \in Server \ {i}})
          ELSE /\ role' = [role EXCEPT ![i] = R1(i, m)]
               /\ votes' = [votes EXCEPT ![i] = vs]
               /\ LeaderReset(i, m)
               /\ Reply(m, {})
       /\ UNCHANGED <<log, snapshotIndex, commitIndex, up>>

\* The log after accepting entries es after index prev (prev matches): cut at the first
\* conflicting entry (same index, other term) and append what is new; a shorter, delayed
\* AppendEntries never cuts entries that follow it.
Merge(lg, prev, es) ==
    LET conflicts == {k \in 1..Len(es) : prev + k <= Len(lg) /\ lg[prev + k][1] # es[k][1]}
    IN IF conflicts # {}
       THEN LET c == CHOOSE k \in conflicts : \A k2 \in conflicts : k <= k2
            IN SubSeq(lg, 1, prev + c - 1) \o SubSeq(es, c, Len(es))
       ELSE IF prev + Len(es) > Len(lg)
            THEN lg \o SubSeq(es, Len(lg) - prev + 1, Len(es))
            ELSE lg

\* The first index of the term of entry k (not below the snapshot), for fast backup.
FirstOfTerm(i, k) ==
    CHOOSE f \in (snapshotIndex[i] + 1)..k :
        /\ \A g \in f..k : TermAt(i, g) = TermAt(i, k)
        /\ (f - 1 <= snapshotIndex[i] \/ TermAt(i, f - 1) # TermAt(i, k))

HandleAppendEntries(i, m) ==
    LET t1 == T1(i, m)
        r1 == R1(i, m)
        AER(ok, mi, ct, ci) == [type |-> "AppendEntriesReply", src |-> i, dst |-> m.src,
                                term |-> t1, success |-> ok, match_index |-> mi,
                                conflict_term |-> ct, conflict_index |-> ci]
        si == snapshotIndex[i]
        skip == m.prev_log_index < si
        prev == IF skip THEN si ELSE m.prev_log_index
        prevTerm == IF skip THEN TermAt(i, si) ELSE m.prev_log_term
        es == IF skip THEN SubSeq(m.entries, si - m.prev_log_index + 1, Len(m.entries))
              ELSE m.entries
        lastNew == prev + Len(es)
    IN /\ currentTerm' = [currentTerm EXCEPT ![i] = t1]
       /\ votedFor' = [votedFor EXCEPT ![i] = V1(i, m)]
       /\ UNCHANGED <<snapshotIndex, up>>
       /\ CASE m.term < t1 ->                                 \* a stale leader
                 /\ role' = [role EXCEPT ![i] = r1]
                 /\ votes' = [votes EXCEPT ![i] = VS1(i, m)]
                 /\ LeaderReset(i, m)
                 /\ Reply(m, {AER(FALSE, 0, 0, 0)})
                 /\ UNCHANGED <<log, commitIndex>>
            [] r1 = Leader ->                                  \* cannot happen (one leader)
                 /\ Reply(m, {})
                 /\ UNCHANGED <<role, votes, leaderVars, log, commitIndex>>
            [] OTHER ->
                 /\ role' = [role EXCEPT ![i] = Follower]
                 /\ votes' = [votes EXCEPT ![i] = IF r1 = Candidate THEN {} ELSE VS1(i, m)]
                 /\ LeaderReset(i, m)
                 /\ CASE skip /\ m.prev_log_index + Len(m.entries) <= si ->
                           /\ Reply(m, {AER(TRUE, si, 0, 0)})
                           /\ UNCHANGED <<log, commitIndex>>
                      [] prev > LastIndex(i) ->
                           /\ Reply(m, {AER(FALSE, 0, 0, LastIndex(i) + 1)})
                           /\ UNCHANGED <<log, commitIndex>>
                      [] TermAt(i, prev) # prevTerm ->
                           /\ Reply(m, {AER(FALSE, 0, TermAt(i, prev), FirstOfTerm(i, prev))})
                           /\ UNCHANGED <<log, commitIndex>>
                      [] OTHER ->
                           /\ log' = [log EXCEPT ![i] = Merge(@, prev, es)]
                           /\ commitIndex' = [commitIndex EXCEPT ![i] =
                                 IF m.leader_commit > @ THEN Max(@, Min(m.leader_commit, lastNew))
                                 ELSE @]
                           /\ Reply(m, {AER(TRUE, lastNew, 0, 0)})

HandleAppendEntriesReply(i, m) ==
    LET t1 == T1(i, m)
        j == m.src
        current == R1(i, m) = Leader /\ m.term = t1
        mi == [matchIndex[i] EXCEPT ![j] = Max(@, m.match_index)]
        okNext == Max(nextIndex[i][j], mi[j] + 1)
        back0 == IF m.conflict_term # 0 /\ LastIndexOfTerm(i, m.conflict_term) # 0
                 THEN LastIndexOfTerm(i, m.conflict_term) + 1 ELSE m.conflict_index
        back == Max(Max(back0, matchIndex[i][j] + 1), 1)
    IN /\ currentTerm' = [currentTerm EXCEPT ![i] = t1]
       /\ votedFor' = [votedFor EXCEPT ![i] = V1(i, m)]
       /\ role' = [role EXCEPT ![i] = R1(i, m)]
       /\ votes' = [votes EXCEPT ![i] = VS1(i, m)]
       /\ UNCHANGED <<log, snapshotIndex, up>>
       /\ CASE ~current ->
                 /\ LeaderReset(i, m) /\ Reply(m, {}) /\ UNCHANGED commitIndex
            [] m.success ->
                 \* A higher match index moves nextIndex on and may advance the commit
                 \* index; an advance is told at once to every peer with nothing in flight.
                 \* Then, if the batch was full, the rest goes to j.
                 LET up2 == m.match_index > matchIndex[i][j]
                     ni2 == [nextIndex[i] EXCEPT ![j] = IF up2 THEN okNext ELSE @]
                     ci2 == IF up2 THEN CommitFor(i, mi) ELSE commitIndex[i]
                     told == IF ci2 > commitIndex[i]
                             THEN {p \in Server \ {i} : sentIndex[i][p] <= mi[p]} ELSE {}
                     si1 == [p \in Server |-> IF p \in told THEN SentAfter(i, p, ni2[p])
                                             ELSE sentIndex[i][p]]
                     more == si1[j] < LastIndex(i)
                     si2 == IF more THEN [si1 EXCEPT ![j] = SentAfter(i, j, ni2[j])] ELSE si1
                     sent == {ToPeerC(i, p, ni2[p], ci2) : p \in told}
                             \cup (IF more THEN {ToPeerC(i, j, ni2[j], ci2)} ELSE {})
                 IN /\ matchIndex' = [matchIndex EXCEPT ![i] = mi]
                    /\ commitIndex' = [commitIndex EXCEPT ![i] = ci2]
                    /\ nextIndex' = [nextIndex EXCEPT ![i] = ni2]
                    /\ sentIndex' = [sentIndex EXCEPT ![i] = si2]
                    /\ Reply(m, sent)
            [] back >= nextIndex[i][j] ->                      \* a stale rejection
                 /\ Reply(m, {}) /\ UNCHANGED <<leaderVars, commitIndex>>
            [] OTHER ->
                 /\ nextIndex' = [nextIndex EXCEPT ![i][j] = back]
                 /\ Reply(m, {ToPeer(i, j, back)})
                 /\ sentIndex' = [sentIndex EXCEPT ![i][j] = SentAfter(i, j, back)]
                 /\ UNCHANGED <<matchIndex, commitIndex>>

HandleInstallSnapshot(i, m) ==
    LET t1 == T1(i, m)
        r1 == R1(i, m)
        n == m.last_included_index
        keep == n <= LastIndex(i) /\ TermAt(i, n) = m.last_included_term
        ISR(k) == [type |-> "InstallSnapshotReply", src |-> i, dst |-> m.src, term |-> t1,
                   last_included_index |-> k]
    IN /\ currentTerm' = [currentTerm EXCEPT ![i] = t1]
       /\ votedFor' = [votedFor EXCEPT ![i] = V1(i, m)]
       /\ UNCHANGED up
       /\ CASE m.term < t1 ->
                 /\ role' = [role EXCEPT ![i] = r1]
                 /\ votes' = [votes EXCEPT ![i] = VS1(i, m)]
                 /\ LeaderReset(i, m)
                 /\ Reply(m, {ISR(0)})
                 /\ UNCHANGED <<log, snapshotIndex, commitIndex>>
            [] r1 = Leader ->
                 /\ Reply(m, {})
                 /\ UNCHANGED <<role, votes, leaderVars, log, snapshotIndex, commitIndex>>
            [] OTHER ->
                 /\ role' = [role EXCEPT ![i] = Follower]
                 /\ votes' = [votes EXCEPT ![i] = IF r1 = Candidate THEN {} ELSE VS1(i, m)]
                 /\ LeaderReset(i, m)
                 /\ Reply(m, {ISR(n)})
                 /\ IF n > commitIndex[i]
                    THEN /\ log' = [log EXCEPT ![i] = m.snapshot \o
                                      (IF keep THEN SubSeq(@, n + 1, Len(@)) ELSE << >>)]
                         /\ snapshotIndex' = [snapshotIndex EXCEPT ![i] = n]
                         /\ commitIndex' = [commitIndex EXCEPT ![i] = n]
                    ELSE UNCHANGED <<log, snapshotIndex, commitIndex>>

HandleInstallSnapshotReply(i, m) ==
    LET t1 == T1(i, m)
        j == m.src
        current == R1(i, m) = Leader /\ m.term = t1
        mi == [matchIndex[i] EXCEPT ![j] = Max(@, m.last_included_index)]
        nj == Max(nextIndex[i][j], mi[j] + 1)
    IN /\ currentTerm' = [currentTerm EXCEPT ![i] = t1]
       /\ votedFor' = [votedFor EXCEPT ![i] = V1(i, m)]
       /\ role' = [role EXCEPT ![i] = R1(i, m)]
       /\ votes' = [votes EXCEPT ![i] = VS1(i, m)]
       /\ UNCHANGED <<log, snapshotIndex, up>>
       /\ IF ~current
          THEN LeaderReset(i, m) /\ Reply(m, {}) /\ UNCHANGED commitIndex
          ELSE /\ matchIndex' = [matchIndex EXCEPT ![i] = mi]
               /\ commitIndex' = [commitIndex EXCEPT ![i] = CommitFor(i, mi)]
               /\ nextIndex' = [nextIndex EXCEPT ![i][j] = nj]
               /\ IF nj <= LastIndex(i)
                  THEN /\ Reply(m, {ToPeerC(i, j, nj, CommitFor(i, mi))})
                       /\ sentIndex' = [sentIndex EXCEPT ![i][j] = SentAfter(i, j, nj)]
                  ELSE Reply(m, {}) /\ UNCHANGED sentIndex

\* Server i handles message m (one copy of it leaves the bag).
Receive(i, m) ==
    /\ Deliverable(i, m)
    /\ CASE m.type = "RequestVote" -> HandleRequestVote(i, m)
         [] m.type = "RequestVoteReply" -> HandleRequestVoteReply(i, m)
         [] m.type = "AppendEntries" -> HandleAppendEntries(i, m)
         [] m.type = "AppendEntriesReply" -> HandleAppendEntriesReply(i, m)
         [] m.type = "InstallSnapshot" -> HandleInstallSnapshot(i, m)
         [] m.type = "InstallSnapshotReply" -> HandleInstallSnapshotReply(i, m)

----------------------------------------------------------------------------
(* The network and the World.                                              *)

Drop(m) == msgs' = Without(msgs, m) /\ UNCHANGED <<serverVars, leaderVars, up>>
Duplicate(m) == msgs' = [msgs EXCEPT ![m] = @ + 1] /\ UNCHANGED <<serverVars, leaderVars, up>>

\* A crash loses the volatile state (reset here already, which a restart then keeps).
Crash(i) ==
    /\ up[i]
    /\ up' = [up EXCEPT ![i] = FALSE]
    /\ role' = [role EXCEPT ![i] = Follower]
    /\ commitIndex' = [commitIndex EXCEPT ![i] = snapshotIndex[i]]
    /\ votes' = [votes EXCEPT ![i] = {}]
    /\ nextIndex' = [nextIndex EXCEPT ![i] = Zero]
    /\ matchIndex' = [matchIndex EXCEPT ![i] = Zero]
    /\ sentIndex' = [sentIndex EXCEPT ![i] = Zero]
    /\ UNCHANGED <<currentTerm, votedFor, log, snapshotIndex, msgs>>

\* A restart reads the persistent state: term, vote, log and snapshot.
Restart(i) ==
    /\ ~up[i]
    /\ up' = [up EXCEPT ![i] = TRUE]
    /\ UNCHANGED <<serverVars, leaderVars, msgs>>

Next ==
    \/ \E i \in Server : Timeout(i) \/ Heartbeat(i) \/ Crash(i) \/ Restart(i)
    \/ \E i \in Server, v \in Values : ClientRequest(i, v)
    \/ \E i \in Server : \E n \in 1..Len(log[i]) : Compact(i, n)
    \/ \E m \in DOMAIN msgs : Receive(m.dst, m) \/ Drop(m) \/ Duplicate(m)

Spec == Init /\ [][Next]_vars

----------------------------------------------------------------------------
(* Invariants.                                                             *)

\* At most one leader per term.
ElectionSafety ==
    \A i, j \in Server :
        (role[i] = Leader /\ role[j] = Leader /\ currentTerm[i] = currentTerm[j]) => i = j

\* Two logs with an entry of the same index and term agree up to that index.
LogMatching ==
    \A i, j \in Server : \A n \in 1..Min(Len(log[i]), Len(log[j])) :
        log[i][n][1] = log[j][n][1] => SubSeq(log[i], 1, n) = SubSeq(log[j], 1, n)

\* A leader holds every entry committed at a term not above its own (i learned its commit
\* index in a term <= currentTerm[i]; the leader of that term, or a later one, has them).
LeaderCompleteness ==
    \A i, ld \in Server :
        (role[ld] = Leader /\ currentTerm[ld] >= currentTerm[i]) =>
            \A n \in 1..commitIndex[i] : n <= Len(log[ld]) /\ log[ld][n] = log[i][n]

\* No two servers commit (hence apply) different entries at one index.
StateMachineSafety ==
    \A i, j \in Server : \A n \in 1..Min(commitIndex[i], commitIndex[j]) :
        log[i][n] = log[j][n]

\* Type sanity, cheap enough to check in every model.
TypeOK ==
    /\ \A i \in Server : role[i] \in {Follower, Candidate, Leader}
    /\ \A i \in Server : snapshotIndex[i] <= commitIndex[i] /\ commitIndex[i] <= Len(log[i])
    /\ \A m \in DOMAIN msgs : msgs[m] > 0
=============================================================================
