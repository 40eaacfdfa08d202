"""Schedules: pure, immutable functions from the optimizer step to an LR multiplier.

A schedule maps a 0-based step ``t`` (an int or a numpy int array) to a multiplier of
the peak LR (1.0 = peak). Every family below is a frozen dataclass whose fields are its
spec keys, so ``from_spec("cosine:total_steps=1000,final=0.1") == cosine(total_steps=1000,
final=0.1)`` and ``from_spec(s.to_spec()) == s`` for every schedule ``s``.

Conventions shared by every family:

* ``warmup=W`` puts a linear warmup in front of the body: ``(t + 1) / W * body(0)`` for
  ``t < W``, so the first step already trains (at ``1/W`` of the peak) and step ``W - 1``
  reaches the body's starting value.
* The body counts from its own start, ``s = t - W``. Families with ``total_steps = T``
  spread their body over ``D = T - W`` steps with progress ``p = min(s / D, 1)``, and
  hold their final value from step ``T`` on.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import math
import re
import types
import typing
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar, Literal, NamedTuple

import numpy as np

Shape = Literal["linear", "cosine", "1-sqrt", "exponential"]
_REGISTRY: dict[str, type[Schedule]] = {}
_ALIASES = {"trapezoid": "wsd"}


def interpolate(p: np.ndarray, start: float, end: float, shape: str) -> np.ndarray:
    """The value going from ``start`` at progress ``p = 0`` to ``end`` at ``p = 1``.

    linear: ``end + (start - end)(1 - p)``; cosine: ``end + (start - end)(1 + cos(pi p))/2``;
    1-sqrt: ``end + (start - end)(1 - sqrt(p))`` (Hägele et al. 2024);
    exponential: ``start (end / start)^p`` (geometric; needs ``start, end > 0``).
    """
    if shape == "exponential":
        return start * (end / start) ** p
    if shape == "linear":
        remaining = 1.0 - p
    elif shape == "cosine":
        remaining = 0.5 * (1.0 + np.cos(np.pi * p))
    elif shape == "1-sqrt":
        remaining = 1.0 - np.sqrt(p)
    else:
        raise ValueError(f"unknown shape {shape!r}; use one of {', '.join(typing.get_args(Shape))}")
    return end + (start - end) * remaining


def _fields(cls: type[Schedule]) -> dict[str, dataclasses.Field]:
    """The family's fields by spec key (a field's ``metadata["key"]``, else its name),
    total_steps first."""
    fields = sorted(dataclasses.fields(cls), key=lambda f: f.name != "total_steps")
    return {f.metadata.get("key", f.name): f for f in fields}


class Phase(NamedTuple):
    """A named stretch of a schedule: steps ``start`` to ``end - 1`` (``end=None``: open)."""

    name: str
    start: int
    end: int | None


@dataclass(frozen=True, kw_only=True, repr=False)
class Schedule:
    """Base of every schedule family: evaluation, warmup, validation and serialisation.

    Subclasses declare their spec keys as dataclass fields and implement ``_body(s)``
    (the multiplier at body step ``s >= 0``, an int64 array) and ``_phases()``.
    """

    name: ClassVar[str]
    # Run length where the family has one (a field there); None for open-ended schedules.
    total_steps: ClassVar[int | None] = None
    warmup: int = 0

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            _REGISTRY[cls.name] = cls

    def __post_init__(self):
        hints = typing.get_type_hints(type(self))
        fields = _fields(type(self))
        for key, f in fields.items():  # total_steps first: step counts may be fractions of it
            steps = key != "total_steps" and not f.metadata.get("count")
            total = self.total_steps if steps and "total_steps" in fields else None
            value = _coerce(self.name, key, getattr(self, f.name), hints[f.name], total)
            object.__setattr__(self, f.name, value)
        if self.total_steps is not None and self.total_steps < 1:
            raise ValueError(f"{self.name}: total_steps must be at least 1, got {self.total_steps}")
        if self.total_steps is not None and self.warmup >= self.total_steps:
            raise ValueError(
                f"{self.name}: warmup={self.warmup} must be shorter than "
                f"total_steps={self.total_steps}; shorten the warmup or lengthen the run"
            )
        self._check()

    # -- evaluation -------------------------------------------------------------------
    def __call__(self, steps: int | np.ndarray) -> float | np.ndarray:
        """The LR multiplier at ``steps`` (int -> float, int array -> float64 array)."""
        t = _as_steps(steps).reshape(-1)
        w = self.warmup
        out = np.asarray(self._body(np.maximum(t - w, 0) if w else t), dtype=np.float64)
        if w:
            warm = t < w
            out[warm] = (t[warm] + 1) / w * float(self._body(np.zeros(1, np.int64))[0])
        return float(out[0]) if np.ndim(steps) == 0 else out.reshape(np.shape(steps))

    def _body(self, s: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _check(self) -> None:
        """Family-specific validation, after the fields are coerced to their types."""

    def _length(self) -> int:
        """Body length D = total_steps - warmup."""
        return self.total_steps - self.warmup

    def _progress(self, s: np.ndarray) -> np.ndarray:
        """Progress through the body, p = min(s / D, 1)."""
        return np.minimum(s / self._length(), 1.0)

    # -- phases -----------------------------------------------------------------------
    def phases(self) -> list[Phase]:
        """Named stretches of the schedule in absolute steps (warmup first)."""
        w = self.warmup
        body = [Phase(p.name, p.start + w, None if p.end is None else p.end + w)
                for p in self._phases()]
        return ([Phase("warmup", 0, w)] if w else []) + body

    def _phases(self) -> list[Phase]:
        return [Phase(self.name, 0, None if self.total_steps is None else self._length())]

    def momentum(self, steps):
        """The absolute momentum (SGD's ``momentum``, Adam's ``beta1``) at ``steps`` for
        schedules that cycle it (float for an int step, array for an array), else None."""
        return None

    # -- composition --------------------------------------------------------------------
    def with_warmup(self, steps: int) -> Schedule:
        """The same schedule with a ``steps``-long linear warmup in front of its body."""
        return dataclasses.replace(self, warmup=steps)

    def anneal_at(self, step: int, steps: int, shape: str | None = None,
                  final: float | None = None) -> Schedule:
        """This schedule annealing over ``steps`` steps from ``step`` on (infinite and
        constant schedules; others have their decay built in)."""
        raise ValueError(f"{self.name} schedules cannot anneal on demand; use an infinite "
                         f"or constant schedule (their decay is not fixed in advance)")

    # -- serialisation ------------------------------------------------------------------
    def _items(self, skip_defaults: bool) -> list[tuple[str, Any]]:
        """(spec key, value) pairs, total_steps first."""
        return [(key, getattr(self, f.name)) for key, f in _fields(type(self)).items()
                if not (skip_defaults and getattr(self, f.name) == f.default)]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ``{"name": ..., key: value, ...}`` with every key."""
        return {"name": self.name, **{k: _to_plain(v) for k, v in self._items(False)}}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Schedule:
        """Rebuild a schedule from ``to_dict()`` output (or any dict with a ``name``)."""
        if not isinstance(d, dict) or "name" not in d:
            raise ValueError(f"a schedule dict needs a 'name' key, got {d!r:.80}")
        params = dict(d)
        cls = _family(params.pop("name"))
        fields = _fields(cls)
        for key in params:
            if key not in fields:
                hint = difflib.get_close_matches(key, list(fields), 1)
                raise ValueError(
                    f"{cls.name} has no key {key!r}"
                    + (f" (did you mean {hint[0]!r}?)" if hint else "")
                    + f"; allowed keys: {', '.join(fields)}"
                )
        missing = [k for k, f in fields.items()
                   if f.default is dataclasses.MISSING and k not in params]
        if missing:
            raise ValueError(f"{cls.name} needs {', '.join(missing)}; "
                             f"e.g. {cls.name}:{missing[0]}=...")
        return cls(**{fields[k].name: v for k, v in params.items()})

    def to_spec(self) -> str:
        """The spec string ``NAME:key=value,...`` (defaults left out); round-trips exactly."""
        items = self._items(True)
        return self.name + (":" + ",".join(f"{k}={_format(v)}" for k, v in items) if items else "")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={_short_repr(v)}" for k, v in self._items(True))
        return f"lrsched.{self.name}({args})"

    # -- previews -------------------------------------------------------------------------
    def plot(self, ax=None, steps: int | None = None, peak_lr: float | None = None, **kwargs):
        """Draw the schedule (LR if ``peak_lr`` is given, else the multiplier) on ``ax``."""
        from lrsched.plot import plot_schedule

        return plot_schedule(self, ax=ax, steps=steps, peak_lr=peak_lr, **kwargs)

    def _repr_png_(self) -> bytes:
        """Notebook preview: the schedule as an inline PNG."""
        from lrsched.plot import schedule_png

        return schedule_png(self)

    def preview_steps(self) -> int:
        """How many steps a preview shows: the run, or twice the last phase start."""
        if self.total_steps is not None:
            return self.total_steps
        return max(1000, 2 * max(p.start for p in self.phases()))


