"""One row of the ``faultlab demo`` table, in a leaf module of its own.

Each lab's ``demo.py`` returns these rows; keeping the class here (importing nothing) lets a
lab build its rows without importing :mod:`faultlab.demo`, the command that runs every lab.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DemoRow"]


@dataclass
class DemoRow:
    """What one demo run drove, explored and checked, and whether it came out as expected."""

    system: str
    driver: str
    explored: str
    checked: str
    verdict: str
    ok: bool
