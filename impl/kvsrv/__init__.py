"""faultlab.kvsrv: the single-server key/value service of 6.5840 (2025, Lab 2) on the
simulated runtime, and the lock built on it.

One server keeps, per key, a value and a version (the number of writes); ``Put(key, value,
version)`` writes only when the version matches. There is no duplicate table: a clerk that
resent a Put and then hears ErrVersion cannot tell whether its first try applied, and says
ErrMaybe. The lock is a key whose value names its holder, taken and given back with Get and
versioned Put alone.

Read in this order: :mod:`.messages` (the RPCs), :mod:`.server` (a node around the
replicated service's :class:`~faultlab.kv.store.KVStore`), :mod:`.clerk`, :mod:`.lock`,
:mod:`.cluster` (Worlds of the server and clerks), :mod:`.bugs`.
"""
