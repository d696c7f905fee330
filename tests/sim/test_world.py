"""World semantics: every primitive step, crash/restart, timers, counters, history, copies."""

from __future__ import annotations

import dataclasses
import random

import pytest
from faultlab.sim import (
    ADVERSARIAL,
    LONG_DELAYS,
    LONG_REORDERING,
    RELIABLE,
    UNRELIABLE,
    Node,
    SimError,
    World,
    codec,
    message,
)
from faultlab.tools.example_register import build
from faultlab.tools.history import operations
from faultlab.tools.workload import run_workload


@message
class Req:
    n: int


@message(reply=True)
class Rep:
    n: int


class Echo(Node):
    """Replies to every request; remembers what it saw (volatile) and persists a counter."""

    def __init__(self) -> None:
        self.seen: list = []
        self.replies: list = []
        self.failed: list = []
        self.fired: list = []
        self.boots = 0

    def on_start(self) -> None:
        saved = self.ctx.persister.read_state()
        self.boots = (codec.decode(saved) if saved else 0) + 1
        self.ctx.persister.save(codec.encode(self.boots))

    def on_message(self, src, msg):
        if isinstance(msg, Req):
            self.seen.append((src, msg.n, self.ctx.now()))
            self.ctx.send(src, Rep(msg.n))
        else:
            self.replies.append((src, msg.n, self.ctx.now()))

    def on_timer(self, name):
        self.fired.append((name, self.ctx.now()))

    def on_send_failed(self, dst, msg):
        self.failed.append((dst, msg, self.ctx.now()))


def world(profile=RELIABLE, n=3, seed=1, **kw) -> World:
    w = World(seed, profile, **kw)
    for i in range(n):
        w.add_node(f"n{i}", Echo)
    return w.start()


def only_message(w: World) -> int:
    (mid,) = w.in_flight
    return mid


def test_deliver_hands_the_message_and_counts_it():
    w = world(ADVERSARIAL)
    w.contexts["n0"].send("n1", Req(7))
    w.deliver(only_message(w))  # each step the adversarial driver takes lasts 1 us
    assert w.nodes["n1"].seen == [("n0", 7, 1e-6)]
    w.deliver(only_message(w))  # the reply
    assert w.nodes["n0"].replies == [("n1", 7, 2e-6)]
    assert w.counters.rpcs == 2 and w.counters.delivered == 2
    assert w.counters.received == {"n0": 1, "n1": 1, "n2": 0}
    assert w.counters.bytes == codec.encoded_size(Req(7)) + codec.encoded_size(Rep(7))


def test_drop_loses_and_reports_a_request_but_not_a_reply():
    w = world(ADVERSARIAL)
    w.contexts["n0"].send("n1", Req(1))
    w.drop(only_message(w))
    assert not w.in_flight and w.counters.lost == 1
    (notice,) = w.pending.values()
    w.fire(notice.id)
    assert w.nodes["n0"].failed[0][:2] == ("n1", Req(1))
    w.contexts["n1"].send("n0", Rep(2))
    w.drop(only_message(w))
    assert not w.pending  # nobody is told about a lost reply


def test_duplicate_delivers_twice_without_counting_another_rpc():
    w = world(ADVERSARIAL)
    w.contexts["n0"].send("n1", Req(3))
    mid = only_message(w)
    dup = w.duplicate(mid)
    w.deliver(mid)
    w.deliver(dup)
    assert [s[1] for s in w.nodes["n1"].seen] == [3, 3]
    assert w.counters.rpcs == 3  # one request, two replies


def test_unknown_ids_and_names_are_errors():
    w = world(ADVERSARIAL)
    with pytest.raises(SimError, match="not in flight"):
        w.deliver(999)
    with pytest.raises(SimError, match="unknown node 'zz'"):
        w.crash("zz")
    with pytest.raises(SimError, match="unknown node"):
        w.contexts["n0"].send("zz", Req(1))


def test_timers_fire_in_virtual_time_order_and_rearm_and_cancel():
    w = world()
    ctx = w.contexts["n0"]
    ctx.set_timer("b", 0.2)
    ctx.set_timer("a", 0.1)
    ctx.set_timer("c", 0.3)
    ctx.set_timer("b", 0.5)  # re-arm replaces
    ctx.cancel_timer("c")
    w.run_for(1.0)
    assert w.nodes["n0"].fired == [("a", 0.1), ("b", 0.5)]
    assert w.now == 1.0


