------------------------------- MODULE MCraft -------------------------------
(* A small model of raft.tla for TLC: three servers, bounded terms, logs and  *)
(* messages (the bounds are a state constraint, so TLC explores every         *)
(* behaviour that stays inside them).                                         *)
EXTENDS raft, TLC

CONSTANTS MaxTerm, MaxLog, MaxMsgs, MaxCopies, MaxDown
CONSTANTS s1, s2, s3

MCServer == {s1, s2, s3}
\* every invariant is symmetric in the servers' names
Symmetry == Permutations(MCServer)

StateConstraint ==
    /\ \A i \in Server : currentTerm[i] <= MaxTerm /\ Len(log[i]) <= MaxLog
    /\ Cardinality(DOMAIN msgs) <= MaxMsgs
    /\ \A m \in DOMAIN msgs : msgs[m] <= MaxCopies
    /\ Cardinality({i \in Server : ~up[i]}) <= MaxDown
=============================================================================
