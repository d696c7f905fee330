"""The Hypothesis machines that ``faultlab explore`` knows by name.

Each entry names a :class:`impl.sim.explore.WorldMachine` subclass as ``module:Class``
(imported only when used). Seeded-bug variants are listed too, so a user can watch the
explorer catch each one.
"""

from __future__ import annotations

MACHINES: dict[str, tuple[str, str]] = {
    "register": ("impl.sim.example_register:RegisterMachine",
                 "the runtime's example: a register on a primary and a backup"),
    "register-bug-early-ack": ("impl.sim.example_register:BuggyRegisterMachine",
                               "seeded bug: the primary acknowledges before replicating"),
}