# -- the catalogue -----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, repr=False)
class Constant(Schedule):
    """Constant at the peak: ``1``."""

    name = "constant"

    def _body(self, s):
        return np.ones(s.shape)

    def anneal_at(self, step, steps, shape=None, final=None):
        """Anneal a constant LR on demand: warmup-stable-decay without a fixed budget."""
        from lrsched.infinite import Infinite

        base = Infinite(warmup=self.warmup, cooldown_steps=0, const=1.0)
        return base.anneal_at(step, steps, shape=shape, final=final)


@dataclass(frozen=True, kw_only=True, repr=False)
class _Decay(Schedule):
    """A decay over the whole run, from 1 to ``final`` along the family's ``shape``."""

    shape: ClassVar[str]
    total_steps: int = field()
    final: float = 0.0

    def _body(self, s):
        return interpolate(self._progress(s), 1.0, self.final, self.shape)

    def _check(self):
        _require(0.0 <= self.final <= 1.0, self, "final", "a fraction in [0, 1]")


@dataclass(frozen=True, kw_only=True, repr=False)
class Linear(_Decay):
    """Linear decay to ``final``: ``1 - (1 - final) p``."""

    name = shape = "linear"


@dataclass(frozen=True, kw_only=True, repr=False)
class Cosine(_Decay):
    """Cosine decay to ``final`` (the min ratio): ``final + (1 - final)(1 + cos(pi p)) / 2``."""

    name = shape = "cosine"


