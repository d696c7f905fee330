"""TLA+ conformance: run TLC on the project's specs and check World traces against them.

Standard library only (TLC itself is an optional jar run by subprocess); nothing here
imports ``impl``. See ``spec/README.md`` for the specs and the state mapping.
"""

from faultlab.checker.tla.errors import TLAError, TLCUnavailable
from faultlab.checker.tla.runner import TLCResult, find_jar, run_tlc, tlc_unavailable_reason

__all__ = ["TLAError", "TLCUnavailable", "TLCResult", "find_jar", "run_tlc",
           "tlc_unavailable_reason"]
