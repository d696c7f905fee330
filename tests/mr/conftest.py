"""Shared inputs of the MapReduce tests: a small copy of the built-in corpus."""

from __future__ import annotations

import pytest
from faultlab.mr.corpus import generate_corpus


@pytest.fixture(scope="session")
def books(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The eight sample books (about 50 KB each), as the path strings the apps see."""
    return [str(p) for p in generate_corpus(tmp_path_factory.mktemp("books"), 0.4)]
