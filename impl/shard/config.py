"""Configurations: which replica group serves each shard, and how the controller rebalances.

A :class:`Config` is numbered; configuration 0 has no groups and every shard on gid 0 (no
group). Keys map to shards by their first byte (:func:`key2shard`, the labs' rule), so the
keys "0".."9" cover the ten shards.

:func:`rebalance` spreads the shards over the groups as evenly as possible (the largest and
the smallest share differ by at most one) while moving as few shards as possible: a shard
moves only if its group left, or its group holds more than its share. Every choice is made
in a fixed order (groups by current share then gid, shards by number), so every replica that
applies the same Join or Leave computes the same configuration.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from faultlab.sim.messages import message

__all__ = ["NSHARDS", "Config", "key2shard", "rebalance", "initial_config"]

NSHARDS = 10

Groups = tuple[tuple[int, tuple[str, ...]], ...]


@message
class Config:
    """Configuration ``num``: ``shards[s]`` is the gid serving shard ``s`` (0: none);
    ``groups`` pairs each gid with its servers' names, sorted by gid."""

    num: int
    shards: tuple[int, ...]
    groups: Groups = ()

    def servers(self, gid: int) -> tuple[str, ...]:
        """The servers of group ``gid`` (empty when it is not in this configuration)."""
        for g, names in self.groups:
            if g == gid:
                return names
        return ()

    def gids(self) -> list[int]:
        return [g for g, _ in self.groups]

    def shards_of(self, gid: int) -> list[int]:
        return [s for s, g in enumerate(self.shards) if g == gid]

    def as_dict(self) -> dict:
        """The labs' Config as JSON-able values (Num, Shards, Groups)."""
        return {"num": self.num, "shards": list(self.shards),
                "groups": {str(g): list(names) for g, names in self.groups}}


def initial_config() -> Config:
    return Config(0, (0,) * NSHARDS, ())


def key2shard(key: str) -> int:
    """The shard of ``key``: its first byte modulo NSHARDS (0 for the empty key)."""
    data = key.encode()
    return data[0] % NSHARDS if data else 0


def groups_of(groups: Mapping[int, Iterable[str]]) -> Groups:
    """The canonical (sorted) form of a gid -> servers mapping."""
    return tuple((int(g), tuple(names)) for g, names in sorted(groups.items()))


def rebalance(shards: Sequence[int], gids: Iterable[int]) -> tuple[int, ...]:
    """The shard assignment after the group set became ``gids`` (see the module docstring)."""
    gids = sorted(set(gids))
    if not gids:
        return (0,) * len(shards)
    held: dict[int, list[int]] = {g: [] for g in gids}
    free: list[int] = []
    for s, g in enumerate(shards):
        (held[g] if g in held else free).append(s)
    base, extra = divmod(len(shards), len(gids))
    # The groups holding most keep the larger shares: that moves the fewest shards.
    order = sorted(gids, key=lambda g: (-len(held[g]), g))
    target = {g: base + (1 if i < extra else 0) for i, g in enumerate(order)}
    for g in gids:
        while len(held[g]) > target[g]:
            free.append(held[g].pop())
    free.sort()
    result = list(shards)
    for g in gids:
        while len(held[g]) < target[g]:
            s = free.pop(0)
            held[g].append(s)
            result[s] = g
    return tuple(result)


def balanced(config: Config) -> bool:
    """Every shard has a group and no group holds two more than another (when there are
    groups at all)."""
    gids = config.gids()
    if not gids:
        return all(g == 0 for g in config.shards)
    counts = [len(config.shards_of(g)) for g in gids]
    return 0 not in config.shards and max(counts) - min(counts) <= 1


def transition_problems(before: Config, after: Config) -> list[str]:
    """What a correct controller never does between consecutive configurations: with the
    same groups, either a Move (one shard at most) or a rebalance (a Join of a group already
    there) that leaves them balanced; a Join or Leave leaves the shards balanced and, from a
    balanced configuration, moves only shards of groups that left or to groups that joined
    (the labs' minimal transfers)."""
    moved = [s for s in range(NSHARDS) if before.shards[s] != after.shards[s]]
    old, new = set(before.gids()), set(after.gids())
    if old == new:
        if len(moved) > 1 and not balanced(after):
            return [f"configuration {after.num}: a Move moved shards {moved}"]
        return []
    problems = [] if balanced(after) else [f"configuration {after.num} is not balanced: "
                                           f"{after.shards}"]
    if balanced(before):
        extra = [s for s in moved if before.shards[s] in new and after.shards[s] in old]
        if extra:
            problems.append(f"configuration {after.num}: shards {extra} moved between groups "
                            f"that neither joined nor left")
    return problems
