"""One seed per test: derived from the test's name, or taken from ``FAULTLAB_SEED``.

A test's World seed must not change between runs (CI runs the same interleavings every time)
and must be printed with every failure, with the command that replays it. This is the one
derivation every lab's tests use.
"""

from __future__ import annotations

import os
import zlib

__all__ = ["SEED_ENV", "seed_for", "replay_hint"]

SEED_ENV = "FAULTLAB_SEED"


def seed_for(test_name: str) -> int:
    """``FAULTLAB_SEED`` when set, else a stable 31-bit hash of ``test_name``."""
    env = os.environ.get(SEED_ENV)
    if env:
        try:
            return int(env)
        except ValueError:
            raise ValueError(f"{SEED_ENV} must be an integer, not {env!r}") from None
    return zlib.crc32(test_name.encode()) % 2**31


def replay_hint(seeds: list[int], nodeid: str, *, parameter: bool = False) -> str:
    """What a failing test's report says: its World seeds and the command that replays it.

    ``parameter``: the seed is the test's own ``seed`` parameter, which the command (the
    test's id) already fixes; otherwise it came from :func:`seed_for`, and FAULTLAB_SEED
    replays it under any test name."""
    listed = ", ".join(str(s) for s in dict.fromkeys(seeds))
    env = "" if parameter else f"{SEED_ENV}={seeds[0]} "
    return f"World seed {listed}; replay with {env}python -m pytest '{nodeid}'"