@dataclass(frozen=True, kw_only=True, repr=False)
class Polynomial(_Decay):
    """Polynomial decay: ``final + (1 - final)(1 - p)^power``."""

    name = "polynomial"
    power: float = 1.0

    def _body(self, s):
        return self.final + (1.0 - self.final) * (1.0 - self._progress(s)) ** self.power

    def _check(self):
        super()._check()
        _require(self.power > 0, self, "power", "a number > 0")


@dataclass(frozen=True, kw_only=True, repr=False)
class Exponential(Schedule):
    """Exponential decay per step, as torch's ExponentialLR: ``gamma^s``."""

    name = "exponential"
    gamma: float = field()

    def _body(self, s):
        return self.gamma ** s.astype(np.float64)

    def _check(self):
        _require(0.0 < self.gamma <= 1.0, self, "gamma", "a factor in (0, 1]")


@dataclass(frozen=True, kw_only=True, repr=False)
class InverseSqrt(Schedule):
    """Inverse square root decay: ``1 / sqrt(1 + s / timescale)``.

    ``timescale`` defaults to the warmup length, or 10000 without warmup (as Hugging
    Face's ``inverse_sqrt``), so the decay joins the warmup smoothly.
    """

    name = "inverse_sqrt"
    timescale: int | None = None

    def _body(self, s):
        timescale = self.timescale or self.warmup or 10_000
        return 1.0 / np.sqrt(1.0 + s / timescale)

    def _check(self):
        _require(self.timescale is None or self.timescale > 0, self, "timescale", "steps > 0")


