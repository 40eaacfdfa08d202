"""Goodness of a predicted loss curve, as reported in the multi-power-law paper's Table 1."""

from __future__ import annotations

import numpy as np


def curve_metrics(pred, actual) -> dict:
    """Compare predicted and measured losses at the same steps.

    Returns ``r2``, ``mae``, ``rmse``, ``pred_e = mean(|pred - y| / y)``,
    ``worst_e = max(|pred - y| / y)`` and ``n`` (the number of points).
    """
    pred = np.asarray(pred, dtype=float)
    y = np.asarray(actual, dtype=float)
    if pred.shape != y.shape or y.ndim != 1 or y.size == 0:
        raise ValueError("pred and actual must be equal-length, non-empty 1-D arrays, "
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
        "n": int(y.size),
    }