def test_crash_loses_volatile_state_keeps_persister_and_discards_zombie_writes():
    w = world()
    w.contexts["n1"].send("n2", Req(1))
    w.run_for(0.1)
    old_ctx = w.contexts["n1"]
    old_persister = old_ctx.persister
    w.crash("n1")
    old_ctx.persister.save(b"zombie")  # a write by the dead incarnation
    old_ctx.send("n2", Req(99))        # and a send: both go nowhere
    assert not w.in_flight
    assert w.persisters["n1"] is not old_persister
    w.restart("n1")
    fresh = w.nodes["n1"]
    assert fresh.replies == [] and fresh.boots == 2  # volatile gone, persisted counter kept
    assert w.incarnation["n1"] == 1
    assert codec.decode(w.persisters["n1"].read_state()) == 2


def test_messages_to_an_old_incarnation_never_reach_the_new_one():
    w = world(ADVERSARIAL)
    w.contexts["n0"].send("n1", Req(1))       # request to n1, incarnation 0
    to_old = only_message(w)
    w.crash("n1")
    w.restart("n1")
    w.deliver(to_old)
    assert w.nodes["n1"].seen == []
    # a reply to a request the old incarnation of n0 sent goes nowhere either
    w.contexts["n0"].send("n2", Req(2))
    w.deliver(only_message(w))                # n2 handles it and replies to n0@0
    reply = only_message(w)
    w.crash("n0")
    w.restart("n0")
    w.deliver(reply)
    assert w.nodes["n0"].replies == []


def test_partition_groups_directed_blocks_deaf_and_heal():
    w = world(ADVERSARIAL)
    w.partition(["n0"], ["n1", "n2"])
    w.contexts["n0"].send("n1", Req(1))
    w.contexts["n1"].send("n2", Req(2))
    assert [e.dst for e in w.in_flight.values()] == ["n2"]
    w.heal()
    w.block("n0", "n1")
    w.contexts["n0"].send("n1", Req(3))
    w.contexts["n1"].send("n0", Req(4))
    assert [(e.src, e.dst) for e in w.in_flight.values()] == [("n1", "n2"), ("n1", "n0")]
    w.heal()
    w.deafen("n2")
    w.contexts["n2"].send("n0", Req(5))
    w.contexts["n0"].send("n2", Req(6))
    assert [e.msg for e in w.in_flight.values()][-1] == Req(5)


def test_partition_cuts_messages_already_in_flight():
    w = world(ADVERSARIAL)
    w.contexts["n0"].send("n1", Req(1))
    mid = only_message(w)
    w.isolate("n1")
    w.deliver(mid)
    assert w.nodes["n1"].seen == []
    assert w.counters.lost == 1


def test_unreachable_requests_are_reported_after_the_profiles_delay():
    for profile, bound in ((RELIABLE, 0.1), (LONG_DELAYS, 7.0)):
        w = world(profile, seed=5)
        w.isolate("n1")
        for k in range(50):
            w.contexts["n0"].send("n1", Req(k))
        w.run_for(10)
        times = [t for _, _, t in w.nodes["n0"].failed]
        assert len(times) == 50 and max(times) < bound
        assert max(times) > bound / 2  # the delays really spread over the range


def test_unreliable_profile_loses_about_ten_percent_each_way_with_bounded_delay():
    w = world(UNRELIABLE, seed=11)
    for k in range(2000):
        w.contexts["n0"].send("n1", Req(k))
    w.run_for(1)
    delivered = w.nodes["n1"].seen
    assert 0.85 * 2000 < len(delivered) < 0.95 * 2000
    assert all(t <= 0.026 for _, _, t in delivered)
    assert 0.85 * len(delivered) < len(w.nodes["n0"].replies) < 0.95 * len(delivered)


def test_network_draws_are_the_documented_randint_and_randrange_stream():
    # fate() takes its numbers straight from Random._randbelow for speed; a seed must keep
    # drawing what randint(0, max)/randrange(n) draw, or old seeds would replay differently
    for profile in (UNRELIABLE, LONG_REORDERING):
        fast, plain = random.Random(5), random.Random(5)
        for k in range(5000):
            reply = k % 3 == 0
            expected = plain.randint(0, profile.max_delay_ms) * 1000
            if plain.random() < (profile.reply_loss if reply else profile.request_loss):
                expected = None
            elif reply and profile.reorder_replies and plain.randrange(900) < 600:
                expected += (200 + plain.randrange(1 + plain.randrange(2000))) * 1000
            assert profile.fate(fast, reply) == expected


def test_long_reordering_holds_back_about_two_thirds_of_replies():
    w = world(LONG_REORDERING, seed=3)
    for k in range(600):
        w.contexts["n0"].send("n1", Req(k))
    w.run_for(5)
    late = [t for _, _, t in w.nodes["n0"].replies if t > 0.2]
    assert 0.55 < len(late) / len(w.nodes["n0"].replies) < 0.78
    order = [n for _, n, _ in w.nodes["n0"].replies]
    assert order != sorted(order)


