r"""The catalogue, cycles: cosine with restarts, torch's OneCycleLR and CyclicLR.

one_cycle and cyclic equal torch's schedulers step for step, as multipliers of the max
LR (the optimizer's ``lr`` is torch's ``max_lr``), and as torch's they cycle the momentum
(SGD's ``momentum``, Adam's ``beta1``) by default; see ``Schedule.momentum``.
``cycle_momentum=false`` leaves the optimizer's momentum alone.
In the formulas :math:`s` is the body step and :math:`D` = total_steps - warmup.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from lrsched.schedules.base import Phase, Schedule, constructor
from lrsched.schedules.shapes import interpolate


def _check_momentum(schedule: OneCycle | Cyclic) -> None:
    """Momenta within [0, 1), and left at their defaults unless momentum is cycled."""
    if schedule.cycle_momentum:
        schedule._require(schedule.max_momentum < 1.0, "max_momentum", "below 1")
        schedule._require(0.0 <= schedule.base_momentum <= schedule.max_momentum,
                          "base_momentum", f"in [0, max_momentum={schedule.max_momentum}]")
    for key in ("base_momentum", "max_momentum"):
        default = type(schedule).__dataclass_fields__[key].default
        schedule._require(schedule.cycle_momentum or getattr(schedule, key) == default, key,
                          f"left at {default} with cycle_momentum=false (it cycles nothing)")


@dataclass(frozen=True, kw_only=True, repr=False)
class CosineRestarts(Schedule):
    r"""Cosine with hard restarts (SGDR, Loshchilov & Hutter 2017, eq. 5) over ``cycles``
    cycles that fill the body exactly.

    Cycle :math:`k` lasts :math:`L\, m^k` steps (:math:`m` = cycle_mult); with :math:`q`
    the progress through the cycle,

    .. math::
        f(s) = \mathrm{final} + (1 - \mathrm{final})\, \frac{1 + \cos \pi q}{2}

    ``cycle_mult=1`` (equal cycles) is Hugging Face's ``cosine_with_restarts``.

    >>> s = cosine_restarts(total_steps=300, cycles=3)
    >>> [round(s(t), 6) for t in (0, 50, 100, 300)]
    [1.0, 0.5, 1.0, 0.0]
    """

    name = "cosine_restarts"
    total_steps: int = field()
    cycles: int = field(default=1, metadata={"count": True})
    cycle_mult: float = 1.0
    final: float = 0.0

    def _starts(self) -> np.ndarray:
        """Cycle start offsets (in body steps, floats), with the body end appended."""
        # lengths relative to the longest (no overflow); exact starts when they are whole
        bounds = np.cumsum(self.cycle_mult ** (np.arange(self.cycles) - (self.cycles - 1.0)))
        return np.concatenate([[0.0], bounds * self._length() / bounds[-1]])

    def _body(self, s):
        starts = self._starts()
        k = np.clip(np.searchsorted(starts, s, side="right") - 1, 0, self.cycles - 1)
        q = np.minimum((s - starts[k]) / (starts[k + 1] - starts[k]), 1.0)
        return interpolate(q, 1.0, self.final, "cosine")

    def _check(self):
        self._require(self.cycles >= 1, "cycles", "a whole number >= 1")
        self._require(self.cycle_mult >= 1.0, "cycle_mult", "a number >= 1")
        self._check_final()
        self._require(self.cycles <= self._length() and self._starts()[1] >= 2, "cycles",
                      "few enough (with cycle_mult) that the first, shortest cycle lasts at "
                      "least 2 steps")

    def _phases(self):
        starts = np.ceil(self._starts()).astype(int)
        return [Phase(f"cycle {k + 1}", int(starts[k]), int(starts[k + 1]))
                for k in range(self.cycles)]


@dataclass(frozen=True, kw_only=True, repr=False)
class OneCycle(Schedule):
    r"""One-cycle policy (Smith & Topin 2018), step for step as torch's OneCycleLR.

    Phase :math:`k` ends at step :math:`e_k` and goes from :math:`a_k` to :math:`b_k`
    along ``shape`` (cosine or linear), with :math:`e_0 = 0`, :math:`u` = pct_start
    :math:`\cdot D`, :math:`\ell` = 1/div_factor and :math:`\ell_\infty = \ell` /
    final_div_factor: up :math:`(u - 1;\ \ell \to 1)`, then down :math:`(D - 1;\ 1 \to
    \ell_\infty)`; ``three_phase``: up, back :math:`(2u - 2;\ 1 \to \ell)`, down
    :math:`(D - 1;\ \ell \to \ell_\infty)`.

    .. math::
        f(s) = \mathrm{shape}\Big(a_k \to b_k,\; \frac{s - e_{k-1}}{e_k - e_{k-1}}\Big),
        \quad e_{k-1} < s \le e_k

    The momentum goes the other way (``cycle_momentum``, the default as in torch), from
    max_momentum to base_momentum and back (torch's defaults 0.85 and 0.95); in
    three_phase's last phase it stays at max_momentum.

    >>> s = one_cycle(total_steps=100)
    >>> [round(s(t), 6) for t in (0, 29, 99)], [round(s.momentum(t), 6) for t in (0, 29, 99)]
    ([0.04, 1.0, 4e-06], [0.95, 0.85, 0.95])
    """

    name = "one_cycle"
    total_steps: int = field()
    pct_start: float = 0.3
    div_factor: float = 25.0
    final_div_factor: float = 1e4
    shape: Literal["cosine", "linear"] = "cosine"
    three_phase: bool = False
    cycle_momentum: bool = True
    base_momentum: float = 0.85
    max_momentum: float = 0.95

    def _table(self) -> np.ndarray:
        """Rows (e_k, a_k, b_k, momentum from, momentum to), as torch computes them."""
        n, up = self._length(), self.pct_start * self._length()
        low, floor = 1.0 / self.div_factor, 1.0 / (self.div_factor * self.final_div_factor)
        top, bottom = self.max_momentum, self.base_momentum
        if self.three_phase:
            rows = [(up - 1, low, 1.0, top, bottom), (2 * up - 2, 1.0, low, bottom, top),
                    (n - 1, low, floor, top, top)]
        else:
            rows = [(up - 1, low, 1.0, top, bottom), (n - 1, 1.0, floor, bottom, top)]
        return np.array(rows)

    def _along(self, s: np.ndarray, column: int) -> np.ndarray:
        """Columns ``column`` -> ``column + 1`` of the table, interpolated at body steps."""
        table = self._table()
        ends = table[:, 0]
        i = np.searchsorted(ends[:-1], s, side="left")  # torch: the first phase with s <= e_k
        begin = np.concatenate([[0.0], ends[:-1]])[i]
        q = np.clip((s - begin) / (ends[i] - begin), 0.0, 1.0)
        return interpolate(q, table[i, column], table[i, column + 1], self.shape)

    def _body(self, s):
        return self._along(s, 1)

    def _momentum(self, s):
        return self._along(s, 3) if self.cycle_momentum else None

    def _check(self):
        self._require(0.0 < self.pct_start < 1.0, "pct_start", "a fraction in (0, 1)")
        self._require(self.div_factor >= 1.0, "div_factor", "a number >= 1")
        self._require(self.final_div_factor >= 1.0, "final_div_factor", "a number >= 1")
        ends = [0.0, *self._table()[:, 0]]
        self._require(all(b - a >= 1 for a, b in zip(ends[:-1], ends[1:])), "pct_start",
                      "a fraction that leaves every phase at least one step; lengthen the run")
        _check_momentum(self)

    def _phases(self):
        names = ["up", "down", "anneal"] if self.three_phase else ["up", "anneal"]
        edges = [0] + [math.floor(e) + 1 for e in self._table()[:, 0]]
        return [Phase(n, a, b) for n, a, b in zip(names, edges[:-1], edges[1:])]


@dataclass(frozen=True, kw_only=True, repr=False)
class Cyclic(Schedule):
    r"""Cyclical learning rates (Smith 2017), step for step as torch's CyclicLR.

    Triangles between ``base`` (torch's base_lr / max_lr) and the peak: up over
    :math:`u` = step_size_up steps, down over :math:`d` = step_size_down (default
    :math:`u`), with the amplitude scaled by :math:`g`. With :math:`L = u + d`,
    cycle :math:`c = \lfloor 1 + s / L \rfloor` and :math:`x = 1 + s / L - c`:

    .. math::
        f(s) = b + (1 - b)\, h\, g, \quad
        h = \begin{cases} x L / u & x \le u / L \\ (1 - x) L / d & \text{else} \end{cases},
        \quad g = \begin{cases} 1 & \text{triangular} \\ 2^{1 - c} & \text{triangular2} \\
        \gamma^{s} & \text{exp\_range} \end{cases}

    The momentum (``cycle_momentum``, the default as in torch) is :math:`m_{max} - (m_{max}
    - m_{base})\, h\, g` (torch's defaults :math:`m_{base}` = 0.8, :math:`m_{max}` = 0.9).

    >>> s = cyclic(base=0.1, step_size_up=2, mode="triangular2")
    >>> s(np.arange(9)).round(6).tolist()
    [0.1, 0.55, 1.0, 0.55, 0.1, 0.325, 0.55, 0.325, 0.1]
    """

    name = "cyclic"
    base: float = field()
    step_size_up: int = 2000
    step_size_down: int | None = None
    mode: Literal["triangular", "triangular2", "exp_range"] = "triangular"
    gamma: float = 1.0
    cycle_momentum: bool = True
    base_momentum: float = 0.8
    max_momentum: float = 0.9

    def _wave(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(h, g) at body steps ``s``, in torch's floating-point operations."""
        up = float(self.step_size_up)
        size = up + float(self.step_size_down or self.step_size_up)
        ratio = up / size
        cycle = np.floor(1 + s / size)
        x = 1.0 + s / size - cycle
        h = np.where(x <= ratio, x / ratio, (x - 1) / (ratio - 1))
        if self.mode == "triangular2":
            return h, 0.5 ** (cycle - 1)  # torch: 1 / 2.0 ** (cycle - 1), the same powers of two
        return h, self.gamma ** s.astype(np.float64) if self.mode == "exp_range" else 1.0

    def _body(self, s):
        h, g = self._wave(s)
        return self.base + (1.0 - self.base) * h * g

    def _momentum(self, s):
        if not self.cycle_momentum:
            return None
        h, g = self._wave(s)
        return self.max_momentum - (self.max_momentum - self.base_momentum) * h * g

    def _check(self):
        self._require(0.0 <= self.base <= 1.0, "base", "a fraction of the peak in [0, 1] "
                      "(torch's base_lr / max_lr)")
        self._require(self.step_size_up >= 1, "step_size_up", "a number of steps >= 1")
        self._require(self.step_size_down != 0, "step_size_down", "a number of steps >= 1")
        self._require(0.0 < self.gamma <= 1.0, "gamma", "a factor in (0, 1]")
        self._require(self.mode == "exp_range" or self.gamma == 1.0, "gamma",
                      "left at 1 unless mode=exp_range (the other modes do not use it)")
        _check_momentum(self)

    def _horizon(self):
        """Three cycles."""
        return self.warmup + 3 * (self.step_size_up + (self.step_size_down or self.step_size_up))


cosine_restarts = constructor(CosineRestarts)
one_cycle = constructor(OneCycle)
cyclic = constructor(Cyclic)
