"""The 2015 test's app: every word becomes a key with an empty value; reduce returns ""."""

from __future__ import annotations


def map(filename: str, contents: str) -> list[tuple[str, str]]:
    return [(w, "") for w in contents.split()]


def reduce(key: str, values: list[str]) -> str:
    return ""
