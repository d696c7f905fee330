"""Trace conformance: does some behaviour of the spec match a World trace?

A trace (``impl/tools/trace.py``'s JSON lines: a header, then one line per World step with the
step, the message or timer it handled and every server's abstract state) becomes a TLA+
module that EXTENDS ``spec/Trace<System>.tla`` with the trace as a sequence of records. That
module walks a cursor over the trace: each step must be the logged action with its logged
arguments and must reach the logged state; what the trace does not log (messages sent,
volatile bookkeeping) is left to the spec. TLC then searches: when the end of the trace is
reachable the trace conforms (the module prints each line it reaches, so no counterexample
has to be printed); otherwise the first line no behaviour reaches is reported with the
logged step and the states around it, and the spec's state just before it (from a second,
bounded run).

The mapping from each system's abstract state and steps to the spec's variables and actions
is in :class:`RaftMapping` and :class:`PaxosMapping` (and documented in ``spec/README.md``).
"""

from __future__ import annotations

import importlib.resources
import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faultlab.checker.tla.errors import TLAError
from faultlab.checker.tla.runner import TLCResult, run_tlc
from faultlab.checker.tla.values import tla_string

__all__ = ["TraceVerdict", "read_trace", "check_trace", "trace_module", "SPEC_DIR",
           "MAPPINGS"]

SPEC_DIR = Path(str(importlib.resources.files("faultlab.spec")))
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_REACHED = re.compile(r'<<"faultlab-reached", (\d+)>>')


