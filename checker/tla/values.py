"""TLA+ values both ways: Python values as TLA+ expressions (for generated trace modules) and
TLC's printed states back into Python (for counterexamples).

Printed forms read: integers, strings, TRUE/FALSE, ``<<...>>`` (tuples), ``{...}`` (sets, read
as :class:`TLASet`), ``[f |-> v]`` (dicts), ``(k :> v @@ ...)`` (functions, dicts whose
unhashable keys are frozen into tuples) and model values (plain names, read as strings).
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["TLASet", "parse_value", "parse_state", "to_tla", "tla_string"]

_TOKEN = re.compile(r"""\s*(?:
    (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<num>-?\d+)
  | (?P<op><<|>>|\|->|:>|@@|/\\|[{}\[\](),=])
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
)""", re.X)


class TLASet(tuple):
    """A TLA+ set as TLC printed it (elements in TLC's order)."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"cannot read TLC value at {text[pos:pos + 30]!r}")
        kind = m.lastgroup
        assert kind is not None
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _freeze(v: Any) -> Any:
    if isinstance(v, dict):
        return tuple(sorted(((k, _freeze(x)) for k, x in v.items()), key=repr))
    if isinstance(v, (list, tuple)):
        return tuple(_freeze(x) for x in v)
    return v


class _Reader:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, want: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (want is not None and tok[1] != want):
            raise ValueError(f"expected {want!r}, found {tok!r}")
        self.i += 1
        return tok

    def items(self, close: str) -> list[Any]:
        out: list[Any] = []
        if self.peek() == ("op", close):
            self.take()
            return out
        while True:
            out.append(self.value())
            tok = self.take()
            if tok[1] == close:
                return out
            if tok[1] != ",":
                raise ValueError(f"expected ',' or {close!r}, found {tok!r}")

    def value(self) -> Any:
        kind, text = self.take()
        if kind == "num":
            return int(text)
        if kind == "str":
            return json.loads(text)
        if kind == "name":
            return {"TRUE": True, "FALSE": False}.get(text, text)
        if text == "<<":
            return tuple(self.items(">>"))
        if text == "{":
            return TLASet(self.items("}"))
        if text == "[":
            rec: dict[str, Any] = {}
            if self.peek() == ("op", "]"):
                self.take()
                return rec
            while True:
                key = self.take()[1]
                self.take("|->")
                rec[key] = self.value()
                if self.take()[1] == "]":
                    return rec
        if text == "(":
            fn: dict[Any, Any] = {}
            while True:
                key = self.value()
                self.take(":>")
                fn[_freeze(key)] = self.value()
                tok = self.take()
                if tok[1] == ")":
                    return fn
                if tok[1] != "@@":
                    raise ValueError(f"expected '@@' or ')', found {tok!r}")
        raise ValueError(f"unexpected {text!r}")


def parse_value(text: str) -> Any:
    """The Python value of one printed TLA+ value."""
    r = _Reader(text)
    v = r.value()
    if r.peek() is not None:
        raise ValueError(f"trailing text after value: {r.peek()!r}")
    return v


def parse_state(text: str) -> dict[str, Any]:
    """Variables of a printed state (``/\\ x = 1`` lines, or ``x = 1`` for one variable)."""
    r = _Reader(text)
    out: dict[str, Any] = {}
    while r.peek() is not None:
        if r.peek() == ("op", "/\\"):
            r.take()
        name = r.take()[1]
        r.take("=")
        out[name] = r.value()
    return out


def tla_string(s: str) -> str:
    """A TLA+ string literal (TLA+ strings know only the escapes \\" \\\\ \\n \\t)."""
    return '"' + (s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
                  .replace("\t", "\\t")) + '"'


def to_tla(v: Any) -> str:
    """A TLA+ expression for a JSON-like value: ints, strings, booleans, lists as tuples,
    dicts with identifier keys as records. Other values must be converted by the caller."""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return tla_string(v)
    if isinstance(v, (list, tuple)):
        return "<<" + ", ".join(to_tla(x) for x in v) + ">>"
    if isinstance(v, (set, frozenset)):
        return "{" + ", ".join(sorted(to_tla(x) for x in v)) + "}"
    if isinstance(v, dict):
        if not v:
            return "<<>>"
        for k in v:
            if not (isinstance(k, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k)):
                raise ValueError(f"record field {k!r} is not a TLA+ identifier")
        return "[" + ", ".join(f"{k} |-> {to_tla(x)}" for k, x in v.items()) + "]"
    raise ValueError(f"no TLA+ form for {type(v).__name__} {v!r}")
