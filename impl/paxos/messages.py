"""The Paxos wire messages (one request/reply pair per phase, plus the learners' Decided).

Every message carries ``done``: the highest instance its *sender's* application declared
finished with ``done(seq)`` (-1 for none). That is the 2015 lab's piggybacking: peers learn
each other's Done values from ordinary traffic, and forget the instances below all of them.

Ballots (proposal numbers) are ints ``round * npeers + me``, so two peers never use the same
one and a proposer always finds a larger one; -1 means "none".

Reply statuses: ``"ok"``; ``"reject"`` (a higher ballot was promised: ``promised`` says which);
``"decided"`` (the replying peer already knows the instance's decided value, in ``value``);
``"forgotten"`` (the instance is below the replier's forgetting floor, in ``floor``; under the
lab's forgetting rule every peer's Done value is then at least ``floor - 1``, so the asker may
forget it too; under ``forget="own"`` only the replier was done).
"""

from __future__ import annotations

from typing import Any

from faultlab.sim.messages import message

__all__ = [
    "OK", "REJECT", "DECIDED", "FORGOTTEN",
    "PaxosPrepare", "PaxosPrepareReply", "PaxosAccept", "PaxosAcceptReply",
    "PaxosDecided", "PaxosDecidedAck", "PAXOS_MESSAGES",
]

OK, REJECT, DECIDED, FORGOTTEN = "ok", "reject", "decided", "forgotten"


@message
class PaxosPrepare:
    """Phase 1a: a proposer asks for a promise not to accept ballots below ``n``."""

    seq: int
    n: int
    done: int


@message(reply=True)
class PaxosPrepareReply:
    """Phase 1b: the promise, with the acceptor's highest accepted ballot and its value."""

    seq: int
    n: int
    status: str
    promised: int
    accepted: int
    value: Any
    floor: int
    done: int


@message
class PaxosAccept:
    """Phase 2a: a proposer asks acceptors to accept ``value`` at ballot ``n``."""

    seq: int
    n: int
    value: Any
    done: int


@message(reply=True)
class PaxosAcceptReply:
    """Phase 2b: accepted (``ok``) or refused because of a higher promise."""

    seq: int
    n: int
    status: str
    promised: int
    floor: int
    done: int


@message
class PaxosDecided:
    """A learner tells another that ``value`` was chosen for ``seq``; resent until acked."""

    seq: int
    value: Any
    done: int


@message(reply=True)
class PaxosDecidedAck:
    seq: int
    done: int


PAXOS_MESSAGES = (PaxosPrepare, PaxosPrepareReply, PaxosAccept, PaxosAcceptReply,
                  PaxosDecided, PaxosDecidedAck)
