"""Inverted index: for each word, the number of documents holding it and their sorted names."""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W\d_]+")


def map(document: str, contents: str) -> list[tuple[str, str]]:
    return [(w, document) for w in dict.fromkeys(_WORD.findall(contents))]


def reduce(key: str, values: list[str]) -> str:
    docs = sorted(values)
    return f"{len(docs)} {','.join(docs)}"
