"""faultlab's own history format: JSON lines, versioned.

Schema, version 1 (UTF-8, one JSON object per line, blank lines ignored):

* Line 1, the header: ``{"faultlab_history": 1, "model": "kv", ...}``. ``faultlab_history``
  is the schema version (an integer; readers refuse versions they do not know). ``model``
  (optional) names the model the history is meant for (see ``faultlab.checker.models.MODELS``). Any
  other keys (``"source"``, ``"seed"``, ...) are free-form and kept in the header dict.
* Every later line, one operation::

    {"client": 3, "input": {"op": "put", "key": "k", "value": "v"}, "output": null,
     "call": 12.5, "return": 13.0, "meta": {"fault": "partition"}}

  ``client`` is an integer or a string; ``input``/``output`` are any JSON values (the model
  gives them meaning); ``call`` is a finite number; ``return`` is a number ``>= call``, or
  ``null`` for an open (indeterminate) operation, whose ``output`` is then ignored; ``meta``
  (optional) is an object of annotations shown by the HTML view. Unknown keys are ignored,
  so later minor additions stay readable.

Times may be in any unit; only their order matters. Intervals are closed: operations that
touch at one instant are concurrent.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import IO, Any

from ..errors import HistoryFormatError
from ..history import Operation
from ._lines import iter_lines

VERSION = 1
PROGRESS_EVERY = 8192  # lines between two progress calls
DEFAULT_MODEL = None


def looks_like(line: str) -> bool:
    """True when ``line`` is a faultlab JSON-lines header (used by auto-detection)."""
    if '"faultlab_history"' not in line:
        return False
    try:
        head = json.loads(line)
    except ValueError:
        return False
    except RecursionError:  # it names the header's key: the reader will say what is wrong
        return True
    return isinstance(head, dict) and "faultlab_history" in head


def read_history(
    source: Any, *, name: str | None = None, progress: Callable[[int], None] | None = None,
) -> tuple[list[Operation], dict[str, Any]]:
    """Operations and header of a JSON-lines history; HistoryFormatError names the bad line.

    A file is read a line at a time (memory: the operations, not the file). ``progress``,
    when given, is called with the number of operations read every ``PROGRESS_EVERY``."""
    name, lines = iter_lines(source, name)
    return parse_lines(lines, name, progress)


def parse_lines(lines: Iterable[str], name: str | None,
                progress: Callable[[int], None] | None = None
                ) -> tuple[list[Operation], dict[str, Any]]:
    """``read_history`` of lines already split and decoded (``iter_lines``'), consumed one
    at a time."""
    header: dict[str, Any] | None = None
    ops: list[Operation] = []
    memo: dict[str, str] = {}
    decode = json.JSONDecoder(parse_constant=_reject_constant).decode  # one, not one a line
    for no, text in enumerate(lines, start=1):
        if progress is not None and no % PROGRESS_EVERY == 0:
            progress(len(ops))
        if not text.strip():
            continue
        try:
            obj = decode(text)
        except ValueError as e:
            raise HistoryFormatError(name, no, f"invalid JSON: {_short(e)}") from None
        except RecursionError:
            raise HistoryFormatError(name, no, "JSON nested too deeply") from None
        if not isinstance(obj, dict):
            raise HistoryFormatError(name, no, f"expected a JSON object, got {_kind(obj)}")
        if header is None:
            header = _check_header(obj, name, no)
            continue
        ops.append(_operation(obj, name, no, memo))
    if header is None:
        raise HistoryFormatError(name, None, "empty file: no faultlab_history header")
    return ops, header


#: Input fields whose string values name things (an operation, a key): few distinct ones.
_NAMES = ("op", "key")


def _shared_names(inp: dict[str, Any], memo: dict[str, str]) -> dict[str, Any]:
    """``inp`` with its field names, and its operation and key names, shared with the
    operations read before (json makes new strings for each line: a third of the memory of
    a long history)."""
    share = memo.setdefault
    inp = {share(k, k): v for k, v in inp.items()}
    for field in _NAMES:
        v = inp.get(field)
        if type(v) is str and len(v) <= 64:
            inp[field] = share(v, v)
    return inp


def _reject_constant(word: str) -> Any:
    raise ValueError(f"{word} is not allowed")


def _short(e: Exception) -> str:
    return str(e).split(": line")[0]


def _kind(v: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(v), "a number")


def _check_header(obj: dict[str, Any], name: str | None, no: int) -> dict[str, Any]:
    if "faultlab_history" not in obj:
        raise HistoryFormatError(name, no, 'first line must be the header {"faultlab_history": 1'
                                 ', ...}')
    version = obj["faultlab_history"]
    if not isinstance(version, int) or isinstance(version, bool):
        raise HistoryFormatError(name, no, "faultlab_history must be an integer version")
    if version != VERSION:
        raise HistoryFormatError(name, no, f"unsupported faultlab_history version {version} "
                                 f"(this reader knows {VERSION})")
    model = obj.get("model")
    if model is not None and not isinstance(model, str):
        raise HistoryFormatError(name, no, "header model must be a string")
    return obj


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _operation(obj: dict[str, Any], name: str | None, no: int, memo: dict[str, str]
               ) -> Operation:
    for key in ("client", "input", "call", "return"):
        if key not in obj:
            raise HistoryFormatError(name, no, f'operation lacks "{key}"')
    client = obj["client"]
    if not isinstance(client, int | str) or isinstance(client, bool):
        raise HistoryFormatError(name, no, "client must be an integer or a string")
    call, ret = obj["call"], obj["return"]
    if not _number(call):
        raise HistoryFormatError(name, no, "call must be a finite number")
    if ret is not None:
        if not _number(ret):
            raise HistoryFormatError(name, no, "return must be a finite number or null")
        if ret < call:
            raise HistoryFormatError(name, no, f"return {ret} is before call {call}")
    if ret is not None and "output" not in obj:
        raise HistoryFormatError(name, no, 'completed operation lacks "output"')
    meta = obj.get("meta")
    if meta is not None and not isinstance(meta, dict):
        raise HistoryFormatError(name, no, "meta must be an object")
    output = obj.get("output") if ret is not None else None
    inp = obj["input"]
    if type(inp) is dict:  # one copy of the names every input repeats
        inp = _shared_names(inp, memo)
    return Operation(client, inp, output, call, ret, meta)


def write_history(
    ops: Sequence[Operation],
    path_or_file: str | os.PathLike | IO[str],
    *,
    model: str | None = None,
    **header: Any,
) -> None:
    """Write ``ops`` as a version-1 JSON-lines history (header first, then one op a line)."""
    head: dict[str, Any] = {"faultlab_history": VERSION}
    if model is not None:
        head["model"] = model
    head.update(header)
    lines = [json.dumps(head, sort_keys=False)]
    for op in ops:
        rec: dict[str, Any] = {
            "client": op.client,
            "input": op.input,
            "output": op.output if op.ret is not None else None,
            "call": op.call,
            "return": op.ret,
        }
        if op.meta:
            rec["meta"] = dict(op.meta) if isinstance(op.meta, Mapping) else op.meta
        lines.append(json.dumps(rec, allow_nan=False))
    text = "\n".join(lines) + "\n"
    if isinstance(path_or_file, str | os.PathLike):
        with open(path_or_file, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        path_or_file.write(text)
