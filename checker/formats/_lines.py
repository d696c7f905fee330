"""Line input shared by the readers: paths, open files or iterables of lines, decoded strictly."""

from __future__ import annotations

import os
import re
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
                return name, _decode(f.read(), name)
        except OSError as e:
            raise HistoryFormatError(name, None, f"cannot read: {e.strerror or e}") from None
    if isinstance(source, bytes | bytearray):
        return name, _decode(bytes(source), name)
    if isinstance(source, list) and all(type(x) is str for x in source):
        text = "\n".join(source)
        if text.count("\n") == len(source) - 1 and not _ODD.search(text):
            # already clean lines: the common case of a second reader
            return name, source
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


def iter_lines(source: Any, name: str | None = None) -> tuple[str | None, Iterator[str]]:
    """``read_lines`` for large inputs: a path is read a line at a time, so what is kept is
    the caller's business, not a copy of the file (other sources are read whole first).
    The same lines and the same errors, raised when the bad line is reached."""
    name = name or source_name(source)
    if not isinstance(source, str | os.PathLike):
        name, lines = read_lines(source, name)
        return name, iter(lines)
    try:
        f = open(source, "rb")  # noqa: SIM115 (closed by the generator, read or not)
    except OSError as e:
        raise HistoryFormatError(name, None, f"cannot read: {e.strerror or e}") from None
    return name, _file_lines(f, name)


def _file_lines(f: IO[bytes], name: str | None) -> Iterator[str]:
    """Lines of a binary file, split as ``_decode`` splits a whole file (\\n, \\r\\n, \\r)."""
    no = 0
    with f:
        try:
            for chunk in f:
                try:
                    text = chunk.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise HistoryFormatError(name, no + 1 + chunk[:e.start].count(b"\r"),
                                             f"not UTF-8 text ({e.reason})") from None
                if "\r" in text or "\x00" in text:
                    parts = _BREAK.split(text)
                    if parts[-1] == "":
                        parts.pop()
                else:
                    parts = [text[:-1] if text.endswith("\n") else text]
                for part in parts:
                    no += 1
                    if "\x00" in part:
                        raise HistoryFormatError(name, no, "NUL byte in text")
                    yield part
        except OSError as e:
            raise HistoryFormatError(name, None, f"cannot read: {e.strerror or e}") from None


_ODD = re.compile("[\r\x00]")
_BREAK = re.compile("\r\n|\r|\n")


def _decode(data: bytes, name: str | None) -> list[str]:
    """Lines of a whole file's bytes; the line of a bad byte is named in the error."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = len(_BREAK.findall(data[: e.start].decode("utf-8", "replace"))) + 1
        raise HistoryFormatError(name, line, f"not UTF-8 text ({e.reason})") from None
    nul = text.find("\x00")
    if nul >= 0:
        raise HistoryFormatError(name, len(_BREAK.findall(text[:nul])) + 1, "NUL byte in text")
    lines = _BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


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


def pop_call(pending: dict[Any, Any], proc: Any, name: str | None, line: int) -> Any:
    """The pending call a completion closes, or a HistoryFormatError naming the line."""
    call = pending.pop(proc, None)
    if call is None:
        raise HistoryFormatError(name, line, f"process {proc} completes without a call")
    return call


def same_function(f: Any, call_f: Any, call_line: int, name: str | None, line: int) -> None:
    """A completion must be of the function its call was."""
    if f != call_f:
        raise HistoryFormatError(name, line, f"completion {f!r} does not match the call's "
                                 f"{call_f!r} (line {call_line})")
