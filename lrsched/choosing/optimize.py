"""The best schedule for a budget under a fitted law: ``optimize`` and ``candidates``.

Every family is searched on the law's predicted final loss (``final_loss``): ``cosine``
and ``linear`` over their final multiplier, ``wsd`` over its cooldown fraction, shape and
final multiplier (bounded Brent searches from the best point of a grid), and ``free``
over every non-increasing schedule after the warmup (``families.FreeForm``) by L-BFGS-B
with the law's analytic gradient, started from a WSD with a 20% linear cooldown (in
``candidates``: from the best WSD).

The free form stays at or above ``floor`` times the peak LR: the multi-power law takes an
LR of exactly 0 as a drop in full effect at once (its limit G = 1), a gain no run gets,
and an optimiser would exploit it by dropping to 0 at the last step.

The rows of ``candidates`` and ``sweep`` carry their odds against the row predicted best,
from the fit's joint predictive distribution of their final losses
(``laws.predictive.beat_best``): the chance each ends lower than it, and whether that
chance is within the fit's resolution (a tie).
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize, minimize_scalar

from lrsched.choosing import families
from lrsched.choosing.families import FLOOR, SHAPES, FreeForm
from lrsched.choosing.prediction import (
    check_length,
    check_run,
    final_interval,
    final_loss,
    fitted_start,
    law_of,
)
from lrsched.errors import InputError
from lrsched.laws import predictive
from lrsched.schedules import Schedule

FAMILIES = ("free", "wsd", "cosine", "linear")
TABLE_FRACTIONS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)  # WSD rows of the table
SEARCH_FRACTIONS = tuple(np.round(np.arange(0.05, 0.96, 0.05), 2))  # the WSD search grid
COMMON = ("cosine to 10%", "cosine to 0", "linear to 0", "wsd 20% linear")
DIGITS = 4  # significant digits of the optimised multipliers (the searches' tolerance)


class Candidate(NamedTuple):
    """A schedule with its predicted final loss and the loss's 80% interval; ``family``
    names the family it is the optimum of ("" for the fixed rows of the table), and
    ``peak_lr`` the peak LR it runs at. In a table (``candidates``, ``sweep``):
    ``beats_best``, the chance it ends lower than the row predicted best (NaN for that
    row, and outside a table), and ``tied``, whether that chance is within the fit's
    resolution of the best (>= 1 - ``predictive.RESOLVED``)."""

    schedule: Schedule
    loss: float
    interval: tuple[float, float]
    name: str = ""
    family: str = ""
    peak_lr: float = float("nan")
    beats_best: float = float("nan")
    tied: bool = False

    def lrs(self) -> np.ndarray:
        """The per-step LRs of its run."""
        return self.peak_lr * self.schedule(np.arange(self.schedule.total_steps))


class _Run(NamedTuple):
    """A question to the law: a run of ``steps`` steps, ``warmup`` of them warmup."""

    fit: object
    steps: int
    warmup: int
    peak_lr: float

    def lrs(self, schedule: Schedule) -> np.ndarray:
        return self.peak_lr * schedule(np.arange(self.steps))

    def loss(self, schedule: Schedule) -> float:
        return final_loss(self.fit, self.lrs(schedule))

    def candidate(self, schedule: Schedule, name: str, family: str = "") -> Candidate:
        lrs = self.lrs(schedule)
        return Candidate(schedule, final_loss(self.fit, lrs), final_interval(self.fit, lrs),
                         name, family, self.peak_lr)


def optimize(fit, total_steps: int, peak_lr: float, family: str = "free",
             warmup: int | None = None, *, shapes=SHAPES, fractions=None,
             final: float | None = None, floor: float = FLOOR) -> Candidate:
    """The schedule of ``family`` with the lowest predicted final loss for a run of
    ``total_steps`` steps at ``peak_lr``, as a Candidate ``(schedule, loss, interval,
    name)``.

    ``warmup``: warmup steps (default: those of the fitted runs, ``fitted_start``).
    ``wsd`` searches the cooldown ``shapes`` and fractions of the run (``fractions``: a
    list to choose from, default a continuous search); ``final`` holds the final
    multiplier of ``wsd``, ``cosine`` and ``linear`` (default: searched in [0, 1]).
    ``free``: any non-increasing schedule after the warmup, down to ``floor``.
    """
    run = _question(fit, total_steps, peak_lr, warmup)
    if family not in FAMILIES:
        raise InputError(f"unknown family {family!r}; use one of {', '.join(FAMILIES)}")
    _check_options(shapes, fractions, final, floor)
    if family in ("cosine", "linear"):
        return _best_decay(run, family, final)
    if family == "wsd":
        return _best_wsd(run, shapes, fractions, final)
    return _best_free(run, floor, start=_wsd(run, 0.2, "linear", floor))


def candidates(fit, total_steps: int, peak_lr: float, warmup: int | None = None, *,
               floor: float = FLOOR) -> list[Candidate]:
    """The table of ``lrsched optimize``, best first: cosine to 10% and to 0, linear to 0,
    WSD at 10-90% cooldown in every shape (to 0; exponential to 1%), and the optimum of
    every family."""
    run = _question(fit, total_steps, peak_lr, warmup)
    _check_options(SHAPES, None, None, floor)
    rows = [run.candidate(families.decay("cosine", run.steps, run.warmup, 0.1), COMMON[0]),
            run.candidate(families.decay("cosine", run.steps, run.warmup, 0.0), COMMON[1]),
            run.candidate(families.decay("linear", run.steps, run.warmup, 0.0), COMMON[2])]
    for shape in SHAPES:
        for fraction in TABLE_FRACTIONS:
            schedule = _wsd(run, fraction, shape, None)
            rows.append(run.candidate(schedule, _wsd_name(schedule)))
    rows += [_best_decay(run, "cosine", None), _best_decay(run, "linear", None)]
    best_wsd = _best_wsd(run, SHAPES, None, None)
    rows += [best_wsd, _best_free(run, floor, start=best_wsd.schedule)]
    return with_odds(fit, rows)


def sweep(fit, total_steps: int, peak_lrs, family: str = "wsd", warmup: int | None = None,
          **options) -> list[Candidate]:
    """``optimize`` at each of ``peak_lrs``: the best schedule of ``family`` per peak LR,
    best first, with their odds against the best (the LR sweep users run by hand,
    predicted by a fit of a few runs; a fit across peak LRs, the cross-LR law, is the one
    that knows how the LR moves the loss).
    A peak LR the fit cannot answer for (too far from the fitted ones, or a loss or
    bound no run has) is left out with a warning; none answered is an InputError."""
    peak_lrs = [float(lr) for lr in np.atleast_1d(peak_lrs)]
    if not peak_lrs:
        raise InputError("give one or more peak LRs to sweep")
    rows = []
    for lr in peak_lrs:
        try:
            rows.append(optimize(fit, total_steps, lr, family, warmup, **options))
        except InputError as exc:
            warnings.warn(f"peak LR {lr:g} left out: {exc}", stacklevel=2)
    if not rows:
        raise InputError(f"the fit answers for none of the peak LRs {peak_lrs[0]:g}..."
                         f"{peak_lrs[-1]:g} (see the warnings); ask about peak LRs nearer "
                         "the fitted ones")
    return with_odds(fit, rows)


def with_odds(fit, rows: list[Candidate]) -> list[Candidate]:
    """``rows`` (Candidates: a table, or any list of one's own) with their odds against the
    best predicted among them (``predictive.beat_best``, one joint distribution), best
    first, then by loss."""
    best, p = predictive.beat_best(fit, [c.lrs() for c in rows])
    rows = [c._replace(beats_best=float(q), tied=bool(q >= 1 - predictive.RESOLVED))
            for c, q in zip(rows, p)]
    return [rows[best], *sorted(rows[:best] + rows[best + 1:], key=lambda c: c.loss)]


def fitted_peak_lrs(fit) -> tuple[float, float]:
    """The smallest and largest peak LR of the curves ``fit`` was fitted to."""
    peaks = [float(d["lr"][1]) for d in fit.data if "lr" in d]
    if not peaks:
        raise InputError("the fit records no peak LRs of its curves; give the peak LRs")
    return min(peaks), max(peaks)


def _question(fit, total_steps, peak_lr, warmup) -> _Run:
    law_of(fit)
    if isinstance(total_steps, bool) or not isinstance(total_steps, (int, np.integer)):
        raise InputError(f"total_steps must be a whole number of steps, not {total_steps!r}")
    if not (isinstance(peak_lr, (int, float)) and math.isfinite(peak_lr) and peak_lr > 0):
        raise InputError(f"peak_lr must be a finite LR > 0, not {peak_lr!r}")
    warmup = min(fitted_start(fit), total_steps) if warmup is None else warmup
    if isinstance(warmup, bool) or not isinstance(warmup, (int, np.integer)) or warmup < 0:
        raise InputError(f"warmup must be a whole number of steps >= 0, not {warmup!r}")
    check_length(fit, int(total_steps), int(warmup))
    check_run(fit, float(peak_lr), int(total_steps))
    return _Run(fit, int(total_steps), int(warmup), float(peak_lr))


def _check_options(shapes, fractions, final, floor) -> None:
    unknown = [s for s in shapes if s not in SHAPES]
    if unknown or not shapes:
        raise InputError(f"unknown cooldown shape {unknown[0] if unknown else None!r}; "
                         f"use some of {', '.join(SHAPES)}")
    if fractions is not None and not (len(fractions) and all(0 < f < 1 for f in fractions)):
        raise InputError(f"cooldown fractions must be a non-empty list of numbers in (0, 1), "
                         f"not {fractions!r}")
    if final is not None and not 0 <= final <= 1:
        raise InputError(f"final must be a multiplier of the peak LR in [0, 1], not {final!r}")
    if not 0 < floor < 1:
        raise InputError(f"floor must be a multiplier of the peak LR in (0, 1), not {floor!r}")


def _rounded(x: float) -> float:
    return float(f"{x:.{DIGITS}g}")


def _search(loss, low: float, high: float, tol: float) -> tuple[float, float]:
    """(x, loss(x)) minimising ``loss`` on [low, high]: bounded Brent, or an end point."""
    result = minimize_scalar(loss, bounds=(low, high), method="bounded",
                             options={"xatol": tol})
    return min([(float(result.x), float(result.fun)), (low, loss(low)), (high, loss(high))],
               key=lambda p: p[1])


def _best_decay(run: _Run, family: str, final: float | None) -> Candidate:
    def loss(x):
        return run.loss(families.decay(family, run.steps, run.warmup, x))

    if final is None:
        final = _rounded(_search(loss, 0.0, 1.0, 1e-4)[0])
    schedule = families.decay(family, run.steps, run.warmup, final)
    return run.candidate(schedule, f"optimised {family} (to {final:.2g})", family)


def _wsd(run: _Run, fraction: float, shape: str, final: float | None) -> Schedule:
    end = families.default_final(shape) if final is None else final
    return families.wsd_schedule(run.steps, run.warmup, fraction, shape, end)


def _wsd_name(schedule: Schedule, prefix: str = "wsd") -> str:
    fraction, shape, final = families.wsd_options(schedule)
    return f"{prefix} {fraction:.0%} {shape}" + (f" to {final:.2g}" if final else "")


def _best_wsd(run: _Run, shapes, fractions, final) -> Candidate:
    """The best WSD of every shape in ``shapes``; the best shape wins."""
    schedule = min((_best_wsd_shape(run, shape, fractions, final) for shape in shapes),
                   key=run.loss)
    return run.candidate(schedule, _wsd_name(schedule, "optimised wsd"), "wsd")


def _best_wsd_shape(run: _Run, shape: str, fractions, final) -> Schedule:
    """The best of ``fractions`` (or of the search grid, refined by Brent), then the best
    final multiplier (unless ``final`` holds it)."""
    fraction = min(SEARCH_FRACTIONS if fractions is None else fractions,
                   key=lambda f: run.loss(_wsd(run, f, shape, final)))
    if fractions is None:
        longest = (run.steps - run.warmup) / run.steps
        low, high = max(fraction - 0.05, 1 / run.steps), min(fraction + 0.05, longest)
        fraction, _ = _search(lambda f: run.loss(_wsd(run, f, shape, final)), low, high,
                              max(0.5 / run.steps, 1e-4))
    if final is None:
        low = families.default_final(shape) / 100
        final = _rounded(_search(lambda x: run.loss(_wsd(run, fraction, shape, x)), low, 1.0,
                                 1e-4)[0])
    return _wsd(run, fraction, shape, final)


def _best_free(run: _Run, floor: float, start: Schedule) -> Candidate:
    form = FreeForm(run.steps, run.warmup, run.peak_lr, floor)
    if form.size == 0:
        return run.candidate(form.schedule(np.ones(0)), "free-form optimum", "free")

    def objective(r):
        loss, d_lrs = final_loss(run.fit, form.lrs(r), grad=True)
        return loss, form.grad(r, d_lrs)

    result = minimize(objective, form.start(start), jac=True, method="L-BFGS-B",
                      bounds=[(0.0, 1.0)] * form.size,
                      options={"maxiter": 1000, "ftol": 1e-12, "gtol": 1e-10})
    schedule = form.schedule(np.clip(result.x, 0.0, 1.0), digits=DIGITS)
    return run.candidate(schedule, "free-form optimum", "free")
