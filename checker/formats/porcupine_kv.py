"""Porcupine's key/value test logs (``kv/c*.txt``): one EDN-like event map per line.

``{:process P, :type :invoke|:ok, :f :get|:put|:append, :key "K", :value "V"|nil}``.
Events are in real-time order and a line's position is its time. Each process has at most
one call open; an ``:ok`` closes it. ``get`` returns the value (missing key reads ""), and the
``:value`` of an ``:ok`` put/append just repeats the argument, so their output is None.
Calls still open at the end become open operations.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import HistoryFormatError
from ..history import Operation
from ._lines import pop_call, read_lines, same_function

DEFAULT_MODEL = "kv"

_LINE = re.compile(
    r'\{:process (-?\d+), :type :(invoke|ok), :f :(get|put|append), '
    r':key "([^"]*)", :value (nil|"[^"]*")\}'
)


def looks_like(line: str) -> bool:
    """True when ``line`` is in this format (used by auto-detection)."""
    return _LINE.fullmatch(line.strip()) is not None


def read_history(source: Any, *, name: str | None = None) -> list[Operation]:
    """Operations of a Porcupine kv log; raises HistoryFormatError naming the bad line."""
    name, lines = read_lines(source, name)
    open_calls: dict[int, tuple[int, str, str, str | None]] = {}
    ops: list[tuple[int, Operation]] = []
    for no, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        m = _LINE.fullmatch(text.strip())
        if m is None:
            raise HistoryFormatError(name, no, f"not a Porcupine kv event: {text[:80]!r}")
        proc = int(m.group(1))
        kind, f, key, raw = m.group(2), m.group(3), m.group(4), m.group(5)
        value = None if raw == "nil" else raw[1:-1]
        if kind == "invoke":
            if proc in open_calls:
                raise HistoryFormatError(name, no, f"process {proc} calls again before returning")
            if f != "get" and value is None:
                raise HistoryFormatError(name, no, f"{f} without a value")
            open_calls[proc] = (no, f, key, value)
        else:
            call_no, cf, ckey, cvalue = pop_call(open_calls, proc, name, no)
            same_function((f, key), (cf, ckey), call_no, name, no)
            if f == "get":
                inp: dict[str, Any] = {"op": "get", "key": key}
                out = "" if value is None else value
            else:
                inp = {"op": f, "key": key, "value": cvalue}
                out = None
            ops.append((call_no, Operation(proc, inp, out, float(call_no), float(no))))
    for proc, (call_no, f, key, value) in open_calls.items():
        inp = {"op": f, "key": key} if f == "get" else {"op": f, "key": key, "value": value}
        ops.append((call_no, Operation(proc, inp, None, float(call_no), None)))
    ops.sort(key=lambda p: p[0])
    return [op for _, op in ops]
