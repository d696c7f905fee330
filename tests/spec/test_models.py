"""TLC on the small models: the specs hold their invariants, and weakened specs do not
(a checker must be seen to catch known-bad input)."""

from __future__ import annotations

import re

import pytest
from conftest import needs_tlc
from faultlab.checker.tla.cli import spec_check
from faultlab.checker.tla.runner import run_tlc
from faultlab.checker.tla.trace import SPEC_DIR

pytestmark = needs_tlc


def _variant(spec: str, guard: str, replacement: str) -> str:
    """spec/<spec>.tla with the line tagged ``GUARD:<guard>`` weakened."""
    text = (SPEC_DIR / f"{spec}.tla").read_text()
    pattern = re.compile(rf"^(\s*)(.*?)\s*\\\* GUARD:{guard}$", re.M)
    assert pattern.search(text), f"no GUARD:{guard} in {spec}.tla"
    return pattern.sub(lambda m: m.group(1) + replacement, text, count=1)


def _files(**override: str) -> dict:
    files: dict = {p.name: p for p in SPEC_DIR.glob("*.tla")}
    files.update({f"{k}.tla": v for k, v in override.items()})
    return files


def test_raft_small_model_holds_every_invariant() -> None:
    res = spec_check("raft", workers=2, timeout=170)
    assert res.ok, res.summary()
    assert res.distinct > 10_000  # the model is not vacuous


def test_raft_without_one_vote_per_term_violates_election_safety() -> None:
    weak = _variant("raft", "one-vote-per-term", "/\\ TRUE")
    res = run_tlc("MCraft", _files(raft=weak), (SPEC_DIR / "MCraft.cfg").read_text(),
                  workers=2, timeout=170)
    assert res.invariant == "ElectionSafety", res.summary()
    last = res.counterexample[-1].vars
    leaders = [s for s, r in last["role"].items() if r == "leader"]
    assert len(leaders) == 2 and len({last["currentTerm"][s] for s in leaders}) == 1


@pytest.mark.deep
def test_paxos_with_a_minority_quorum_violates_agreement() -> None:
    weak = _variant("paxos", "majority", "Majority == N \\div 2")
    res = run_tlc("MCpaxos", _files(paxos=weak), (SPEC_DIR / "MCpaxos.cfg").read_text(),
                  workers=2, timeout=170)
    assert res.invariant == "Agreement", res.summary()
    last = res.counterexample[-1].vars["decided"]
    assert len({v[0] for v in last.values() if v[0] != "Nil"}) == 2


def test_paxos_proposer_ignoring_accepted_values_violates_agreement() -> None:
    weak = _variant("paxos", "adopt-accepted", "v == pr.own")
    res = run_tlc("MCpaxos", _files(paxos=weak), (SPEC_DIR / "MCpaxos.cfg").read_text(),
                  workers=2, timeout=170)
    assert res.invariant == "Agreement", res.summary()


@pytest.mark.deep
def test_paxos_small_model_holds_agreement_and_validity() -> None:
    res = spec_check("paxos", workers=2, timeout=300)
    assert res.ok, res.summary()


@pytest.mark.deep
@pytest.mark.parametrize("cfg", ["MCraft_dup.cfg", "MCraft_crash.cfg"])
def test_raft_fault_models_hold_every_invariant(cfg: str) -> None:
    res = spec_check("raft", SPEC_DIR / cfg, workers=2, timeout=300)
    assert res.ok, res.summary()
