"""Jepsen/Knossos histories in EDN: a vector of op maps, or one op map per line.

Each op is a map such as ``{:process 0, :type :invoke, :f :write, :value 3}``.

* ``:type :invoke`` opens a call; the process's next ``:ok``/``:fail``/``:info`` closes it.
* ``:ok`` -> completed operation; ``:fail`` -> it did not take effect, so it is dropped;
  ``:info`` -> indeterminate: the operation stays open (may or may not have taken effect).
  A call never completed by the end of the file is open too.
* Entries whose ``:process`` is not an integer (``:nemesis``) are ignored.
* Time is the entry's position (Jepsen writes histories in real-time order); ``:time``, when
  present, is kept in ``meta``.

``:f``/``:value`` become model inputs: read/write/cas (``[from to]``) for the registers,
add/remove/read for ``set``, enqueue/dequeue for ``queue``, acquire/release for ``mutex``;
an entry with a ``:key`` is a ``kv`` operation (get/put/append); a ``:txn`` (``[[:read k v]
[:write k v] ...]``) is for ``multi-register``, its completion's list (the values read) the
output. Other functions become
``{"op": f, "value": v}`` with the completion's ``:value`` as output.

Histories of Jepsen's ``independent`` checker carry ``[key value]`` pairs as values (a cas
``[key [from to]]``, a read call ``[key nil]``): when every call and successful completion
does, the key goes into the input and the history is checked with the ``independent-*``
model of the functions (register, cas-register, set, queue, mutex per key), one partition per
key. A completion whose key differs from its call's is bad input.

Only the EDN needed for histories is parsed: maps, vectors, lists, sets, keywords,
symbols, strings, characters, integers, floats, nil/true/false, ``#_`` discards and tagged
literals (the tag is dropped).
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import HistoryFormatError
from ..history import Operation, is_key
from ._lines import pop_call, read_lines, same_function

DEFAULT_MODEL = None
_MAX_DEPTH = 100


class Keyword(str):
    """An EDN keyword; compares equal to its name without the colon."""

    def __repr__(self) -> str:
        return ":" + str(self)


class _Discard:
    pass


_DISCARD = _Discard()

_TOKEN_RE = (
    r"""
    (?P<ws>[\s,]+|;[^\n]*)
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<open>\#\{|[\[\{\(])
  | (?P<close>[\]\}\)])
  | (?P<discard>\#_)
  | (?P<tag>\#[A-Za-z][\w.\-/]*)
  | (?P<char>\\(?:newline|space|tab|return|u[0-9a-fA-F]{4}|\S))
  | (?P<atom>[^\s,;"\[\]\{\}\(\)\#\\][^\s,;"\[\]\{\}\(\)\\]*)
    """)
_TOKEN_FLAGS = re.VERBOSE | re.DOTALL
_TOKEN: re.Pattern[str] | None = None  # compiled on first use: most commands read no EDN
_INT = re.compile(r"[+-]?\d+N?")
_FLOAT = re.compile(r"[+-]?\d+(\.\d*)?([eE][+-]?\d+)?M?")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "b": "\b", "f": "\f"}
_CHARS = {"newline": "\n", "space": " ", "tab": "\t", "return": "\r"}


def looks_like(line: str) -> bool:
    """True when ``line`` opens an EDN map or vector with keywords (auto-detection)."""
    s = line.lstrip()
    return s[:1] in ("{", "[", "(") and ":" in s


class _Parser:
    def __init__(self, text: str, name: str | None) -> None:
        self.tokens: list[tuple[str, str, int]] = []
        self.name = name
        line = 1
        pos = 0
        global _TOKEN
        if _TOKEN is None:
            _TOKEN = re.compile(_TOKEN_RE, _TOKEN_FLAGS)
        token = _TOKEN
        while pos < len(text):
            m = token.match(text, pos)
            if m is None:
                raise HistoryFormatError(name, line, f"unexpected character {text[pos]!r}")
            kind = m.lastgroup or ""
            tok = m.group()
            if kind != "ws":
                self.tokens.append((kind, tok, line))
            line += tok.count("\n")
            pos = m.end()
        self.i = 0

    def error(self, line: int, msg: str) -> HistoryFormatError:
        return HistoryFormatError(self.name, line, msg)

    def forms(self) -> list[tuple[Any, int]]:
        out = []
        while self.i < len(self.tokens):
            line = self.tokens[self.i][2]
            v = self.value(0)
            if v is not _DISCARD:
                out.append((v, line))
        return out

    def value(self, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise self.error(self.tokens[self.i][2], "EDN nested too deeply")
        if self.i >= len(self.tokens):
            line = self.tokens[-1][2] if self.tokens else 1
            raise self.error(line, "unexpected end of input")
        kind, tok, line = self.tokens[self.i]
        self.i += 1
        if kind == "str":
            return self.string(tok, line)
        if kind == "atom":
            return self.atom(tok, line)
        if kind == "char":
            body = tok[1:]
            if body in _CHARS:
                return _CHARS[body]
            if len(body) == 5 and body[0] == "u":
                return chr(int(body[1:], 16))
            return body
        if kind == "discard":
            self.value(depth + 1)
            return _DISCARD
        if kind == "tag":
            return self.value(depth + 1)
        if kind == "close":
            raise self.error(line, f"unexpected {tok!r}")
        closer = {"[": "]", "(": ")", "{": "}", "#{": "}"}[tok]
        items: list[tuple[Any, int]] = []
        while True:
            if self.i >= len(self.tokens):
                raise self.error(line, f"{tok!r} opened here is never closed")
            k, t, ln = self.tokens[self.i]
            if k == "close":
                self.i += 1
                if t != closer:
                    raise self.error(ln, f"{t!r} does not close {tok!r} (line {line})")
                break
            v = self.value(depth + 1)
            if v is not _DISCARD:
                items.append((v, ln))
        if tok == "{":
            if len(items) % 2:
                raise self.error(line, "map with an odd number of forms")
            out: dict[Any, Any] = {}
            for (k, ln), (v, _) in zip(items[::2], items[1::2], strict=True):
                try:
                    out[k] = v
                except TypeError:
                    raise self.error(ln, "map key is not hashable") from None
            return out
        if tok == "#{":
            return [v for v, _ in items]
        return [v for v, _ in items]

    def string(self, tok: str, line: int) -> str:
        body = tok[1:-1]
        if "\\" not in body:
            return body
        out = []
        i = 0
        while i < len(body):
            c = body[i]
            if c != "\\":
                out.append(c)
                i += 1
                continue
            e = body[i + 1]
            if e in _ESCAPES:
                out.append(_ESCAPES[e])
                i += 2
            elif e == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2:i + 6]):
                out.append(chr(int(body[i + 2:i + 6], 16)))
                i += 6
            else:
                raise self.error(line, f"bad string escape \\{e}")
        return "".join(out)

    def atom(self, tok: str, line: int) -> Any:
        if tok == "nil":
            return None
        if tok == "true":
            return True
        if tok == "false":
            return False
        if tok.startswith(":"):
            if len(tok) == 1:
                raise self.error(line, "empty keyword")
            return Keyword(tok.lstrip(":"))
        if _INT.fullmatch(tok):
            try:
                return int(tok.rstrip("N"))
            except ValueError:  # beyond Python's 4300-digit conversion limit
                raise self.error(line, f"number of {len(tok)} digits is too long") from None
        if _FLOAT.fullmatch(tok):
            return float(tok.rstrip("M"))
        if tok[0].isdigit() or (tok[0] in "+-" and tok[1:2].isdigit()):
            raise self.error(line, f"bad number {tok!r}")
        return tok  # a symbol


def parse(text: str, name: str | None = None) -> list[tuple[Any, int]]:
    """Top-level EDN forms of ``text`` with their line numbers."""
    return _Parser(text, name).forms()


def read_history(source: Any, *, name: str | None = None) -> list[Operation]:
    """Operations of a Jepsen EDN history; HistoryFormatError names the bad line."""
    name, lines = read_lines(source, name)
    entries = _entries(_Parser("\n".join(lines), name))
    independent = _is_independent(entries)
    pending: dict[int, tuple[dict[Any, Any], int, int]] = {}
    ops: list[tuple[int, Operation]] = []
    for pos, (entry, line) in enumerate(entries):
        if not isinstance(entry, dict):
            raise HistoryFormatError(name, line, "expected an op map like {:type :invoke ...}")
        proc = entry.get("process")
        if "type" not in entry:
            raise HistoryFormatError(name, line, "op map lacks :type")
        typ = entry["type"]
        if not isinstance(proc, int) or isinstance(proc, bool):
            if proc is None and "process" not in entry:
                raise HistoryFormatError(name, line, "op map lacks :process")
            continue  # nemesis and other non-client entries
        if typ not in ("invoke", "ok", "fail", "info"):
            raise HistoryFormatError(name, line, f"unknown :type {typ!r}")
        if "f" not in entry:
            raise HistoryFormatError(name, line, "op map lacks :f")
        if typ == "invoke":
            if proc in pending:
                raise HistoryFormatError(name, line, f"process {proc} invokes again before its "
                                         f"call (line {pending[proc][1]}) completed")
            pending[proc] = (entry, line, pos)
            continue
        inv, inv_line, inv_pos = pop_call(pending, proc, name, line)
        same_function(entry["f"], inv["f"], inv_line, name, line)
        if typ == "fail":
            continue
        if independent:
            inp, out = _convert_keyed(inv, inv_line, entry if typ == "ok" else None, name, line)
        else:
            inp, out = _convert(inv, entry if typ == "ok" else None, name, line)
        meta = _meta(inv, entry)
        ret = None if typ == "info" else float(pos)
        ops.append((inv_pos, Operation(proc, inp, None if ret is None else out,
                                       float(inv_pos), ret, meta)))
    for proc, (inv, line, pos) in pending.items():
        if independent:
            inp, _ = _convert_keyed(inv, line, None, name, line)
        else:
            inp, _ = _convert(inv, None, name, line)
        ops.append((pos, Operation(proc, inp, None, float(pos), None, _meta(inv, None))))
    ops.sort(key=lambda p: p[0])
    return [op for _, op in ops]


def _entries(p: _Parser) -> list[tuple[Any, int]]:
    """The op maps with their lines: items of one top-level vector or list (Jepsen writes
    both), or top-level forms."""
    if not p.tokens or p.tokens[0][1] not in ("[", "("):
        return p.forms()
    opener = p.tokens[0][1]
    closer = "]" if opener == "[" else ")"
    p.i = 1
    out = []
    while True:
        if p.i >= len(p.tokens):
            raise p.error(p.tokens[0][2], f"{opener!r} opened here is never closed")
        kind, tok, line = p.tokens[p.i]
        if kind == "close":
            if tok != closer:
                raise p.error(line, f"{tok!r} does not close {opener!r}")
            p.i += 1
            break
        v = p.value(1)
        if v is not _DISCARD:
            out.append((v, line))
    if p.forms():
        raise p.error(p.tokens[p.i - 1][2], "text after the history " +
                      ("vector" if opener == "[" else "list"))
    return out


def _meta(inv: dict[Any, Any], done: dict[Any, Any] | None) -> dict[str, Any] | None:
    meta: dict[str, Any] = {}
    for src, prefix in ((inv, "call_"), (done, "return_")):
        if src is not None and isinstance(src.get("time"), int | float):
            meta[prefix + "time"] = src["time"]
    return meta or None


def _convert(
    inv: dict[Any, Any], done: dict[Any, Any] | None, name: str | None, line: int
) -> tuple[Any, Any]:
    """Model input and output of an invoke/completion pair (output None when unknown)."""
    f = str(inv["f"])
    v = inv.get("value")
    out = done.get("value") if done is not None else None
    if "key" in inv:
        key = inv["key"]
        if f == "get":
            return {"op": "get", "key": key}, ("" if out is None else out)
        return {"op": f, "key": key, "value": v}, None
    if f == "read":
        return {"op": "read"}, _plain(out)
    if f == "write":
        return {"op": "write", "value": _plain(v)}, None
    if f == "cas":
        if not isinstance(v, list) or len(v) != 2:
            raise HistoryFormatError(name, line, "cas needs a [from to] value")
        return {"op": "cas", "from": _plain(v[0]), "to": _plain(v[1])}, True
    if f in ("add", "remove", "enqueue"):
        return {"op": f, "value": _plain(v)}, None
    if f in ("dequeue", "acquire", "release"):
        return {"op": f}, _plain(out)
    return {"op": f, "value": _plain(v)}, _plain(out)


def _is_independent(entries: list[tuple[Any, int]]) -> bool:
    """Whether this is a history of Jepsen's ``independent`` checker: every client call and
    successful completion carries ``[key value]`` (a cas ``[key [from to]]``), and there is
    no ``:key`` field. A history of cas calls alone keeps its plain ``[from to]`` reading."""
    seen = False
    for entry, _ in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("process"), int):
            continue
        if "key" in entry:
            return False
        v = entry.get("value")
        if v is None and entry.get("type") in ("fail", "info"):
            continue  # a failed or indeterminate completion may carry no value
        if not (isinstance(v, list) and len(v) == 2 and is_key(v[0])):
            return False
        if entry.get("f") == "cas" and not (isinstance(v[1], list) and len(v[1]) == 2):
            return False
        seen = True
    return seen


def _convert_keyed(inv: dict[Any, Any], inv_line: int, done: dict[Any, Any] | None,
                   name: str | None, line: int) -> tuple[Any, Any]:
    """``_convert`` for an independent history: the ``[key value]`` pairs are unwrapped and
    the key goes into the input (for the ``independent-*`` models)."""
    pair = inv.get("value")
    if not (isinstance(pair, list) and len(pair) == 2 and is_key(pair[0])):
        raise HistoryFormatError(name, inv_line, "call without a [key value] pair")
    key, v = pair
    out = None
    if done is not None:
        pair = done.get("value")
        if isinstance(pair, list) and len(pair) == 2:
            if _plain(pair[0]) != _plain(key):
                raise HistoryFormatError(name, line, f"completion is for key "
                                         f"{_plain(pair[0])!r}, its call (line {inv_line}) for "
                                         f"key {_plain(key)!r}")
            out = pair[1]
        done = {**done, "value": out}
    inp, out = _convert({**inv, "value": v}, done, name, line)
    return {"op": inp.pop("op"), "key": _plain(key), **inp}, out


def _plain(v: Any) -> Any:
    """EDN values as plain JSON-like Python values (keywords become strings)."""
    if isinstance(v, Keyword):
        return str(v)
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    return v


def guess_model(ops: list[Operation]) -> str | None:
    """The built-in model that the operations' functions suggest, if any."""
    fs = {op.input.get("op") for op in ops if isinstance(op.input, dict)}
    if not fs:
        return None
    if any(isinstance(op.input, dict) and "key" in op.input for op in ops):
        if fs <= {"get", "put", "append"}:
            return "kv"
        base = guess_model([Operation(op.client, {k: v for k, v in op.input.items()
                                                  if k != "key"}, op.output, op.call, op.ret)
                            for op in ops])
        return None if base is None else f"independent-{base}"
    if fs <= {"read", "write"}:
        return "register"
    if fs <= {"read", "write", "cas"}:
        return "cas-register"
    if fs <= {"add", "remove", "read"}:
        return "set"
    if fs <= {"enqueue", "dequeue"}:
        return "queue"
    if fs <= {"acquire", "release"}:
        return "mutex"
    if fs == {"txn"}:
        return "multi-register"
    return None
