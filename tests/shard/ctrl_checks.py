"""What the shard controller tests check about configurations, shared by the lab ports and
the rebalance's property tests."""

from __future__ import annotations

from collections.abc import Iterable

from faultlab.shard.config import Config


def shards_gained(before: Config, after: Config, gids: Iterable[int]) -> list[int]:
    """Shards some group of ``gids`` holds in ``after`` but did not in ``before``. After
    joins, the groups already present gain nothing from a minimal rebalance (only the new
    ones do). The course's loops look at gids 1..10, which are not the groups present, so
    they never fail; these look at the gids given."""
    gids = set(gids)
    return [s for s, g in enumerate(after.shards) if g in gids and before.shards[s] != g]


def shards_lost(before: Config, after: Config, gids: Iterable[int]) -> list[int]:
    """Shards some group of ``gids`` held in ``before`` but not in ``after``. After leaves,
    the groups that stay lose nothing to a minimal rebalance."""
    gids = set(gids)
    return [s for s, g in enumerate(before.shards) if g in gids and after.shards[s] != g]


def same_config(a: Config, b: Config) -> str | None:
    """check_same_config: Num, Shards and Groups identical; the difference in words."""
    if a.num != b.num:
        return f"num {a.num} != {b.num}"
    if a.shards != b.shards:
        return f"shards {a.shards} != {b.shards}"
    if a.groups != b.groups:
        return f"groups {a.groups} != {b.groups}"
    return None
