"""Partitions for real processes on one machine: a TCP proxy per directed link.

Server ``a`` reaches server ``b`` through the proxy of link ``(a, b)``: ``a``'s address book
gives that proxy's port for ``b``. :meth:`LinkProxies.cut` closes the link's connections and
refuses new ones (each is accepted and closed at once, as a peer that went away), so a
partition is the set of links cut between groups, one direction or both. Nothing else is
touched: the processes, their ports and their clients are as in production.

It runs in the caller's asyncio loop (a test or the nemesis drives it).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

__all__ = ["LinkProxies"]

Link = tuple[str, str]


class LinkProxies:
    """Proxies for every directed link among ``targets`` (name -> the server's own
    (host, port)); :meth:`start` binds them on 127.0.0.1."""

    def __init__(self, targets: dict[str, tuple[str, int]]) -> None:
        self.targets = dict(targets)
        self.ports: dict[Link, int] = {}
        self.cut_links: set[Link] = set()
        self._servers: list[asyncio.AbstractServer] = []
        self._open: dict[Link, set[asyncio.StreamWriter]] = {}

    async def start(self) -> LinkProxies:
        for a in self.targets:
            for b in self.targets:
                if a != b:
                    server = await asyncio.start_server(
                        lambda r, w, link=(a, b): self._accept(link, r, w), "127.0.0.1", 0)
                    self._servers.append(server)
                    self.ports[(a, b)] = server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for link in list(self._open):
            self._drop(link)

    def view(self, name: str) -> dict[str, tuple[str, int]]:
        """``name``'s address book: its own address, and the proxies to every other."""
        return {n: self.targets[n] if n == name else ("127.0.0.1", self.ports[(name, n)])
                for n in self.targets}

    # ------------------------------------------------------------------ faults

    def cut(self, links: Iterable[Link]) -> None:
        for link in links:
            self.cut_links.add(link)
            self._drop(link)

    def partition(self, *groups: Iterable[str]) -> None:
        """Cut every link between different groups, both ways; heal the rest."""
        side = {n: i for i, g in enumerate(groups) for n in g}
        self.heal()
        self.cut((a, b) for a, b in self.ports if side.get(a, -1) != side.get(b, -2))

    def heal(self) -> None:
        self.cut_links.clear()

    # ------------------------------------------------------------------ forwarding

    def _drop(self, link: Link) -> None:
        for w in self._open.pop(link, set()):
            w.close()

    async def _accept(self, link: Link, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        if link in self.cut_links:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.targets[link[1]])
        except OSError:
            writer.close()  # the server is down: so is the connection to it
            return
        ends = self._open.setdefault(link, set())
        ends.update((writer, up_writer))
        try:
            await asyncio.gather(_pump(reader, up_writer), _pump(up_reader, writer))
        except asyncio.CancelledError:
            pass  # the proxies are closing
        finally:
            for w in (writer, up_writer):
                ends.discard(w)
                w.close()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy bytes until either end closes; then close the other."""
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()
