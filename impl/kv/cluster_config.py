"""Who is in a real key/value cluster: node names and addresses, the engine, the cluster id.

A cluster is given either as a peer list on the command line, ``s0=10.0.0.1:7000,s1=...``,
or as a TOML file (read with the standard library), one line per node, so that the same
file serves every host::

    cluster = "prod-kv"       # every node and client must carry the same id
    engine = "raft"           # or "paxos"; every node must run the same
    maxraftstate = 65536      # optional: snapshot once the log's state reaches this many bytes

    [nodes]
    s0 = "10.0.0.1:7000"
    s1 = "10.0.0.2:7000"
    s2 = "10.0.0.3:7000"

A mistake in either form is a ValueError whose message names it (the command line shows it
as one line).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from faultlab.consensus import ENGINES

__all__ = ["ClusterConfig", "parse_peers", "load_config", "cluster_from", "format_peers",
           "DEFAULT_MAXRAFTSTATE"]

DEFAULT_MAXRAFTSTATE = 64 * 1024  # every save rewrites the log: keep it small
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z")


@dataclass(frozen=True)
class ClusterConfig:
    """A cluster: ``nodes`` maps each server's name to its (host, port)."""

    nodes: dict[str, tuple[str, int]]
    cluster: str = "faultlab"
    engine: str = "raft"
    maxraftstate: int = DEFAULT_MAXRAFTSTATE
    source: str = field(default="", compare=False)  # where it was read, for messages

    def __post_init__(self) -> None:
        where = f"{self.source}: " if self.source else ""
        if len(self.nodes) < 1:
            raise ValueError(f"{where}a cluster needs at least one node")
        if self.engine not in ENGINES:
            raise ValueError(f"{where}unknown engine {self.engine!r} "
                             f"(one of {', '.join(ENGINES)})")
        if not isinstance(self.maxraftstate, int) or self.maxraftstate < -1:
            raise ValueError(f"{where}maxraftstate must be an integer >= -1 (-1: never "
                             f"snapshot): {self.maxraftstate!r}")
        if not isinstance(self.cluster, str) or not _NAME.match(self.cluster):
            raise ValueError(f"{where}cluster id must be 1-64 letters, digits, '_', '.' "
                             f"or '-': {self.cluster!r}")

    @property
    def names(self) -> list[str]:
        """The servers in one order that every node and clerk agrees on."""
        return sorted(self.nodes)

    @property
    def tag(self) -> str:
        """What every connection's hello carries: nodes of another cluster, or of this
        cluster on another engine, refuse each other."""
        return f"{self.cluster}/kv-{self.engine}"

    def with_options(self, **changes: Any) -> ClusterConfig:
        """This config with the options given (those that are not None) changed."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _address(name: str, text: Any, where: str) -> tuple[str, int]:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"{where}node name {name!r}: use 1-64 letters, digits, '_', '.', '-'")
    if not isinstance(text, str):
        raise ValueError(f"{where}address of {name} must be a \"HOST:PORT\" string: {text!r}")
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{where}address of {name} is not HOST:PORT with a port in "
                         f"1..65535: {text!r}")
    return host.strip("[]"), int(port)


def parse_peers(text: str, where: str = "") -> dict[str, tuple[str, int]]:
    """``ID=HOST:PORT,ID=HOST:PORT,...`` as a dict of addresses."""
    where = f"{where}: " if where else ""
    nodes: dict[str, tuple[str, int]] = {}
    for item in text.split(","):
        name, sep, address = item.strip().partition("=")
        if not sep:
            raise ValueError(f"{where}{item.strip()!r} is not ID=HOST:PORT")
        if name in nodes:
            raise ValueError(f"{where}node {name} is listed twice")
        nodes[name] = _address(name, address, where)
    return nodes


def format_peers(nodes: dict[str, tuple[str, int]]) -> str:
    """The peer list that :func:`parse_peers` reads back."""
    return ",".join(f"{n}={h}:{p}" for n, (h, p) in sorted(nodes.items()))


def load_config(path: str | Path) -> ClusterConfig:
    """The cluster a TOML file describes (see the module docstring)."""
    where = str(path)
    try:
        raw = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ValueError(f"{where}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"{where}: cannot read it ({e})") from None
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{where}: not TOML ({e})") from None
    unknown = set(raw) - {"cluster", "engine", "maxraftstate", "nodes"}
    if unknown:
        raise ValueError(f"{where}: unknown setting {sorted(unknown)[0]!r} (known: cluster, "
                         f"engine, maxraftstate, [nodes])")
    table = raw.get("nodes")
    if not isinstance(table, dict) or not table:
        raise ValueError(f"{where}: no [nodes] table (one line per node: NAME = \"HOST:PORT\")")
    nodes = {name: _address(name, text, f"{where}: ") for name, text in table.items()}
    options = {k: raw[k] for k in ("cluster", "engine", "maxraftstate") if k in raw}
    return ClusterConfig(nodes, source=where, **options)


def cluster_from(text: str) -> ClusterConfig:
    """A ``--cluster`` or ``--peers`` argument: a TOML file's path, or a peer list."""
    if "=" not in text and (text.endswith(".toml") or Path(text).exists()):
        return load_config(text)
    return ClusterConfig(parse_peers(text, "--cluster"), source="--cluster")
