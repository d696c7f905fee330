"""Fixtures for the checker tests: where Porcupine's corpus lives, and its expected verdicts."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def corpus_dir() -> Path:
    """``$FAULTLAB_CORPUS``, else ``<repo>/../shared/corpus/porcupine`` (CI's layout)."""
    env = os.environ.get("FAULTLAB_CORPUS")
    if env:
        return Path(env)
    return (REPO / ".." / "shared" / "corpus" / "porcupine").resolve()


def expected_verdicts() -> dict[str, str]:
    """Expected verdict per corpus file, read from the corpus README's table."""
    readme = corpus_dir() / "README.md"
    out: dict[str, str] = {}
    if not readme.is_file():
        return out
    for line in readme.read_text().splitlines():
        m = re.match(r"\|\s*((?:kv|jepsen)/[\w.-]+)\s*\|.*\|\s*(yes|no|—[^|]*)\s*\|\s*$", line)
        if m and m.group(2) in ("yes", "no"):
            out[m.group(1)] = "ok" if m.group(2) == "yes" else "illegal"
    return out


@pytest.fixture(scope="session")
def corpus() -> Path:
    path = corpus_dir()
    if not path.is_dir():
        pytest.skip(f"Porcupine corpus not found at {path} (set FAULTLAB_CORPUS)")
    return path