def read_trace(source: str | Path | Iterable[str]) -> tuple[dict[str, Any], list[dict]]:
    """The header and the step lines of a trace (a path, or an iterable of JSON lines)."""
    name = str(source) if isinstance(source, (str, Path)) else "<trace>"
    if isinstance(source, (str, Path)):
        try:
            data = Path(source).read_bytes()
        except OSError as e:
            raise TLAError(f"cannot read trace {source}: {e.strerror or e}") from None
        try:
            text = data.decode("utf-8").splitlines()
        except UnicodeDecodeError as e:
            line = data[:e.start].count(b"\n") + 1
            raise TLAError(f"{name}:{line}: not UTF-8 text ({e.reason})") from None
    else:
        text = list(source)
    rows: list[dict] = []
    for n, raw in enumerate(text, 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as e:
            raise TLAError(f"{name}:{n}: not JSON ({e.msg})") from None
        except ValueError as e:  # an integer of more digits than Python converts
            raise TLAError(f"{name}:{n}: not JSON ({e})") from None
        except RecursionError:
            raise TLAError(f"{name}:{n}: JSON nested too deeply") from None
        if not isinstance(row, dict):
            raise TLAError(f"{name}:{n}: a trace line must be a JSON object")
        if _depth(row) > MAX_DEPTH:
            raise TLAError(f"{name}:{n}: nested more than {MAX_DEPTH} levels deep (a World "
                           "trace's states are a few levels)")
        rows.append(row)
    if not rows or "faultlab_trace" not in rows[0]:
        raise TLAError(f"{name}: not a faultlab trace (no header line with 'faultlab_trace')")
    header, lines = rows[0], rows[1:]
    if header["faultlab_trace"] != 1 or type(header["faultlab_trace"]) is not int:
        raise TLAError(f"{name}: trace format {header['faultlab_trace']!r} is not supported")
    nodes = header.get("nodes")
    if not (isinstance(nodes, list) and nodes and all(isinstance(x, str) for x in nodes)):
        raise TLAError(f"{name}:1: the header's 'nodes' must be a list of node names")
    if not lines:
        raise TLAError(f"{name}: the trace has no steps (not even the initial state)")
    for n, row in enumerate(lines, 2):
        _check_line(row, nodes, f"{name}:{n}")
    return header, lines


def _check_line(row: dict, nodes: list[str], where: str) -> None:
    """The fields every step line has, of the types impl/tools/trace.py writes."""
    step, states = row.get("step"), row.get("states")
    if not (isinstance(step, list) and step and isinstance(step[0], str)):
        raise TLAError(f"{where}: 'step' must be a list [op, args...]")
    if not isinstance(states, dict) or sorted(states) != sorted(nodes):
        raise TLAError(f"{where}: 'states' must map each of the header's nodes "
                       f"({', '.join(nodes)}) to its state")
    if any(s is not None and not isinstance(s, dict) for s in states.values()):
        raise TLAError(f"{where}: a node's state must be an object (or null when crashed)")
    if "event" in row and not isinstance(row["event"], dict):
        raise TLAError(f"{where}: 'event' must be an object")
    if "lost" in row and not (isinstance(row["lost"], list)
                              and all(isinstance(x, dict) for x in row["lost"])):
        raise TLAError(f"{where}: 'lost' must be a list of messages")


MAX_DEPTH = 64  # far beyond a trace's states, far below what the TLA+ translation recurses


def _depth(v: Any) -> int:
    """How deeply lists and objects nest in ``v`` (without recursion)."""
    deepest, todo = 0, [(v, 1)]
    while todo:
        x, d = todo.pop()
        if isinstance(x, (list, dict)):
            deepest = max(deepest, d)
            if d <= MAX_DEPTH:
                todo.extend((y, d + 1) for y in (x.values() if isinstance(x, dict) else x))
    return deepest - 1 if deepest else 0


# ---------------------------------------------------------------------------- TLA+ values


def value(v: Any) -> str:
    """TLA+ text of a JSON value from a trace: null is the spec's Nil, lists are tuples,
    objects are records (or functions when a key is not an identifier)."""
    if v is None:
        return "Nil"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return tla_string(repr(v))  # TLC has no reals: an opaque, consistent value
    if isinstance(v, str):
        return tla_string(v)
    if isinstance(v, (list, tuple)):
        return "<<" + ", ".join(value(x) for x in v) + ">>"
    if isinstance(v, dict):
        if not v:
            return "<<>>"
        if all(isinstance(k, str) and _IDENT.fullmatch(k) for k in v):
            return "[" + ", ".join(f"{k} |-> {value(x)}" for k, x in v.items()) + "]"
        return function(v)
    raise TLAError(f"no TLA+ form for {v!r} in the trace")


_interned: dict[str, str] = {}


def opaque(v: Any) -> str:
    """An application value (a command, a proposed value) as one TLA+ string: the specs
    only compare such values, and TLC refuses to compare an integer with a string. Long
    values are interned as ``#<n>:<prefix>`` (the lab tests propose 5 kB commands, and every
    trace line repeats every log)."""
    if v is None:
        return "Nil"
    text = json.dumps(v, sort_keys=True, separators=(",", ":"))
    if len(text) > 40:
        text = _interned.setdefault(text, f"#{len(_interned)}:{text[:16]}")
    return tla_string(text)


def entries(log: list) -> str:
    """A Raft log (``[[term, command], ...]``) as a TLA+ sequence of <<term, command>>."""
    return "<<" + ", ".join(f"<<{value(t)}, {opaque(c)}>>" for t, c in log) + ">>"


def function(d: dict, key: Any = None) -> str:
    """A TLA+ function (``k :> v @@ ...``) of a dict; ``key`` converts the keys."""
    if not d:
        return "<<>>"
    conv = key or value
    return "(" + " @@ ".join(f"{conv(k)} :> {value(x)}" for k, x in d.items()) + ")"


def record(fields: dict[str, str]) -> str:
    """A TLA+ record from already converted field texts."""
    return "[" + ", ".join(f"{k} |-> {x}" for k, x in fields.items()) + "]"


class Shared:
    """Named definitions for the values a trace repeats: every line logs every server's whole
    state, and a state seldom changes from one line to the next (the 5,456-step Paxos
    partition trace made a 60 MB module that SANY took minutes to read). ``share(text)``
    gives a name ``TV<n>`` defined as ``text`` once (TLC evaluates a constant definition
    once); short texts stay as they are."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.defs: list[str] = []
        self.states: dict[str, str] = {}             # a server state's JSON -> its text
        self.last: dict[str, tuple[Any, str]] = {}   # server -> its last state and text

    def __call__(self, text: str) -> str:
        if len(text) <= 16:
            return text
        name = self.names.get(text)
        if name is None:
            name = self.names[text] = f"TV{len(self.defs)}"
            self.defs.append(f"{name} == {text}\n")
        return name

    def text(self) -> str:
        return "".join(self.defs)


# ---------------------------------------------------------------------------- mappings


@dataclass
class Mapping:
    """How one system's trace lines become TraceLog records (subclasses per system)."""

    system: str
    module: str                            # spec/Trace<System>.tla
    message_types: frozenset[str]
    unlogged_fields: frozenset[str] = frozenset()  # message fields the spec does not model
    drops_lost: bool = False  # the trace module takes a line's ``lost`` messages out of the bag

    def field(self, name: str, v: Any) -> str:
        """TLA+ text of one message field."""
        return value(v)

    def message(self, ev: dict) -> str:
        fields = {k: self.field(k, x) for k, x in ev["fields"].items()
                  if k not in self.unlogged_fields}
        return record({"type": tla_string(ev["type"]), "src": tla_string(ev["src"]),
                       "dst": tla_string(ev["dst"]), **fields})

    def event(self, line: dict) -> dict[str, str]:
        """The logged step as record fields: kind, node and the step's arguments."""
        step, ev = line["step"], line.get("event")
        op = step[0] if step else "?"
        kind = "other"
        out: dict[str, str] = {}
        if op == "deliver" and ev and ev.get("kind") == "message":
            kind, out["node"], out["msg"] = "deliver", tla_string(ev["dst"]), self.message(ev)
        elif op == "deliver":
            kind = "lost"     # lost on arrival (dead incarnation, cut link)
        elif op == "fire" and ev and ev.get("kind") == "timer":
            kind, out["node"], out["name"] = "timer", tla_string(ev["node"]), tla_string(
                ev["name"])
            out.update(self.timer_args(ev["name"]))
        elif op == "fire" and ev and ev.get("kind") == "send-failed":
            kind, out["node"] = "sendfailed", tla_string(ev["node"])
            if "fields" in ev:  # the request that failed (older traces do not say)
                out["msg"] = self.message({**ev, "src": ev["node"]})
        elif op == "duplicate" and ev:
            kind, out["msg"] = "duplicate", self.message(ev)
        elif op in ("crash", "restart") and len(step) > 1:
            kind, out["node"] = op, tla_string(step[1])
        elif op == "start" and len(step) > 2:
            kind, out["node"], out["command"] = "start", tla_string(step[1]), opaque(step[2])
        return {"kind": tla_string(kind), "op": tla_string(str(op)), **out}

    def timer_args(self, name: str) -> dict[str, str]:
        return {}

    def state(self, st: Any, share: Shared) -> str:
        """TLA+ text of one server's logged state (parts may be ``share``d)."""
        raise NotImplementedError

    def line(self, line: dict, servers: list[str], share: Shared) -> str:
        states = line["states"]
        texts = []
        for s in servers:
            st = states.get(s)
            last = share.last.get(s)  # most lines repeat most states: compare before encoding
            if last is None or last[0] != st:
                key = json.dumps(st, sort_keys=True)
                text = share.states.get(key)
                if text is None:
                    text = share.states[key] = share(self.state(st, share))
                last = share.last[s] = (st, text)
            texts.append(f"{tla_string(s)} :> {last[1]}")
        fields = {**self.event(line), "st": share("(" + " @@ ".join(texts) + ")")}
        lost = [self.message(m) for m in line.get("lost", ())
                if m["type"] in self.message_types]
        if lost and self.drops_lost:
            fields["lost"] = "<<" + ", ".join(lost) + ">>"
        return record(fields)

    def constants(self, header: dict, lines: list[dict]) -> tuple[str, str]:
        """(TLA+ definitions, cfg CONSTANTS lines) for the spec's own constants."""
        raise NotImplementedError


class RaftMapping(Mapping):
    def __init__(self) -> None:
        super().__init__("raft", "TraceRaft", frozenset({
            "RequestVote", "RequestVoteReply", "AppendEntries", "AppendEntriesReply",
            "InstallSnapshot", "InstallSnapshotReply"}), frozenset({"data"}), drops_lost=True)

    def field(self, name: str, v: Any) -> str:
        if name == "entries":
            return entries(v)
        return opaque(v) if name == "command" else value(v)

    LOG_BLOCK = 32

    def log(self, log: list, snapshot_index: int, share: Shared) -> str:
        """The log after the snapshot as shared blocks of entries, cut at absolute indexes
        that are multiples of LOG_BLOCK: servers' logs and a log's successive versions
        (appended to, compacted at the front) share all but their last block."""
        if len(log) <= self.LOG_BLOCK:
            return entries(log)
        first = self.LOG_BLOCK - snapshot_index % self.LOG_BLOCK   # entries to the first cut
        cuts = range(first, len(log), self.LOG_BLOCK)
        bounds = zip([0, *cuts], [*cuts, len(log)], strict=True)
        return " \\o ".join(share(entries(log[a:b])) for a, b in bounds if a < b)

    def state(self, st: Any, share: Shared) -> str:
        if st is None:
            return "[up |-> FALSE]"
        try:
            return record({
                "up": "TRUE", "term": value(st["term"]), "role": value(st["role"]),
                "voted_for": value(st["voted_for"]),
                "log": self.log(st["log"], st["snapshot_index"], share),
                "snapshot_index": value(st["snapshot_index"]),
                "snapshot_term": value(st["snapshot_term"]),
                "commit_index": value(st["commit_index"]),
                "votes": "{" + ", ".join(value(v) for v in st["votes"]) + "}",
                "next_index": function(st.get("next_index") or {}, tla_string),
                "match_index": function(st.get("match_index") or {}, tla_string),
            })
        except (KeyError, TypeError) as e:
            raise TLAError(f"a Raft state lacks the field {e} (abstract_state of "
                           "impl/raft is expected)") from None

    def constants(self, header: dict, lines: list[dict]) -> tuple[str, str]:
        servers = header["nodes"]
        defs = (f"TraceServer == {{{', '.join(tla_string(s) for s in servers)}}}\n"
                "TraceValues == {}\n")
        cfg = ("    Server <- TraceServer\n    Values <- TraceValues\n    Nil = Nil\n"
               "    MaxEntries = 256\n")
        return defs, cfg


class PaxosMapping(Mapping):
    def __init__(self) -> None:
        super().__init__("paxos", "TracePaxos", frozenset({
            "PaxosPrepare", "PaxosPrepareReply", "PaxosAccept", "PaxosAcceptReply",
            "PaxosDecided", "PaxosDecidedAck"}), frozenset({"done", "floor"}))

    def field(self, name: str, v: Any) -> str:
        return opaque(v) if name == "value" else value(v)

    def timer_args(self, name: str) -> dict[str, str]:
        m = re.fullmatch(r"paxos:propose:(-?\d+)", name)
        return {"seq": m.group(1)} if m else {}

    def state(self, st: Any, share: Shared) -> str:
        if st is None:
            return "[up |-> FALSE]"
        try:
            acc = {int(s): a for s, a in st["acceptor"].items()}
            dec = {int(s): v for s, v in st["decided"].items()}
            pro = {int(s): p for s, p in st["proposer"].items()}
            floor = st.get("floor", 0)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise TLAError(f"a Paxos state lacks or garbles {e} (abstract_state of "
                           "impl/paxos is expected)") from None
        if floor:
            raise TLAError("the trace forgets instances (Done/floor > 0): forgetting is not "
                           "modelled by spec/paxos.tla")
        def fn(d: dict[int, str]) -> str:
            if not d:
                return "<<>>"
            return share("(" + " @@ ".join(f"{k} :> {share(x)}" for k, x in d.items()) + ")")

        return record({
            "up": "TRUE",
            "acceptor": fn({k: record({"promised": value(a["promised"]),
                                       "accepted": value(a["accepted"]),
                                       "value": opaque(a["value"])}) for k, a in acc.items()}),
            "decided": fn({k: opaque(v) for k, v in dec.items()}),
            "proposer": fn({k: record({"ballot": value(p["ballot"]), "phase": value(p["phase"]),
                                       "value": opaque(p["value"])}) for k, p in pro.items()}),
        })

    def constants(self, header: dict, lines: list[dict]) -> tuple[str, str]:
        peers = header["nodes"]
        seqs: set[str] = set()
        raw: dict[Any, Any] = {}   # distinct values, first seen first (opaque numbers them)

        def see(v: Any) -> None:
            if v is not None:
                raw.setdefault((type(v).__name__, v if isinstance(v, (str, int, float))
                                else json.dumps(v, sort_keys=True)), v)

        last: dict[str, Any] = {}
        for ln in lines:
            for name, st in ln["states"].items():
                if not st or last.get(name) == st:
                    continue
                last[name] = st
                for part in ("acceptor", "decided", "proposer"):
                    seqs.update(st.get(part, {}))
                for a in st.get("acceptor", {}).values():
                    see(a.get("value"))
                for v in st.get("decided", {}).values():
                    see(v)
                for p in st.get("proposer", {}).values():
                    see(p.get("value"))
        vals = dict.fromkeys(opaque(v) for v in raw.values())
        defs = (f"TracePeers == <<{', '.join(tla_string(p) for p in peers)}>>\n"
                f"TraceSeqs == {{{', '.join(str(s) for s in sorted(int(x) for x in seqs))}}}\n"
                f"TraceValues == {{{', '.join(vals)}}}\n")
        cfg = ("    Peers <- TracePeers\n    Seqs <- TraceSeqs\n    Values <- TraceValues\n"
               "    Nil = Nil\n")
        return defs, cfg


MAPPINGS: dict[str, Mapping] = {"raft": RaftMapping(), "paxos": PaxosMapping()}


# ---------------------------------------------------------------------------- checking


@dataclass
class TraceVerdict:
    """The outcome of a trace check."""

    ok: bool
    system: str
    steps: int                       # step lines in the trace (after the initial state)
    matched: int                     # lines matched (the initial state counts as one)
    seconds: float
    distinct: int = 0
    first_bad: int | None = None     # the ``i`` of the first line no behaviour matches
    logged_step: Any = None
    logged_event: Any = None
    state_before: dict | None = None  # logged states around the unmatched step
    state_after: dict | None = None
    spec_state: str | None = None    # the spec's state before it (TLC's printing)
    tlc: TLCResult | None = field(default=None, repr=False)

    def report(self) -> str:
        if self.ok:
            return (f"trace conforms to spec/{self.system}.tla: {self.steps} steps matched "
                    f"({self.distinct} TLC states, {self.seconds:.1f}s)")
        out = [f"trace does NOT conform to spec/{self.system}.tla: no behaviour matches step "
               f"i={self.first_bad} (the {self.matched} lines before it match)",
               f"  logged step:  {json.dumps(self.logged_step)}"]
        if self.logged_event:
            out.append(f"  event:        {json.dumps(self.logged_event)}")
        out.append(f"  states before: {json.dumps(self.state_before, sort_keys=True)}")
        out.append(f"  states after:  {json.dumps(self.state_after, sort_keys=True)}")
        if self.spec_state:
            out.append("  spec state before the step:")
            out += ["    " + ln for ln in self.spec_state.splitlines()]
        return "\n".join(out)


def trace_module(system: str, header: dict, lines: list[dict],
                 name: str = "TraceRun") -> tuple[str, str]:
    """(module text, cfg text) of the trace module for ``lines`` (step lines, init first).

    The module is ``spec/Trace<System>.tla`` with its ``CONSTANT TraceLog`` replaced by the
    trace itself: TLC evaluates a defined constant once, but re-evaluates a constant
    substituted from the cfg (``<-``) at every use, which made long traces crawl.
    """
    mapping = MAPPINGS[system]
    servers = list(header["nodes"])
    _interned.clear()
    try:
        defs, consts = mapping.constants(header, lines)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        raise TLAError(f"the trace does not fit the {system} mapping: {_why(e)}") from None
    share = Shared()
    rows = []
    for k, ln in enumerate(lines):
        try:
            rows.append(mapping.line(ln, servers, share))
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
            raise TLAError(f"trace line i={ln.get('i', k)}: does not fit the {system} "
                           f"mapping (spec/README.md): {_why(e)}") from None
    data = ",\n  ".join(rows)
    defs += share.text()
    template = (SPEC_DIR / f"{mapping.module}.tla").read_text()
    head = f"MODULE {mapping.module}"
    if head not in template or "\nCONSTANT TraceLog\n" not in template:
        raise TLAError(f"spec/{mapping.module}.tla lacks 'MODULE {mapping.module}' or a "
                       "'CONSTANT TraceLog' line")
    module = template.replace(head, f"MODULE {name}", 1).replace(
        "\nCONSTANT TraceLog\n",
        f"\n\\* generated by checker/tla/trace.py from a {system} trace (seed "
        f"{header.get('seed')})\n{defs}TraceLog == <<\n  {data}\n>>\n", 1)
    cfg = f"CONSTANTS\n{consts}INIT TraceInit\nNEXT TraceNext\n"
    return module, cfg


def _why(e: Exception) -> str:
    return f"missing field {e}" if isinstance(e, KeyError) else f"{type(e).__name__}: {e}"


def _spec_files(system: str) -> dict[str, str | Path]:
    return {f"{system}.tla": SPEC_DIR / f"{system}.tla"}


def check_trace(
    system: str,
    source: str | Path | Iterable[str],
    *,
    timeout: float = 120.0,
    workers: int = 1,
    explain: bool = True,
    jar: Path | None = None,
) -> TraceVerdict:
    """Check a trace against ``spec/<system>.tla`` with TLC (``jar``: a tla2tools.jar other
    than :func:`~faultlab.checker.tla.runner.find_jar`'s); see the module docstring."""
    if system not in MAPPINGS:
        raise TLAError(f"unknown system {system!r}: one of {', '.join(sorted(MAPPINGS))}")
    header, lines = read_trace(source)
    if header.get("system") not in (None, system):
        raise TLAError(f"this is a {header.get('system')} trace, not a {system} trace")
    module, cfg = trace_module(system, header, lines)
    files = {**_spec_files(system), "TraceRun.tla": module}
    start = time.monotonic()
    res = run_tlc("TraceRun", files, cfg, workers=workers, timeout=timeout, jar=jar)
    if res.errors:
        raise TLAError(f"TLC could not check the trace ({res.tlc_label}): "
                       + "; ".join(res.errors))
    seconds = time.monotonic() - start
    n = len(lines)
    reached = max((int(m.group(1)) for p in res.prints for m in [_REACHED.search(p)] if m),
                  default=1 if res.distinct else 0)
    if reached == n:
        return TraceVerdict(True, system, n - 1, n, seconds, res.distinct, tlc=res)
    bad = lines[reached] if reached < n else lines[-1]
    before = lines[reached - 1]["states"] if reached >= 1 else None
    verdict = TraceVerdict(False, system, n - 1, reached, seconds, res.distinct,
                           first_bad=bad.get("i", reached), logged_step=bad.get("step"),
                           logged_event=bad.get("event"), state_before=before,
                           state_after=bad.get("states"), tlc=res)
    if explain and reached >= 1:
        cfg2 = cfg + "INVARIANT TraceBefore\n"
        module2 = module.replace("\nTraceNotDone ==", f"\nTraceBefore == l < {reached}\n"
                                 "TraceNotDone ==", 1)
        try:
            res2 = run_tlc("TraceRun", {**files, "TraceRun.tla": module2}, cfg2,
                           workers=workers, timeout=timeout, jar=jar)
            if res2.counterexample:
                verdict.spec_state = res2.counterexample[-1].raw
        except TLAError:
            pass  # the explanation is a courtesy; the verdict stands without it
    verdict.seconds = time.monotonic() - start
    return verdict
