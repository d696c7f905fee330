"""Word count: a word is a maximal run of letters; the value is its number of occurrences."""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W\d_]+")


def map(filename: str, contents: str) -> list[tuple[str, str]]:
    return [(w, "1") for w in _WORD.findall(contents)]


def combine(key: str, values: list[str]) -> list[str]:
    """Sum a map task's counts for one word, so intermediates carry one number per word."""
    ones = values.count("1")  # the plain map output is all "1": counting them is cheap
    return [str(ones if ones == len(values) else sum(int(v) for v in values))]


def reduce(key: str, values: list[str]) -> str:
    ones = values.count("1")
    return str(ones if ones == len(values) else sum(int(v) for v in values))
