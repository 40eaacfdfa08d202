"""What every loss-curve law is: a formula plus one record per parameter.

A law predicts the loss at chosen steps of a run from the absolute LR of every step:

    L(t) = sum over linear parameters p of  p * basis_p(t; shape parameters)

``basis`` returns one column per *linear* parameter (L0, A and an annealing coefficient:
they are solved by least squares at each starting point of a fit); the other parameters
are *shape* parameters. ``gradient`` returns dL/dp for every parameter, analytically: the
fit's Jacobian and the band's delta method use it. Each parameter is a ``Param``: bounds,
the values tried when a fit starts, an optional weak prior, or a fixed value (as lmfit's
Parameters hold them).
The fitting procedures live in ``lrsched.laws.fitting`` (below the laws: they take any
law by this interface); ``Law.fit`` hands the law to them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from lrsched.laws import fitting
from lrsched.lr_arrays import as_lrs, as_steps


@dataclass(frozen=True)
class Param:
    """One parameter of a law.

    ``low``/``high``: bounds; ``grid``: the values tried for the starting points of a fit
    (shape parameters; linear ones are solved for); ``linear``: enters the loss as a
    coefficient of a basis column; ``prior``: ``(centre, width)``, a weak log-space prior
    (``fitting.fit``); ``fixed``: held at this value instead of fitted; ``may_vanish``:
    a weight of a mixture that the fit may set to 0 (no warning about its bound or
    standard error).
    """

    name: str
    low: float
    high: float
    grid: tuple[float, ...] = ()
    linear: bool = False
    prior: tuple[float, float] | None = None
    fixed: float | None = None
    may_vanish: bool = False


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
    members: tuple[Law, ...] = ()  # a blend's laws: each fitted alone, then averaged
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

    def for_curves(self, curves) -> Law:
        """The law with the options that depend on the curves it is fitted to filled in
        (the cross-LR law's reference LR); most laws have none."""
        return self

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
        return fitting.fit(self, curves, first_step=first_step, starts=starts)

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
