r"""The catalogue, tables and joins: schedules given by values, or made of other schedules.

Refined, optimised and searched schedules are tabulated; ``join`` chains schedules at
given steps. Both derive their total_steps from what they hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from lrsched.errors import InputError
from lrsched.schedules.base import Phase, Schedule, constructor
from lrsched.schedules.fields import MAX_NESTING


@dataclass(frozen=True, kw_only=True, repr=False)
class Tabulated(Schedule):
    r"""A table of multipliers, linearly interpolated: ``values[i]`` at body step
    ``steps[i]`` (default ``0, 1, 2, ...``); the end values hold outside the table.

    .. math::
        f(s) = v_i + (v_{i+1} - v_i) \frac{s - t_i}{t_{i+1} - t_i}, \quad t_i \le s \le t_{i+1}

    total_steps is one past the last step of the table.

    >>> s = tabulated(values=[0.5, 1.0, 0.0], steps=[0, 10, 30])
    >>> s(np.array([0, 5, 20, 40])).tolist(), s.total_steps
    ([0.5, 0.75, 0.5, 0.0], 31)
    """

    name = "tabulated"
    values: tuple[float, ...] = field()
    steps: tuple[int, ...] | None = None

    @cached_property
    def _table(self) -> tuple[np.ndarray, np.ndarray]:
        values = np.asarray(self.values, dtype=np.float64)
        return (np.arange(len(values)) if self.steps is None else np.asarray(self.steps)), values

    def _body(self, s):
        return np.interp(s, *self._table)

    def _check(self):
        self._require(len(self.values) > 0 and min(self.values) >= 0, "values",
                      "a non-empty list of multipliers >= 0, e.g. [1.0,0.5,0.1]")
        if self.steps is not None:
            self._require(len(self.steps) == len(self.values), "steps",
                          f"one step per value ({len(self.values)} values)")
            self._require(bool(np.all(np.diff(self.steps) > 0)), "steps", "strictly increasing")

    def _run_length(self):
        return self.warmup + int(self._table[0][-1]) + 1


@dataclass(frozen=True, kw_only=True, repr=False)
class Join(Schedule):
    r"""Schedules joined at ``boundaries`` :math:`b_i`, each counting from its own start
    (as optax's join_schedules), with :math:`b_0 = 0`:

    .. math::
        f(s) = \mathrm{parts}_i(s - b_i), \quad b_i \le s < b_{i+1}

    total_steps is where the last part ends (None if it never does). Its parts all cycle
    momentum (then it does) or none does.

    >>> s = join(["constant", "linear:total_steps=10"], boundaries=[5])
    >>> s(np.array([0, 4, 5, 10, 15])).tolist(), s.total_steps
    ([1.0, 1.0, 1.0, 0.5, 0.0], 15)
    """

    name = "join"
    parts: tuple[Schedule, ...] = field()
    boundaries: tuple[int, ...] = field()

    def _piecewise(self, s: np.ndarray, evaluate) -> np.ndarray:
        which = np.searchsorted(self.boundaries, s, side="right")
        offsets = (0, *self.boundaries)
        out = np.empty(s.shape)
        for i, part in enumerate(self.parts):
            mask = which == i
            out[mask] = evaluate(part, s[mask] - offsets[i])
        return out

    def _body(self, s):
        return self._piecewise(s, Schedule.__call__)

    def _momentum(self, s):
        return self._piecewise(s, Schedule.momentum) if self._cycles_momentum() else None

    def _cycles_momentum(self) -> bool:
        return self.parts[0].momentum(0) is not None

    def _nesting(self) -> int:
        """How many joins deep this one goes."""
        return 1 + max(p._nesting() if isinstance(p, Join) else 0 for p in self.parts)

    def _check(self):
        self._require(len(self.parts) >= 1, "parts", "a non-empty list of schedules")
        self._require(len(self.boundaries) == len(self.parts) - 1, "boundaries",
                      f"one fewer than the parts ({len(self.parts)} parts)")
        self._require(bool(np.all(np.diff((0, *self.boundaries)) > 0)), "boundaries",
                      "strictly increasing steps > 0")
        cycling = [p.momentum(0) is not None for p in self.parts]
        self._require(all(cycling) or not any(cycling), "parts",
                      "schedules that all cycle momentum, or none of them (one_cycle and "
                      "cyclic do unless cycle_momentum=false)")
        if self._nesting() > MAX_NESTING:
            raise InputError(f"join: the schedule nests more than {MAX_NESTING} joins deep; "
                             "flatten it (a join takes any number of parts)")

    def _run_length(self):
        last = self.parts[-1].total_steps
        return None if last is None else self.warmup + (self.boundaries or (0,))[-1] + last

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


def join(parts, boundaries, **keys) -> Join:
    """Join schedules at ``boundaries`` (see ``Join``); parts may be Schedules, spec
    strings or dicts, and ``keys`` are Join's others (warmup, warmup_init)."""
    return _join(parts=parts, boundaries=boundaries, **keys)


_join = constructor(Join)
tabulated = constructor(Tabulated)
