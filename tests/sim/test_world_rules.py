"""The World's field table (COPY_RULES) and the attach hook for monitors."""

from __future__ import annotations

import copy

import pytest
from faultlab.sim import ADVERSARIAL, SimError, World
from faultlab.sim.world import COPY_RULES
from faultlab.tools.example_register import build


class Monitor:
    """A stand-in for a safety monitor: it keeps its World and counts the steps it saw."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.seen = 0
        world.observers.append(self.observe)

    def observe(self, world: World, step: tuple) -> None:
        assert world is self.world
        self.seen += 1


def test_every_world_field_has_exactly_one_rule():
    for w in (World(), World(log_events=True, record_steps=False), build(3, clerks=2)):
        assert set(vars(w)) == set(COPY_RULES)
    w = build(3, profile=ADVERSARIAL)
    w.invoke("c0", {"op": "write", "value": "a"})
    w.deliver(next(iter(w.in_flight)))
    w.crash("backup")
    assert set(vars(w)) == set(COPY_RULES)
    assert set(vars(copy.deepcopy(w))) == set(COPY_RULES)


def test_a_field_without_a_rule_is_a_clear_error():
    w = build(1)
    w.extra_state = 1
    with pytest.raises(SimError, match=r"without a rule in COPY_RULES: \['extra_state'\]"):
        w.copy()


def test_attached_objects_travel_with_copies():
    w = build(2, profile=ADVERSARIAL)
    monitor = w.attach("monitor", Monitor(w))
    assert w.attached("monitor") is monitor and w.monitor is monitor
    assert w.attached("absent", None) is None
    with pytest.raises(SimError, match="nothing is attached"):
        w.attached("absent")
    with pytest.raises(SimError, match="already attached"):
        w.attach("monitor", object())
    with pytest.raises(SimError, match="World attribute"):
        w.attach("nodes", object())
    with pytest.raises(AttributeError):
        _ = w.absent
    w.invoke("c0", {"op": "read"})
    deep = copy.deepcopy(w)
    theirs = deep.attached("monitor")
    assert theirs is not monitor and theirs.world is deep and theirs.seen == monitor.seen == 1
    deep.deliver(next(iter(deep.in_flight)))
    assert (theirs.seen, monitor.seen) == (2, 1)
    # copy() leaves the observers behind but takes the attachments along
    dup = w.copy()
    assert dup.attached("monitor").world is dup and not dup.observers


def test_fingerprint_with_history_tells_histories_apart():
    a, b = build(4, clerks=2, profile=ADVERSARIAL), build(4, clerks=2, profile=ADVERSARIAL)
    assert a.fingerprint(history=True) == b.fingerprint(history=True)
    a.invoke("c0", {"op": "read"})
    b.invoke("c1", {"op": "read"})
    assert a.fingerprint(history=True) != b.fingerprint(history=True)
