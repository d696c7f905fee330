"""README.md's promises, run: its example sessions print what the README shows, the command
table names only options the commands take, and the trace recording it describes works."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import hypothesis
import pytest
from faultlab.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"^```[a-z]*\n(.*?)^```", README, re.M | re.S)
SESSIONS = [b.splitlines() for b in BLOCKS if b.startswith("$ faultlab ")]
HYPOTHESIS_SHOWN = re.search(r"With Hypothesis (\d[\d.]*)", README)


def normal(line: str) -> str:
    """A line without what differs between runs: wall times and rates."""
    line = re.sub(r"\b\d[\d,]*(\.\d+)?s\b", "<time>", line)
    return re.sub(r"[\d,]+ (steps|states)/s", r"<rate> \1/s", line)


def pattern(line: str, loose: bool) -> re.Pattern:
    """A README line as a pattern: ``...`` stands for anything; ``loose``, numbers too."""
    parts = [re.escape(p) for p in normal(line).split("...")]
    text = ".*".join(parts)
    if loose:
        text = re.sub(r"\d+", r"\\d+", text)
    return re.compile(text)


def follows(shown: list[str], printed: list[str], loose: bool) -> None:
    """Every line the README shows is printed, in order (``...`` lines skip any)."""
    at = 0
    for line in shown:
        if line == "...":
            continue
        want = pattern(line, loose)
        while at < len(printed) and not want.fullmatch(normal(printed[at])):
            at += 1
        assert at < len(printed), f"README line not printed (in order): {line!r}\n" + \
            "\n".join(printed)
        at += 1


def run(command: str, cwd: Path) -> list[str]:
    args = shlex.split(command)[1:]
    r = subprocess.run([sys.executable, "-m", "faultlab.cli", *args], cwd=cwd,
                       capture_output=True, text=True, timeout=300,
                       env={k: v for k, v in os.environ.items() if k != "FAULTLAB_REPLAY_DIR"})
    assert "Traceback" not in r.stderr, r.stderr
    return r.stdout.splitlines()


def test_the_readme_has_its_example_sessions():
    assert [s[0] for s in SESSIONS] == ["$ faultlab explore register-bug-early-ack --seed 1",
                                        "$ faultlab search register-bug-early-ack"]
    assert HYPOTHESIS_SHOWN is not None


@pytest.mark.parametrize("session", SESSIONS, ids=[s[0][2:] for s in SESSIONS])
def test_an_example_session_prints_what_the_readme_shows(session, tmp_path):
    printed = run(session[0][2:], tmp_path)
    shown = session[1:]
    exact = "explore" not in session[0] or hypothesis.__version__ == HYPOTHESIS_SHOWN.group(1)
    if exact:
        follows(shown, printed, loose=False)
        return
    # another Hypothesis: another failure found; the same kind of report, numbers aside
    steps = re.compile(r" +\d+\. ")
    follows([ln for ln in shown if not steps.match(ln)], printed, loose=True)
    assert any(steps.match(ln) for ln in printed)


def command_lines() -> list[str]:
    """The ``faultlab ...`` lines of the README's command table and TLA+ block."""
    lines = []
    for block in BLOCKS:
        for line in block.splitlines():
            if line.startswith("faultlab ") and not line.startswith("faultlab --help"):
                lines.append(line.split("  ")[0].split("#")[0].strip())
    return lines


def help_of(words: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as e:
        main([*words, "--help"])
    assert e.value.code == 0
    return capsys.readouterr().out


def test_every_command_and_option_the_readme_lists_exists(capsys):
    lines = command_lines()
    assert len(lines) >= 10, lines
    for line in lines:
        tokens = line.split()[1:]
        words = [t for t in tokens if re.fullmatch(r"[a-z][a-z-]*", t)]
        if "|" in tokens:  # faultlab mr simulate | sequential | ...: each of them
            groups = [[words[0], w] for w in words[1:]]
        else:
            two = words[:1] in (["mr"], ["spec"], ["trace"], ["kv"])
            groups = [words[:2] if two else words[:1]]
        for group in groups:
            text = help_of(group, capsys)
            for option in re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", line):
                assert option in text, f"{line!r}: {' '.join(group)} has no {option}"


def tlc_available() -> bool:
    from faultlab.checker.tla.runner import find_jar

    try:
        find_jar()
    except Exception:
        return False
    return subprocess.run(["java", "-version"], capture_output=True).returncode == 0


@pytest.mark.skipif(not tlc_available(), reason="no TLC (tla2tools.jar and java 17)")
def test_the_trace_recording_the_readme_gives_works(tmp_path):
    block = next(b for b in BLOCKS if "FAULTLAB_TRACE_DIR=traces" in b).splitlines()
    for record, check in zip(block[::2], block[1::2], strict=True):
        var, _, rest = record.partition("=")
        folder, _, command = rest.partition(" ")
        args = shlex.split(command)
        assert args[:3] == [".venv/bin/python", "-m", "pytest"]
        r = subprocess.run([sys.executable, *args[1:], "-q", "-p", "no:cacheprovider"],
                           cwd=ROOT, capture_output=True, text=True, timeout=600,
                           env={**os.environ, var: str(tmp_path / folder)})
        assert r.returncode == 0, r.stdout + r.stderr
        system, trace = shlex.split(check)[3:5]
        (path,) = (tmp_path / folder).glob(Path(trace).name)
        out = subprocess.run([sys.executable, "-m", "faultlab.cli", "trace", "check", system,
                              str(path)], capture_output=True, text=True, timeout=600)
        assert out.returncode == 0 and f"trace conforms to spec/{system}.tla" in out.stdout, \
            out.stdout + out.stderr
