"""Every seeded bug of kvsrv (faultlab.kvsrv.bugs) is caught by a lab test, with the
violation it causes; each lab test runs under its own name, so with the seed it has in the
suite, and the catch is deterministic. The clerk bugs are also caught by the history checker
alone: a plain workload whose only check is the versioned-kv model."""

from __future__ import annotations

import json

import pytest
import test_kvsrv
import test_lock
from faultlab.kvsrv.bugs import BUGS
from kvsrv_tester import Tester

#: bug -> (the lab test, its arguments, what its failure says)
CAUGHT_BY = {
    "ignore_version": (test_kvsrv.test_reliable_put, {}, "expected Put to fail with ErrVersion"),
    "reply_cache": (test_kvsrv.test_mem_put_many_clients_reliable, {"nclient": 2_000},
                    "server using too much memory"),
    "retried_err_version_as_ok": (test_lock.test_clients, {"nclnt": 10, "reliable": False},
                                  "two clients acquired lock|put failed|both inside|not "
                                  "linearizable"),
    "no_err_maybe": (test_kvsrv.test_unreliable_net, {}, "Clerk.Put never returned ErrMaybe"),
}
NAMES = {"reply_cache": "[2000]", "retried_err_version_as_ok": "[unreliable-many]"}


class _Request:
    """What the lab tests read of pytest's request: the test's name (its seed)."""

    def __init__(self, name: str) -> None:
        self.node = type("Node", (), {"name": name})()


def with_bug(monkeypatch, bug: str) -> None:
    init = Tester.__init__
    monkeypatch.setattr(Tester, "__init__",
                        lambda self, *a, **k: init(self, *a, **{**k, **BUGS[bug]}))


def test_every_bug_has_a_catching_test():
    assert sorted(CAUGHT_BY) == sorted(BUGS)


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_seeded_kvsrv_bug_is_caught(bug, monkeypatch):
    lab_test, args, violation = CAUGHT_BY[bug]
    with_bug(monkeypatch, bug)
    with pytest.raises(AssertionError, match=violation):
        lab_test(_Request(f"{lab_test.__name__}{NAMES.get(bug, '')}"), **args)


@pytest.mark.parametrize("bug, clients", [("no_err_maybe", 1),
                                          ("retried_err_version_as_ok", 5)])
def test_history_checker_alone_catches_clerk_bugs(bug, clients, monkeypatch):
    """Clerks Put at the version they last read and read back, on the unreliable network,
    checking nothing themselves: with the bug, the checker finds the history illegal (and
    without it, linearizable: the same workload is the control)."""
    def body(me, ck, res):
        version = 0
        while True:
            yield ("call", {"op": "put", "key": "k", "value": json.dumps([me, version]),
                            "version": version})
            version = (yield ("call", {"op": "get", "key": "k"}))[1]

    name = f"test_history_checker_alone_catches_clerk_bugs[{bug}]"
    control = Tester(name, reliable=False)
    control.spawn_clients(clients, 5.0, body)
    control.audit()
    with_bug(monkeypatch, bug)
    t = Tester(name, reliable=False)
    t.spawn_clients(clients, 5.0, body)
    with pytest.raises(AssertionError, match="not linearizable"):
        t.audit()
