"""The Hypothesis machines that ``faultlab explore`` knows by name.

Each entry names a :class:`faultlab.tools.explore.WorldMachine` subclass as ``module:Class``
(imported only when used). Seeded-bug variants are listed too, so a user can watch the
explorer catch each one.
"""

from __future__ import annotations

MACHINES: dict[str, tuple[str, str]] = {
    "register": ("faultlab.tools.example_register:RegisterMachine",
                 "the runtime's example: a register on a primary and a backup"),
    "register-bug-early-ack": ("faultlab.tools.example_register:BuggyRegisterMachine",
                               "seeded bug: the primary acknowledges before replicating"),
    "paxos": ("faultlab.paxos.machine:PaxosMachine",
              "multi-instance Paxos, 3 peers: agreement, validity, acceptor stability"),
    "paxos-5": ("faultlab.paxos.machine:FivePeerMachine", "the same with 5 peers"),
    "paxos-bug-volatile-promise": ("faultlab.paxos.machine:VolatilePromiseMachine",
                                   "seeded bug: an acceptor does not persist its promise"),
    "paxos-bug-ignore-accepted": ("faultlab.paxos.machine:IgnoreAcceptedMachine",
                                  "seeded bug: a proposer ignores accepted values in promises"),
    "paxos-bug-majority": ("faultlab.paxos.machine:MiscountedMajorityMachine",
                           "seeded bug: a majority is miscounted as n//2"),
    "pb": ("faultlab.pb.explore:PBMachine",
           "viewservice and primary/backup KV: view rules, one primary, linearizable"),
    "pb-bug-reply-before-ack": ("faultlab.pb.explore:BuggyReplyBeforeAckMachine",
                                "seeded bug: the primary replies before the backup acked"),
    "pb-bug-view-without-ack": ("faultlab.pb.explore:BuggyAdvanceWithoutAckMachine",
                                "seeded bug: the view advances without the primary's ack"),
    "pb-bug-no-dedup": ("faultlab.pb.explore:BuggyNoDuplicateDetectionMachine",
                        "seeded bug: retried Put/Append applied twice"),
    "mr": ("faultlab.mr.explore:MapReduceMachine",
           "MapReduce coordinator and workers: outputs never partial or wrong, job completes"),
    "raft": ("faultlab.raft.machine:RaftMachine",
             "Raft, 3 servers: election safety, log matching, leader completeness, ..."),
    "raft-5": ("faultlab.raft.machine:RaftMachine5", "the same with 5 servers"),
    "raft-bug-vote-not-up-to-date": ("faultlab.raft.machine:VoteWithoutUpToDateCheck",
                                     "seeded bug: votes granted without the up-to-date check"),
    "raft-bug-commit-old-term": ("faultlab.raft.machine:CommitOldTermByCounting",
                                 "seeded bug: an older-term entry committed by counting"),
    "raft-bug-forget-voted-for": ("faultlab.raft.machine:ForgetVotedFor",
                                  "seeded bug: votedFor not persisted"),
    "raft-bug-keep-conflicts": ("faultlab.raft.machine:KeepConflictingSuffix",
                                "seeded bug: a conflicting suffix is not truncated"),
    "raft-bug-apply-beyond-commit": ("faultlab.raft.machine:ApplyBeyondCommit",
                                     "seeded bug: entries applied beyond commitIndex"),
    "shard": ("faultlab.shard.machine:ShardMachine",
              "sharded KV, controller and 2 groups on Raft, with joins, leaves and moves"),
    "shard-ctrler": ("faultlab.shard.machine:CtrlerMachine",
                     "the shard controller alone, 3 replicas, Joins/Leaves/Moves of 4 groups"),
    "shard-bug-serve-before-arrival": ("faultlab.shard.machine:ShardServeBeforeArrivalMachine",
                                       "seeded bug: a shard served before its data arrives"),
    "shard-bug-migrate-without-dups": (
        "faultlab.shard.machine:ShardMigrateWithoutDuplicatesMachine",
        "seeded bug: a shard moves without its duplicate table"),
    "shard-bug-skip-configurations": (
        "faultlab.shard.machine:ShardSkipConfigurationsMachine",
        "seeded bug: a group jumps to the latest configuration"),
    "shard-bug-replica-dependent-rebalance": (
        "faultlab.shard.machine:CtrlerReplicaDependentRebalanceMachine",
        "seeded bug: controller replicas rebalance in orders of their own"),
    "shard-bug-non-minimal-rebalance": (
        "faultlab.shard.machine:CtrlerNonMinimalRebalanceMachine",
        "seeded bug: every rebalance deals all shards out again"),
    "kv-raft": ("faultlab.kv.machine:KVRaftMachine",
                "key/value service on Raft, 3 servers, 3 clerks: replicas agree, "
                "linearizable, acknowledged appends kept"),
    "kv-paxos": ("faultlab.kv.machine:KVPaxosMachine", "the same on the Paxos log"),
    "kv-bug-no-dedup": ("faultlab.kv.machine:KVNoDuplicateDetectionMachine",
                        "seeded bug: a retried write is applied again"),
    "kv-bug-local-get": ("faultlab.kv.machine:KVLocalGetMachine",
                         "seeded bug: a Get answered from local state, without the log"),
    "kv-bug-snapshot-without-dups": ("faultlab.kv.machine:KVSnapshotWithoutDuplicatesMachine",
                                     "seeded bug: the snapshot leaves out the duplicate table"),
    "kv-bug-reply-for-any-command": ("faultlab.kv.machine:KVReplyForAnyCommandMachine",
                                     "seeded bug: a lost proposal is answered as the clerk's"),
}
