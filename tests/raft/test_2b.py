"""Lab 2B, log replication: the eight active tests of 6.824 (2022) test_test.go."""

from __future__ import annotations

import base64

from raft_tester import RAFT_ELECTION_TIMEOUT


def randstring(cfg, n: int) -> str:
    return base64.urlsafe_b64encode(cfg.rng.randbytes(2 * n)).decode()[:n]


def rand_int(cfg) -> int:
    return cfg.rng.randrange(2**63)


def test_basic_agree_2b(make_config):
    servers = 3
    cfg = make_config(servers)
    cfg.begin("Test (2B): basic agreement")
    iters = 3
    for index in range(1, iters + 1):
        nd, _ = cfg.n_committed(index)
        if nd > 0:
            cfg.fatal("some have committed before Start()")
        xindex = cfg.one(index * 100, servers, False)
        if xindex != index:
            cfg.fatal(f"got index {xindex} but expected {index}")
    cfg.end()


def test_rpc_bytes_2b(make_config):
    servers = 3
    cfg = make_config(servers)
    cfg.begin("Test (2B): RPC byte count")
    cfg.one(99, servers, False)
    bytes0 = cfg.bytes_total()
    iters = 10
    sent = 0
    for index in range(2, iters + 2):
        cmd = randstring(cfg, 5000)
        xindex = cfg.one(cmd, servers, False)
        if xindex != index:
            cfg.fatal(f"got index {xindex} but expected {index}")
        sent += len(cmd)
    got = cfg.bytes_total() - bytes0
    expected = servers * sent
    print(f"  bytes for 10 x 5000-byte commands: {got} (limit {expected + 50000})")
    if got > expected + 50000:
        cfg.fatal(f"too many RPC bytes; got {got}, expected {expected}")
    cfg.end()


def test_fail_agree_2b(make_config):
    servers = 3
    cfg = make_config(servers)
    cfg.begin("Test (2B): agreement after follower reconnects")
    cfg.one(101, servers, False)
    # disconnect one follower from the network.
    leader = cfg.check_one_leader()
    cfg.disconnect((leader + 1) % servers)
    # the leader and remaining follower should be able to agree despite the disconnected
    # follower.
    cfg.one(102, servers - 1, False)
    cfg.one(103, servers - 1, False)
    cfg.sleep(RAFT_ELECTION_TIMEOUT)
    cfg.one(104, servers - 1, False)
    cfg.one(105, servers - 1, False)
    # re-connect
    cfg.connect((leader + 1) % servers)
    # the full set of servers should preserve previous agreements, and be able to agree on
    # new commands.
    cfg.one(106, servers, True)
    cfg.sleep(RAFT_ELECTION_TIMEOUT)
    cfg.one(107, servers, True)
    cfg.end()


def test_fail_no_agree_2b(make_config):
    servers = 5
    cfg = make_config(servers)
    cfg.begin("Test (2B): no agreement if too many followers disconnect")
    cfg.one(10, servers, False)
    # 3 of 5 followers disconnect
    leader = cfg.check_one_leader()
    cfg.disconnect((leader + 1) % servers)
    cfg.disconnect((leader + 2) % servers)
    cfg.disconnect((leader + 3) % servers)
    index, _, ok = cfg.start(leader, 20)
    if not ok:
        cfg.fatal("leader rejected Start()")
    if index != 2:
        cfg.fatal(f"expected index 2, got {index}")
    cfg.sleep(2 * RAFT_ELECTION_TIMEOUT)
    n, _ = cfg.n_committed(index)
    if n > 0:
        cfg.fatal(f"{n} committed but no majority")
    # repair
    cfg.connect((leader + 1) % servers)
    cfg.connect((leader + 2) % servers)
    cfg.connect((leader + 3) % servers)
    # the disconnected majority may have chosen a leader from among their own ranks,
    # forgetting index 2.
    leader2 = cfg.check_one_leader()
    index2, _, ok2 = cfg.start(leader2, 30)
    if not ok2:
        cfg.fatal("leader2 rejected Start()")
    if index2 < 2 or index2 > 3:
        cfg.fatal(f"unexpected index {index2}")
    cfg.one(1000, servers, True)
    cfg.end()


def test_concurrent_starts_2b(make_config):
    servers = 3
    cfg = make_config(servers)
    cfg.begin("Test (2B): concurrent Start()s")
    success = False
    for attempt in range(5):
        if attempt > 0:
            cfg.sleep(3)  # give solution some time to settle
        leader = cfg.check_one_leader()
        _, term, ok = cfg.start(leader, 1)
        if not ok:
            continue  # leader moved on really quickly
        iters = 5
        order = list(range(iters))
        cfg.rng.shuffle(order)  # the goroutines run in some order, all at one instant
        indices = []
        for i in order:
            index, term1, ok = cfg.start(leader, 100 + i)
            if term1 == term and ok:
                indices.append(index)
        if any(cfg.get_state(j)[0] != term for j in range(servers)):
            continue  # term changed -- can't expect low RPC counts
        failed = False
        cmds = []
        for index in indices:
            cmd = cfg.wait(index, servers, term)
            if not isinstance(cmd, int):
                cfg.fatal(f"value {cmd!r} is not an int")
            if cmd == -1:
                failed = True  # peers have moved on to later terms
                break
            cmds.append(cmd)
        if failed:
            continue
        for ii in range(iters):
            if 100 + ii not in cmds:
                cfg.fatal(f"cmd {100 + ii} missing in {cmds}")
        success = True
        break
    if not success:
        cfg.fatal("term changed too often")
    cfg.end()


