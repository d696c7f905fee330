"""TLC-based tests skip, with the reason, only when TLC is unavailable."""

from __future__ import annotations

import pytest
from faultlab.checker.tla.runner import tlc_unavailable_reason

_REASON = tlc_unavailable_reason()

needs_tlc = pytest.mark.skipif(_REASON is not None, reason=_REASON or "")
