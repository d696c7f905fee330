"""Fixtures for the checker tests: Porcupine's corpus (its kv histories ship with the tests;
the whole corpus, with the etcd logs, may live outside), and the repo root.

Test modules get these through fixtures only (no ``import conftest``: the suite has
several conftest.py files and the name would be ambiguous).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "tests" / "data" / "porcupine"  # kv/ and its licence, in every clone


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
def kv_corpus() -> Path:
    """The shipped copy of Porcupine's kv histories (tests/data/porcupine)."""
    assert (SHIPPED / "kv").is_dir(), f"{SHIPPED} is missing from the checkout"
    return SHIPPED


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The whole corpus, for the etcd logs that cannot ship (see tests/data/porcupine)."""
    path = corpus_dir()
    if not path.is_dir():
        pytest.skip(f"Porcupine's etcd logs are not shipped (no licence from their author) "
                    f"and the full corpus is not at {path} (set FAULTLAB_CORPUS)")
    return path
