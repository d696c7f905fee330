"""impl.sim: the deterministic runtime every system runs on (see DESIGN.md)."""

from impl.sim.codec import decode, encode, encoded_size
from impl.sim.messages import is_reply, message
from impl.sim.network import (
    ADVERSARIAL,
    LONG_DELAYS,
    LONG_REORDERING,
    PROFILES,
    RELIABLE,
    UNRELIABLE,
    NetworkProfile,
)
from impl.sim.node import ClientNode, Context, Node
from impl.sim.persister import Persister
from impl.sim.world import CallRecord, CallTimeout, Counters, Envelope, Pending, SimError, World

__all__ = [
    "ADVERSARIAL", "LONG_DELAYS", "LONG_REORDERING", "PROFILES", "RELIABLE", "UNRELIABLE",
    "CallRecord", "CallTimeout", "ClientNode", "Context", "Counters", "Envelope",
    "NetworkProfile", "Node", "Pending", "Persister", "SimError", "World",
    "decode", "encode", "encoded_size", "is_reply", "message",
]
