"""History readers by format name, with auto-detection from the file's first lines."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import HistoryFormatError
from ..history import Operation
from . import edn, jepsen_etcd, jsonl, porcupine_kv
from ._lines import iter_lines, source_name

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


def load_history(source: Any, format: str = "auto",
                 progress: Callable[[int], None] | None = None) -> LoadedHistory:
    """Read a history in ``format`` (or the detected one); HistoryFormatError on bad input.

    JSON lines are read from a file a line at a time (memory: the operations kept, not the
    file); ``progress`` is called with the operations read so far, now and then."""
    name = source_name(source)
    if isinstance(source, str | os.PathLike) and os.path.isdir(source):
        raise HistoryFormatError(name, None, "is a directory, not a history file")
    name, stream = iter_lines(source, name)
    head: list[str] = []  # up to the first line that is not blank: enough to tell the format
    for line in stream:
        head.append(line)
        if line.strip():
            break
    if format == "auto":
        format = detect_format(head, name)
    if format == "jsonl":
        ops, header = jsonl.parse_lines(itertools.chain(head, stream), name, progress)
        return _loaded(LoadedHistory(ops, format, header.get("model"), header), progress)
    lines = [*head, *stream]
    if format == "porcupine-kv":
        loaded = LoadedHistory(porcupine_kv.read_history(lines, name=name), format, "kv")
    elif format == "jepsen-etcd":
        loaded = LoadedHistory(jepsen_etcd.read_history(lines, name=name), format,
                               "cas-register")
    elif format == "edn":
        ops = edn.read_history(lines, name=name)
        loaded = LoadedHistory(ops, format, edn.guess_model(ops))
    else:
        raise ValueError(f"unknown format {format!r} (known: auto, {', '.join(FORMATS)})")
    return _loaded(loaded, progress)


def _loaded(loaded: LoadedHistory, progress: Callable[[int], None] | None) -> LoadedHistory:
    if progress is not None:
        progress(len(loaded.ops))  # the last word: all of them
    return loaded
