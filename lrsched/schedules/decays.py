r"""The catalogue, decays: from the peak down, over the run or for as long as training goes.

linear, cosine, polynomial and wsd spread their decay over the run; exponential,
inverse_sqrt, step and multistep never end, as torch's ExponentialLR, StepLR and
MultiStepLR and Hugging Face's inverse_sqrt. In the formulas :math:`s` is the body step
(the step after the warmup), :math:`D` = total_steps - warmup the body's length and
:math:`p = \min(s / D, 1)` the progress through it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from lrsched.schedules.base import Phase, Schedule, constructor
from lrsched.schedules.shapes import Shape, interpolate


@dataclass(frozen=True, kw_only=True, repr=False)
class Linear(Schedule):
    r"""Linear decay from the peak to ``final`` over the run.

    .. math::
        f(s) = 1 - (1 - \mathrm{final})\, p

    >>> s = linear(total_steps=100, final=0.1)
    >>> [round(s(t), 6) for t in (0, 50, 100, 200)]
    [1.0, 0.55, 0.1, 0.1]
    """

    name = "linear"
    total_steps: int = field()
    final: float = 0.0

    def _body(self, s):
        return interpolate(self._progress(s), 1.0, self.final, "linear")

    def _check(self):
        self._check_final()


@dataclass(frozen=True, kw_only=True, repr=False)
class Cosine(Schedule):
    r"""Cosine decay to ``final`` (the min ratio) over the run: SGDR's one cycle
    (Loshchilov & Hutter 2017, eq. 5).

    .. math::
        f(s) = \mathrm{final} + (1 - \mathrm{final})\, \frac{1 + \cos \pi p}{2}

    >>> s = cosine(total_steps=1000, warmup=100, final=0.1)
    >>> [round(s(t), 6) for t in (0, 99, 550, 1000)]
    [0.01, 1.0, 0.55, 0.1]
    """

    name = "cosine"
    total_steps: int = field()
    final: float = 0.0

    def _body(self, s):
        return interpolate(self._progress(s), 1.0, self.final, "cosine")

    def _check(self):
        self._check_final()


@dataclass(frozen=True, kw_only=True, repr=False)
class Polynomial(Schedule):
    r"""Polynomial decay to ``final`` over the run (``power=1``: linear).

    .. math::
        f(s) = \mathrm{final} + (1 - \mathrm{final})(1 - p)^{\mathrm{power}}

    >>> s = polynomial(total_steps=100, power=2.0)
    >>> [round(s(t), 6) for t in (0, 50, 100)]
    [1.0, 0.25, 0.0]
    """

    name = "polynomial"
    total_steps: int = field()
    power: float = 1.0
    final: float = 0.0

    def _body(self, s):
        return self.final + (1.0 - self.final) * (1.0 - self._progress(s)) ** self.power

    def _check(self):
        self._check_final()
        self._require(self.power > 0, "power", "a number > 0")


@dataclass(frozen=True, kw_only=True, repr=False)
class WSD(Schedule):
    r"""Warmup-stable-decay, alias trapezoid (Hu et al. 2024; Hägele et al. 2024).

    The peak until the last ``decay_steps`` steps of the run (default 20% of
    total_steps), then down to ``final`` along ``shape`` (linear, cosine, 1-sqrt or
    exponential; see ``interpolate``), with :math:`L` = decay_steps and
    :math:`q = \mathrm{clip}((s - D + L) / L, 0, 1)` the progress through the decay:

    .. math::
        f(s) = \mathrm{shape}(1 \to \mathrm{final},\; q)

    >>> s = wsd(total_steps=1000, decay_steps=200, shape="1-sqrt")
    >>> [round(s(t), 6) for t in (0, 800, 850, 1000)]
    [1.0, 1.0, 0.5, 0.0]
    """

    name = "wsd"
    total_steps: int = field()
    decay_steps: int | None = None
    shape: Shape = "linear"
    final: float = 0.0

    def _decay_len(self) -> int:
        return round(0.2 * self.total_steps) if self.decay_steps is None else self.decay_steps

    def _body(self, s):
        stable = self._length() - self._decay_len()
        q = np.clip((s - stable) / self._decay_len(), 0.0, 1.0)
        return interpolate(q, 1.0, self.final, self.shape)

    def _check(self):
        if not 1 <= self._decay_len() <= self._length():
            self._require(False, "decay_steps", f"between 1 and total_steps - warmup = "
                          f"{self._length()} steps (the default is 20% of the run: "
                          f"{self._decay_len()} steps here)")
        self._check_final()

    def _phases(self):
        stable = self._length() - self._decay_len()
        return ([Phase("stable", 0, stable)] if stable else []) + [
            Phase("decay", stable, self._length())]


@dataclass(frozen=True, kw_only=True, repr=False)
class Exponential(Schedule):
    r"""Exponential decay per step, as torch's ExponentialLR.

    .. math::
        f(s) = \gamma^{s}

    >>> exponential(gamma=0.5)(np.arange(4)).tolist()
    [1.0, 0.5, 0.25, 0.125]
    """

    name = "exponential"
    gamma: float = field()

    def _body(self, s):
        return self.gamma ** s.astype(np.float64)

    def _check(self):
        self._require(0.0 < self.gamma <= 1.0, "gamma", "a factor in (0, 1]")

    def _horizon(self):
        """Down to 1% of the peak."""
        return self.warmup + (math.ceil(math.log(0.01) / math.log(self.gamma))
                              if self.gamma < 1 else 0)


@dataclass(frozen=True, kw_only=True, repr=False)
class InverseSqrt(Schedule):
    r"""Inverse square root decay: the decay of Vaswani et al. 2017 (eq. 3) as Hugging
    Face's inverse_sqrt writes it, with ``timescale`` :math:`\tau` in steps (default: the
    warmup, so the decay continues it smoothly, or 10,000 without one).

    .. math::
        f(s) = \frac{1}{\sqrt{1 + s / \tau}}

    >>> s = inverse_sqrt(warmup=100)
    >>> [round(s(t), 6) for t in (99, 100, 400)]
    [1.0, 1.0, 0.5]
    """

    name = "inverse_sqrt"
    timescale: int | None = None

    def _tau(self) -> int:
        return self.timescale or self.warmup or 10_000

    def _body(self, s):
        return 1.0 / np.sqrt(1.0 + s / self._tau())

    def _check(self):
        self._require(self.timescale != 0, "timescale", "a number of steps >= 1")

    def _horizon(self):
        """Down to 30% of the peak."""
        return self.warmup + 10 * self._tau()


@dataclass(frozen=True, kw_only=True, repr=False)
class Step(Schedule):
    r"""Step decay, as torch's StepLR: ``gamma`` every ``step_size`` steps.

    .. math::
        f(s) = \gamma^{\lfloor s / \mathrm{step\_size} \rfloor}

    >>> step(step_size=2, gamma=0.5)(np.arange(6)).tolist()
    [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    """

    name = "step"
    step_size: int = field()
    gamma: float = 0.1

    def _body(self, s):
        return self.gamma ** (s // self.step_size).astype(np.float64)

    def _check(self):
        self._require(self.step_size > 0, "step_size", "a number of steps >= 1")
        self._require(0.0 < self.gamma <= 1.0, "gamma", "a factor in (0, 1]")

    def _horizon(self):
        """Three drops."""
        return self.warmup + 4 * self.step_size


@dataclass(frozen=True, kw_only=True, repr=False)
class MultiStep(Schedule):
    r"""Multi-step decay, as torch's MultiStepLR: ``gamma`` at each milestone (counted
    from the body's start), with :math:`m_i` the milestones:

    .. math::
        f(s) = \gamma^{|\{i \,:\, m_i \le s\}|}

    >>> multistep(milestones=[2, 4], gamma=0.1)(np.arange(6)).round(6).tolist()
    [1.0, 1.0, 0.1, 0.1, 0.01, 0.01]
    """

    name = "multistep"
    milestones: tuple[int, ...] = field()
    gamma: float = 0.1

    def _body(self, s):
        return self.gamma ** np.searchsorted(self.milestones, s, side="right").astype(np.float64)

    def _check(self):
        self._require(len(self.milestones) > 0 and all(np.diff(self.milestones) > 0)
                      and self.milestones[0] > 0, "milestones",
                      "a non-empty, strictly increasing list of steps > 0, e.g. [3000,6000]")
        self._require(0.0 < self.gamma <= 1.0, "gamma", "a factor in (0, 1]")

    def _phases(self):
        edges = [0, *self.milestones, None]
        return [Phase(f"x{self.gamma ** i:.3g}", a, b)
                for i, (a, b) in enumerate(zip(edges[:-1], edges[1:]))]


linear = constructor(Linear)
cosine = constructor(Cosine)
polynomial = constructor(Polynomial)
wsd = constructor(WSD)
exponential = constructor(Exponential)
inverse_sqrt = constructor(InverseSqrt)
step = constructor(Step)
multistep = constructor(MultiStep)
