"""Every verdict of Porcupine's corpus matches: its 6 kv histories (shipped with the tests,
so every clone runs them) and, where the full corpus is present, its 102 non-empty etcd logs
(not shipped: their author stated no licence)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from faultlab.checker.formats import load_history
from faultlab.checker.linearizability import Verdict, check

SHIPPED = Path(__file__).resolve().parents[1] / "data" / "porcupine"


def corpus_dir() -> Path:
    """Same rule as the ``corpus`` fixture; needed here at collection time."""
    env = os.environ.get("FAULTLAB_CORPUS")
    if env:
        return Path(env)
    return (Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" /
            "porcupine").resolve()


def expected_verdicts(readme: Path) -> dict[str, str]:
    """Expected verdict per corpus file, read from a corpus README's table."""
    out: dict[str, str] = {}
    if not readme.is_file():
        return out
    for line in readme.read_text().splitlines():
        m = re.match(r"\|\s*((?:kv|jepsen)/[\w.-]+)\s*\|.*\|\s*(yes|no)\s*\|\s*$", line)
        if m:
            out[m.group(1)] = "ok" if m.group(2) == "yes" else "illegal"
    return out


KV = expected_verdicts(SHIPPED / "README.md")
ETCD = {k: v for k, v in expected_verdicts(corpus_dir() / "README.md").items()
        if k.startswith("jepsen/")}


def test_the_shipped_kv_histories_are_all_there_with_their_licence(kv_corpus):
    assert KV == {f"kv/c{n}-{v}.txt": "ok" if v == "ok" else "illegal"
                  for n in ("01", "10", "50") for v in ("ok", "bad")}
    assert {f"kv/{p.name}" for p in (kv_corpus / "kv").iterdir()} == set(KV)
    assert "MIT License" in (kv_corpus / "LICENSE-porcupine").read_text()


def test_the_shipped_histories_are_the_corpus_files(corpus, kv_corpus):
    for name in KV:
        assert (kv_corpus / name).read_bytes() == (corpus / name).read_bytes(), name


@pytest.mark.parametrize("name", sorted(KV))
def test_kv_verdict(kv_corpus, name):
    loaded = load_history(kv_corpus / name)
    assert loaded.format == "porcupine-kv"
    result = check(loaded.ops, loaded.model, timeout=60)
    assert result.verdict is Verdict(KV[name])


@pytest.mark.parametrize("name", ["kv/c10-ok.txt", "kv/c10-bad.txt", "kv/c50-ok.txt",
                                  "kv/c50-bad.txt"])
def test_kv_verdict_without_partitioning(kv_corpus, name):
    # c50 (1712 and 2024 operations, 10 keys) takes rule 8 (independent groups): under a
    # second each on the development machine; the plain search alone does not finish
    loaded = load_history(kv_corpus / name)
    result = check(loaded.ops, "kv", partition=False, timeout=60)
    assert result.verdict is Verdict(KV[name])


def test_the_full_corpus_readme_lists_every_etcd_log(corpus):
    assert len(ETCD) == 102
    assert list(ETCD.values()).count("ok") == 23
    on_disk = {f"jepsen/{p.name}" for p in (corpus / "jepsen").iterdir()
               if p.suffix == ".log" and p.stat().st_size > 0}
    assert on_disk == set(ETCD)


@pytest.mark.parametrize("name", sorted(ETCD) or ["<etcd logs not present>"])
def test_etcd_verdict(corpus, name):
    loaded = load_history(corpus / name)
    assert loaded.format == "jepsen-etcd"
    result = check(loaded.ops, loaded.model, timeout=60)
    assert result.verdict is Verdict(ETCD[name])


def test_empty_etcd_log_is_an_empty_history(corpus):
    loaded = load_history(corpus / "jepsen" / "etcd_095.log")
    assert loaded.ops == []
    assert check(loaded.ops, loaded.model).verdict is Verdict.OK


def test_etcd_counts_match_readme(corpus):
    # the README's op and open counts for one file, to pin the reader's semantics
    ops = load_history(corpus / "jepsen" / "etcd_000.log").ops
    open_ops = [op for op in ops if op.ret is None]
    assert len(open_ops) == 16
