"""Every seeded bug of impl/shard/bugs.py is caught by the lab tests of the default run,
with the violation it causes, on both engines (and the lost-reply race by a directed test).
"""

from __future__ import annotations

import pytest
import test_shardctrler as ctrl
import test_shardkv_4b as kv4b
from faultlab.shard import bugs
from faultlab.shard.config import key2shard
from shard_tester import CtrlTester, ShardTester

ENGINES = pytest.mark.parametrize("engine", ["raft", "paxos"])


def caught(monkeypatch, tester: type, bug: type, test, request, engine: str) -> str:
    """Run the lab test ``test`` with ``bug`` as the server; the failure's message."""
    monkeypatch.setattr(tester, "server_class", bug)
    with pytest.raises(AssertionError) as failure:
        test(request, engine)
    return str(failure.value)


@ENGINES
def test_serving_before_the_data_arrived_is_caught(monkeypatch, request, engine):
    message = caught(monkeypatch, ShardTester, bugs.ServeBeforeArrival,
                     kv4b.test_concurrent1_4b, request, engine)
    # appends to a shard still being pulled go to an empty copy the pull then overwrites
    assert ("Get(" in message and "expected" in message) or "not linearizable" in message, \
        message


@ENGINES
def test_skipping_configurations_is_caught(monkeypatch, request, engine):
    message = caught(monkeypatch, ShardTester, bugs.SkipConfigurations,
                     kv4b.test_miss_change_4b, request, engine)
    assert "did not return" in message or "Get(" in message, message


@ENGINES
def test_a_rebalance_that_differs_between_replicas_is_caught(monkeypatch, request, engine):
    message = caught(monkeypatch, CtrlTester, bugs.ReplicaDependentRebalance,
                     ctrl.test_multi_4a, request, engine)
    assert "differs" in message, message


@ENGINES
def test_a_non_minimal_rebalance_is_caught(monkeypatch, request, engine):
    message = caught(monkeypatch, CtrlTester, bugs.NonMinimalRebalance,
                     ctrl.test_basic_4a, request, engine)
    assert "non-minimal transfer" in message, message


def lost_reply_then_move(t: ShardTester) -> tuple[str, str]:
    """An Append whose reply is lost, then its shard moves to another group: the clerk's
    retry reaches the new owner with the same sequence number. The final value."""
    ck = t.make_client()
    t.join(0)
    key = "0"
    t.put(ck, key, "a")
    owners = t.servers_of(0)
    for s in owners:                       # replies from group 0 to the clerk are lost
        t.world.block(s, ck)
    call = t.start_call(ck, {"op": "append", "key": key, "value": "b"})
    t.world.run_until(lambda: any(
        t.world.nodes[s].sm.stores.get(key2shard(key)) is not None
        and t.world.nodes[s].sm.stores[key2shard(key)].data.get(key, ("",))[0] == "ab"
        for s in owners), 5.0)
    t.join(1)
    t.move(t.mck, key2shard(key), t.gids[1])
    t.sleep(1.0)                           # the shard is with group 1 now
    t.world.heal()
    t.world.run_until(lambda: call.done, 30.0)
    t.expect(call.done, "the retried Append did not return")
    return key, t.get(ck, key)


@ENGINES
def test_a_write_retried_across_a_move_applies_once(request, engine):
    t = ShardTester(request.node.name, engine=engine)
    key, value = lost_reply_then_move(t)
    assert value == "ab", f"Get({key}) = {value!r}, wanted 'ab'{t.where()}"
    t.audit()


@ENGINES
def test_migration_without_the_duplicate_table_is_caught(request, engine):
    t = ShardTester(request.node.name, engine=engine, server=bugs.MigrateWithoutDuplicates)
    key, value = lost_reply_then_move(t)
    assert value == "abb", f"the bug should apply the retried Append twice: {value!r}"
    with pytest.raises(AssertionError, match="not linearizable"):
        t.audit()

