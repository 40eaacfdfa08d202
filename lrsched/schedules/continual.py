r"""The catalogue, schedules without a fixed budget: constant, infinite and continual.

constant and infinite anneal on demand (``anneal_at``); continual re-warms and re-decays
over data segments. Papers: Ibrahim et al. 2024, "Simple and Scalable Strategies to
Continually Pre-train LLMs" (arXiv 2403.08763); Gupta et al. 2023, "Continual
Pre-Training of LLMs: How to (re)warm your model?" (arXiv 2308.04014); Singh, Janson et
al. 2025, "Beyond Cosine Decay" (arXiv 2503.02844). :math:`s` is the body step.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from lrsched.schedules.base import Phase, Schedule, constructor
from lrsched.schedules.shapes import Shape, interpolate


@dataclass(frozen=True, kw_only=True, repr=False)
class Constant(Schedule):
    r"""The peak LR, for as long as training goes.

    .. math::
        f(s) = 1

    ``anneal_at(step, steps, shape, final)`` anneals it on demand: warmup-stable-decay
    without a budget fixed in advance (an infinite schedule without cooldown).

    >>> constant(warmup=4)(np.arange(6)).tolist()
    [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    >>> constant().anneal_at(100, 50, shape="linear", final=0.0)(125)
    0.5
    """

    name = "constant"

    def _body(self, s):
        return np.ones(s.shape)

    def anneal_at(self, step, steps, shape=None, final=None):
        """The infinite schedule without cooldown equal to this one, annealing at ``step``."""
        flat = Infinite(warmup=self.warmup, warmup_init=self.warmup_init, cooldown_steps=0,
                        const=1.0)
        return flat.anneal_at(step, steps, shape=shape, final=final)


@dataclass(frozen=True, kw_only=True, repr=False)
class Infinite(Schedule):
    r"""An infinite schedule (Ibrahim et al. 2024): a cooldown to ``const``, then
    ``const`` for as long as training goes, and an anneal on demand.

    The cooldown lasts :math:`C` = cooldown_steps, with :math:`p = \min(s / C, 1)`;
    ``cooldown_shape`` cosine or inverse_sqrt, the latter with :math:`h(x) = (1 +
    x/\tau)^{-1/2} - 1` and ``timescale`` :math:`\tau` in steps (default :math:`C / 10`):

    .. math::
        c(s) = \mathrm{const} + (1 - \mathrm{const})\frac{1 + \cos \pi p}{2}
        \quad\text{or}\quad c(s) = 1 + (\mathrm{const} - 1)\frac{h(\min(s, C))}{h(C)}

    From step ``anneal_at`` :math:`= W + a` (absolute) it anneals over :math:`A` =
    anneal_steps from its value there to ``final`` along ``shape`` (exponential, the
    papers' choice, or linear, cosine, 1-sqrt), then holds ``final``:

    .. math::
        f(s) = \mathrm{shape}\big(c(a) \to \mathrm{final},\; \mathrm{clip}((s - a) / A, 0, 1)
        \big) \text{ for } s \ge a, \text{ else } c(s)

    >>> s = infinite(cooldown_steps=100, const=0.5, final=0.05).anneal_at(200, 100)
    >>> [round(s(t), 6) for t in (0, 50, 150, 250, 300)]
    [1.0, 0.75, 0.5, 0.158114, 0.05]
    """

    name = "infinite"
    total_steps: int | None = None
    cooldown_steps: int = field()
    const: float = 0.5
    final: float = 0.1
    # Spec key and keyword ``anneal_at``; the attribute name leaves ``anneal_at()`` a method.
    anneal_start: int | None = field(default=None, metadata={"key": "anneal_at"})
    anneal_steps: int | None = None
    cooldown_shape: Literal["cosine", "inverse_sqrt"] = "cosine"
    shape: Shape = "exponential"
    timescale: int | None = None

    def _cooldown(self, s: np.ndarray) -> np.ndarray:
        if not self.cooldown_steps:
            return np.full(np.shape(s), self.const)
        if self.cooldown_shape == "cosine":
            p = np.minimum(s / self.cooldown_steps, 1.0)
            return interpolate(p, 1.0, self.const, "cosine")
        tau = self.timescale or self.cooldown_steps / 10
        h = lambda x: np.expm1(-0.5 * np.log1p(x / tau))  # noqa: E731  (accurate near 0)
        return 1.0 + (self.const - 1.0) * h(np.minimum(s, self.cooldown_steps)) / h(
            self.cooldown_steps)

    def _body(self, s):
        out = self._cooldown(s)
        if self.anneal_start is None:
            return out
        start = self.anneal_start - self.warmup
        q = np.clip((s - start) / self.anneal_steps, 0.0, 1.0)
        anneal = interpolate(q, float(self._cooldown(start)), self.final, self.shape)
        return np.where(s >= start, anneal, out)

    def _check(self):
        self._require(0.0 < self.const <= 1.0, "const", "a fraction in (0, 1]")
        self._check_final(self.const, f"const={self.const}")
        self._require(self.timescale is None or self.cooldown_shape == "inverse_sqrt",
                      "timescale", "left out unless cooldown_shape=inverse_sqrt (it shapes "
                      "that cooldown)")
        self._require(self.timescale != 0, "timescale", "a number of steps >= 1")
        if self.anneal_start is None:
            self._require(self.anneal_steps is None, "anneal_steps",
                          "left out unless anneal_at is set (it is how long the anneal lasts)")
            return
        self._require(self.anneal_start >= self.warmup, "anneal_at",
                      f"a step at or after the warmup's end ({self.warmup})")
        self._require(bool(self.anneal_steps), "anneal_steps",
                      "a number of steps >= 1 when anneal_at is set")
        end = self.anneal_start + self.anneal_steps
        self._require(self.total_steps is None or end <= self.total_steps, "anneal_steps",
                      f"short enough that the anneal ends by total_steps={self.total_steps} "
                      f"(it ends at step {end})")

    def _phases(self):
        c = self.cooldown_steps
        a = None if self.anneal_start is None else self.anneal_start - self.warmup
        stages = []
        if c and (a is None or a > 0):
            stages.append(Phase("cooldown", 0, c if a is None else min(c, a)))
        if a is None or a > c:
            stages.append(Phase("constant", c, a))
        if a is not None:
            stages += [Phase("anneal", a, a + self.anneal_steps),
                       Phase("final", a + self.anneal_steps, None)]
        return stages

    def anneal_at(self, step: int, steps: int, shape: str | None = None,
                  final: float | None = None) -> Infinite:
        """The same schedule, annealing over ``steps`` steps from ``step`` on."""
        return dataclasses.replace(
            self, anneal_start=step, anneal_steps=steps,
            shape=self.shape if shape is None else shape,
            final=self.final if final is None else final)


@dataclass(frozen=True, kw_only=True, repr=False)
class Continual(Schedule):
    r"""Repeated warmup and decay over data segments (Ibrahim et al. 2024, Gupta et al.
    2023).

    Segment 1 (``segments[0]`` steps, the ``warmup`` included) decays from 1 to
    ``final``; each later segment :math:`k`, starting at body step :math:`S_k` with
    :math:`u = s - S_k`, re-warms linearly from ``final`` to ``peak`` over :math:`R` =
    rewarm steps and decays back to ``final`` along ``shape`` by its end :math:`S_{k+1}`:

    .. math::
        f(s) = \begin{cases}
            \mathrm{final} + (\mathrm{peak} - \mathrm{final})(u + 1) / R & u < R \\
            \mathrm{shape}\big(\mathrm{peak} \to \mathrm{final},\;
                (u - R) / (S_{k+1} - S_k - R)\big) & u \ge R
        \end{cases}

    total_steps is the segments' sum; ``add_segment(steps)`` appends one.

    >>> s = continual(segments=[10, 10], rewarm=2, shape="linear", final=0.0)
    >>> s(np.array([0, 5, 10, 11, 12, 16])).round(6).tolist()
    [1.0, 0.5, 0.5, 1.0, 1.0, 0.5]
    """

    name = "continual"
    segments: tuple[int, ...] = field()
    rewarm: int = 0
    peak: float = 1.0
    final: float = 0.1
    shape: Shape = "cosine"

    def _starts(self) -> np.ndarray:
        """Body steps where each segment starts (the first shortened by the warmup)."""
        return np.cumsum([0, self.segments[0] - self.warmup, *self.segments[1:]])

    def _body(self, s):
        starts = self._starts()
        later = np.arange(len(self.segments)) > 0
        ramp, top = np.where(later, self.rewarm, 0), np.where(later, self.peak, 1.0)
        i = np.searchsorted(starts[1:-1], s, side="right")  # the segment of each step
        u = s - starts[i]
        q = np.clip((u - ramp[i]) / (np.diff(starts) - ramp)[i], 0.0, 1.0)
        out = interpolate(q, top[i], self.final, self.shape)
        rising = (i > 0) & (u < self.rewarm)
        out[rising] = self.final + (self.peak - self.final) * (u[rising] + 1) / self.rewarm
        return out

    def _check(self):
        self._require(len(self.segments) >= 1 and min(self.segments) >= 1, "segments",
                      "a non-empty list of segment lengths >= 1")
        self._require(self.warmup < self.segments[0], "warmup",
                      f"shorter than the first segment ({self.segments[0]})")
        self._require(all(self.rewarm < n for n in self.segments[1:]), "rewarm",
                      "shorter than every later segment")
        self._require(0.0 < self.peak <= 1.0, "peak", "a fraction in (0, 1]")
        self._check_final(min(1.0, self.peak), "peak")

    def _run_length(self):
        return sum(self.segments)

    def _phases(self):
        starts = self._starts().tolist()
        stages = [Phase("segment 1", 0, starts[1])]
        for k in range(1, len(self.segments)):
            if self.rewarm:
                stages.append(Phase("re-warm", starts[k], starts[k] + self.rewarm))
            stages.append(Phase(f"segment {k + 1}", starts[k] + self.rewarm, starts[k + 1]))
        return stages

    def add_segment(self, steps: int) -> Continual:
        """The same schedule with one more segment of ``steps`` steps at its end."""
        return dataclasses.replace(self, segments=(*self.segments, steps))


constant = constructor(Constant)
infinite = constructor(Infinite)
continual = constructor(Continual)
