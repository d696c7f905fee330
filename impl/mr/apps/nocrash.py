"""The crash test's reference: the same output as ``crash`` without any crash or delay."""

from __future__ import annotations


def map(filename: str, contents: str) -> list[tuple[str, str]]:
    return [("a", filename), ("b", str(len(filename))), ("c", str(len(contents))),
            ("d", "xyzzy")]


def reduce(key: str, values: list[str]) -> str:
    return " ".join(sorted(values))  # sorted: the output must not depend on task order