@dataclass(frozen=True, kw_only=True, repr=False)
class Step(Schedule):
    """Step decay, as torch's StepLR: ``gamma^floor(s / step_size)``."""

    name = "step"
    step_size: int = field()
    gamma: float = 0.1

    def _body(self, s):
        return self.gamma ** (s // self.step_size).astype(np.float64)

    def _check(self):
        _require(self.step_size > 0, self, "step_size", "steps > 0")
        _require(0.0 < self.gamma <= 1.0, self, "gamma", "a factor in (0, 1]")


@dataclass(frozen=True, kw_only=True, repr=False)
class MultiStep(Schedule):
    """Multi-step decay, as torch's MultiStepLR: ``gamma^(number of milestones <= s)``.

    Milestones count from the body's start (after any warmup).
    """

    name = "multistep"
    milestones: tuple[int, ...] = field()
    gamma: float = 0.1

    def _body(self, s):
        return self.gamma ** np.searchsorted(self.milestones, s, side="right").astype(np.float64)

    def _check(self):
        _require(len(self.milestones) > 0 and all(np.diff(self.milestones) > 0)
                 and self.milestones[0] > 0, self, "milestones",
                 "a non-empty, strictly increasing list of steps > 0, e.g. [3000,6000]")
        _require(0.0 < self.gamma <= 1.0, self, "gamma", "a factor in (0, 1]")

    def _phases(self):
        edges = [0, *self.milestones, None]
        return [Phase(f"x{self.gamma ** i:.3g}", a, b) for i, (a, b) in
                enumerate(zip(edges[:-1], edges[1:]))]


@dataclass(frozen=True, kw_only=True, repr=False)
class CosineRestarts(Schedule):
    """Cosine with hard restarts (SGDR, Loshchilov & Hutter 2017) over ``cycles`` cycles.

    Cycle ``k`` lasts ``L cycle_mult^k`` steps, the cycles filling the body exactly; in
    each, ``final + (1 - final)(1 + cos(pi q)) / 2`` with ``q`` the progress in the cycle.
    ``cycle_mult=1`` gives equal cycles, as Hugging Face's ``cosine_with_restarts``.
    """

    name = "cosine_restarts"
    total_steps: int = field()
    cycles: int = field(default=1, metadata={"count": True})  # a count, never a fraction
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
        _require(self.cycles >= 1, self, "cycles", "an integer >= 1")
        _require(self.cycle_mult >= 1.0, self, "cycle_mult", "a number >= 1")
        _require(0.0 <= self.final <= 1.0, self, "final", "a fraction in [0, 1]")
        _require(self.cycles <= self._length() and self._starts()[1] >= 2, self, "cycles",
                 "few enough (with cycle_mult) that the first, shortest cycle lasts at least "
                 "2 steps")

    def _phases(self):
        starts = np.ceil(self._starts()).astype(int)
        return [Phase(f"cycle {k + 1}", int(starts[k]), int(starts[k + 1]))
                for k in range(self.cycles)]


@dataclass(frozen=True, kw_only=True, repr=False)
class OneCycle(Schedule):
    """One-cycle policy (Smith & Topin 2018), step for step as torch's OneCycleLR.

    Multipliers of the max LR: from ``1/div_factor`` up to 1 over the first
    ``pct_start`` of the run, then down to ``1/(div_factor*final_div_factor)``
    (``three_phase``: back to ``1/div_factor`` first, then down), along ``anneal``.
    """

    name = "one_cycle"
    total_steps: int = field()
    pct_start: float = 0.3
    div_factor: float = 25.0
    final_div_factor: float = 1e4
    anneal: Literal["cosine", "linear"] = "cosine"
    three_phase: bool = False

    def _ends(self) -> list[tuple[float, float, float]]:
        """(last step, start value, end value) of each phase, as torch computes them."""
        n, up = self._length(), self.pct_start * self._length()
        low, floor = 1.0 / self.div_factor, 1.0 / (self.div_factor * self.final_div_factor)
        if self.three_phase:
            return [(up - 1, low, 1.0), (2 * up - 2, 1.0, low), (n - 1, low, floor)]
        return [(up - 1, low, 1.0), (n - 1, 1.0, floor)]

    def _body(self, s):
        ends, starts, stops = (np.array(col) for col in zip(*self._ends()))
        i = np.searchsorted(ends[:-1], s, side="left")  # torch: first phase with s <= end
        begin = np.concatenate([[0.0], ends[:-1]])[i]
        q = np.clip((s - begin) / (ends[i] - begin), 0.0, 1.0)
        return interpolate(q, starts[i], stops[i], self.anneal)

    def _check(self):
        _require(0.0 < self.pct_start < 1.0, self, "pct_start", "a fraction in (0, 1)")
        _require(self.div_factor >= 1.0, self, "div_factor", "a number >= 1")
        _require(self.final_div_factor >= 1.0, self, "final_div_factor", "a number >= 1")
        ends = [0.0] + [e for e, _, _ in self._ends()]
        _require(all(b - a >= 1 for a, b in zip(ends[:-1], ends[1:])), self, "pct_start",
                 "a fraction that leaves every phase at least one step; lengthen the run")

    def _phases(self):
        names = ["up", "down", "anneal"] if self.three_phase else ["up", "anneal"]
        edges = [0] + [math.floor(e) + 1 for e, _, _ in self._ends()]
        return [Phase(n, a, b) for n, a, b in zip(names, edges[:-1], edges[1:])]


@dataclass(frozen=True, kw_only=True, repr=False)
class WSD(Schedule):
    """Warmup-stable-decay (trapezoid; Hu et al. 2024, Hägele et al. 2024).

    1 until the last ``decay_steps`` steps of the run (default: 20% of ``total_steps``;
    a fraction ``0 < x < 1`` is that share of the run), then down to ``final`` along
    ``decay_shape``: linear, cosine, 1-sqrt or exponential (geometric, needs ``final > 0``).
    """

    name = "wsd"
    total_steps: int = field()
    decay_steps: int | None = None
    decay_shape: Shape = "linear"
    final: float = 0.0

    def _decay_len(self) -> int:
        return round(0.2 * self.total_steps) if self.decay_steps is None else self.decay_steps

    def _body(self, s):
        stable = self._length() - self._decay_len()
        q = np.clip((s - stable) / self._decay_len(), 0.0, 1.0)
        return interpolate(q, 1.0, self.final, self.decay_shape)

    def _check(self):
        if not 1 <= self._decay_len() <= self._length():
            raise ValueError(f"wsd: a decay of {self._decay_len()} steps (decay_steps="
                             f"{self.decay_steps}) is invalid; it must last between 1 and "
                             f"total_steps - warmup = {self._length()} steps")
        _require(0.0 <= self.final <= 1.0, self, "final", "a fraction in [0, 1]")
        _require(self.decay_shape != "exponential" or self.final > 0, self, "final",
                 "> 0 for an exponential decay (it decays geometrically towards it)")

    def _phases(self):
        stable = self._length() - self._decay_len()
        stages = [Phase("stable", 0, stable)] if stable else []
        return stages + [Phase("decay", stable, self._length())]


@dataclass(frozen=True, kw_only=True, repr=False)
class Tabulated(Schedule):
    """A schedule given by a table, linearly interpolated between its steps.

    ``values[i]`` is the multiplier at body step ``steps[i]`` (default ``0, 1, 2, ...``);
    before the first and after the last step the end values hold. Refined, optimised and
    searched schedules are tabulated.
    """

    name = "tabulated"
    values: tuple[float, ...] = field()
    steps: tuple[int, ...] | None = None

    @cached_property
    def _table(self) -> tuple[np.ndarray, np.ndarray]:
        values = np.asarray(self.values, dtype=np.float64)
        return (np.arange(len(values)) if self.steps is None else np.asarray(self.steps)), values

    @property
    def total_steps(self) -> int:
        return self.warmup + int(self._table[0][-1]) + 1

    def _body(self, s):
        return np.interp(s, *self._table)

    def _check(self):
        _require(len(self.values) > 0 and min(self.values) >= 0, self, "values",
                 "a non-empty list of multipliers >= 0")
        if self.steps is not None:
            _require(len(self.steps) == len(self.values), self, "steps",
                     f"one step per value ({len(self.values)} values)")
            _require(bool(np.all(np.diff(self.steps) > 0)), self, "steps", "strictly increasing")


@dataclass(frozen=True, kw_only=True, repr=False)
class Join(Schedule):
    """Schedules joined at ``boundaries``, each counting from its own start.

    ``parts[i]`` runs from ``boundaries[i-1]`` as its step 0 (as optax's join_schedules).
    """

    name = "join"
    parts: tuple[Schedule, ...] = field()
    boundaries: tuple[int, ...] = field()

    @property
    def total_steps(self) -> int | None:
        last = self.parts[-1].total_steps
        return None if last is None else self.warmup + self.boundaries[-1] + last

    def _body(self, s):
        which = np.searchsorted(self.boundaries, s, side="right")
        offsets = (0, *self.boundaries)
        out = np.empty(s.shape)
        for i, part in enumerate(self.parts):
            mask = which == i
            out[mask] = part(s[mask] - offsets[i])
        return out

    def _check(self):
        _require(len(self.parts) == len(self.boundaries) + 1, self, "boundaries",
                 f"one fewer than the parts ({len(self.parts)} parts)")
        _require(bool(np.all(np.diff((0, *self.boundaries)) > 0)), self, "boundaries",
                 "strictly increasing steps > 0")

    def _phases(self):
        edges = (0, *self.boundaries, None)
        out = []
        for i, part in enumerate(self.parts):
            for p in part.phases():
                start = edges[i] + p.start
                end = None if p.end is None else edges[i] + p.end
                if edges[i + 1] is not None:
                    end = edges[i + 1] if end is None else min(end, edges[i + 1])
                if end is None or start < end:
                    out.append(Phase(f"{i + 1}:{p.name}", start, end))
        return out


def _constructor(cls: type[Schedule]):
    """The family's constructor: keyword arguments are its spec keys, errors are one line."""
    def make(**params) -> Schedule:
        return Schedule.from_dict({"name": cls.name, **params})

    empty = inspect.Parameter.empty
    make.__signature__ = inspect.Signature([
        inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY,
                          default=empty if f.default is dataclasses.MISSING else f.default)
        for key, f in _fields(cls).items()], return_annotation=cls)
    make.__name__ = make.__qualname__ = cls.name
    make.__doc__ = cls.__doc__
    return make


