"""The command line: help, one-line errors for user mistakes, a deterministic demo."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from faultlab.cli import main


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "faultlab.cli", *args], capture_output=True,
                          text=True, timeout=300)


def test_help_lists_the_subcommands():
    out = run("--help")
    assert out.returncode == 0
    for command in ("demo", "explore", "replay", "check"):
        assert re.search(rf"^\s+{command}\s", out.stdout, re.M), out.stdout


@pytest.mark.parametrize("args, problem", [
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["demo", "--seed", "many"], "invalid int value: 'many'"),
    (["demo", "--only", "nothing"], "invalid choice: 'nothing'"),
    (["replay"], "the following arguments are required: file"),
    (["replay", "/no/such/file.json"], "no such file"),
    (["check", "/no/such/history.jsonl"], "cannot read"),
    (["explore", "nothing-like-this"], "unknown machine"),
])
def test_user_mistakes_are_one_line_errors_without_traceback(args, problem):
    out = run(*args)
    assert out.returncode != 0
    assert out.stdout == ""
    assert out.stderr.startswith("faultlab: error: ") and out.stderr.count("\n") == 1
    assert problem in out.stderr and "Traceback" not in out.stderr


def test_no_subcommand_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_demo_prints_its_seed_and_is_deterministic():
    def table(out: str) -> str:  # wall-clock figures differ between runs; nothing else may
        out = re.sub(r"\d+\.\ds wall", "", out)
        # but the rows of real processes: they run in real time, their counts are the machine's
        out = re.sub(r"(?s)\[\w+\] kv as (3 )?real processes.*?(?=\n\[|\n\n)",
                     lambda m: re.sub(r"\d+", "N", m.group(0)), out)
        return re.sub(r"[ -]+", " ", out)  # column widths follow the wall figures

    first, second = run("demo", "--seed", "11"), run("demo", "--seed", "11")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "seed 11" in first.stdout and "faultlab demo --seed 11" in first.stdout
    assert table(first.stdout) == table(second.stdout)
    assert "bug caught" in first.stdout
    wide = [line for line in first.stdout.splitlines() if len(line) > 100]
    assert not wide, wide  # it fits a 100-column terminal


def test_every_listed_machine_loads():
    from faultlab.tools.explore import WorldMachine
    from faultlab.tools.machines import MACHINES
    from faultlab.tools.replay import machine_class as _machine_class

    for name, (spec, _why) in MACHINES.items():
        assert issubclass(_machine_class(spec), WorldMachine), name


def test_each_command_is_registered_by_the_module_listed_for_it():
    # COMMANDS lets a command import only its own module: each entry must be right
    import importlib

    from faultlab.cli import COMMAND_MODULES, COMMANDS
    from faultlab.errors import ArgumentParser

    for command, module in COMMANDS.items():
        assert module in COMMAND_MODULES
        parser = ArgumentParser(prog="faultlab")
        sub = parser.add_subparsers(dest="command", parser_class=ArgumentParser)
        importlib.import_module(module).register(sub)
        assert command in sub.choices, (command, module)


def test_check_imports_only_what_it_needs(tmp_path):
    # start-up cost: `faultlab check` on a small file imports neither the explorers'
    # hypothesis nor the real cluster's asyncio, nor the TLA+ tools
    path = tmp_path / "h.jsonl"
    path.write_text('{"faultlab_history": 1, "model": "register"}\n'
                    '{"client": 0, "input": {"op": "write", "value": 1}, "output": null, '
                    '"call": 0, "return": 1}\n')
    code = ("import sys; from faultlab.cli import main; code = main(['check', sys.argv[1]]); "
            "print(sorted(m for m in ('hypothesis', 'asyncio', 'faultlab.tools.explore', "
            "'faultlab.checker.tla.trace', 'multiprocessing') if m in sys.modules)); "
            "sys.exit(code)")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [f"{path}: linearizable (1 ops, model register, format "
                                       f"jsonl, {out.stdout.split(', ')[-1].split()[0]} s)",
                                       "[]"]
