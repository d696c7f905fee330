"""Lab 2C, persistence: the eight tests of 6.824 (2022) test_test.go, in virtual time."""

from __future__ import annotations

from raft_tester import RAFT_ELECTION_TIMEOUT


def rand_int(cfg) -> int:
    return cfg.rng.randrange(2**63)


def test_persist1_2c(make_config):
    servers = 3
    cfg = make_config(servers)
    cfg.begin("Test (2C): basic persistence")
    cfg.one(11, servers, True)
    # crash and re-start all
    for i in range(servers):
        cfg.start1(i)
    for i in range(servers):
        cfg.disconnect(i)
        cfg.connect(i)
    cfg.one(12, servers, True)
    leader1 = cfg.check_one_leader()
    cfg.disconnect(leader1)
    cfg.start1(leader1)
    cfg.connect(leader1)
    cfg.one(13, servers, True)
    leader2 = cfg.check_one_leader()
    cfg.disconnect(leader2)
    cfg.one(14, servers - 1, True)
    cfg.start1(leader2)
    cfg.connect(leader2)
    cfg.wait(4, servers, -1)  # wait for leader2 to join before killing i3
    i3 = (cfg.check_one_leader() + 1) % servers
    cfg.disconnect(i3)
    cfg.one(15, servers - 1, True)
    cfg.start1(i3)
    cfg.connect(i3)
    cfg.one(16, servers, True)
    cfg.end()


def test_persist2_2c(make_config):
    servers = 5
    cfg = make_config(servers)
    cfg.begin("Test (2C): more persistence")
    index = 1
    for _ in range(5):
        cfg.one(10 + index, servers, True)
        index += 1
        leader1 = cfg.check_one_leader()
        cfg.disconnect((leader1 + 1) % servers)
        cfg.disconnect((leader1 + 2) % servers)
        cfg.one(10 + index, servers - 2, True)
        index += 1
        cfg.disconnect((leader1 + 0) % servers)
        cfg.disconnect((leader1 + 3) % servers)
        cfg.disconnect((leader1 + 4) % servers)
        cfg.start1((leader1 + 1) % servers)
        cfg.start1((leader1 + 2) % servers)
        cfg.connect((leader1 + 1) % servers)
        cfg.connect((leader1 + 2) % servers)
        cfg.sleep(RAFT_ELECTION_TIMEOUT)
        cfg.start1((leader1 + 3) % servers)
        cfg.connect((leader1 + 3) % servers)
        cfg.one(10 + index, servers - 2, True)
        index += 1
        cfg.connect((leader1 + 4) % servers)
        cfg.connect((leader1 + 0) % servers)
    cfg.one(1000, servers, True)
    cfg.end()


def test_persist3_2c(make_config):
    servers = 3
    cfg = make_config(servers)
    cfg.begin("Test (2C): partitioned leader and one follower crash, leader restarts")
    cfg.one(101, 3, True)
    leader = cfg.check_one_leader()
    cfg.disconnect((leader + 2) % servers)
    cfg.one(102, 2, True)
    cfg.crash1((leader + 0) % servers)
    cfg.crash1((leader + 1) % servers)
    cfg.connect((leader + 2) % servers)
    cfg.start1((leader + 0) % servers)
    cfg.connect((leader + 0) % servers)
    cfg.one(103, 2, True)
    cfg.start1((leader + 1) % servers)
    cfg.connect((leader + 1) % servers)
    cfg.one(104, servers, True)
    cfg.end()


