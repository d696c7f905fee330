"""Every verdict of Porcupine's corpus (6 kv histories, 102 non-empty etcd logs) matches."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from faultlab.checker.formats import load_history
from faultlab.checker.linearizability import Verdict, check


def corpus_dir() -> Path:
    """Same rule as the ``corpus`` fixture; needed here at collection time."""
    env = os.environ.get("FAULTLAB_CORPUS")
    if env:
        return Path(env)
    return (Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" /
            "porcupine").resolve()


def expected_verdicts() -> dict[str, str]:
    """Expected verdict per corpus file, read from the corpus README's table."""
    readme = corpus_dir() / "README.md"
    out: dict[str, str] = {}
    if not readme.is_file():
        return out
    for line in readme.read_text().splitlines():
        m = re.match(r"\|\s*((?:kv|jepsen)/[\w.-]+)\s*\|.*\|\s*(yes|no)\s*\|\s*$", line)
        if m:
            out[m.group(1)] = "ok" if m.group(2) == "yes" else "illegal"
    return out


EXPECTED = expected_verdicts()
CASES = sorted(EXPECTED)


def test_readme_lists_the_whole_corpus(corpus):
    if not EXPECTED:
        pytest.fail("corpus README table could not be parsed")
    assert sum(k.startswith("kv/") for k in EXPECTED) == 6
    assert sum(k.startswith("jepsen/") for k in EXPECTED) == 102
    assert list(EXPECTED.values()).count("ok") == 3 + 23
    on_disk = {f"{p.parent.name}/{p.name}" for p in corpus.glob("*/*") if p.suffix in
               (".txt", ".log") and p.stat().st_size > 0}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("name", CASES or ["<corpus missing>"])
def test_corpus_verdict(corpus, name):
    if name not in EXPECTED:
        pytest.skip(f"Porcupine corpus not found at {corpus_dir()}")
    loaded = load_history(corpus / name)
    assert loaded.format == ("porcupine-kv" if name.startswith("kv/") else "jepsen-etcd")
    result = check(loaded.ops, loaded.model, timeout=60)
    assert result.verdict is Verdict(EXPECTED[name])


def test_empty_etcd_log_is_an_empty_history(corpus):
    loaded = load_history(corpus / "jepsen" / "etcd_095.log")
    assert loaded.ops == []
    assert check(loaded.ops, loaded.model).verdict is Verdict.OK


@pytest.mark.parametrize("name", ["kv/c10-ok.txt", "kv/c10-bad.txt", "kv/c50-ok.txt",
                                  "kv/c50-bad.txt"])
def test_kv_verdict_without_partitioning(corpus, name):
    # c50 (1712 and 2024 operations, 10 keys) takes rule 8 (independent groups): under a
    # second each on the development machine; the plain search alone does not finish
    loaded = load_history(corpus / name)
    result = check(loaded.ops, "kv", partition=False, timeout=60)
    assert result.verdict is Verdict(EXPECTED[name])


def test_etcd_counts_match_readme(corpus):
    # the README's op and open counts for one file, to pin the reader's semantics
    ops = load_history(corpus / "jepsen" / "etcd_000.log").ops
    open_ops = [op for op in ops if op.ret is None]
    assert len(open_ops) == 16
