------------------------------ MODULE MCpaxos ------------------------------
(* A small model of paxos.tla for TLC: three peers, two of which propose      *)
(* different values, one instance, bounded ballots and messages.             *)
EXTENDS paxos, TLC

CONSTANTS MaxBallot, MaxMsgs, MaxCopies, MaxDown
CONSTANTS v1, v2

MCPeers == <<"p0", "p1", "p2">>
MCValues == {v1, v2}
\* p0 proposes v1 and p1 proposes v2 (two conflicting proposers); p2 only accepts
Proposal == [p \in {"p0", "p1"} |-> IF p = "p0" THEN v1 ELSE v2]

\* Next restricted to those proposals; the announcement timer is left out (Decided
\* messages are still sent when a value is learned).
MCNext ==
    \/ \E p \in DOMAIN Proposal, s \in Seqs : Start(p, s, Proposal[p]) \/ NewRound(p, s)
    \/ \E p \in Peer : Crash(p) \/ Restart(p)
    \/ \E m \in DOMAIN msgs : Receive(m.dst, m) \/ Drop(m) \/ Duplicate(m)
                              \/ SendFailed(m.src, m)

StateConstraint ==
    /\ \A p \in Peer, s \in Seqs : prop[p][s].ballot <= MaxBallot
    /\ Cardinality(DOMAIN msgs) <= MaxMsgs
    /\ \A m \in DOMAIN msgs : msgs[m] <= MaxCopies
    /\ Cardinality({p \in Peer : ~up[p]}) <= MaxDown
=============================================================================
