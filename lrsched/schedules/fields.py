"""A family's fields from what a user gives: types, shares of the run, and limits.

Every value a schedule is built from goes through ``coerce`` before anything is derived
from it, so unusable input is one ``InputError`` line naming the family, the key and
what is allowed.

Step counts are whole numbers of steps. In a family with ``total_steps``, a step count
may also be a share of the run written as a percentage, ``"5%"`` (``warmup=5%`` in a
spec): ``x / 100 * total_steps`` rounded to the nearest step (halves up); a share above
0% that rounds to 0 steps is refused.
A float such as ``0.05`` is not a step count.
"""

from __future__ import annotations

import math
import types
import typing
from typing import Any, Literal

import numpy as np

from lrsched.errors import InputError

# What one schedule may hold, so that every evaluation stays exact in int64 / float64 and
# bounded in time: steps (step counts, total_steps, the steps a schedule is evaluated
# at), counts of repeated parts (cycles), and schedules nested in schedules (join).
MAX_STEPS = 10**12
MAX_COUNT = 10_000
MAX_NESTING = 50


def coerce(family: str, key: str, value: Any, hint: Any, total: int | None = None,
           count: bool = False, schedule: Any = None) -> Any:
    """``value`` as the field's type ``hint``, or a one-line InputError.

    ``total`` is the family's total_steps (for percentages of step counts); ``count``
    marks an int field that counts parts (cycles) rather than steps. ``schedule`` makes a
    Schedule of a join's part (``base.as_schedule``: base imports this module).
    """
    def bad(allowed: str):
        raise InputError(f"{family}: {key}={value!r:.60} is invalid; {key} must be {allowed}")

    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        inner = next(a for a in args if a is not type(None))
        return coerce(family, key, value, inner, total, count, schedule)
    if origin is Literal:
        if value not in args:
            bad("one of " + ", ".join(args))
        return value
    if origin is tuple:
        if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
            bad("a list, e.g. [1,2,3]")
        return tuple(coerce(family, key, v, args[0], total, count, schedule) for v in value)
    if hint is bool:
        if not isinstance(value, (bool, np.bool_)):
            bad("true or false")
        return bool(value)
    if hint is int and isinstance(value, str) and value.endswith("%"):
        return _share(family, key, value, total, count)
    if hint in (int, float):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
            bad("an integer" if hint is int else "a number")
        if not math.isfinite(value):
            bad("a finite number")
        return _whole(family, key, value, total, count) if hint is int else float(value)
    if not isinstance(value, (hint, str, dict)):  # the one other type: join's parts (Schedule)
        bad("a schedule: a Schedule, a spec string or a dict")
    return schedule(value)


def _whole(family: str, key: str, value: float, total: int | None, count: bool) -> int:
    """A whole number of steps (or parts, for a count) within the limits."""
    if value != int(value) or value < 0:
        share = 0 < value < 1 and total is not None and not count and key != "total_steps"
        hint = f"; for a share of the run write {key}={value * 100:g}%" if share else ""
        raise InputError(f"{family}: {key}={value!r} is invalid; {key} must be a whole number"
                         f"{'' if count else ' of steps'} >= 0{hint}")
    limit = MAX_COUNT if count else MAX_STEPS
    if value > limit:
        raise InputError(f"{family}: {key}={value!r} is more {'parts' if count else 'steps'} "
                         f"than a schedule may hold; give at most {limit:,}")
    return int(value)


def _share(family: str, key: str, text: str, total: int | None, count: bool) -> int:
    """A step count given as a percentage of total_steps, e.g. ``"5%"``."""
    try:
        percent = float(text[:-1])
    except ValueError:
        percent = math.nan
    if count or key == "total_steps":
        raise InputError(f"{family}: {key}={text} is invalid; {key} must be a whole number")
    if total is None:
        raise InputError(f"{family}: {key}={text} is a share of the run, but the run's length "
                         "(total_steps) is not given; give a whole number of steps")
    if not 0 <= percent <= 100:
        raise InputError(f"{family}: {key}={text} is invalid; a share of the run is a "
                         "percentage from 0% to 100%")
    steps = math.floor(percent / 100 * total + 0.5)  # the nearest step, halves up
    if percent > 0 and steps == 0:
        raise InputError(f"{family}: {key}={text} of total_steps={total} is 0 steps; give a "
                         f"larger share (at least {50 / total:.2g}%) or a whole number of steps")
    return steps


def as_steps(steps: Any) -> np.ndarray:
    """``steps`` as an int64 array, or a one-line InputError."""
    t = np.asarray(steps)
    if t.dtype.kind not in "iu":
        raise InputError(f"steps must be integers from 0 to {MAX_STEPS:,} (an int or an int "
                         f"array), got dtype {t.dtype}; use e.g. np.arange(n)")
    if t.size and t.min() < 0:
        raise InputError(f"steps must be >= 0, got {t.min()}; steps count from 0")
    if t.size and t.max() > MAX_STEPS:
        raise InputError(f"step {t.max()} is beyond what a schedule evaluates; steps go up "
                         f"to {MAX_STEPS:,}")
    return t.astype(np.int64, copy=False)
