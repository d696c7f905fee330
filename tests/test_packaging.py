"""The installed distribution: one ``faultlab`` namespace, no generic top-level names.

The folders stay where the project keeps them (impl/, checker/, spec/); pyproject.toml maps
them to faultlab, faultlab.checker and faultlab.spec. These tests keep that mapping complete
(a new package folder that pyproject does not list would be missing from a wheel) and show
that an installed faultlab claims neither ``impl`` nor ``checker``.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"impl": "faultlab", "checker": "faultlab.checker", "spec": "faultlab.spec"}


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_package_dir_maps_the_top_level_folders_into_faultlab():
    assert _setuptools()["package-dir"] == {v: k for k, v in FOLDERS.items()}


def test_every_package_folder_is_listed():
    """Every folder holding Python files is a regular package (no namespace packages, which
    an editable install and a wheel resolve differently) and pyproject lists it."""
    expected = set()
    for folder, package in FOLDERS.items():
        for py in (ROOT / folder).rglob("*.py"):
            assert (py.parent / "__init__.py").is_file(), f"{py.parent} has no __init__.py"
            rel = py.parent.relative_to(ROOT / folder).parts
            expected.add(".".join((package, *rel)))
    assert set(_setuptools()["packages"]) == expected


@pytest.mark.parametrize("name", ["impl", "checker"])
def test_no_generic_top_level_module(tmp_path, name):
    """Run from an empty folder so the checkout itself is not on sys.path."""
    proc = subprocess.run([sys.executable, "-c", f"import {name}"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "ModuleNotFoundError" in proc.stderr


def test_faultlab_namespace_imports_from_anywhere(tmp_path):
    code = ("import faultlab.sim, faultlab.checker, faultlab.raft, faultlab.paxos, "
            "faultlab.tools.explore; from faultlab.checker.tla.trace import SPEC_DIR; "
            "assert (SPEC_DIR / 'raft.tla').is_file(), SPEC_DIR")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
