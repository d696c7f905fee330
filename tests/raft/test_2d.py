"""Lab 2D, log compaction: the six tests of 6.824 (2022) test_test.go, in virtual time."""

from __future__ import annotations

from raft_tester import MAX_LOG_SIZE, SNAPSHOT_INTERVAL


def rand_int(cfg) -> int:
    return cfg.rng.randrange(2**63)


def snapcommon(cfg, name: str, disconnect: bool, reliable: bool, crash: bool) -> None:
    iters = 30
    servers = 3
    cfg.begin(name)
    cfg.one(rand_int(cfg), servers, True)
    leader1 = cfg.check_one_leader()
    largest = 0
    for i in range(iters):
        victim = (leader1 + 1) % servers
        sender = leader1
        if i % 3 == 1:
            sender = (leader1 + 1) % servers
            victim = leader1
        if disconnect:
            cfg.disconnect(victim)
            cfg.one(rand_int(cfg), servers - 1, True)
        if crash:
            cfg.crash1(victim)
            cfg.one(rand_int(cfg), servers - 1, True)
        # perhaps send enough to get a snapshot
        nn = SNAPSHOT_INTERVAL // 2 + cfg.rng.randrange(SNAPSHOT_INTERVAL)
        for _ in range(nn):
            cfg.start(sender, rand_int(cfg))
        # let applier threads catch up with the Start()'s
        if not disconnect and not crash:
            # make sure all followers have caught up, so that an InstallSnapshot RPC isn't
            # required for TestSnapshotBasic2D().
            cfg.one(rand_int(cfg), servers, True)
        else:
            cfg.one(rand_int(cfg), servers - 1, True)
        largest = max(largest, cfg.log_size())
        if cfg.log_size() >= MAX_LOG_SIZE:
            cfg.fatal(f"Log size too large: {cfg.log_size()} bytes (limit {MAX_LOG_SIZE})")
        if disconnect:
            # reconnect a follower, who maybe behind and needs to receive a snapshot to
            # catch up.
            cfg.connect(victim)
            cfg.one(rand_int(cfg), servers, True)
            leader1 = cfg.check_one_leader()
        if crash:
            cfg.start1(victim)
            cfg.connect(victim)
            cfg.one(rand_int(cfg), servers, True)
            leader1 = cfg.check_one_leader()
    print(f"  largest Raft state after snapshots: {largest} bytes (limit < {MAX_LOG_SIZE})")
    cfg.end()


def test_snapshot_basic_2d(make_config):
    snapcommon(make_config(3, snapshot=True), "Test (2D): snapshots basic", False, True, False)


def test_snapshot_install_2d(make_config):
    snapcommon(make_config(3, snapshot=True), "Test (2D): install snapshots (disconnect)",
               True, True, False)


def test_snapshot_install_unreliable_2d(make_config):
    snapcommon(make_config(3, unreliable=True, snapshot=True),
               "Test (2D): install snapshots (disconnect+unreliable)", True, False, False)


def test_snapshot_install_crash_2d(make_config):
    snapcommon(make_config(3, snapshot=True), "Test (2D): install snapshots (crash)",
               False, True, True)


def test_snapshot_install_uncrash_2d(make_config):
    snapcommon(make_config(3, unreliable=True, snapshot=True),
               "Test (2D): install snapshots (unreliable+crash)", False, False, True)


def test_snapshot_all_crash_2d(make_config):
    """Do the servers persist the snapshots, and restart using snapshot along with the
    tail of the log?"""
    servers = 3
    iters = 5
    cfg = make_config(servers, snapshot=True)
    cfg.begin("Test (2D): crash and restart all servers")
    cfg.one(rand_int(cfg), servers, True)
    for _ in range(iters):
        # perhaps enough to get a snapshot
        nn = SNAPSHOT_INTERVAL // 2 + cfg.rng.randrange(SNAPSHOT_INTERVAL)
        for _ in range(nn):
            cfg.one(rand_int(cfg), servers, True)
        index1 = cfg.one(rand_int(cfg), servers, True)
        # crash all
        for i in range(servers):
            cfg.crash1(i)
        # revive all
        for i in range(servers):
            cfg.start1(i)
            cfg.connect(i)
        index2 = cfg.one(rand_int(cfg), servers, True)
        if index2 < index1 + 1:
            cfg.fatal(f"index decreased from {index1} to {index2}")
    cfg.end()