constant = _constructor(Constant)
linear = _constructor(Linear)
cosine = _constructor(Cosine)
polynomial = _constructor(Polynomial)
exponential = _constructor(Exponential)
inverse_sqrt = _constructor(InverseSqrt)
step = _constructor(Step)
multistep = _constructor(MultiStep)
cosine_restarts = _constructor(CosineRestarts)
one_cycle = _constructor(OneCycle)
wsd = _constructor(WSD)
tabulated = _constructor(Tabulated)


def join(parts, boundaries) -> Join:
    """Join schedules at ``boundaries``; parts may be Schedules, spec strings or dicts."""
    return Join(parts=parts, boundaries=boundaries)


def as_schedule(x: Schedule | str | dict) -> Schedule:
    """A Schedule from a Schedule, a spec string or a ``to_dict()`` dict."""
    if isinstance(x, Schedule):
        return x
    if isinstance(x, str):
        return from_spec(x)
    if isinstance(x, dict):
        return Schedule.from_dict(x)
    raise TypeError(f"expected a Schedule, spec string or dict, got {type(x).__name__}")


# -- spec strings -------------------------------------------------------------------------
_SPEC_HELP = "a spec is NAME or NAME:key=value,key=value (lists in [..], nested specs in (..))"
_WORD = re.compile(r"[A-Za-z0-9_.+\-]+")


