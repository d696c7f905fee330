"""Line input shared by the readers: paths, open files or iterables of lines, decoded strictly."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import IO, Any

from ..errors import HistoryFormatError

#: What every reader accepts: a path, an open file (text or binary) or lines.
Source = str | os.PathLike | IO[Any] | Iterable[str] | Iterable[bytes]


def source_name(source: Any) -> str | None:
    """A name for error messages: the path, or the file object's name."""
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    name = getattr(source, "name", None)
    return name if isinstance(name, str) else None


def read_lines(source: Any, name: str | None = None) -> tuple[str | None, list[str]]:
    """All lines of ``source`` without line endings; bad bytes raise HistoryFormatError.

    ``name`` overrides the name used in error messages (useful for lists of lines).
    """
    name = name or source_name(source)
    if isinstance(source, str | os.PathLike):
        try:
            with open(source, "rb") as f:
                raw: Iterable[Any] = f.read().splitlines()
        except OSError as e:
            raise HistoryFormatError(name, None, f"cannot read: {e.strerror or e}") from None
    elif isinstance(source, bytes | bytearray):
        raw = bytes(source).splitlines()
    else:
        try:
            raw = list(source)
        except (OSError, UnicodeDecodeError) as e:
            raise HistoryFormatError(name, None, f"cannot read: {e}") from None
    lines: list[str] = []
    for no, item in enumerate(_split(raw), start=1):
        if isinstance(item, bytes | bytearray):
            try:
                item = bytes(item).decode("utf-8")
            except UnicodeDecodeError as e:
                raise HistoryFormatError(name, no, f"not UTF-8 text ({e.reason})") from None
        elif not isinstance(item, str):
            raise HistoryFormatError(name, no, f"not a line of text: {type(item).__name__}")
        if "\x00" in item:
            raise HistoryFormatError(name, no, "NUL byte in text")
        lines.append(item)
    return name, lines


def _split(raw: Iterable[Any]) -> Iterator[Any]:
    """Lines from files keep their ending; strip it (and split stray embedded breaks)."""
    for item in raw:
        if isinstance(item, str):
            parts = item.splitlines() or [""]
            yield from parts
        elif isinstance(item, bytes | bytearray):
            parts = bytes(item).splitlines() or [b""]
            yield from parts
        else:
            yield item
