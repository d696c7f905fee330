"""History readers by format name, with auto-detection from the file's first lines."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ..errors import HistoryFormatError
from ..history import Operation
from . import edn, jepsen_etcd, jsonl, porcupine_kv
from ._lines import read_lines, source_name

__all__ = ["FORMATS", "LoadedHistory", "detect_format", "load_history"]

#: Format names accepted by ``load_history`` and the CLI's ``--format``.
FORMATS = ("jsonl", "porcupine-kv", "jepsen-etcd", "edn")


@dataclass
class LoadedHistory:
    """A history read from a file, with what the file says about how to check it."""

    ops: list[Operation]
    format: str
    model: str | None
    header: dict[str, Any] = field(default_factory=dict)


def detect_format(lines: list[str], name: str | None = None) -> str:
    """The format of a history from its first non-blank line (and, failing that, its name)."""
    first = next((ln for ln in lines if ln.strip()), None)
    if first is None:
        if name and name.endswith(".jsonl"):
            return "jsonl"
        if name and name.endswith(".edn"):
            return "edn"
        if name and name.endswith(".txt"):
            return "porcupine-kv"
        return "jepsen-etcd"  # an empty log reads as an empty history
    if jsonl.looks_like(first):
        return "jsonl"
    if jepsen_etcd.looks_like(first):
        return "jepsen-etcd"
    if porcupine_kv.looks_like(first):
        return "porcupine-kv"
    if edn.looks_like(first) or first.lstrip().startswith(";"):
        return "edn"  # Jepsen's files may open with ; comment lines
    if first.lstrip().startswith('{"'):
        return "jsonl"  # let the JSON reader say what is wrong with it
    no = lines.index(first) + 1
    raise HistoryFormatError(name, no, "cannot tell the history format from this line; "
                             "pass --format")


def load_history(source: Any, format: str = "auto") -> LoadedHistory:
    """Read a history in ``format`` (or the detected one); HistoryFormatError on bad input."""
    name = source_name(source)
    if isinstance(source, str | os.PathLike) and os.path.isdir(source):
        raise HistoryFormatError(name, None, "is a directory, not a history file")
    name, lines = read_lines(source, name)
    if format == "auto":
        format = detect_format(lines, name)
    if format == "jsonl":
        ops, header = jsonl.read_history(lines, name=name)
        return LoadedHistory(ops, format, header.get("model"), header)
    if format == "porcupine-kv":
        return LoadedHistory(porcupine_kv.read_history(lines, name=name), format, "kv")
    if format == "jepsen-etcd":
        return LoadedHistory(jepsen_etcd.read_history(lines, name=name), format,
                             "cas-register")
    if format == "edn":
        ops = edn.read_history(lines, name=name)
        return LoadedHistory(ops, format, edn.guess_model(ops))
    raise ValueError(f"unknown format {format!r} (known: auto, {', '.join(FORMATS)})")