def from_spec(spec: str, **defaults) -> Schedule:
    """Parse ``NAME`` or ``NAME:key=value,...`` into a Schedule.

    ``defaults`` fill the keys the spec leaves out, where the family has them:
    ``from_spec("cosine:final=0.1", total_steps=1000, warmup=50)`` is a cosine over a
    1000-step run, and ``from_spec("constant", total_steps=1000)`` ignores total_steps.
    """
    if not isinstance(spec, str):
        raise TypeError(f"a spec must be a string, got {type(spec).__name__}")
    parser = _SpecParser(spec)
    schedule = parser.schedule(defaults)
    parser.expect_end()
    return schedule


class _SpecParser:
    """Recursive descent over: spec := NAME [':' key '=' value (',' key '=' value)*];
    value := word | '[' [value (',' value)*] ']' | '(' spec ')'."""

    def __init__(self, text: str):
        self.text, self.pos = re.sub(r"\s+", "", text), 0  # no value holds a space

    def fail(self, what: str):
        raise ValueError(f"malformed spec {self.text!r} at position {self.pos}: expected "
                         f"{what}; {_SPEC_HELP}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def take(self, char: str) -> bool:
        if self.peek() == char:
            self.pos += 1
            return True
        return False

    def word(self, what: str) -> str:
        m = _WORD.match(self.text, self.pos)
        if not m:
            self.fail(what)
        self.pos = m.end()
        return m.group()

    def expect_end(self):
        if self.pos != len(self.text):
            self.fail("',' or the end")

    def schedule(self, defaults: dict[str, Any] | None = None) -> Schedule:
        params: dict[str, Any] = {"name": self.word("a schedule name")}
        if defaults:
            keys = _fields(_family(params["name"]))
            params.update((k, v) for k, v in defaults.items() if k in keys)
        given = set()
        if self.take(":"):
            while True:
                key = self.word("a key")
                if not self.take("="):
                    self.fail(f"'=' after {key!r}")
                if key in given:
                    raise ValueError(f"spec {self.text!r} sets {key!r} twice; give it once")
                given.add(key)
                params[key] = self.value()
                if not self.take(","):
                    break
        return Schedule.from_dict(params)

    def value(self) -> Any:
        if self.take("("):
            nested = self.schedule()
            if not self.take(")"):
                self.fail("')' closing the nested spec")
            return nested
        if self.take("["):
            items = []
            while not self.take("]"):
                if items and not self.take(","):
                    self.fail("',' or ']'")
                items.append(self.value())
            return items
        return _scalar(self.word("a value"))


def _scalar(word: str) -> Any:
    lowered = word.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "none":
        return None
    for convert in (int, float):
        try:
            return convert(word)
        except ValueError:
            pass
    return word


def _format(value: Any) -> str:
    if isinstance(value, Schedule):
        return f"({value.to_spec()})"
    if isinstance(value, tuple):
        return "[" + ",".join(_format(v) for v in value) + "]"
    if isinstance(value, bool) or value is None:
        return str(value).lower()
    return repr(value) if isinstance(value, float) else str(value)


def _to_plain(value: Any) -> Any:
    if isinstance(value, Schedule):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_to_plain(v) for v in value]
    return value


