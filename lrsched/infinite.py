"""Schedules for continual pre-training: infinite schedules and re-warmed segments.

Papers: Ibrahim et al. 2024, "Simple and Scalable Strategies to Continually Pre-train
LLMs" (arXiv 2403.08763); Gupta et al. 2023, "Continual Pre-Training of LLMs: How to
(re)warm your model?" (arXiv 2308.04014); Singh, Janson et al. 2025, "Beyond Cosine
Decay" (arXiv 2503.02844).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from lrsched.schedules import Phase, Schedule, Shape, _constructor, _require, interpolate


@dataclass(frozen=True, kw_only=True, repr=False)
class Infinite(Schedule):
    """An infinite schedule: warmup, cooldown, a constant phase, and an anneal on demand.

    After the ``warmup`` (multiplier 0 -> 1), with ``p`` the progress through the
    ``cooldown_steps``:

    * cosine cooldown: ``const + (1 - const)(1 + cos(pi p)) / 2``;
    * inverse_sqrt cooldown: ``1 + (const - 1) h(p) / h(1)`` with
      ``h(x) = 1/sqrt(1 + timescale x) - 1``;

    then ``const`` for as long as training goes. From step ``anneal_at`` (absolute, or
    never) the LR anneals over ``anneal_steps`` from its value there to ``final`` along
    ``anneal_shape`` (exponential: ``const (final/const)^q``, the papers' choice; linear,
    1-sqrt or cosine), and stays at ``final``. ``total_steps`` is optional: it only lets
    lengths be given as fractions and sets the preview length.
    """

    name = "infinite"
    cooldown_steps: int = field()
    const: float = 0.5
    final: float = 0.1
    # Spec key and keyword ``anneal_at``; the attribute name leaves ``anneal_at()`` a method.
    anneal_start: int | None = field(default=None, metadata={"key": "anneal_at"})
    anneal_steps: int | None = None
    cooldown_shape: Literal["cosine", "inverse_sqrt"] = "cosine"
    anneal_shape: Shape = "exponential"
    timescale: float = 10.0
    total_steps: int | None = None

    def _cooldown(self, s: np.ndarray) -> np.ndarray:
        p = np.minimum(s / max(self.cooldown_steps, 1), 1.0)
        if self.cooldown_shape == "cosine":
            return interpolate(p, 1.0, self.const, "cosine")
        h = lambda x: np.expm1(-0.5 * np.log1p(self.timescale * x))  # noqa: E731  (accurate)
        return 1.0 + (self.const - 1.0) * h(p) / h(1.0)

    def _body(self, s):
        out = self._cooldown(s) if self.cooldown_steps else np.full(s.shape, self.const)
        if self.anneal_start is None:
            return out
        start = self.anneal_start - self.warmup
        begin = self._cooldown(np.array(start)) if self.cooldown_steps else self.const
        q = np.clip((s - start) / self.anneal_steps, 0.0, 1.0)
        anneal = interpolate(q, float(begin), self.final, self.anneal_shape)
        return np.where(s >= start, anneal, out)

    def _check(self):
        _require(0.0 < self.const <= 1.0, self, "const", "a fraction in (0, 1]")
        _require(0.0 <= self.final <= self.const, self, "final",
                 f"a fraction in [0, const={self.const}]")
        _require(self.anneal_shape != "exponential" or self.final > 0, self, "final",
                 "> 0 for an exponential anneal (it decays geometrically towards it)")
        _require(self.timescale > 0, self, "timescale", "a number > 0")
        if self.anneal_start is not None:
            _require(self.anneal_start >= self.warmup, self, "anneal_at",
                     f"a step at or after the warmup's end ({self.warmup})")
            _require(bool(self.anneal_steps), self, "anneal_steps",
                     "a number of steps >= 1 when anneal_at is set")

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

    def preview_steps(self) -> int:
        if self.total_steps is not None:
            return self.total_steps
        ends = [p.end or p.start for p in self.phases()]
        return max(1000, round(1.25 * max(ends)))

    def anneal_at(self, step: int, steps: int, shape: str | None = None,
                  final: float | None = None) -> Infinite:
        """The same schedule, annealing over ``steps`` steps from ``step`` on."""
        return dataclasses.replace(
            self, anneal_start=step, anneal_steps=steps,
            anneal_shape=self.anneal_shape if shape is None else shape,
            final=self.final if final is None else final)


@dataclass(frozen=True, kw_only=True, repr=False)
class Continual(Schedule):
    """Repeated warmup and decay over data segments (Ibrahim et al. 2024, Gupta et al. 2023).

    Segment 0 (``segments[0]`` steps, the ``warmup`` included) decays from 1 to
    ``final``; each later segment re-warms linearly from ``final`` to ``peak`` over
    ``rewarm`` steps and decays back to ``final`` along ``decay_shape`` by its end.
    """

    name = "continual"
    segments: tuple[int, ...] = field()
    rewarm: int = 0
    peak: float = 1.0
    final: float = 0.1
    decay_shape: Shape = "cosine"

    @property
    def total_steps(self) -> int:
        return sum(self.segments)

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
        out = interpolate(q, top[i], self.final, self.decay_shape)
        rising = (i > 0) & (u < self.rewarm)
        out[rising] = self.final + (self.peak - self.final) * (u[rising] + 1) / self.rewarm
        return out

    def _check(self):
        _require(len(self.segments) >= 1 and min(self.segments) >= 1, self, "segments",
                 "a non-empty list of segment lengths >= 1")
        _require(self.warmup < self.segments[0], self, "warmup",
                 f"shorter than the first segment ({self.segments[0]})")
        _require(all(self.rewarm < n for n in self.segments[1:]), self, "rewarm",
                 "shorter than every later segment")
        _require(0.0 < self.peak <= 1.0, self, "peak", "a fraction in (0, 1]")
        _require(0.0 <= self.final <= min(1.0, self.peak), self, "final",
                 "a fraction in [0, peak]")
        _require(self.decay_shape != "exponential" or self.final > 0, self, "final",
                 "> 0 for an exponential decay")

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


infinite = _constructor(Infinite)
continual = _constructor(Continual)
