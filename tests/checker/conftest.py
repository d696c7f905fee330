"""Fixtures for the checker tests: where Porcupine's corpus lives, and the repo root.

Test modules get these through fixtures only (no ``import conftest``: the suite has
several conftest.py files and the name would be ambiguous).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def corpus_dir() -> Path:
    """``$FAULTLAB_CORPUS``, else ``<repo>/../shared/corpus/porcupine`` (CI's layout)."""
    env = os.environ.get("FAULTLAB_CORPUS")
    if env:
        return Path(env)
    return (REPO / ".." / "shared" / "corpus" / "porcupine").resolve()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def corpus() -> Path:
    path = corpus_dir()
    if not path.is_dir():
        pytest.skip(f"Porcupine corpus not found at {path} (set FAULTLAB_CORPUS)")
    return path
