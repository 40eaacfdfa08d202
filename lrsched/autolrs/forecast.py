"""Forecast a trial's loss τ steps ahead from its first τ' steps (the BO objective).

A forecaster is any callable ``forecaster(trial: TrialCurve) -> float``. Two are built in:

* ``ExponentialForecast`` (the paper's): y(x) = a·exp(−b·x) + c with b > 0, fitted to the
  trial's outlier-filtered, smoothed losses and evaluated at x = τ.
* ``MomentumForecast`` (ours): the momentum law L(s) = L0 + A·S1(s)^-α − C·S2(s) fitted to
  the trial with the run's LR history in S1 and S2, evaluated after τ steps at the
  trial's LR.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import median_filter
from scipy.optimize import minimize_scalar
from scipy.signal import savgol_filter

from lrsched.curves import Curve
from lrsched.errors import InputError
from lrsched.laws import FitError, MomentumLaw

MIN_SMOOTH = 10  # fewer points than this (validation losses) are fitted as they are
OUTLIER_Z = 3.0  # a point further than this many robust SDs from the local median is an outlier


@dataclass(frozen=True)
class TrialCurve:
    """What a forecaster sees of one trial.

    ``losses[i]`` was measured after ``steps[i]`` optimizer steps of the trial (0: at the
    stage snapshot), all at learning rate ``lr``; ``horizon`` is τ, the step to forecast;
    ``past_lrs`` holds the LR of every step the run kept before this stage.
    """

    steps: np.ndarray
    losses: np.ndarray
    lr: float
    horizon: int
    past_lrs: np.ndarray


def _smoothed_losses(losses: np.ndarray) -> np.ndarray:
    """Outlier-filtered, smoothed losses (same length).

    A point further than OUTLIER_Z robust standard deviations (1.4826·MAD) from the running
    median is an outlier and is replaced by interpolating its neighbours; the result is
    smoothed by a quadratic Savitzky-Golay filter (centred, so unlike an EMA it does not
    lag a falling loss). Windows: a tenth of the points, at least 5.
    """
    y = np.asarray(losses, dtype=float)
    if y.size < MIN_SMOOTH:
        return y
    window = max(5, y.size // 10) | 1
    resid = y - median_filter(y, size=window, mode="nearest")
    outlier = np.abs(resid) > OUTLIER_Z * 1.4826 * np.median(np.abs(resid))
    x = np.arange(y.size)
    y = np.interp(x, x[~outlier], y[~outlier])
    return savgol_filter(y, window, polyorder=2, mode="interp")


def fit_exponential(x: np.ndarray, y: np.ndarray, b_range: tuple[float, float]):
    """(a, b, c) of y = a·exp(−b·x) + c with b in ``b_range``, minimising the squared
    relative error (y_fit − y)/y (plain error if some y <= 0): the tail of a trial, where
    the loss has settled, weighs as much as its first steep drop.

    For a fixed b the model is linear in (a, c), so b is found by a bounded 1-D search
    on log b (variable projection), started from the best point of a log grid.
    """
    weight = 1.0 / y if np.all(y > 0) else np.ones_like(y)

    def sse(log_b: float) -> tuple[float, np.ndarray]:
        design = np.column_stack([np.exp(-np.exp(log_b) * x), np.ones_like(x)])
        coef = np.linalg.lstsq(design * weight[:, None], y * weight, rcond=None)[0]
        return float(np.sum(((design @ coef - y) * weight) ** 2)), coef

    grid = np.linspace(*np.log(b_range), 41)
    best = int(np.argmin([sse(g)[0] for g in grid]))
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, grid.size - 1)]
    log_b = minimize_scalar(lambda g: sse(g)[0], bounds=(lo, hi), method="bounded").x
    a, c = sse(log_b)[1]
    return float(a), float(np.exp(log_b)), float(c)


class ExponentialForecast:
    """The paper's forecaster: y = a·exp(−b·x) + c, b > 0, fitted to the smoothed losses
    against the trial step x, evaluated at x = τ.

    b is bounded to [1/x_last, 20]: a time constant at most the trial's length. A slower
    decay cannot be told from a straight line over the trial, and extrapolating a noisy
    slope ten trial lengths ahead gives forecasts far below any loss seen (even
    negative); with the bound the forecast goes at most about one trial's worth of
    decrease below the fitted last point.
    """

    def __call__(self, trial: TrialCurve) -> float:
        x = np.asarray(trial.steps, dtype=float)
        y = _smoothed_losses(trial.losses)
        a, b, c = fit_exponential(x, y, (1.0 / max(x[-1], 1.0), 20.0))
        return a * np.exp(-b * trial.horizon) + c


class MomentumForecast:
    """The momentum law (Tissue et al. 2024) fitted to one trial, evaluated at τ.

    With a constant LR η during the trial, S1 = S1_0 + η·s grows linearly and S2 only
    carries the momentum of the one LR change at the trial start, so the law reduces to
    L0 + A·(S1_0 + η·s)^-α − C·S2(s): a power law in the LR area, offset by the area
    S1_0 the run already trained (which the exponential ignores). Each trial is fitted
    alone: shared (L0, A, α) across trials would make the forecast fall monotonically in
    η, as the law has no term for the noise or instability of a large LR, so it cannot
    rank LRs by itself. ``lam`` is fixed (the paper's 0.999): a few hundred points of
    one constant-LR segment cannot pin it down. ``starts``: starting points of the fit;
    one, from the law's own guess, recovers a law-made trial exactly in a fraction of a
    second, where each further start costs seconds.
    """

    def __init__(self, lam: float = 0.999, starts: int = 1):
        self.law, self.starts = MomentumLaw(lam=lam), starts

    def __call__(self, trial: TrialCurve) -> float:
        past = np.asarray(trial.past_lrs, dtype=float)
        lrs = np.concatenate([past, np.full(trial.horizon, trial.lr)])
        # The law's loss at step s follows the update of step s: after u updates, s = u - 1.
        steps = past.size + np.asarray(trial.steps) - 1
        y = _smoothed_losses(trial.losses)
        keep = (steps >= 0) & (y > 0)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = self.law.fit([Curve(steps[keep], y[keep], lrs)], first_step=0,
                                   starts=self.starts)
        except (FitError, ValueError):
            return float(y[-1])  # too few usable points to extrapolate: the last loss
        return float(fit.predict(lrs, [lrs.size - 1])[0])


FORECASTERS = {"exponential": ExponentialForecast, "momentum": MomentumForecast}


def as_forecaster(forecaster):
    """A forecaster from a name in FORECASTERS or a callable ``(TrialCurve) -> float``."""
    if callable(forecaster):
        return forecaster
    if forecaster in FORECASTERS:
        return FORECASTERS[forecaster]()
    raise InputError(f"forecaster={forecaster!r} is unknown; use one of "
                     f"{', '.join(FORECASTERS)} or a callable (TrialCurve) -> float")
