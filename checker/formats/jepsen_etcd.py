"""Jepsen etcd logs as kept in Porcupine's corpus (``jepsen/etcd_NNN.log``).

Each line: ``INFO jepsen.util - PROC TYPE F VALUE`` (tabs or spaces). Mapping to the
``cas-register`` model:

* ``:invoke :read nil`` / ``:ok :read V`` -> ``{"op": "read"}`` returning V (``nil`` -> None).
* ``:invoke :write V`` / ``:ok :write V`` -> ``{"op": "write", "value": V}`` returning None.
* ``:invoke :cas [A B]`` -> ``{"op": "cas", "from": A, "to": B}``; ``:ok`` returns True and
  ``:fail`` returns False (it definitely did not apply, which also says the register was not
  A at some point of the call: this is Porcupine's reading, and it gives the expected verdicts).
* ``:info ... :timed-out`` -> the call stays open to the end of the history (it may or may not
  have taken effect). Jepsen never reuses a process after ``:info``.
* ``:fail :read :timed-out`` -> the read is dropped: a read that returned nothing carries no
  information and cannot change the register.
* any other ``:fail`` (write) -> dropped: it did not take effect.

A line's position is its time. Log lines of other loggers (``INFO jepsen.core ...``) and
``:nemesis`` lines are skipped.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import HistoryFormatError
from ..history import Operation
from ._lines import pop_call, read_lines, same_function

DEFAULT_MODEL = "cas-register"

_UTIL = re.compile(r"^\s*[A-Z]+\s+jepsen\.util\s+-\s+(\S+)\s+(.*?)\s*$")
_OP = re.compile(
    r"^:(invoke|ok|fail|info)\s+:([a-z-]+)\s+(nil|-?\d+|\[\s*-?\d+\s+-?\d+\s*\]|:[a-z-]+)$"
)
_OTHER_LOG = re.compile(r"^\s*(INFO|WARN|DEBUG|ERROR|TRACE)\s+\S+")
_PROC = re.compile(r"-?\d+")
# the common, well-formed line in one match; anything else takes the slower, explaining path
_FAST = re.compile(
    r"\s*[A-Z]+\s+jepsen\.util\s+-\s+(-?\d+)\s+:(invoke|ok|fail|info)\s+:([a-z-]+)\s+"
    r"(nil|-?\d+|\[\s*-?\d+\s+-?\d+\s*\]|:[a-z-]+)\s*$"
)


def looks_like(line: str) -> bool:
    """True when ``line`` is a jepsen.util operation line (used by auto-detection)."""
    return _UTIL.match(line) is not None


def _value(raw: str) -> Any:
    if raw == "nil":
        return None
    if raw.startswith("["):
        a, b = raw[1:-1].split()
        return [int(a), int(b)]
    if raw.startswith(":"):
        return raw
    return int(raw)


def read_history(source: Any, *, name: str | None = None) -> list[Operation]:
    """Operations of a Jepsen etcd log; raises HistoryFormatError naming the bad line."""
    name, lines = read_lines(source, name)
    pending: dict[str, tuple[int, str, Any]] = {}
    ops: list[tuple[int, Operation]] = []
    for no, text in enumerate(lines, start=1):
        fast = _FAST.match(text)
        if fast is not None:
            proc_raw, kind, f, raw = fast.groups()
        else:
            if not text.strip():
                continue
            m = _UTIL.match(text)
            if m is None:
                if _OTHER_LOG.match(text):
                    continue
                raise HistoryFormatError(name, no, f"not a Jepsen log line: {text[:80]!r}")
            proc_raw, rest = m.group(1), m.group(2)
            if proc_raw == ":nemesis":
                continue
            if not _PROC.fullmatch(proc_raw):
                raise HistoryFormatError(name, no, f"bad process {proc_raw!r}")
            om = _OP.match(rest)
            if om is None:
                raise HistoryFormatError(name, no, f"not an operation: {rest[:80]!r}")
            kind, f, raw = om.group(1), om.group(2), om.group(3)
        try:
            value = _value(raw)
            proc = int(proc_raw)
        except ValueError as e:  # a number beyond Python's 4300-digit conversion limit
            raise HistoryFormatError(name, no, f"bad number: {str(e).split(':')[0]}") from None
        if f not in ("read", "write", "cas"):
            raise HistoryFormatError(name, no, f"unknown function :{f}")
        if kind == "invoke":
            if proc_raw in pending:
                raise HistoryFormatError(name, no, f"process {proc_raw} calls again before "
                                         "its previous call completed")
            if f == "write" and not isinstance(value, int):
                raise HistoryFormatError(name, no, "write needs an integer value")
            if f == "cas" and not isinstance(value, list):
                raise HistoryFormatError(name, no, "cas needs [from to]")
            pending[proc_raw] = (no, f, value)
            continue
        call_no, cf, cvalue = pop_call(pending, proc_raw, name, no)
        same_function(f, cf, call_no, name, no)
        inp = _input(f, cvalue)
        if kind == "info":
            ops.append((call_no, Operation(proc, inp, None, float(call_no), None)))
        elif kind == "fail":
            if f == "cas":
                ops.append((call_no, Operation(proc, inp, False, float(call_no), float(no))))
            # a failed read (timed out) or write: no information / no effect -> dropped
        else:
            if f == "read":
                if isinstance(value, str):
                    raise HistoryFormatError(name, no, f"read returned {value}")
                out: Any = value
            elif f == "cas":
                out = True
            else:
                out = None
            ops.append((call_no, Operation(proc, inp, out, float(call_no), float(no))))
    for proc_raw, (call_no, f, cvalue) in pending.items():
        ops.append((call_no, Operation(int(proc_raw), _input(f, cvalue), None,
                                       float(call_no), None)))
    ops.sort(key=lambda p: p[0])
    return [op for _, op in ops]


def _input(f: str, value: Any) -> dict[str, Any]:
    if f == "read":
        return {"op": "read"}
    if f == "write":
        return {"op": "write", "value": value}
    return {"op": "cas", "from": value[0], "to": value[1]}
