"""A run's per-step LRs, as every layer takes them: the checks of an absolute LR array
(index = optimizer step, from 0) and of the steps to evaluate, and where its warmup ends.

The curves, the laws, choosing and the pictures share these, so they live below them all.
"""

from __future__ import annotations

import numpy as np

from lrsched.errors import InputError

MAX_STEPS = 10**7  # the longest run read or predicted: its per-step LRs take 80 MB


def as_lrs(lrs) -> np.ndarray:
    """Check a per-step absolute LR array (index = optimizer step, from 0)."""
    lrs = np.asarray(lrs, dtype=float)
    if lrs.ndim != 1 or lrs.size < 2:
        raise InputError(f"need a 1-D array of per-step learning rates, got shape {lrs.shape}")
    check_run_length(lrs.size)
    if not np.all(np.isfinite(lrs)):
        raise InputError("the learning rates contain NaN or inf; give a finite LR for every step")
    if np.any(lrs < 0):
        step = int(np.flatnonzero(lrs < 0)[0])
        raise InputError(f"negative learning rate {lrs[step]:g} at step {step}; LRs must be >= 0")
    if not np.any(lrs > 0):
        raise InputError("every learning rate is 0; there is nothing to predict")
    with np.errstate(over="ignore"):
        total = np.sum(lrs)
    if not np.isfinite(total):
        raise InputError(f"learning rates up to {lrs.max():g} are too large to sum; give "
                         "absolute learning rates (e.g. 3e-4)")
    return lrs


def check_run_length(n: int) -> None:
    """Refuse a run longer than ``MAX_STEPS`` (before its LRs are made)."""
    if n > MAX_STEPS:
        raise InputError(f"a run of {n:,} steps is longer than the {MAX_STEPS:,} steps "
                         "lrsched reads or predicts; give a shorter run")


def as_steps(steps, n: int) -> np.ndarray:
    """Check the steps to evaluate at (default: every step) for a run of ``n`` steps."""
    if steps is None:
        return np.arange(n)
    arr = np.asarray(steps)
    if arr.ndim != 1:
        raise InputError(f"steps must be a 1-D array of step numbers, got shape {arr.shape}")
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr) & (arr == np.round(arr))):
        arr = arr.astype(np.int64)
    if arr.size and arr.dtype.kind not in "iu":
        raise InputError("steps must be whole numbers (step indices from 0)")
    bad = (arr < 0) | (arr >= n)
    if bad.any():
        raise InputError(f"step {arr[bad][0]} is outside the run: the LR array covers "
                         f"steps 0..{n - 1}; give steps in that range or a longer LR array")
    return arr.astype(np.int64)


def warmup_end(lrs: np.ndarray) -> int:
    """Index of the first step at the peak LR: the steps before it are the warmup."""
    return int(np.argmax(lrs))


def first_used_step(lrs: np.ndarray) -> int:
    """The first step whose loss the laws model: just after the warmup (0 if none)."""
    end = warmup_end(lrs)
    return end + 1 if lrs[0] < lrs[end] else 0
