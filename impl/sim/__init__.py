"""faultlab.sim: the deterministic runtime every system runs on (see DESIGN.md)."""

from faultlab.sim.codec import decode, encode, encoded_size
from faultlab.sim.messages import is_reply, message
from faultlab.sim.network import (
    ADVERSARIAL,
    LONG_DELAYS,
    LONG_REORDERING,
    PROFILES,
    RELIABLE,
    UNRELIABLE,
    NetworkProfile,
)
from faultlab.sim.node import ClientNode, Context, Node, SimContext
from faultlab.sim.persister import Persister
from faultlab.sim.world import CallRecord, CallTimeout, Counters, Envelope, Pending, SimError, World

__all__ = [
    "ADVERSARIAL", "LONG_DELAYS", "LONG_REORDERING", "PROFILES", "RELIABLE", "UNRELIABLE",
    "CallRecord", "CallTimeout", "ClientNode", "Context", "Counters", "Envelope",
    "NetworkProfile", "Node", "Pending", "Persister", "SimContext", "SimError", "World",
    "decode", "encode", "encoded_size", "is_reply", "message",
]
