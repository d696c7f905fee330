"""Trace conformance: seeded runs of the implementations conform to the specs, and traces
corrupted in classic ways are rejected at the corrupted step."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import needs_tlc
from faultlab.checker.tla.errors import TLAError
from faultlab.checker.tla.trace import MAPPINGS, RaftMapping, Shared, check_trace, trace_module
from traces import dump, parse, paxos_lab_trace, paxos_trace, raft_lab_trace, raft_trace

pytestmark = needs_tlc


@pytest.fixture(scope="module")
def raft_rows() -> list[dict[str, Any]]:
    return parse(raft_trace(seed=1))


@pytest.fixture(scope="module")
def paxos_rows() -> list[dict[str, Any]]:
    return parse(paxos_trace(seed=3))


def _kinds(rows: list[dict]) -> set[str]:
    return {r["step"][0] for r in rows[1:]}


@pytest.mark.parametrize("seed", [1, 2])
def test_seeded_raft_runs_conform(seed: int) -> None:
    rows = parse(raft_trace(seed))
    assert {"crash", "restart", "partition", "duplicate", "start"} <= _kinds(rows)
    assert any(s and s["commit_index"] >= 2 for s in rows[-1]["states"].values())
    verdict = check_trace("raft", dump(rows), timeout=170)
    assert verdict.ok, verdict.report()
    assert verdict.matched == len(rows) - 1


@pytest.mark.parametrize("seed", [3, 4])
def test_seeded_paxos_runs_conform(seed: int) -> None:
    rows = parse(paxos_trace(seed))
    assert {"crash", "restart", "partition", "duplicate"} <= _kinds(rows)
    assert any(s and len(s["decided"]) == 3 for s in rows[-1]["states"].values())
    verdict = check_trace("paxos", dump(rows), timeout=170)
    assert verdict.ok, verdict.report()


def _first(rows: list[dict], pred) -> int:  # noqa: ANN001 - a predicate on (row, name, state)
    for k, row in enumerate(rows[1:], 1):
        for name, st in row["states"].items():
            if st is not None and pred(row, name, st):
                return k
    raise AssertionError("the run has no line to corrupt")


def _rejected_at(system: str, rows: list[dict], k: int, *, explain: bool = False):  # noqa: ANN202
    verdict = check_trace(system, dump(rows), timeout=170, explain=explain)
    assert not verdict.ok
    assert verdict.first_bad == rows[k]["i"], verdict.report()
    return verdict


def test_two_leaders_in_one_term_are_rejected(raft_rows: list[dict]) -> None:
    rows = copy.deepcopy(raft_rows)
    k = _first(rows, lambda r, n, s: s["role"] == "leader")
    states = rows[k]["states"]
    leader = next(n for n, s in states.items() if s and s["role"] == "leader")
    other = next(n for n, s in states.items() if s and n != leader)
    states[other].update(role="leader", term=states[leader]["term"], votes=[],
                         voted_for=other)
    verdict = _rejected_at("raft", rows, k, explain=True)
    report = verdict.report()
    assert "logged step" in report and "spec state before the step" in report


def test_a_changed_committed_entry_is_rejected(raft_rows: list[dict]) -> None:
    rows = copy.deepcopy(raft_rows)
    k = _first(rows, lambda r, n, s: s["commit_index"] >= 1 and s["snapshot_index"] == 0)
    for st in rows[k]["states"].values():
        if st and st["commit_index"] >= 1:
            st["log"][0] = [st["log"][0][0], "forged"]
            break
    _rejected_at("raft", rows, k)


def test_a_second_vote_in_one_term_is_rejected(raft_rows: list[dict]) -> None:
    rows = copy.deepcopy(raft_rows)
    # a follower that voted for another server; it now claims a vote for a third in the term
    k = _first(rows, lambda r, n, s: s["role"] == "follower" and s["voted_for"] not in (None, n))
    states = rows[k]["states"]
    name, st = next((n, s) for n, s in states.items()
                    if s and s["role"] == "follower" and s["voted_for"] not in (None, n))
    st["voted_for"] = next(n for n in states if n not in (name, st["voted_for"]))
    _rejected_at("raft", rows, k)


def test_an_acceptor_accepting_below_its_promise_is_rejected(paxos_rows: list[dict]) -> None:
    rows = copy.deepcopy(paxos_rows)
    k = _first(rows, lambda r, n, s: any(a["promised"] >= 1 and a["accepted"] < a["promised"]
                                         for a in s["acceptor"].values()))
    for st in rows[k]["states"].values():
        hit = [a for a in (st or {}).get("acceptor", {}).values()
               if a["promised"] >= 1 and a["accepted"] < a["promised"]]
        if hit:
            hit[0].update(accepted=hit[0]["promised"] - 1, value="forged")
            break
    _rejected_at("paxos", rows, k)


def test_a_trace_of_the_wrong_system_or_format_is_a_clear_error(raft_rows: list[dict]) -> None:
    with pytest.raises(TLAError, match="not a paxos trace"):
        check_trace("paxos", dump(raft_rows))
    with pytest.raises(TLAError, match="not a faultlab trace"):
        check_trace("raft", ['{"i": 0}'])
    with pytest.raises(TLAError, match=":2: not JSON"):
        check_trace("raft", [dump(raft_rows)[0], "{oops"])


@pytest.mark.parametrize("system", ["raft", "paxos"])
def test_a_state_repeated_over_lines_is_written_once(system: str, raft_rows: list[dict],
                                                     paxos_rows: list[dict]) -> None:
    rows = raft_rows if system == "raft" else paxos_rows
    header, lines = rows[0], rows[1:]
    quiet = {**lines[-1], "i": lines[-1]["i"] + 1, "step": ["advance", 1000], "event": None}
    base, _ = trace_module(system, header, lines)
    longer, _ = trace_module(system, header, lines + [quiet] * 1000)
    # each repeated line costs its event and a name for its (already defined) states
    per_line = (len(longer) - len(base)) / 1000
    assert per_line < 80 < len(json.dumps(quiet["states"])), per_line


@pytest.mark.deep
@pytest.mark.parametrize("test", ["test_many_unreliable", "test_partition"])
def test_paxos_lab_traces_conform(test: str, tmp_path: Path) -> None:
    """The lab's long unreliable runs (1,335 and 5,456 steps): each checks in seconds since
    repeated states are shared definitions (before, 106 s and more than 200 s)."""
    path = paxos_lab_trace(test, tmp_path)
    verdict = check_trace("paxos", path, timeout=300)
    assert verdict.ok, verdict.report()
    assert verdict.steps > 1000


@pytest.fixture(scope="module")
def raft_2d_rows(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    path = raft_lab_trace("test_snapshot_install_crash_2d", tmp_path_factory.mktemp("2d"))
    return [json.loads(ln) for ln in path.read_text().splitlines()]


def test_raft_2d_lab_trace_conforms(raft_2d_rows: list[dict]) -> None:
    """Lab 2D (install snapshots, crash): compaction by the service, InstallSnapshot,
    restarts from a persisted snapshot."""
    rows = raft_2d_rows
    kinds = {r["event"]["type"] for r in rows[1:] if (r.get("event") or {}).get("type")}
    assert {"InstallSnapshot", "InstallSnapshotReply"} <= kinds
    assert {"crash", "restart"} <= _kinds(rows)
    assert max(s["snapshot_index"] for r in rows[1:] for s in r["states"].values() if s) >= 100
    verdict = check_trace("raft", dump(rows), timeout=170)
    assert verdict.ok, verdict.report()
    assert verdict.matched == len(rows) - 1


def test_a_wrong_snapshot_term_is_rejected(raft_2d_rows: list[dict]) -> None:
    k = _first(raft_2d_rows, lambda r, n, s: s["snapshot_index"] > 0)
    rows = copy.deepcopy(raft_2d_rows[:k + 1])
    st = next(s for s in rows[k]["states"].values() if s and s["snapshot_index"] > 0)
    st["snapshot_term"] += 1
    _rejected_at("raft", rows, k)


@pytest.mark.deep
@pytest.mark.parametrize("test", ["test_backup_2b", "test_snapshot_basic_2d",
                                  "test_snapshot_install_2d",
                                  "test_snapshot_install_unreliable_2d",
                                  "test_snapshot_install_uncrash_2d",
                                  "test_snapshot_all_crash_2d"])
def test_raft_lab_traces_conform(test: str, tmp_path: Path) -> None:
    verdict = check_trace("raft", raft_lab_trace(test, tmp_path), timeout=300)
    assert verdict.ok, verdict.report()


def test_raft_logs_share_their_blocks() -> None:
    raft, share = MAPPINGS["raft"], Shared()
    log = [[1, f"c{i}"] for i in range(100)]
    whole = raft.log(log, 0, share).split(" \\o ")                     # entries 1..100
    assert raft.log(log + [[2, "c100"]], 0, share).split(" \\o ")[:3] == whole[:3]  # 1..96
    compacted = raft.log(log[40:], 40, share).split(" \\o ")          # entries 41..100
    assert compacted[1:] == whole[2:]          # 65..96 and 97..100: the same definitions
    assert len(share.defs) == 3 + 2 + 1       # 3 full blocks, 2 last ones, 41..64


def test_raft_traces_with_logs_in_blocks_conform_and_reject(monkeypatch: pytest.MonkeyPatch,
                                                           raft_rows: list[dict]) -> None:
    monkeypatch.setattr(RaftMapping, "LOG_BLOCK", 2)  # every log of the run is cut in blocks
    assert max(len(s["log"]) for r in raft_rows[1:] for s in r["states"].values() if s) > 4
    verdict = check_trace("raft", dump(raft_rows), timeout=170)
    assert verdict.ok and verdict.matched == len(raft_rows) - 1, verdict.report()
    rows = copy.deepcopy(raft_rows)
    k = _first(rows, lambda r, n, s: len(s["log"]) > 4)
    st = next(s for s in rows[k]["states"].values() if s and len(s["log"]) > 4)
    st["log"][3] = [st["log"][3][0], "forged"]
    _rejected_at("raft", rows, k)


def test_lost_messages_leave_the_bag_and_a_loss_never_sent_is_rejected(
        raft_rows: list[dict]) -> None:
    # the seeded run loses messages (its lines list them, and it conforms: every listed
    # message was in the spec's bag to be dropped) ...
    lost = [k for k, r in enumerate(raft_rows) if r.get("lost")]
    assert lost, "the seeded unreliable run lost no message"
    module, _ = trace_module("raft", raft_rows[0], raft_rows[1:])
    assert "lost |->" in module
    # ... and a line claiming the loss of a message nobody sent matches no behaviour
    rows = copy.deepcopy(raft_rows)
    k = lost[len(lost) // 2]
    fake = copy.deepcopy(rows[k]["lost"][0])
    fake["fields"]["term"] = 999
    rows[k]["lost"].append(fake)
    _rejected_at("raft", rows, k)
