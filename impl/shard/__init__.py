"""faultlab.shard: the sharded key/value service of the labs' last part, on either engine.

A shard controller (a replicated service keeping numbered configurations) assigns the ten
shards to replica groups; each group is a replicated key/value service that serves the shards
its configuration gives it and moves shards to and from other groups as configurations
change.

Read in this order: :mod:`.config` (configurations, key to shard, the rebalance),
:mod:`.ctrler` (the controller's state machine and server), :mod:`.messages` (what a group's
log holds and what groups send each other), :mod:`.store` (a group's state machine and its
shard states), :mod:`.server`, :mod:`.clerk`, :mod:`.cluster`.
"""
