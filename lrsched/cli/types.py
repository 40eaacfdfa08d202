"""Argument types shared by the subcommands: a bad value is one line and exit 2."""

from __future__ import annotations

import argparse
import math


def whole_number(minimum: int):
    """An argparse type accepting whole numbers of steps >= ``minimum``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"expected a whole number of steps >= {minimum}, got {text!r}")
        return value
    return parse


positive_int = whole_number(1)
non_negative_int = whole_number(0)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value
