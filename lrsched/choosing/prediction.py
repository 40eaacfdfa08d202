"""What a fit says about the end of a run: the final loss, its gradient in every LR, its
interval, and the checks that a question is within what the fit can answer."""

from __future__ import annotations

import warnings

import numpy as np

from lrsched.errors import InputError
from lrsched.lr_arrays import as_lrs

LEVEL = 0.8  # the coverage of the intervals a choice is shown with


def law_of(fit):
    """The fit's law, checked to predict final losses with gradients (``final_loss``)."""
    if not callable(getattr(fit.law, "final_loss", None)):
        raise InputError(f"a {fit.law.name} fit cannot choose schedules (its law has no "
                         "final_loss); refit with another --law")
    return fit.law


def final_loss(fit, lrs: np.ndarray, grad: bool = False):
    """The predicted loss at the last step of ``lrs`` (and, with ``grad``, d loss / d lrs);
    a loss that is not finite and > 0 is an InputError, never a result."""
    out = law_of(fit).final_loss(fit.params, lrs, grad=grad)
    _possible(fit, out[0] if grad else out, "final loss")
    return out


def final_interval(fit, lrs: np.ndarray) -> tuple[float, float]:
    """The calibrated 80% interval of the predicted final loss (``Fit.interval``); bounds
    that are not finite and > 0 are an InputError."""
    lrs = as_lrs(lrs)
    low, high = fit.interval(lrs, steps=[lrs.size - 1], level=LEVEL)
    _possible(fit, low[0], "lower bound of the final loss")
    _possible(fit, high[0], "upper bound of the final loss")
    return float(low[0]), float(high[0])


def _possible(fit, loss: float, what: str) -> None:
    if not (np.isfinite(loss) and loss > 0):
        raise InputError(f"the {fit.law.name} law gives a {what} of {loss:.4g}, which no run "
                         "has: the question is outside what the fit can answer (a peak LR "
                         "or run length far from the fitted ones?)")


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


def check_run(fit, peak_lr: float, total_steps: int) -> None:
    """Warn of runs the fit extrapolates to (``Fit.check_run``: peak LRs outside the
    fitted ones, multipliers given for LRs, runs far longer than the fitted ones)."""
    for message in fit.check_run(peak_lr, total_steps):
        warnings.warn(message, stacklevel=3)
