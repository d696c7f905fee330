"""faultlab.paxos: multi-instance Paxos (the 2015 lab's library) and a replicated log on it.

Read in this order: :mod:`.messages`, :mod:`.acceptor`, :mod:`.proposer`, :mod:`.learner`
(the three roles of "Paxos Made Simple"), :mod:`.peer` (the library interface, forgetting,
persistence, abstract state), :mod:`.node` (a host node), :mod:`.log` (the consensus log for
the key/value service), :mod:`.harness` (worlds and the lab tester), :mod:`.machine` (the
Hypothesis state machine and its seeded bugs). See ``README.md``.
"""

from faultlab.paxos.peer import Fate, Paxos

__all__ = ["Fate", "Paxos"]
