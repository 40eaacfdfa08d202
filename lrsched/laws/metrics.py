"""How good a prediction is: over a whole curve (``curve_metrics``, as the multi-power-law
paper's Table 1 reports it) and for the decision a law is fitted to support, choosing
among candidate schedules of one run length (``decision_metrics``)."""

from __future__ import annotations

import numpy as np
from scipy.stats import kendalltau

from lrsched.errors import InputError


def curve_metrics(pred, actual) -> dict:
    """Compare predicted and measured losses at the same steps.

    Returns ``r2``, ``mae``, ``rmse``, ``pred_e = mean(|pred - y| / y)``,
    ``worst_e = max(|pred - y| / y)``, ``final_e = |pred - y| / y`` at the last point
    (the end of the run, which decides a schedule) and ``n`` (the number of points).
    """
    pred = np.asarray(pred, dtype=float)
    y = np.asarray(actual, dtype=float)
    if pred.shape != y.shape or y.ndim != 1 or y.size == 0:
        raise InputError("pred and actual must be equal-length, non-empty 1-D arrays, "
                         f"got shapes {pred.shape} and {y.shape}")
    err = pred - y
    rel = np.abs(err) / y
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return {
        "r2": 1.0 - float(np.sum(err**2)) / ss_tot if ss_tot > 0 else float("nan"),
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "pred_e": float(np.mean(rel)),
        "worst_e": float(np.max(rel)),
        "final_e": float(rel[-1]),
        "n": int(y.size),
    }


def decision_metrics(pred, actual) -> dict:
    """Score predicted final losses of candidate runs of equal length against the measured ones.

    ``gap_error`` = sum over pairs |(pred_i - pred_j) - (actual_i - actual_j)| / sum over
    pairs |actual_i - actual_j|: 0 is perfect, 1 is no better than predicting no
    difference. ``regret`` = the actual final loss of the candidate the prediction ranks
    best minus the best actual one. ``kendall_tau``: rank agreement (1 is the same order).
    ``n``: the number of candidates (at least 2).
    """
    p = np.asarray(pred, dtype=float)
    a = np.asarray(actual, dtype=float)
    if p.shape != a.shape or a.ndim != 1 or a.size < 2:
        raise InputError("need the predicted and actual final losses of at least two "
                         f"candidates, as equal-length 1-D arrays; got shapes {p.shape} and "
                         f"{a.shape}")
    i, j = np.triu_indices(a.size, 1)
    spread = float(np.abs(a[i] - a[j]).sum())
    miss = float(np.abs((p[i] - p[j]) - (a[i] - a[j])).sum())
    return {
        "gap_error": miss / spread if spread > 0 else float("nan"),
        "regret": float(a[np.argmin(p)] - a.min()),
        "kendall_tau": float(kendalltau(p, a).statistic),
        "n": int(a.size),
    }
