"""The acceptor: the memory of Paxos (Lamport, "Paxos Made Simple", section 2.2).

Per instance it keeps the highest ballot it promised (``promised``), the highest ballot it
accepted (``accepted``) and the value accepted with it. It answers

* ``prepare(n)``: if ``n`` is above its promise, it promises ``n`` and reports its accepted
  ballot and value (phase 1b); otherwise it refuses and reports its promise;
* ``accept(n, v)``: if ``n`` is at least its promise, it accepts ``v`` at ``n`` (and promises
  ``n``); otherwise it refuses.

Safety rests on the acceptor never answering from a state older than one it answered from
before, so every change is written to the persister *before* the reply leaves (the host
:class:`~faultlab.paxos.peer.Paxos` saves, then replies). The 2015 lab kept this in memory only;
here a crashed and restarted acceptor remembers its promises.

Seeded bug :class:`faultlab.paxos.bugs.VolatilePromise`: its acceptor overrides
:meth:`Acceptor.save_promise` so promises made in phase 1 are not written to the persister
(only accepting writes the ballot), and a restart forgets them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from faultlab.paxos.messages import OK, REJECT

if TYPE_CHECKING:
    from faultlab.paxos.peer import Paxos

__all__ = ["Acceptor", "AcceptorInstance"]


@dataclass
class AcceptorInstance:
    promised: int = -1
    accepted: int = -1
    value: Any = None
    durable_promised: int = -1  # the promise as the persister has it

    def as_tuple(self) -> tuple[int, int, Any]:
        return (self.promised, self.accepted, self.value)


class Acceptor:
    def __init__(self, peer: Paxos) -> None:
        self.peer = peer
        self.instances: dict[int, AcceptorInstance] = {}

    def promised(self, seq: int) -> int:
        inst = self.instances.get(seq)
        return inst.promised if inst is not None else -1

    def prepare(self, seq: int, n: int) -> tuple[str, int, int, Any]:
        """Phase 1b: (status, promised, accepted ballot, accepted value). Saves first."""
        inst = self.instances.setdefault(seq, AcceptorInstance())
        if n <= inst.promised:
            return REJECT, inst.promised, inst.accepted, None
        inst.promised = n
        self.save_promise(seq, inst)
        return OK, n, inst.accepted, inst.value

    def save_promise(self, seq: int, inst: AcceptorInstance) -> None:
        """Make a phase-1 promise durable before it is answered."""
        inst.durable_promised = inst.promised
        self.peer.save(seq)

    def accept(self, seq: int, n: int, value: Any) -> tuple[str, int]:
        """Phase 2b: (status, promised). Saves before answering."""
        inst = self.instances.setdefault(seq, AcceptorInstance())
        if n < inst.promised:
            return REJECT, inst.promised
        inst.promised = inst.durable_promised = inst.accepted = n
        inst.value = value
        self.peer.save(seq)
        return OK, n

    def forget_below(self, floor: int) -> None:
        for seq in [s for s in self.instances if s < floor]:
            del self.instances[seq]

    # durable form: what the persister keeps for one instance
    def durable(self, seq: int) -> tuple[int, int, Any] | None:
        inst = self.instances.get(seq)
        if inst is None or (inst.durable_promised < 0 and inst.accepted < 0):
            return None
        return (inst.durable_promised, inst.accepted, inst.value)

    def restore(self, seq: int, saved: tuple[int, int, Any]) -> None:
        promised, accepted, value = saved
        self.instances[seq] = AcceptorInstance(promised, accepted, value, promised)
