-------------------------------- MODULE paxos --------------------------------
(***************************************************************************)
(* Multi-instance Paxos as faultlab implements it (impl/paxos): every peer *)
(* is a proposer, an acceptor and a learner.  One action per event a peer *)
(* handles -- a proposal started, a round timer, the delivery of one       *)
(* message, an announcement timer, a send-failure notice -- plus the       *)
(* network's and the World's steps (drop, duplicate, crash, restart).      *)
(*                                                                         *)
(* A proposer talks to its own acceptor through the bag too (a message     *)
(* with src = dst); the implementation handles those at once, within the   *)
(* same event, and the trace check drains them before it compares states.  *)
(* Ballots are round * N + index, unique per peer.  Done values and        *)
(* forgetting are not modelled.  See spec/README.md for the mapping.       *)
(* Names l and stage are the trace modules' variables: TLC 2.15 confuses a *)
(* parameter or LET name with a variable of the same name in an extending  *)
(* module, so this module uses neither.                                    *)
(***************************************************************************)
EXTENDS Naturals, Integers, Sequences, FiniteSets

CONSTANTS
    Peers,   \* the peers' names as a sequence: the index of a peer is its position - 1
    Seqs,    \* instance numbers
    Values,  \* values that may be proposed
    Nil      \* no value

Peer == {Peers[k] : k \in 1..Len(Peers)}
N == Len(Peers)
Me(p) == CHOOSE k \in 0..(N - 1) : Peers[k + 1] = p
Majority == N \div 2 + 1   \* GUARD:majority

VARIABLES
    promised,  \* [Peer -> [Seqs -> Int]]: highest ballot promised (-1: none), durable
    accBal,    \* [Peer -> [Seqs -> Int]]: ballot of the accepted value (-1: none), durable
    accVal,    \* [Peer -> [Seqs -> Values \cup {Nil}]]: the accepted value, durable
    decided,   \* [Peer -> [Seqs -> Values \cup {Nil}]]: what the learner knows, durable
    unacked,   \* [Peer -> [Seqs -> SUBSET Peer]]: announcements not yet acknowledged
    prop,      \* [Peer -> [Seqs -> proposal record]] (see NoProposal)
    up,        \* [Peer -> BOOLEAN]
    msgs,      \* bag of messages in flight
    proposed   \* [Seqs -> SUBSET Values]: history, every value a proposal started with

vars == <<promised, accBal, accVal, decided, unacked, prop, up, msgs, proposed>>

\* A proposal: active, the value it was started with (durable); the current round's
\* ballot, phase, value sent in phase 2, highest ballot seen, promises <<acceptor,
\* accepted ballot, value>>, acceptors that accepted, acceptors that refused (volatile).
NoProposal == [active |-> FALSE, own |-> Nil, ballot |-> -1, phase |-> "wait",
               proposing |-> Nil, highest |-> -1, promises |-> {}, accepted |-> {},
               refused |-> {}]

Max(a, b) == IF a > b THEN a ELSE b

Copies(m) == IF m \in DOMAIN msgs THEN msgs[m] ELSE 0
WithAll(B, S) == [m \in DOMAIN B \cup S |->
                    (IF m \in DOMAIN B THEN B[m] ELSE 0) + (IF m \in S THEN 1 ELSE 0)]
Without(B, m) == IF B[m] = 1 THEN [x \in DOMAIN B \ {m} |-> B[x]]
                 ELSE [B EXCEPT ![m] = @ - 1]

Init ==
    /\ promised = [p \in Peer |-> [s \in Seqs |-> -1]]
    /\ accBal = [p \in Peer |-> [s \in Seqs |-> -1]]
    /\ accVal = [p \in Peer |-> [s \in Seqs |-> Nil]]
    /\ decided = [p \in Peer |-> [s \in Seqs |-> Nil]]
    /\ unacked = [p \in Peer |-> [s \in Seqs |-> {}]]
    /\ prop = [p \in Peer |-> [s \in Seqs |-> NoProposal]]
    /\ up = [p \in Peer |-> TRUE]
    /\ msgs = [m \in {} |-> 0]
    /\ proposed = [s \in Seqs |-> {}]

----------------------------------------------------------------------------
(* Proposer.                                                               *)

\* The next ballot of p above every ballot it saw: round * N + index.
NextBallot(p, h) == IF h < 0 THEN Me(p) ELSE (h \div N + 1) * N + Me(p)

\* A new round of proposal pr of p for s: its record and its Prepare to every acceptor.
RoundRec(p, s, pr) ==
    LET h == Max(pr.highest, promised[p][s])
    IN [pr EXCEPT !.highest = h, !.ballot = NextBallot(p, h), !.phase = "prepare",
                  !.promises = {}, !.accepted = {}, !.refused = {}]
Prepares(p, s, b) == {[type |-> "PaxosPrepare", src |-> p, dst |-> a, seq |-> s, n |-> b]
                      : a \in Peer}

\* The application asks p to propose v for s (Start): ignored when p knows the decision
\* or already proposes for s.
Start(p, s, v) ==
    /\ up[p] /\ decided[p][s] = Nil /\ ~prop[p][s].active
    /\ LET pr == RoundRec(p, s, [NoProposal EXCEPT !.active = TRUE, !.own = v])
       IN /\ prop' = [prop EXCEPT ![p][s] = pr]
          /\ msgs' = WithAll(msgs, Prepares(p, s, pr.ballot))
    /\ proposed' = [proposed EXCEPT ![s] = @ \cup {v}]
    /\ UNCHANGED <<promised, accBal, accVal, decided, unacked, up>>

\* The round timer of an active proposal fires.  After a back-off (phase "wait") a new
\* round starts; a round that timed out (no majority answered in time) backs off first, as
\* a refused one does, so that overloaded or dueling proposers send fewer rounds.
NewRound(p, s) ==
    /\ up[p] /\ prop[p][s].active
    /\ IF prop[p][s].phase = "wait"
       THEN LET pr == RoundRec(p, s, prop[p][s])
            IN /\ prop' = [prop EXCEPT ![p][s] = pr]
               /\ msgs' = WithAll(msgs, Prepares(p, s, pr.ballot))
       ELSE /\ prop' = [prop EXCEPT ![p][s].phase = "wait"]
            /\ UNCHANGED msgs
    /\ UNCHANGED <<promised, accBal, accVal, decided, unacked, up, proposed>>

\* The announcements p sends when it learns v for s (to every other peer).
Announce(p, s, v) == {[type |-> "PaxosDecided", src |-> p, dst |-> q, seq |-> s, value |-> v]
                      : q \in Peer \ {p}}

\* Learning v for s (first value only); a proposal for s stops.  With announce, p tells
\* every other peer and keeps telling them until they acknowledge.
LearnDecided(p, s, v) == IF decided[p][s] = Nil THEN v ELSE decided[p][s]
Learns(p, s) == decided[p][s] = Nil

\* A majority refused: the round ends, a back-off follows (phase "wait").
AfterRefusal(pr, src, prom) ==
    LET r == [pr EXCEPT !.highest = Max(@, prom), !.refused = @ \cup {src}]
    IN IF Cardinality(r.refused) > N - Majority THEN [r EXCEPT !.phase = "wait"] ELSE r

Current(p, m, ph) ==
    prop[p][m.seq].active /\ prop[p][m.seq].ballot = m.n /\ prop[p][m.seq].phase = ph

HandlePrepareReply(p, m) ==
    LET s == m.seq
        pr == prop[p][s]
        prs == pr.promises \cup {<<m.src, m.accepted, m.value>>}
        got == {t[1] : t \in prs}
        best == CHOOSE t \in prs : \A u \in prs : u[2] <= t[2]
        v == IF best[2] >= 0 THEN best[3] ELSE pr.own   \* GUARD:adopt-accepted
    IN CASE ~Current(p, m, "prepare") ->
              msgs' = Without(msgs, m) /\ UNCHANGED <<prop, decided, unacked>>
         [] m.status = "decided" ->
              /\ decided' = [decided EXCEPT ![p][s] = LearnDecided(p, s, m.value)]
              /\ IF Learns(p, s)
                 THEN /\ unacked' = [unacked EXCEPT ![p][s] = Peer \ {p}]
                      /\ prop' = [prop EXCEPT ![p][s] = NoProposal]
                      /\ msgs' = WithAll(Without(msgs, m), Announce(p, s, m.value))
                 ELSE msgs' = Without(msgs, m) /\ UNCHANGED <<unacked, prop>>
         [] m.status # "ok" ->
              /\ prop' = [prop EXCEPT ![p][s] = AfterRefusal(pr, m.src, m.promised)]
              /\ msgs' = Without(msgs, m) /\ UNCHANGED <<decided, unacked>>
         [] Cardinality(got) < Majority ->
              /\ prop' = [prop EXCEPT ![p][s].promises = prs]
              /\ msgs' = Without(msgs, m) /\ UNCHANGED <<decided, unacked>>
         [] OTHER ->  \* a majority promised: phase 2 with the highest accepted value
              /\ prop' = [prop EXCEPT ![p][s] = [pr EXCEPT !.promises = prs, !.phase = "accept",
                                                            !.proposing = v]]
              /\ msgs' = WithAll(Without(msgs, m),
                                 {[type |-> "PaxosAccept", src |-> p, dst |-> a, seq |-> s,
                                   n |-> m.n, value |-> v] : a \in Peer})
              /\ UNCHANGED <<decided, unacked>>

