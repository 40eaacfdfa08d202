"""The schedule families the optimiser searches, as functions of their free parameters.

This is the one module of ``lrsched.choosing`` that builds schedules by their spec keys.
The free form is a table of ``KNOTS`` multipliers, linear in between (a ``tabulated``
schedule): knot 0 (the step after the warmup) is the peak, and each later knot keeps a
fraction r_i in [0, 1] of the multiplier above ``floor``,

    v_0 = 1,    v_i = floor + (1 - floor) * r_1 r_2 ... r_i,

so no point of the box r in [0, 1]^(K-1) is a rising schedule, and L-BFGS-B's bounds are
the only constraint. The knots crowd towards the end of the run, where the optimal
decays are: their spacing shrinks as the square root of the distance to the end.
"""

from __future__ import annotations

from typing import get_args

import numpy as np

from lrsched.schedules import Schedule, Shape, cosine, linear, tabulated, wsd

SHAPES: tuple[str, ...] = get_args(Shape)  # linear, cosine, 1-sqrt, exponential
KNOTS = 48
FLOOR = 1e-3  # the free form's lowest multiplier; see ``lrsched.choosing.optimize``
EXP_FINAL = 0.01  # an exponential decay needs a final multiplier > 0


def decay(family: str, total_steps: int, warmup: int, final: float) -> Schedule:
    """A ``cosine`` or ``linear`` decay over the run to ``final`` (a multiplier)."""
    make = {"cosine": cosine, "linear": linear}[family]
    return make(total_steps=total_steps, warmup=warmup, final=final)


def default_final(shape: str) -> float:
    """The final multiplier of a decay along ``shape`` when none is chosen: 0, or
    ``EXP_FINAL`` for an exponential decay (which needs one > 0)."""
    return EXP_FINAL if shape == "exponential" else 0.0


def wsd_schedule(total_steps: int, warmup: int, fraction: float, shape: str,
                 final: float) -> Schedule:
    """WSD cooling down over the last ``fraction`` of the run (at least one step, at most
    the steps after the warmup) along ``shape`` to ``final``."""
    steps = int(np.clip(round(fraction * total_steps), 1, total_steps - warmup))
    return wsd(total_steps=total_steps, warmup=warmup, decay_steps=steps, shape=shape,
               final=final)


def wsd_options(schedule: Schedule) -> tuple[float, str, float]:
    """(cooldown fraction, shape, final) of a schedule made by ``wsd_schedule``."""
    spec = schedule.to_dict()
    return spec["decay_steps"] / spec["total_steps"], spec["shape"], spec["final"]


class FreeForm:
    """The free-form family for a run of ``total_steps`` after a ``warmup``: ``values(r)``
    gives the knot multipliers, ``schedule(r)`` the Schedule, ``lrs(r)`` its per-step LRs
    and ``grad(r, d_lrs)`` the chain rule from d loss / d lrs back to r."""

    def __init__(self, total_steps: int, warmup: int, peak_lr: float, floor: float = FLOOR,
                 knots: int = KNOTS):
        body = total_steps - warmup
        u = np.linspace(0.0, 1.0, min(knots, body))
        self.knots = np.unique(np.round((body - 1) * (1.0 - (1.0 - u) ** 2)).astype(np.int64))
        self.warmup, self.peak_lr, self.floor = warmup, peak_lr, floor
        self._steps = np.arange(total_steps)
        if self.size:  # each body step between knots left and left + 1, at weight w from left
            s = np.arange(body)
            left = np.searchsorted(self.knots, s, side="right") - 1
            self._left = np.minimum(left, self.size - 1)
            self._weight = (s - self.knots[self._left]) / np.diff(self.knots)[self._left]

    @property
    def size(self) -> int:
        """Number of free parameters r."""
        return self.knots.size - 1

    def values(self, r: np.ndarray) -> np.ndarray:
        kept = np.concatenate([[1.0], np.cumprod(r)])
        return self.floor + (1.0 - self.floor) * kept

    def lrs(self, r: np.ndarray) -> np.ndarray:
        return self.peak_lr * self.schedule(r)(self._steps)

    def grad(self, r: np.ndarray, d_lrs: np.ndarray) -> np.ndarray:
        """d loss / d r from d loss / d lrs: through the interpolation, then the products
        (d v_i / d r_j = (1 - floor) r_1..r_{j-1} r_{j+1}..r_i for i >= j)."""
        g = self.peak_lr * d_lrs[self.warmup:]
        w, k = self._weight, self.knots.size
        d_v = np.bincount(self._left, (1.0 - w) * g, minlength=k)
        d_v += np.bincount(self._left + 1, w * g, minlength=k)
        tail = np.empty(self.size)  # tail_j = sum_{i>=j} d_v_i r_{j+1}..r_i
        acc = 0.0
        for j in range(self.size, 0, -1):
            acc = d_v[j] + (r[j] * acc if j < self.size else 0.0)
            tail[j - 1] = acc
        before = np.concatenate([[1.0], np.cumprod(r[:-1])])  # r_1..r_{j-1}
        return (1.0 - self.floor) * before * tail

    def start(self, schedule: Schedule) -> np.ndarray:
        """The r whose table passes closest to ``schedule`` at the knots (a starting point)."""
        v = np.asarray(schedule(self.warmup + self.knots), dtype=float)
        kept = np.clip((v - self.floor) / (1.0 - self.floor), 1e-4, 1.0)
        kept = np.minimum.accumulate(kept)
        return np.clip(kept[1:] / kept[:-1], 0.0, 1.0)

    def schedule(self, r: np.ndarray, digits: int | None = None) -> Schedule:
        """The tabulated Schedule of ``r`` (knot values to ``digits`` significant digits:
        rounding keeps them non-increasing)."""
        values = self.values(r).tolist()
        if digits is not None:
            values = [float(f"{v:.{digits}g}") for v in values]
        return tabulated(values=values, steps=self.knots.tolist(), warmup=self.warmup)
