"""The Bayesian optimiser of one AutoLRS stage: which LR to try next.

The objective f(x) is the forecast loss at x = log LR. A Gaussian process (scikit-learn)
with kernel  σ²·Matérn_5/2(x, x') + noise  models f from the trials so far; the next LR
minimises the lower confidence bound  LCB(x) = μ(x) − κ·σ(x)  over a log-uniform grid of
the range. The first INITIAL proposals are a stratified random design: one LR at random
in each of INITIAL equal parts of the log range not tried yet. Stateless apart from the
random generator: everything comes from the stage's trials.
"""

from __future__ import annotations

import warnings

import numpy as np

INITIAL = 3
GRID = 512


def fill_failed(scores: np.ndarray) -> np.ndarray:
    """Scores with each failed (non-finite) one replaced by a very bad finite value:
    the worst finite score plus the spread of the finite scores (1.0 if there is none),
    so the GP sees "worse than anything seen" without a huge outlier."""
    scores = np.asarray(scores, dtype=float)
    finite = scores[np.isfinite(scores)]
    if finite.size == 0:
        return np.ones_like(scores)
    bad = finite.max() + max(float(np.ptp(finite)), 1e-3 * abs(finite.max()), 1e-12)
    return np.where(np.isfinite(scores), scores, bad)


def propose(log_lrs, scores, log_range: tuple[float, float], rng: np.random.Generator,
            kappa: float) -> float:
    """The next log LR to try, given the tried ``log_lrs`` and their ``scores``."""
    lo, hi = log_range
    n = len(log_lrs)
    if n < INITIAL:
        taken = {min(int((x - lo) / (hi - lo) * INITIAL), INITIAL - 1) for x in log_lrs}
        part = rng.choice([p for p in range(INITIAL) if p not in taken])
        return float(lo + (hi - lo) * (part + rng.random()) / INITIAL)
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    unit = (np.asarray(log_lrs, dtype=float) - lo) / (hi - lo)  # the range as [0, 1]
    kernel = (ConstantKernel(1.0, (1e-3, 1e3)) * Matern(0.25, (0.02, 10.0), nu=2.5)
              + WhiteKernel(1e-2, (1e-6, 1.0)))
    gp = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=2,
                                  random_state=int(rng.integers(2**31)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp.fit(unit[:, None], fill_failed(scores))
    grid = np.linspace(0.0, 1.0, GRID)
    mean, sd = gp.predict(grid[:, None], return_std=True)
    lcb = mean - kappa * sd
    # Never propose an LR already tried (as the authors' code): a repeat teaches little.
    tried = np.min(np.abs(grid[:, None] - unit[None, :]), axis=1) < 0.5 / (GRID - 1)
    lcb[tried] = np.inf
    return float(lo + (hi - lo) * grid[int(np.argmin(lcb))])