HandleAcceptReply(p, m) ==
    LET s == m.seq
        pr == prop[p][s]
        acc == pr.accepted \cup {m.src}
    IN CASE ~Current(p, m, "accept") ->
              msgs' = Without(msgs, m) /\ UNCHANGED <<prop, decided, unacked>>
         [] m.status # "ok" ->
              /\ prop' = [prop EXCEPT ![p][s] = AfterRefusal(pr, m.src, m.promised)]
              /\ msgs' = Without(msgs, m) /\ UNCHANGED <<decided, unacked>>
         [] Cardinality(acc) < Majority ->
              /\ prop' = [prop EXCEPT ![p][s].accepted = acc]
              /\ msgs' = Without(msgs, m) /\ UNCHANGED <<decided, unacked>>
         [] OTHER ->  \* chosen: learn it and announce it
              /\ decided' = [decided EXCEPT ![p][s] = LearnDecided(p, s, pr.proposing)]
              /\ IF Learns(p, s)
                 THEN /\ unacked' = [unacked EXCEPT ![p][s] = Peer \ {p}]
                      /\ prop' = [prop EXCEPT ![p][s] = NoProposal]
                      /\ msgs' = WithAll(Without(msgs, m), Announce(p, s, pr.proposing))
                 ELSE /\ prop' = [prop EXCEPT ![p][s].accepted = acc]
                      /\ msgs' = Without(msgs, m) /\ UNCHANGED unacked

