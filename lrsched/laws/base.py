"""What every loss-curve law is: a formula plus one record per parameter.

A law predicts the loss at chosen steps of a run from the absolute LR of every step:

    L(t) = sum over linear parameters p of  p * basis_p(t; shape parameters)

``basis`` returns one column per *linear* parameter (L0, A and an annealing coefficient:
they are solved by least squares at each starting point of a fit); the other parameters
are *shape* parameters. ``gradient`` returns dL/dp for every parameter, analytically: the
fit's Jacobian and the band's delta method use it. Each parameter is a ``Param``: bounds,
the values tried when a fit starts, an optional weak prior, or a fixed value (as lmfit's
Parameters hold them).
The fitting procedure lives in ``lrsched.laws.fitting``; a law holds no fitting code.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from lrsched.errors import InputError

VERSION = 2  # of the saved-fit format (``Fit.save``); bump on incompatible change
MAX_STEPS = 10_000_000  # the longest run one prediction evaluates


@dataclass(frozen=True)
class Param:
    """One parameter of a law.

    ``low``/``high``: bounds; ``grid``: the values tried for the starting points of a fit
    (shape parameters; linear ones are solved for); ``linear``: enters the loss as a
    coefficient of a basis column; ``prior``: ``(centre, width)``, a weak log-space prior
    (``fitting.fit``); ``fixed``: held at this value instead of fitted.
    """

    name: str
    low: float
    high: float
    grid: tuple[float, ...] = ()
    linear: bool = False
    prior: tuple[float, float] | None = None
    fixed: float | None = None


# The power-law part L0 + A * S^-alpha, shared by every law.
L0 = Param("L0", 0.0, np.inf, linear=True)
A = Param("A", 0.0, 1e6, linear=True)
ALPHA = Param("alpha", 0.01, 3.0, grid=(0.3, 0.5, 0.8))


class Law:
    """A loss-curve law: ``params`` (a tuple of ``Param``) and the formula ``basis``.

    Subclasses define ``name``, ``params``, ``prepare`` (parameter-independent terms at
    the steps to evaluate), ``basis`` and ``gradient``. Options that a fit must choose among by
    leave-one-curve-out are named by ``choices``; parameters first estimated by a
    simpler law are named by ``pilot``.
    """

    name: str
    params: tuple[Param, ...]
    pilot: tuple[Law, tuple[str, ...]] | None = None  # (law, the parameters it gives)
    # The RMS relative error of the final losses the law predicted for training curves
    # it was not fitted to (benchmarks/bench_decisions.py, development): the least
    # error ``Fit.interval`` assumes for a schedule the fit has not seen.
    heldout_error: float = 0.0

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)

    # -- options ---------------------------------------------------------------------
    def options(self) -> dict:
        """Constructor keywords that rebuild this law (saved with a fit)."""
        return {}

    def choices(self) -> dict[str, tuple[tuple, object]]:
        """Options left for the fit to choose: name -> (candidates, value with too few
        curves to leave one out)."""
        return {}

    def formula(self) -> tuple:
        """The options ``prepare`` and ``basis`` depend on (default: every option); fits of
        one formula to the same data share their starting points (``fitting``)."""
        return tuple(sorted(self.options().items()))

    def with_options(self, **changes) -> Law:
        return type(self)(**{**self.options(), **changes})

    # -- the formula -------------------------------------------------------------------
    def prepare(self, lrs: np.ndarray, steps: np.ndarray) -> dict:
        """Parameter-independent terms for evaluating at ``steps``."""
        raise NotImplementedError

    def basis(self, values: dict, prepared: dict) -> dict[str, np.ndarray]:
        """One column per linear parameter, at the shape parameters in ``values``."""
        raise NotImplementedError

    def gradient(self, values: dict, prepared: dict) -> dict[str, np.ndarray]:
        """d evaluate / d p at the prepared steps, for every parameter p (a linear
        parameter's is its basis column); checked against finite differences in
        tests/test_laws.py."""
        raise NotImplementedError

    def evaluate(self, values: dict, prepared: dict) -> np.ndarray:
        return sum(values[name] * column for name, column in self.basis(values, prepared).items())

    def predict(self, values: dict, lrs, steps=None) -> np.ndarray:
        """Loss at ``steps`` (default: every step) of a run with per-step LRs ``lrs``."""
        lrs = as_lrs(lrs)
        return self.evaluate(values, self.prepare(lrs, as_steps(steps, lrs.size)))

    def fit(self, curves, first_step: int | None = None, starts: int = 3):
        """Fit the law jointly to ``Curve``s; returns a ``Fit`` (see ``fitting.fit``)."""
        from lrsched.laws.fitting import fit

        return fit(self, curves, first_step=first_step, starts=starts)

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}({opts})"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.options() == other.options()

    def __hash__(self) -> int:
        return hash(repr(self))


def power(values: dict, s1: np.ndarray) -> np.ndarray:
    """S1^-alpha, the power law every law's loss falls by (S1 = 0 gives inf)."""
    with np.errstate(divide="ignore"):
        return s1 ** -values["alpha"]


def power_gradient(values: dict, s1: np.ndarray) -> dict[str, np.ndarray]:
    """The gradient of L0 + A · S1^-alpha in L0, A and alpha."""
    p = power(values, s1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {"L0": np.ones_like(p), "A": p, "alpha": -values["A"] * np.log(s1) * p}


def replace_param(params: tuple[Param, ...], name: str, **changes) -> tuple[Param, ...]:
    """``params`` with the one named ``name`` changed."""
    return tuple(dataclasses.replace(p, **changes) if p.name == name else p for p in params)


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
    """Refuse a run longer than one prediction evaluates (before its LRs are made)."""
    if n > MAX_STEPS:
        raise InputError(f"a run of {n:,} steps is longer than the {MAX_STEPS:,} one "
                         "prediction evaluates; predict a shorter run")


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
