"""faultlab.kv: one replicated key/value service, written once against the consensus
contract (faultlab.consensus) and run on Raft or on the Paxos log.

Read in this order: :mod:`.messages` (the operations and the RPCs), :mod:`.store` (the
key/value state machine with its duplicate table), :mod:`.rsm` (the generic replicated state
machine: a server that submits commands to the log and answers when they come back),
:mod:`.server` (the KV server on it), :mod:`.clerk`, :mod:`.cluster` (Worlds of servers and
clerks), :mod:`.checks` (what the tests check), :mod:`.bugs`, :mod:`.machine`, :mod:`.demo`.
"""