----------------------------------------------------------------------------
(* Acceptor and learner requests.                                          *)

HandlePrepare(a, m) ==
    LET s == m.seq
        R(st, pm, ab, av) == [type |-> "PaxosPrepareReply", src |-> a, dst |-> m.src, seq |-> s,
                              n |-> m.n, status |-> st, promised |-> pm, accepted |-> ab,
                              value |-> av]
    IN CASE decided[a][s] # Nil ->
              /\ msgs' = WithAll(Without(msgs, m), {R("decided", -1, -1, decided[a][s])})
              /\ UNCHANGED <<promised, accBal, accVal>>
         [] m.n <= promised[a][s] ->                                \* GUARD:promise
              /\ msgs' = WithAll(Without(msgs, m), {R("reject", promised[a][s], accBal[a][s], Nil)})
              /\ UNCHANGED <<promised, accBal, accVal>>
         [] OTHER ->
              /\ promised' = [promised EXCEPT ![a][s] = m.n]
              /\ msgs' = WithAll(Without(msgs, m),
                                 {R("ok", m.n, accBal[a][s], accVal[a][s])})
              /\ UNCHANGED <<accBal, accVal>>

HandleAccept(a, m) ==
    LET s == m.seq
        R(st, pm) == [type |-> "PaxosAcceptReply", src |-> a, dst |-> m.src, seq |-> s,
                      n |-> m.n, status |-> st, promised |-> pm]
    IN IF m.n < promised[a][s]                                     \* GUARD:accept
       THEN /\ msgs' = WithAll(Without(msgs, m), {R("reject", promised[a][s])})
            /\ UNCHANGED <<promised, accBal, accVal>>
       ELSE /\ promised' = [promised EXCEPT ![a][s] = m.n]
            /\ accBal' = [accBal EXCEPT ![a][s] = m.n]
            /\ accVal' = [accVal EXCEPT ![a][s] = m.value]
            /\ msgs' = WithAll(Without(msgs, m), {R("ok", m.n)})