def _sleep_figure8(cfg) -> None:
    if cfg.rng.randrange(1000) < 100:
        ms = cfg.rng.randrange(int(RAFT_ELECTION_TIMEOUT * 1000) // 2)
    else:
        ms = cfg.rng.randrange(13)
    cfg.sleep(ms / 1000)


def test_figure8_2c(make_config):
    """Test the scenarios described in Figure 8 of the extended Raft paper. Each iteration
    asks a leader, if there is one, to insert a command in the Raft log. If there is a
    leader, that leader will fail quickly with a high probability (perhaps without
    committing the command), or crash after a while with low probability (most likely
    committing the command). If the number of alive servers isn't enough to form a
    majority, perhaps start a new server. The leader in a new term may try to finish
    replicating log entries that haven't been committed yet."""
    servers = 5
    cfg = make_config(servers)
    cfg.begin("Test (2C): Figure 8")
    cfg.one(rand_int(cfg), 1, True)
    nup = servers
    for _ in range(1000):
        leader = -1
        for i in range(servers):
            if cfg.raft(i) is not None:
                _, _, ok = cfg.start(i, rand_int(cfg))
                if ok:
                    leader = i
        _sleep_figure8(cfg)
        if leader != -1:
            cfg.crash1(leader)
            nup -= 1
        if nup < 3:
            s = cfg.rng.randrange(servers)
            if cfg.raft(s) is None:
                cfg.start1(s)
                cfg.connect(s)
                nup += 1
    for i in range(servers):
        if cfg.raft(i) is None:
            cfg.start1(i)
            cfg.connect(i)
    cfg.one(rand_int(cfg), servers, True)
    cfg.end()


def test_unreliable_agree_2c(make_config):
    servers = 5
    cfg = make_config(servers, unreliable=True)
    cfg.begin("Test (2C): unreliable agreement")
    tasks = []
    for iters in range(1, 50):
        for j in range(4):
            tasks.append(cfg.go(cfg.one_go(100 * iters + j, 1, True)))
        cfg.one(iters, 1, True)
    cfg.set_unreliable(False)
    cfg.join(tasks)
    cfg.one(100, servers, True)
    cfg.end()


def test_figure8_unreliable_2c(make_config):
    servers = 5
    cfg = make_config(servers, unreliable=True)
    cfg.begin("Test (2C): Figure 8 (unreliable)")
    cfg.one(cfg.rng.randrange(10000), 1, True)
    nup = servers
    for iters in range(1000):
        if iters == 200:
            cfg.set_long_reordering()
        leader = -1
        for i in range(servers):
            _, _, ok = cfg.start(i, cfg.rng.randrange(10000))
            if ok and cfg.connected[i]:
                leader = i
        _sleep_figure8(cfg)
        if leader != -1 and cfg.rng.randrange(1000) < int(RAFT_ELECTION_TIMEOUT * 1000) // 2:
            cfg.disconnect(leader)
            nup -= 1
        if nup < 3:
            s = cfg.rng.randrange(servers)
            if not cfg.connected[s]:
                cfg.connect(s)
                nup += 1
    for i in range(servers):
        if not cfg.connected[i]:
            cfg.connect(i)
    cfg.one(cfg.rng.randrange(10000), servers, True)
    cfg.end()


def internal_churn(cfg, unreliable: bool) -> None:
    servers = 5
    cfg.begin("Test (2C): unreliable churn" if unreliable else "Test (2C): churn")
    stop = False

    def cfn(me: int):  # a client goroutine: yields its sleeps, returns the values committed
        values = []
        while not stop:
            x = rand_int(cfg)
            index = -1
            ok = False
            for i in range(servers):  # try them all, maybe one of them is a leader
                if cfg.raft(i) is not None:
                    index1, _, ok1 = cfg.start(i, x)
                    if ok1:
                        ok = ok1
                        index = index1
            if ok:
                # maybe leader will commit our value, maybe not. but don't wait forever.
                for to in (10, 20, 50, 100, 200):
                    nd, cmd = cfg.n_committed(index)
                    if nd > 0:
                        if not isinstance(cmd, int):
                            cfg.fatal("wrong command type")
                        if cmd == x:
                            values.append(x)
                        break
                    yield to / 1000
            else:
                yield (79 + me * 17) / 1000
        return values

    ncli = 3
    clients = [cfg.go(cfn(i)) for i in range(ncli)]
    for _ in range(20):
        if cfg.rng.randrange(1000) < 200:
            i = cfg.rng.randrange(servers)
            cfg.disconnect(i)
        if cfg.rng.randrange(1000) < 500:
            i = cfg.rng.randrange(servers)
            if cfg.raft(i) is None:
                cfg.start1(i)
            cfg.connect(i)
        if cfg.rng.randrange(1000) < 200:
            i = cfg.rng.randrange(servers)
            if cfg.raft(i) is not None:
                cfg.crash1(i)
        # Make crash/restart infrequent enough that the peers can often keep up, but not so
        # infrequent that everything has settled down from one change to the next.
        cfg.sleep(RAFT_ELECTION_TIMEOUT * 7 / 10)
    cfg.sleep(RAFT_ELECTION_TIMEOUT)
    cfg.set_unreliable(False)
    for i in range(servers):
        if cfg.raft(i) is None:
            cfg.start1(i)
        cfg.connect(i)
    stop = True
    values = []
    for vv in cfg.join(clients):
        if vv is None:
            cfg.fatal("client failed")
        values.extend(vv)
    cfg.sleep(RAFT_ELECTION_TIMEOUT)
    last_index = cfg.one(rand_int(cfg), servers, True)
    really = []
    for index in range(1, last_index + 1):
        v = cfg.wait(index, servers, -1)
        if not isinstance(v, int):
            cfg.fatal("not an int")
        really.append(v)
    really_set = set(really)
    for v1 in values:
        if v1 not in really_set:
            cfg.fatal("didn't find a value")
    print(f"  {len(values)} values the clients saw committed, all in the final log of "
          f"{last_index} entries")
    cfg.end()


def test_reliable_churn_2c(make_config):
    internal_churn(make_config(5), False)


def test_unreliable_churn_2c(make_config):
    internal_churn(make_config(5, unreliable=True), True)
