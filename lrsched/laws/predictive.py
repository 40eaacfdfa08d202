"""The joint predictive distribution of the final losses of several runs under a fit,
from which intervals, comparisons and the choice of the next run are computed.

For runs i = 1..k with predicted final losses m_i, the prediction errors are normal with
covariance

    Sigma = J C J^T  +  sigma^2 diag(m) R diag(m),    R_ij = exp(-d_ij^2 / (2 ell^2))

- J C J^T: the parameters' uncertainty (delta method; C their covariance, J_i = dm_i/dp);
- sigma: the law's relative error on a schedule it was not fitted to (``Fit.calibration``,
  measured on held-out training curves by ``fitting.calibrate``);
- R: how much of that error two runs share, decaying with their schedule distance d_ij
  (``distances``, Euclidean) over the correlation length ell (``Fit.correlation_length``).
  The kernel is the squared exponential: the true final loss and the law's prediction
  are both smooth in the LRs, so their difference is too. Runs that differ little share
  most of their error, so their *difference* is known far better than either loss:
  var(e_i - e_j) = 2 sigma^2 m^2 (1 - R_ij), about sigma^2 m^2 (d_ij / ell)^2.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm

GRID = 256  # points of fractional run time on which schedules are compared
LENGTH_WEIGHT = 0.5  # distance of runs twice as long as each other: 0.5 * ln 2 = 0.35
CORRELATION_LENGTH = 1.0  # ell when the fit has no measurement of its own
LONGEST = 5.0  # the longest correlation length measured (calibrate)
RESOLVED = 0.8  # a difference is resolved when the fit is this sure of its sign


def distances(runs) -> np.ndarray:
    """The schedule distances d_ij of per-step LR arrays ``runs``, Euclidean: the RMS
    difference of their LRs at the same fraction of the run, over the larger peak LR,
    and ``LENGTH_WEIGHT`` times the log ratio of their lengths. 0 for one schedule; 0.61
    between a constant run and a cosine to 0 of the same length; 0.15 between WSD runs
    with 40% and 60% linear cooldowns; 0.35 between two constant runs, one twice as
    long."""
    runs = [np.asarray(r, dtype=float) for r in runs]
    at = (np.arange(GRID) + 0.5) / GRID
    profiles = np.array([r[np.minimum((at * r.size).astype(int), r.size - 1)] for r in runs])
    peaks = profiles.max(axis=1)
    shape = np.sqrt(np.square(profiles[:, None, :] - profiles[None, :, :]).mean(axis=2))
    shape /= np.maximum(peaks[:, None], peaks[None, :])
    length = np.log([r.size for r in runs])
    return np.hypot(shape, LENGTH_WEIGHT * (length[:, None] - length[None, :]))


def correlations(runs, length: float) -> np.ndarray:
    """R_ij = exp(-d_ij^2 / (2 length^2)): the share of the law's error two runs have in
    common."""
    return np.exp(-0.5 * (distances(runs) / length) ** 2)


def parameter_covariance(fit) -> np.ndarray | None:
    """The fit's parameter covariance made positive semi-definite (a degenerate fit can
    report small negative variances; their directions count as known)."""
    if fit.covariance is None or not len(fit.covariance_names):
        return None
    values, vectors = np.linalg.eigh(0.5 * (fit.covariance + fit.covariance.T))
    return (vectors * np.maximum(values, 0.0)) @ vectors.T


def final_jacobian(fit, runs) -> np.ndarray:
    """d (final loss of each run) / d (each parameter of ``fit.covariance_names``)."""
    rows = []
    for lrs in runs:
        gradient = fit.law.gradient(fit.params, fit.law.prepare(lrs, np.array([lrs.size - 1])))
        rows.append([float(np.ravel(gradient[n])[-1]) for n in fit.covariance_names])
    return np.array(rows).reshape(len(runs), len(fit.covariance_names))


def final_losses(fit, runs) -> np.ndarray:
    """The predicted final loss m_i of each of ``runs`` (per-step LR arrays)."""
    return np.array([float(fit.law.predict(fit.params, lrs, np.array([lrs.size - 1]))[0])
                     for lrs in runs])


def relative_error(fit) -> float:
    """sigma: the fit's ``calibration``, or uncalibrated, its law's ``heldout_error``."""
    return fit.law.heldout_error if fit.calibration is None else fit.calibration


def model_covariance(fit, runs, mean: np.ndarray) -> np.ndarray:
    """sigma^2 diag(m) R diag(m): the law's own error, shared by alike runs (``mean``: their
    ``final_losses``)."""
    sigma = relative_error(fit)
    length = fit.correlation_length or CORRELATION_LENGTH
    return sigma**2 * np.outer(mean, mean) * correlations(runs, length)


def joint(fit, runs) -> tuple[np.ndarray, np.ndarray]:
    """(m, Sigma): the predicted final losses of ``runs`` (per-step LR arrays, checked by
    the caller) and the covariance of their errors (module docstring)."""
    mean = final_losses(fit, runs)
    cov = model_covariance(fit, runs, mean)
    c = parameter_covariance(fit)
    if c is not None:
        jac = final_jacobian(fit, runs)
        cov = cov + jac @ c @ jac.T
    return mean, cov


def measure_length(errors: np.ndarray, runs) -> float | None:
    """The correlation length ell that best explains held-out relative ``errors`` of
    ``runs`` (per-step LR arrays): least squares of (e_i - e_j)^2 on its expectation
    2 s^2 (1 - R_ij) over the pairs, s^2 the errors' mean square, on a log grid from a
    third of the closest pair's distance (shorter lengths, which make even that pair
    share nothing, the pairs cannot tell apart) to ``LONGEST``; None without two errors
    at distinct schedules."""
    errors = np.asarray(errors, dtype=float)
    if errors.size < 2 or not np.any(errors):
        return None
    i, j = np.triu_indices(errors.size, 1)
    d = distances(runs)[i, j]
    keep = d > 0
    if not keep.any():
        return None
    d = d[keep]
    observed = (errors[i] - errors[j])[keep] ** 2
    grid = np.geomspace(min(d.min() / 3, LONGEST), LONGEST, 81)
    expected = 2 * np.mean(errors**2) * (1 - np.exp(-0.5 * (d / grid[:, None]) ** 2))
    return float(grid[np.argmin(np.sum((observed - expected) ** 2, axis=1))])


def beat_best(fit, runs) -> tuple[int, np.ndarray]:
    """(b, p): the index of the run with the lowest predicted final loss, and for each
    run the probability that it ends lower than run b (the joint distribution; NaN for
    b itself). A run with p >= 1 - ``RESOLVED`` is within the fit's resolution of the
    best: the fit cannot tell them apart."""
    mean, cov = joint(fit, runs)
    best = int(np.argmin(mean))
    variance = np.maximum(cov.diagonal() + cov[best, best] - 2 * cov[:, best], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = norm.cdf((mean[best] - mean) / np.sqrt(variance))
    p[variance == 0] = np.where(mean[variance == 0] == mean[best], 0.5, 0.0)
    p[best] = np.nan
    return best, p


ODDS_LEGEND = (f"P(beats best): the fit's chance of ending lower than the best; tie: within "
               f"the fit's resolution of the best (a chance of {1 - RESOLVED:.0%} or more)")


def odds_text(p: float | None, tie: bool = True) -> str:
    """A chance of beating the best as the tables show it: "best" for the best itself
    (NaN or None), "<1%", else whole percents rounded down (so only a tie shows 20% or
    more; ``round`` first: 100 * 0.29 is 28.999...), with "tie" after a tie."""
    if p is None or math.isnan(p):
        return "best"
    text = "<1%" if p < 0.01 else f"{int(round(100 * p, 6))}%"
    return text + " tie" * (tie and p >= 1 - RESOLVED)