HandleDecided(a, m) ==
    LET s == m.seq
    IN /\ decided' = [decided EXCEPT ![a][s] = LearnDecided(a, s, m.value)]
       /\ prop' = [prop EXCEPT ![a][s] = IF Learns(a, s) THEN NoProposal ELSE @]
       /\ msgs' = WithAll(Without(msgs, m), {[type |-> "PaxosDecidedAck", src |-> a,
                                               dst |-> m.src, seq |-> s]})
       /\ UNCHANGED unacked

HandleDecidedAck(p, m) ==
    /\ unacked' = [unacked EXCEPT ![p][m.seq] = @ \ {m.src}]
    /\ msgs' = Without(msgs, m)
    /\ UNCHANGED <<decided, prop>>

\* Peer p handles message m (one copy leaves the bag).
Receive(p, m) ==
    /\ up[p] /\ m.dst = p
    /\ UNCHANGED <<up, proposed>>
    /\ CASE m.type = "PaxosPrepare" ->
              HandlePrepare(p, m) /\ UNCHANGED <<decided, unacked, prop>>
         [] m.type = "PaxosAccept" ->
              HandleAccept(p, m) /\ UNCHANGED <<decided, unacked, prop>>
         [] m.type = "PaxosDecided" ->
              HandleDecided(p, m) /\ UNCHANGED <<promised, accBal, accVal>>
         [] m.type = "PaxosPrepareReply" ->
              HandlePrepareReply(p, m) /\ UNCHANGED <<promised, accBal, accVal>>
         [] m.type = "PaxosAcceptReply" ->
              HandleAcceptReply(p, m) /\ UNCHANGED <<promised, accBal, accVal>>
         [] m.type = "PaxosDecidedAck" ->
              HandleDecidedAck(p, m) /\ UNCHANGED <<promised, accBal, accVal>>

Reannouncements(p) ==
    UNION {{[type |-> "PaxosDecided", src |-> p, dst |-> q, seq |-> s, value |-> decided[p][s]]
            : q \in unacked[p][s]} : s \in Seqs}

\* The announcement timer: tell every peer that has not acknowledged again.
Reannounce(p) ==
    /\ up[p]
    /\ msgs' = WithAll(msgs, Reannouncements(p))
    /\ UNCHANGED <<promised, accBal, accVal, decided, unacked, prop, up, proposed>>

