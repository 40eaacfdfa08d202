"""Argument types shared by the subcommands: a bad value is one line and exit 2."""

from __future__ import annotations

import argparse
import math

from lrsched.errors import InputError
from lrsched.files import as_number, parse_json, read_text
from lrsched.lr_arrays import MAX_STEPS
from lrsched.schedules import Schedule, from_spec


def whole_number(minimum: int, maximum: int | None = None):
    """An argparse type accepting whole numbers of steps in ``minimum..maximum``
    (written as ``400`` or ``4e2``)."""
    def parse(text: str) -> int:
        try:
            number = float(text)
            value = int(number) if number == int(number) else None
        except (ValueError, OverflowError):
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(
                f"expected a whole number of steps >= {minimum}, got {text!r}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(
                f"{text} steps is more than lrsched runs or shows; give at most {maximum:,}")
        return value
    return parse


# Bounded, so that no option asks for more steps than one call can evaluate.
positive_int = whole_number(1, MAX_STEPS)
non_negative_int = whole_number(0, MAX_STEPS)


def positive_float(text: str) -> float:
    value = as_number(text)  # not 1_0e-4, which Python reads as 1e-3
    if value is None or not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def load_schedule(text: str):
    """A schedule from a spec string, or from a .json file holding its dict (as
    ``lrsched refine --out`` and ``lrsched optimize --out`` write)."""

    if not text.endswith(".json"):
        return from_spec(text)
    raw = parse_json(read_text(text), text, "a schedule",
                     "give a schedule dict, as Schedule.to_dict() writes it")
    try:
        return Schedule.from_dict(raw)
    except RecursionError:
        raise InputError(f"{text}: nests too deep to be a schedule; flatten it") from None
    except InputError as exc:
        raise InputError(f"{text}: {exc}") from None