def _short_repr(value: Any) -> str:
    if isinstance(value, tuple) and len(value) > 6:
        return f"({_short_repr(value[0])}, ..., {_short_repr(value[-1])})  # {len(value)} items"
    return repr(value)


# -- validation ---------------------------------------------------------------------------


def _family(name: Any) -> type[Schedule]:
    name = _ALIASES.get(name, name)
    if name not in _REGISTRY:
        hint = difflib.get_close_matches(str(name), list(_REGISTRY), 1)
        raise ValueError(
            f"unknown schedule {name!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
            + f"; known: {', '.join(sorted(_REGISTRY))}"
        )
    return _REGISTRY[name]


def _require(ok: bool, schedule: Schedule, key: str, allowed: str) -> None:
    if not ok:
        value = getattr(schedule, _fields(type(schedule))[key].name)
        raise ValueError(f"{schedule.name}: {key}={value!r} is invalid; "
                         f"{key} must be {allowed}")


def _coerce(family: str, key: str, value: Any, hint: Any, total: int | None = None) -> Any:
    """``value`` converted to the field's type ``hint``, or a one-line ValueError.

    A step count given as a fraction ``0 < x < 1`` means ``round(x * total)`` steps.
    """
    def bad(allowed: str):
        raise ValueError(f"{family}: {key}={value!r:.60} is invalid; {key} must be {allowed}")

    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        return _coerce(family, key, value, next(a for a in args if a is not type(None)), total)
    if origin is Literal:
        if value not in args:
            bad("one of " + ", ".join(args))
        return value
    if origin is tuple:
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            bad("a list, e.g. [1,2,3]")
        return tuple(_coerce(family, key, v, args[0], total) for v in value)
    if hint is Schedule:
        try:
            return as_schedule(value)
        except TypeError:
            bad("a schedule (a Schedule, a spec string or a dict)")
    if hint is bool:
        if not isinstance(value, (bool, np.bool_)):
            bad("true or false")
        return bool(value)
    if isinstance(value, (bool, np.bool_, str)) or not isinstance(value, (int, float, np.number)):
        bad("an integer" if hint is int else "a number")
    if not math.isfinite(value):
        bad("a finite number")
    if hint is int:
        if 0 < value < 1 and total is not None:
            return round(value * total)
        if value != int(value) or value < 0:
            bad("a non-negative integer (a step count may also be a fraction 0 < x < 1 of "
                "total_steps, in families that have one)")
        return int(value)
    return float(value)


def _as_steps(steps: Any) -> np.ndarray:
    t = np.asarray(steps)
    if t.dtype.kind not in "iu":
        raise ValueError(f"steps must be integers >= 0 (an int or an int array), got dtype "
                         f"{t.dtype}; use e.g. np.arange(n)")
    if t.size and t.min() < 0:
        raise ValueError(f"steps must be >= 0, got {t.min()}; steps count from 0")
    return t.astype(np.int64, copy=False)
