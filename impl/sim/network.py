"""Network profiles: how the World's own scheduler treats a message when it is sent.

A profile decides, from the World's seeded generator, whether a message is lost and how long
it travels. The numbers are the labs' (labrpc, 2020-2022):

* ``RELIABLE``: nothing lost, no delay.
* ``UNRELIABLE``: 0-26 ms delay; 10 % of requests lost; 10 % of replies lost (a reply exists
  only because its request was executed, so this is "executed, but reported as failed").
* ``LONG_REORDERING``: unreliable, and 600 of 900 replies are held back a further
  200 ms + rand(0..rand(0..2000)) ms, so replies arrive far out of order (Raft Figure 8).
* ``LONG_DELAYS``: reliable delivery, but a message to an unreachable or crashed node is
  reported lost to its sender (``on_send_failed``) only after 0-7 s, as labrpc does with
  ``LongDelays(true)``: a node that waits on one RPC at a time is too slow to pass. Other
  profiles report such a loss after 0-100 ms, as labrpc does without long delays.
* ``RELIABLE_2015`` and ``UNRELIABLE_2015``: the 2015 labs' harness (CATALOG A.0), UNIX-domain
  sockets on one machine: delivery within 1 ms; a request to an unreachable or dead peer
  fails at once (a refused connection); unreliable: 10 % of requests lost, and of the rest
  20 % executed with the reply lost (about 18 % of all). Applied to every message.
* ``ADVERSARIAL``: nothing is decided here; every message is deliverable at once, and a driver
  (the Hypothesis machine) chooses what to deliver, drop or duplicate, and when. Each step
  the driver takes lasts 1 microsecond, so events the driver puts in order are ordered in
  real time too (a read delivered after a write returned starts after it).

All delays are integers in microseconds of virtual time. ``latency_us`` adds a fixed time to
every message (none in the labs' profiles): a service test that runs clerks for a while needs
operations to take *some* time, as they do on a real network, or a loop of calls would never
let virtual time pass (see :func:`with_latency`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

__all__ = [
    "NetworkProfile",
    "RELIABLE",
    "UNRELIABLE",
    "LONG_REORDERING",
    "LONG_DELAYS",
    "ADVERSARIAL",
    "RELIABLE_2015",
    "UNRELIABLE_2015",
    "PROFILES",
    "with_latency",
]

MS = 1000


@dataclass(frozen=True)
class NetworkProfile:
    name: str
    max_delay_ms: int = 0
    request_loss: float = 0.0
    reply_loss: float = 0.0
    reorder_replies: bool = False
    max_unreachable_report_ms: int = 100
    step_us: int = 0  # virtual time each driver-chosen step takes (adversarial driver only)
    latency_us: int = 0  # fixed travel time of every message, added to the drawn delay

    def fate(self, rng: random.Random, reply: bool) -> int | None:
        """Delay in microseconds for a message, or None when the network loses it."""
        # rng._randbelow(n) is what randrange(n) and randint(0, n - 1) return, without their
        # argument checks: the same stream (old seeds replay the same), about 3x cheaper.
        below = rng._randbelow
        delay = below(self.max_delay_ms + 1) * MS + self.latency_us if self.max_delay_ms \
            else self.latency_us
        loss = self.reply_loss if reply else self.request_loss
        if loss and rng.random() < loss:
            return None
        if reply and self.reorder_replies and below(900) < 600:
            delay += (200 + below(1 + below(2000))) * MS
        return delay

    def unreachable_report_delay(self, rng: random.Random) -> int:
        """How long a sender waits before it learns a message could not be delivered."""
        return rng.randrange(self.max_unreachable_report_ms) * MS


RELIABLE = NetworkProfile("reliable")
UNRELIABLE = NetworkProfile("unreliable", max_delay_ms=26, request_loss=0.1, reply_loss=0.1)
LONG_REORDERING = NetworkProfile(
    "long-reordering", max_delay_ms=26, request_loss=0.1, reply_loss=0.1, reorder_replies=True
)
LONG_DELAYS = NetworkProfile("long-delays", max_unreachable_report_ms=7000)
ADVERSARIAL = NetworkProfile("adversarial", max_unreachable_report_ms=1, step_us=1)
RELIABLE_2015 = NetworkProfile("reliable-2015", max_delay_ms=1, max_unreachable_report_ms=1)
UNRELIABLE_2015 = NetworkProfile("unreliable-2015", max_delay_ms=1, request_loss=0.1,
                                 reply_loss=0.2, max_unreachable_report_ms=1)

PROFILES = {p.name: p for p in (RELIABLE, UNRELIABLE, LONG_REORDERING, LONG_DELAYS, ADVERSARIAL,
                                RELIABLE_2015, UNRELIABLE_2015)}


def with_latency(profile: NetworkProfile, latency_us: int) -> NetworkProfile:
    """``profile`` with every message taking ``latency_us`` more (same losses, same draws)."""
    return replace(profile, name=f"{profile.name}+{latency_us}us", latency_us=latency_us)
