"""What a fit says about the end of a run: the final loss, its gradient in every LR, its
interval, and the checks that a question is within what the fit can answer."""

from __future__ import annotations

import warnings

import numpy as np

from lrsched.errors import InputError
from lrsched.laws.base import as_lrs

INTERVAL_Z = 1.2816  # the two-sided 80% interval of a normal
PEAK_LR_RANGE = 2.0  # a peak LR more than this factor outside the fitted ones is warned of


def law_of(fit):
    """The fit's law, checked to predict final losses with gradients (``final_loss``)."""
    if not callable(getattr(fit.law, "final_loss", None)):
        raise InputError(f"a {fit.law.name} fit cannot choose schedules (its law has no "
                         "final_loss); refit with --law momentum or --law multipower")
    return fit.law


def final_loss(fit, lrs: np.ndarray, grad: bool = False):
    """The predicted loss at the last step of ``lrs`` (and, with ``grad``, d loss / d lrs)."""
    return law_of(fit).final_loss(fit.params, lrs, grad=grad)


def final_interval(fit, lrs: np.ndarray) -> tuple[float, float]:
    """The 80% interval of the predicted final loss (parameter uncertainty only, for now:
    ``Fit.band``, which understates the error of predicting a new schedule)."""
    lrs = as_lrs(lrs)
    low, high = fit.band(lrs, steps=[lrs.size - 1], z=INTERVAL_Z)
    return float(low[0]), float(high[0])


def error_bar(ax, step: int, loss: float, interval: tuple[float, float], color) -> None:
    """Draw a predicted final ``loss`` at ``step`` with its ``interval`` on ``ax``."""
    below, above = max(loss - interval[0], 0.0), max(interval[1] - loss, 0.0)
    ax.errorbar(step, loss, yerr=[[below], [above]], fmt="o", ms=3, capsize=2, color=color)


def fitted_start(fit) -> int:
    """The first step the fit models (the fitted runs' warmup end; 0 if unknown)."""
    if fit.first_step is not None:
        return fit.first_step
    return min((int(d["first_step"]) for d in fit.data if "first_step" in d), default=0)


def check_length(fit, total_steps: int, warmup: int) -> None:
    """A run of ``total_steps`` with ``warmup`` steps must end where the law predicts."""
    start = fitted_start(fit)
    if total_steps <= start:
        raise InputError(f"a {total_steps}-step run ends before step {start}, where the "
                         "fitted law starts (the fitted runs' warmup); give more --steps")
    if warmup >= total_steps:
        raise InputError(f"a {total_steps}-step run cannot have a {warmup}-step warmup; "
                         "give more --steps or a shorter --warmup")


def check_peak_lr(fit, peak_lr: float) -> None:
    """Warn when ``peak_lr`` is far outside the peak LRs of the fitted runs."""
    peaks = [float(d["lr"][1]) for d in fit.data if "lr" in d]
    if not peaks:
        return
    low, high = min(peaks), max(peaks)
    if not low / PEAK_LR_RANGE <= peak_lr <= high * PEAK_LR_RANGE:
        fitted = f"{low:g}" if low == high else f"{low:g} to {high:g}"
        warnings.warn(f"peak LR {peak_lr:g} is far from the fitted runs' peak LR ({fitted}); "
                      "the law extrapolates there (is it an LR, not a multiplier?)",
                      stacklevel=3)
