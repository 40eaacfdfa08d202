"""What the two loss-curve laws share: the form L = L0 + A·P - K·D and LR-array checks.

Both laws (momentum.py, multipower.py) predict

    L(t) = L0 + A · S(t)^-alpha - K · D(t)

where S(t) is the cumulative learning-rate sum S1 (the power-law term, P = S^-alpha;
computed once, here, by ``Law.prepare``) and D(t) a law-specific "annealing" term that
grows when the LR decreases. L0, A and K enter linearly, which the fitter uses to pick
good starting points cheaply; the other parameters ("shape" parameters) are nonlinear.
"""

from __future__ import annotations

import numpy as np

# Bounds of the power-law part L0 + A * S1^-alpha, shared by every law.
POWER_BOUNDS = {"L0": (0.0, np.inf), "A": (0.0, 1e6), "alpha": (0.01, 3.0)}

VERSION = 1  # of the saved-fit format (fitting.Fit.save); bump on incompatible change


def as_lrs(lrs) -> np.ndarray:
    """Check a per-step absolute LR array (index = optimizer step, from 0)."""
    lrs = np.asarray(lrs, dtype=float)
    if lrs.ndim != 1 or lrs.size < 2:
        raise ValueError(f"need a 1-D array of per-step learning rates, got shape {lrs.shape}")
    if not np.all(np.isfinite(lrs)):
        raise ValueError("the learning rates contain NaN or inf; give a finite LR for every step")
    if np.any(lrs < 0):
        step = int(np.flatnonzero(lrs < 0)[0])
        raise ValueError(f"negative learning rate {lrs[step]:g} at step {step}; LRs must be >= 0")
    if not np.any(lrs > 0):
        raise ValueError("every learning rate is 0; there is nothing to predict")
    return lrs


def as_steps(steps, n: int) -> np.ndarray:
    """Check the steps to evaluate at (default: every step) for a run of ``n`` steps."""
    if steps is None:
        return np.arange(n)
    arr = np.asarray(steps)
    if arr.ndim != 1:
        raise ValueError(f"steps must be a 1-D array of step numbers, got shape {arr.shape}")
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr) & (arr == np.round(arr))):
        arr = arr.astype(np.int64)
    if arr.size and arr.dtype.kind not in "iu":
        raise ValueError("steps must be whole numbers (step indices from 0)")
    arr = arr.astype(np.int64)
    bad = (arr < 0) | (arr >= n)
    if bad.any():
        raise ValueError(f"step {int(arr[bad][0])} is outside the run: the LR array covers "
                         f"steps 0..{n - 1}; give steps in that range or a longer LR array")
    return arr


def warmup_end(lrs: np.ndarray) -> int:
    """Index of the first step at the peak LR: the steps before it are the warmup."""
    return int(np.argmax(lrs))


def first_used_step(lrs: np.ndarray) -> int:
    """The first step whose loss the laws model: just after the warmup (0 if none)."""
    end = warmup_end(lrs)
    return end + 1 if lrs[0] < lrs[end] else 0


class Law:
    """A loss-curve law; subclasses define the term D (``prepare_decay``, ``decay``) and,
    if S1 is not the plain LR area, ``area_lrs``.

    ``linear`` names (L0, A, K) and ``shape`` names the nonlinear parameters; ``bounds``
    maps every parameter to (low, high) and ``shape_grid`` gives the values tried for
    the starting points of a fit.
    """

    name: str
    linear: tuple[str, str, str]
    shape: tuple[str, ...]
    bounds: dict[str, tuple[float, float]]
    shape_grid: dict[str, tuple[float, ...]]

    @property
    def param_names(self) -> tuple[str, ...]:
        return (*self.linear[:2], "alpha", *self.linear[2:], *self.shape)

    def options(self) -> dict:
        """Constructor keywords that reproduce this law (saved with a fit)."""
        return {}

    def fixed(self) -> dict:
        """Parameters held at a given value instead of fitted."""
        return {}

    def prior(self) -> dict:
        """Weak priors, name -> (centre, width in log units); see ``fitting.fit``."""
        return {}

    def area_lrs(self, lrs: np.ndarray) -> np.ndarray:
        """The per-step LRs whose cumulative sum is S1 (default: ``lrs`` as given)."""
        return lrs

    def prepare(self, lrs: np.ndarray, steps: np.ndarray) -> dict:
        """Parameter-independent precomputation for evaluating at ``steps``: ``steps``,
        ``s1`` = S1 at ``steps`` (the cumulative sum of ``area_lrs``), and the law's own
        terms from ``prepare_decay``."""
        eta = self.area_lrs(lrs)
        cum = np.cumsum(eta)
        return {"steps": steps, "s1": cum[steps], **self.prepare_decay(eta, cum, steps)}

    def prepare_decay(self, eta: np.ndarray, cum: np.ndarray, steps: np.ndarray) -> dict:
        """The law's parameter-independent terms for D(t), given the per-step LRs ``eta``
        (``area_lrs``) and their cumulative sum ``cum``."""
        raise NotImplementedError

    def power_sum(self, prepared) -> np.ndarray:
        """S(t) = S1 at the prepared steps."""
        return prepared["s1"]

    def decay(self, params: dict, prepared) -> np.ndarray:
        """D(t) at the prepared steps (uses the shape parameters only)."""
        raise NotImplementedError

    def evaluate(self, params: dict, prepared) -> np.ndarray:
        l0, a, k = (params[n] for n in self.linear)
        with np.errstate(divide="ignore"):
            power = self.power_sum(prepared) ** -params["alpha"]
        return l0 + a * power - k * self.decay(params, prepared)

    def predict(self, params: dict, lrs, steps=None) -> np.ndarray:
        """Loss at ``steps`` (default: every step) of a run with per-step LRs ``lrs``."""
        lrs = as_lrs(lrs)
        return self.evaluate(params, self.prepare(lrs, as_steps(steps, lrs.size)))

    def fit(self, curves, first_step: int | None = None, starts: int = 3):
        """Fit the law jointly to one or more ``Curve``s; returns a ``Fit``.

        Loss points before ``first_step`` (default: each curve's warmup end) are ignored.
        See ``lrsched.laws.fitting.fit``.
        """
        from lrsched.laws.fitting import fit

        return fit(self, curves, first_step=first_step, starts=starts)

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}({opts})"