def test_same_seed_gives_a_byte_identical_event_log():
    def run(seed):
        w = build(seed, clerks=3, profile=UNRELIABLE, log_events=True)
        run_workload(w, ["c0", "c1", "c2"],
                     lambda c, k: {"op": "write", "value": f"{c}{k}"} if k % 2 else {"op": "read"},
                     20, 30)
        return "\n".join(w.event_log_lines())

    assert run(4) == run(4)
    assert run(4) != run(5)


def test_calls_that_never_return_stay_open_in_the_history():
    w = build(0, clerks=2, profile=RELIABLE)
    w.call("c0", {"op": "write", "value": "a"})
    w.crash("backup")
    rec = w.invoke("c1", {"op": "read"})
    assert not w.run_until(lambda: rec.done, 2.0)
    w.crash("c1")
    assert [(r.input["op"], r.done) for r in w.history] == [("write", True), ("read", False)]
    ops = operations(w)
    assert ops[1].ret is None


def test_call_timeout_names_the_call_and_seed():
    w = build(42, profile=RELIABLE)
    w.isolate("primary")
    with pytest.raises(Exception, match="did not return within 1.0s.*seed 42"):
        w.call("c0", {"op": "write", "value": "x"}, timeout=1.0)
    assert w.history[0].ret is None


def test_copy_evolves_independently_and_fingerprints_match_state():
    w = build(9, profile=ADVERSARIAL)
    w.invoke("c0", {"op": "write", "value": "a"})
    dup = w.copy()
    assert dup.fingerprint() == w.fingerprint()
    dup.deliver(next(iter(dup.in_flight)))
    assert dup.fingerprint() != w.fingerprint()
    assert len(w.in_flight) == 1 and w.nodes["primary"].version == 0
    assert dup.nodes["primary"].version == 1
    # the same choices on an equal copy give equal worlds again
    w.deliver(next(iter(w.in_flight)))
    assert dup.fingerprint() == w.fingerprint()


def test_fingerprint_ignores_the_clock_but_not_timers():
    a, b = world(seed=1), world(seed=1)
    b.advance(5)
    assert a.fingerprint() == b.fingerprint()
    a.contexts["n0"].set_timer("t", 1)
    assert a.fingerprint() != b.fingerprint()


def test_replaying_recorded_steps_rebuilds_the_same_world():
    w = build(3, profile=UNRELIABLE)
    run_workload(w, ["c0", "c1"], lambda c, k: {"op": "write", "value": f"{c}{k}"}, 10, 30)
    w.crash("backup")
    w.restart("backup")
    w.run_for(1)
    again = build(3, profile=UNRELIABLE)
    for step in w.steps:
        again.apply_step(step)
    assert again.fingerprint() == w.fingerprint() and again.now == w.now


def test_a_zero_delay_loop_is_reported_not_hung():
    class Chatter(Node):
        def on_start(self):
            self.ctx.set_timer("t", 0)

        def on_timer(self, name):
            self.ctx.set_timer("t", 0)

    w = World(0)
    w.add_node("x", Chatter)
    with pytest.raises(SimError, match="no progress"):
        w.run_until(lambda: False, 1.0, max_steps=1000)


def test_clerk_rules():
    w = build(0)
    with pytest.raises(SimError, match="not a clerk"):
        w.invoke("primary", {})
    w.invoke("c0", {"op": "read"})
    with pytest.raises(SimError, match="already has a call"):
        w.invoke("c0", {"op": "read"})


def test_profiles_compose_with_dataclasses_replace():
    slow_unreliable = dataclasses.replace(UNRELIABLE, max_unreachable_report_ms=7000)
    assert slow_unreliable.request_loss == 0.1 and slow_unreliable.max_unreachable_report_ms == 7000



@message
class Batch:
    items: list


def test_messages_with_mutable_parts_arrive_as_copies_of_what_was_sent():
    w = world(ADVERSARIAL)
    items = [1, 2]
    w.contexts["n0"].send("n1", Batch(items))
    items.append(3)  # the sender changes its list after sending

    got = []
    w.nodes["n1"].on_message = lambda src, msg: got.append(msg)
    w.deliver(only_message(w))
    assert got == [Batch((1, 2))]  # the wire form: what was sent, lists as tuples


def test_immutable_messages_are_not_copied_needlessly():
    w = world(ADVERSARIAL)
    msg = Req(5)
    w.contexts["n0"].send("n1", msg)
    got = []
    w.nodes["n1"].on_message = lambda src, m: got.append(m)
    w.deliver(only_message(w))
    assert got[0] is msg
