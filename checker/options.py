"""argparse types for the numeric options of every faultlab command.

``float("nan")``, ``inf`` and negative counts parse as numbers but mean nothing as a time
limit or a number of workers; these types reject them at parse time, so each command
reports the option as a one-line usage error. They live in the checker package because
everything else (impl, the TLA+ tools) may import it, and it imports nothing.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

__all__ = ["whole", "seconds"]


def whole(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """A whole number in ``[minimum, maximum]``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}: {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}: {value}")
        return value

    parse.__name__ = "whole number"  # argparse names the type in its messages
    return parse


def seconds(*, zero: bool = False) -> Callable[[str], float]:
    """A finite number of seconds, > 0 (or >= 0 with ``zero``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number of seconds: {text}")
        if value < 0 or (value == 0 and not zero):
            raise argparse.ArgumentTypeError(
                f"must be {'at least' if zero else 'more than'} 0 seconds: {text}")
        return value

    parse.__name__ = "seconds"
    return parse