\* A request p sent (m) could not be delivered: the World reports it, and it counts as a
\* refusal of the round it belongs to.
\* A lost Decided is resent by the announcement timer: no effect.
SendFailed(p, m) ==
    /\ up[p] /\ m.src = p /\ m.dst # p
    /\ m.type \in {"PaxosPrepare", "PaxosAccept", "PaxosDecided"}
    /\ msgs' = Without(msgs, m)
    /\ LET ph == IF m.type = "PaxosPrepare" THEN "prepare" ELSE "accept"
       IN prop' = [prop EXCEPT ![p][m.seq] =
                     IF m.type # "PaxosDecided" /\ Current(p, m, ph)
                     THEN AfterRefusal(@, m.dst, -1) ELSE @]
    /\ UNCHANGED <<promised, accBal, accVal, decided, unacked, up, proposed>>

----------------------------------------------------------------------------
(* The network and the World.                                              *)

Drop(m) == msgs' = Without(msgs, m) /\ UNCHANGED <<promised, accBal, accVal, decided, unacked,
                                                   prop, up, proposed>>
Duplicate(m) == msgs' = [msgs EXCEPT ![m] = @ + 1]
                /\ UNCHANGED <<promised, accBal, accVal, decided, unacked, prop, up, proposed>>

\* A crash loses the rounds in progress; promises, acceptances, decisions, started
\* proposals and pending announcements are durable.
Crash(p) ==
    /\ up[p]
    /\ up' = [up EXCEPT ![p] = FALSE]
    /\ prop' = [prop EXCEPT ![p] = [s \in Seqs |->
                  IF prop[p][s].active
                  THEN [NoProposal EXCEPT !.active = TRUE, !.own = prop[p][s].own]
                  ELSE NoProposal]]
    /\ unacked' = [unacked EXCEPT ![p] = [s \in Seqs |-> IF @[s] # {} THEN Peer \ {p} ELSE {}]]
    /\ UNCHANGED <<promised, accBal, accVal, decided, msgs, proposed>>

\* A restart resumes every started proposal with a new round and announces again what
\* was not acknowledged.
Restart(p) ==
    /\ ~up[p]
    /\ up' = [up EXCEPT ![p] = TRUE]
    /\ prop' = [prop EXCEPT ![p] = [s \in Seqs |->
                  IF @[s].active THEN RoundRec(p, s, @[s]) ELSE @[s]]]
    /\ msgs' = WithAll(msgs, UNION {Prepares(p, s, prop'[p][s].ballot)
                                    : s \in {x \in Seqs : prop[p][x].active}}
                             \cup Reannouncements(p))
    /\ UNCHANGED <<promised, accBal, accVal, decided, unacked, proposed>>

Next ==
    \/ \E p \in Peer, s \in Seqs, v \in Values : Start(p, s, v)
    \/ \E p \in Peer, s \in Seqs : NewRound(p, s)
    \/ \E p \in Peer : Reannounce(p) \/ Crash(p) \/ Restart(p)
    \/ \E m \in DOMAIN msgs : Receive(m.dst, m) \/ Drop(m) \/ Duplicate(m)
                              \/ SendFailed(m.src, m)

Spec == Init /\ [][Next]_vars

----------------------------------------------------------------------------
(* Invariants.                                                             *)

\* No two peers learn different values for one instance.
Agreement ==
    \A p, q \in Peer, s \in Seqs :
        decided[p][s] # Nil /\ decided[q][s] # Nil => decided[p][s] = decided[q][s]

\* Only a proposed value is ever accepted or learned.
Validity ==
    \A p \in Peer, s \in Seqs :
        /\ decided[p][s] # Nil => decided[p][s] \in proposed[s]
        /\ accVal[p][s] # Nil => accVal[p][s] \in proposed[s]

TypeOK ==
    /\ \A p \in Peer, s \in Seqs : accBal[p][s] <= promised[p][s]
    /\ \A m \in DOMAIN msgs : msgs[m] > 0
=============================================================================
