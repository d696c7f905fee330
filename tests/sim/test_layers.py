"""The layers of DESIGN.md, checked on the source: the runtime (faultlab.sim) knows no tool,
no checker and no lab; the checker knows nothing of faultlab outside itself."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import faultlab
import faultlab.checker
import faultlab.sim

LABS = ("mr", "pb", "paxos", "raft", "kv", "kvsrv", "shard")


def _modules(package: object) -> Iterator[tuple[str, Path]]:
    """(dotted name, path) of every module in ``package``'s folder, subpackages included."""
    root = Path(package.__file__).parent  # type: ignore[attr-defined]
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join([package.__name__, *parts]), path  # type: ignore[attr-defined]


def _imports(module: str, path: Path) -> set[str]:
    """Every module ``path`` imports (relative imports resolved, importlib.import_module
    calls with a literal name included), at any depth of the file."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.add(node.args[0].value)
    return found


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_the_runtime_imports_no_tool_checker_or_lab():
    forbidden = ["faultlab.checker", "faultlab.tools", *(f"faultlab.{lab}" for lab in LABS)]
    bad = [(module, name) for module, path in _modules(faultlab.sim)
           for name in sorted(_imports(module, path))
           if any(_within(name, f) for f in forbidden)]
    assert not bad, f"faultlab.sim imports above its layer: {bad}"


def test_the_checker_imports_nothing_of_faultlab_outside_itself():
    bad = [(module, name) for module, path in _modules(faultlab.checker)
           for name in sorted(_imports(module, path))
           if _within(name, "faultlab") and not _within(name, "faultlab.checker")]
    assert not bad, f"faultlab.checker imports other faultlab modules: {bad}"


def test_no_module_imports_a_private_name_of_another():
    modules = [*_modules(faultlab), *_modules(faultlab.checker)]
    bad = []
    for module, path in modules:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith(
                    "faultlab")):
                bad += [(module, alias.name) for alias in node.names
                        if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert not bad, f"private names imported across modules: {bad}"


def test_the_import_parser_sees_relative_and_absolute_imports(tmp_path: Path):
    source = tmp_path / "mod.py"
    source.write_text("from ..history import Operation\nimport faultlab.raft\n"
                      "def f():\n    from faultlab.tools import explore\n"
                      "    importlib.import_module('faultlab.pb.demo')\n")
    found = _imports("faultlab.checker.formats.mod", source)
    assert {"faultlab.checker.history", "faultlab.raft", "faultlab.tools",
            "faultlab.pb.demo"} <= found
