"""Seeded bugs of Paxos, as subclasses of the correct peer: each is one classic mistake, and
the Hypothesis machine (faultlab.paxos.machine) must catch every one of them. The production
classes carry no bug flags; a machine passes one of these as ``paxos=`` to
:func:`faultlab.paxos.harness.build` (or to :class:`~faultlab.paxos.harness.Tester`).

* :class:`VolatilePromise`: phase-1 promises are not saved, so a restart forgets them.
* :class:`IgnoreAccepted`: the proposer proposes its own value even when a promise reports
  an accepted one.
* :class:`MiscountedMajority`: a majority is ``npeers // 2``.
"""

from __future__ import annotations

from typing import Any

from faultlab.paxos.acceptor import Acceptor, AcceptorInstance
from faultlab.paxos.peer import Paxos
from faultlab.paxos.proposer import Proposal, Proposer

__all__ = ["VolatilePromise", "IgnoreAccepted", "MiscountedMajority"]


class _VolatileAcceptor(Acceptor):
    def save_promise(self, seq: int, inst: AcceptorInstance) -> None:
        pass


class VolatilePromise(Paxos):
    acceptor_class = _VolatileAcceptor


class _IgnoreAcceptedProposer(Proposer):
    def choose_value(self, p: Proposal) -> Any:
        return p.value


class IgnoreAccepted(Paxos):
    proposer_class = _IgnoreAcceptedProposer


class MiscountedMajority(Paxos):
    def quorum(self) -> int:
        return self.npeers // 2
