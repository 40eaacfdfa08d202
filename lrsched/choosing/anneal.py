"""When to anneal a run in progress: ``anneal_plan`` predicts the final loss of a cooldown
starting at step s and lasting d steps, for every s and d of a grid.

The run so far is its per-step LRs (``lrs_so_far``, steps 0 .. now-1). From now on it
follows ``schedule`` (a constant or infinite schedule: one that can anneal on demand;
default: the current LR held), and the cooldown is that schedule's own
``anneal_at(s, d, shape=..., final=...)``: from its LR at step s to ``final`` (a
multiplier in the schedule's units: without a schedule, a fraction of the current LR)
at step s + d, where the run ends. The same Schedule value is what to give
``ScheduleLR.set_schedule`` (or ``ScheduleLR.anneal(d, ...)`` at step s).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from lrsched.choosing.prediction import final_interval, final_loss, fitted_start, law_of
from lrsched.errors import InputError
from lrsched.lr_arrays import as_lrs
from lrsched.schedules import Schedule, constant

START_COUNT = 12  # default starts: this many from now to the horizon
LENGTH_FRACTIONS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4)  # default lengths: of the horizon


class Cooldown(NamedTuple):
    """A cooldown from step ``start`` over ``length`` steps, the run ending at step
    ``start + length - 1`` with predicted ``loss`` (80% ``interval``)."""

    start: int
    length: int
    loss: float
    interval: tuple[float, float]


@dataclass(frozen=True)
class AnnealPlan:
    """``losses[i, j]``: the predicted final loss of a cooldown from ``starts[i]`` over
    ``lengths[j]`` steps (NaN where it would end past the ``budget``); ``now_best`` the best
    cooldown starting now (None if the starts begin later), ``best`` the best of all."""

    now: int
    starts: np.ndarray
    lengths: np.ndarray
    losses: np.ndarray
    shape: str
    final: float
    budget: int | None
    schedule: Schedule
    now_best: Cooldown | None
    best: Cooldown

    def schedule_for(self, cooldown: Cooldown) -> Schedule:
        """The run's schedule with ``cooldown`` in it (for ``ScheduleLR.set_schedule``)."""
        return self.schedule.anneal_at(cooldown.start, cooldown.length, shape=self.shape,
                                       final=self.final)


def cooldown_lrs(lrs_so_far: np.ndarray, schedule: Schedule, start: int, length: int,
                 shape: str, final: float) -> np.ndarray:
    """The per-step LRs of the run so far, then of ``schedule`` cooling down at ``start``
    over ``length`` steps; ``schedule`` is scaled to the run's current LR."""
    now = lrs_so_far.size
    annealed = schedule.anneal_at(start, length, shape=shape, final=final)
    scale = lrs_so_far[-1] / float(schedule(now - 1))
    return np.concatenate([lrs_so_far, scale * annealed(np.arange(now, start + length))])


def anneal_plan(fit, lrs_so_far, starts=None, lengths=None, shape: str = "linear",
                final: float = 0.0, budget: int | None = None,
                schedule: Schedule | None = None) -> AnnealPlan:
    """The predicted final loss of every cooldown in ``starts`` x ``lengths``.

    ``starts`` (steps >= now) and ``lengths`` span the grid. The defaults reach to a
    horizon: ``budget`` (the most steps the run may take; cooldowns that would end later
    are left out) or, without one, twice the steps done: lengths of 5-40% of the horizon
    (and, with a budget, all the steps left), 12 starts from now on (and, with a budget,
    every start that ends a cooldown exactly at it). ``shape`` and ``final``: of the
    cooldown, as ``Schedule.anneal_at`` takes them.
    """
    law_of(fit)
    lrs_so_far = as_lrs(lrs_so_far)
    now = lrs_so_far.size
    if budget is not None and budget <= now:
        raise InputError(f"the run has done {now} steps, so a budget of {budget} leaves no "
                         "room for a cooldown; give a larger --budget")
    if lrs_so_far[-1] <= 0:
        raise InputError(f"the run's LR at step {now - 1} is already 0: it has cooled down, "
                         "there is nothing to plan; plan-anneal a run still training")
    base = constant() if schedule is None else schedule
    if float(base(now - 1)) <= 0:
        raise InputError(f"the schedule's LR at step {now - 1} is 0; nothing to cool down")
    horizon = budget if budget is not None else 2 * now
    fill = [] if budget is None else [budget - now]  # from now to the end of the budget
    lengths = _steps("lengths", lengths, 1, [f * horizon for f in LENGTH_FRACTIONS] + fill)
    fill = [] if budget is None else list(budget - lengths)  # ending at the budget
    starts = _steps("starts", starts, now, [
        *np.linspace(now, max(horizon - lengths[0], now), START_COUNT), *fill])
    start = fitted_start(fit)
    if starts[-1] + lengths[-1] - 1 <= start:
        raise InputError(f"every cooldown of the plan ends before step {start}, where the "
                         "fitted law starts; plan longer cooldowns or later starts")
    losses = np.full((starts.size, lengths.size), np.nan)
    for i, s in enumerate(starts):
        for j, d in enumerate(lengths):
            if (budget is None or s + d <= budget) and s + d - 1 > start:
                lrs = cooldown_lrs(lrs_so_far, base, int(s), int(d), shape, final)
                losses[i, j] = final_loss(fit, lrs)
    if np.isnan(losses).all():
        raise InputError(f"no cooldown of the plan fits in the budget of {budget} steps; "
                         "give shorter --lengths or a larger --budget")

    def cooldown(i: int, j: int) -> Cooldown:
        s, d = int(starts[i]), int(lengths[j])
        lrs = cooldown_lrs(lrs_so_far, base, s, d, shape, final)
        return Cooldown(s, d, float(losses[i, j]), final_interval(fit, lrs))

    best = np.unravel_index(np.nanargmin(losses), losses.shape)
    now_row = losses[0] if starts[0] == now else np.full(lengths.size, np.nan)
    now_best = cooldown(0, int(np.nanargmin(now_row))) if not np.isnan(now_row).all() else None
    return AnnealPlan(now, starts, lengths, losses, shape, final, budget, base, now_best,
                      cooldown(*best))


def _steps(name: str, given, minimum: int, default) -> np.ndarray:
    """Sorted unique whole steps >= ``minimum`` (``default`` rounded when not given)."""
    values = np.asarray(default if given is None else given, dtype=float)
    if given is None:
        values = np.maximum(np.round(values), minimum)
    if values.ndim != 1 or not values.size or not np.all(np.isfinite(values)) or \
            np.any(values != np.round(values)) or values.min() < minimum:
        raise InputError(f"{name} must be a non-empty list of whole steps >= {minimum}, "
                         f"not {given!r}")
    return np.unique(values.astype(np.int64))