def test_rejoin_2b(make_config):
    servers = 3
    cfg = make_config(servers)
    cfg.begin("Test (2B): rejoin of partitioned leader")
    cfg.one(101, servers, True)
    # leader network failure
    leader1 = cfg.check_one_leader()
    cfg.disconnect(leader1)
    # make old leader try to agree on some entries
    cfg.start(leader1, 102)
    cfg.start(leader1, 103)
    cfg.start(leader1, 104)
    # new leader commits, also for index=2
    cfg.one(103, 2, True)
    # new leader network failure
    leader2 = cfg.check_one_leader()
    cfg.disconnect(leader2)
    # old leader connected again
    cfg.connect(leader1)
    cfg.one(104, 2, True)
    # all together now
    cfg.connect(leader2)
    cfg.one(105, servers, True)
    cfg.end()


def test_backup_2b(make_config):
    servers = 5
    cfg = make_config(servers)
    cfg.begin("Test (2B): leader backs up quickly over incorrect follower logs")
    cfg.one(rand_int(cfg), servers, True)
    # put leader and one follower in a partition
    leader1 = cfg.check_one_leader()
    cfg.disconnect((leader1 + 2) % servers)
    cfg.disconnect((leader1 + 3) % servers)
    cfg.disconnect((leader1 + 4) % servers)
    # submit lots of commands that won't commit
    for _ in range(50):
        cfg.start(leader1, rand_int(cfg))
    cfg.sleep(RAFT_ELECTION_TIMEOUT / 2)
    cfg.disconnect((leader1 + 0) % servers)
    cfg.disconnect((leader1 + 1) % servers)
    # allow other partition to recover
    cfg.connect((leader1 + 2) % servers)
    cfg.connect((leader1 + 3) % servers)
    cfg.connect((leader1 + 4) % servers)
    # lots of successful commands to new group.
    for _ in range(50):
        cfg.one(rand_int(cfg), 3, True)
    # now another partitioned leader and one follower
    leader2 = cfg.check_one_leader()
    other = (leader1 + 2) % servers
    if leader2 == other:
        other = (leader2 + 1) % servers
    cfg.disconnect(other)
    # lots more commands that won't commit
    for _ in range(50):
        cfg.start(leader2, rand_int(cfg))
    cfg.sleep(RAFT_ELECTION_TIMEOUT / 2)
    # bring original leader back to life,
    for i in range(servers):
        cfg.disconnect(i)
    cfg.connect((leader1 + 0) % servers)
    cfg.connect((leader1 + 1) % servers)
    cfg.connect(other)
    # lots of successful commands to new group.
    for _ in range(50):
        cfg.one(rand_int(cfg), 3, True)
    # now everyone
    for i in range(servers):
        cfg.connect(i)
    cfg.one(rand_int(cfg), servers, True)
    cfg.end()


def test_count_2b(make_config):
    servers = 3
    cfg = make_config(servers)
    cfg.begin("Test (2B): RPC counts aren't too high")

    # config.go sums the RPCs each server received; here every request sent is counted
    # (labrpc's total), which is the same number on this reliable, fully connected network
    # and can only be larger otherwise.
    def rpcs() -> int:
        return cfg.rpc_total()

    leader = cfg.check_one_leader()
    total1 = rpcs()
    print(f"  RPCs to elect the initial leader: {total1} (limit 30)")
    if total1 > 30 or total1 < 1:
        cfg.fatal(f"too many or few RPCs ({total1}) to elect initial leader")
    total2 = 0
    success = False
    for attempt in range(5):
        if attempt > 0:
            cfg.sleep(3)  # give solution some time to settle
        leader = cfg.check_one_leader()
        total1 = rpcs()
        iters = 10
        starti, term, ok = cfg.start(leader, 1)
        if not ok:
            continue  # leader moved on really quickly
        cmds = []
        retry = False
        for i in range(1, iters + 2):
            x = cfg.rng.randrange(2**31)
            cmds.append(x)
            index1, term1, ok = cfg.start(leader, x)
            if term1 != term or not ok:
                retry = True  # term changed while starting
                break
            if starti + i != index1:
                cfg.fatal("Start() failed")
        if retry:
            continue
        for i in range(1, iters + 1):
            cmd = cfg.wait(starti + i, servers, term)
            if cmd != cmds[i - 1]:
                if cmd == -1:
                    retry = True  # term changed -- try again
                    break
                cfg.fatal(f"wrong value {cmd!r} committed for index {starti + i}; "
                          f"expected {cmds}")
        if retry:
            continue
        failed = any(cfg.get_state(j)[0] != term for j in range(servers))
        total2 = rpcs()
        if failed:
            continue  # term changed -- can't expect low RPC counts
        print(f"  RPCs for {iters + 1} agreements: {total2 - total1} "
              f"(limit {(iters + 1 + 3) * 3})")
        if total2 - total1 > (iters + 1 + 3) * 3:
            cfg.fatal(f"too many RPCs ({total2 - total1}) for {iters} entries")
        success = True
        break
    if not success:
        cfg.fatal("term changed too often")
    cfg.sleep(RAFT_ELECTION_TIMEOUT)
    total3 = rpcs()
    print(f"  RPCs in 1 s of idleness: {total3 - total2} (limit 60)")
    if total3 - total2 > 3 * 20:
        cfg.fatal(f"too many RPCs ({total3 - total2}) for 1 second of idleness")
    cfg.end()
