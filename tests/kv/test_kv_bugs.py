"""Every seeded bug of the key/value service (faultlab.kv.bugs) is caught by a lab test,
on both engines, with the violation it causes. Each runs the lab test under its own name,
so with the seed that test has in the suite: the catch is deterministic."""

from __future__ import annotations

import pytest
import test_kv_3a
import test_kv_3b
import test_kvpaxos
from faultlab.kv.bugs import BUGS
from kv_tester import Tester

#: bug -> (the lab test that catches it, what its failure says)
CAUGHT_BY = {
    "no_duplicate_detection": (test_kv_3a.test_unreliable_one_key_3a, "duplicate element"),
    "local_get": (test_kv_3a.test_one_partition_3a, "in minority completed"),
    "snapshot_without_duplicates": (test_kv_3b.test_snapshot_unreliable_recover_3b,
                                    "duplicate element|get wrong value|not linearizable"),
    "reply_for_any_command": (test_kvpaxos.test_hole, "wrong value|not linearizable"),
}


class _Request:
    """What the lab tests read of pytest's request: the test's name (its seed)."""

    def __init__(self, name: str) -> None:
        self.node = type("Node", (), {"name": name})()


@pytest.mark.parametrize("engine", ["raft", "paxos"])
@pytest.mark.parametrize("bug", sorted(BUGS))
def test_seeded_kv_bug_is_caught(bug, engine, monkeypatch):
    lab_test, violation = CAUGHT_BY[bug]
    init = Tester.__init__
    monkeypatch.setattr(Tester, "__init__",
                        lambda self, *a, **k: init(self, *a, **{**k, "server": BUGS[bug]}))
    with pytest.raises(AssertionError, match=violation):
        lab_test(_Request(f"{lab_test.__name__}[{engine}]"), engine)
