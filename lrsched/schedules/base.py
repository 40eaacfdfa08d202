"""The Schedule base: evaluation, warmup, phases, validation and the dict/spec round trip.

A family is a frozen dataclass subclass of ``Schedule`` with a ``name`` (its spec name)
whose fields are its spec keys. It implements ``_body(s)``, the multiplier at body steps
``s`` (an int64 array), and where it needs them ``_check()`` (validation, after every
field is coerced to its type), ``_phases()`` (named stretches, for previews),
``_run_length()`` (total_steps, where the family derives it from its other fields),
``_momentum(s)`` (where it cycles momentum) and ``_horizon()`` (the steps a preview of
an open-ended schedule shows). docs/schedules.md, "Add a family", has the recipe.

Conventions shared by every family:

* ``warmup=W`` ramps linearly in front of the body, which counts from ``s = t - W``:
  ``(t + 1) / W * body(0)`` for ``t < W``, so step 0 trains (at ``1/W``) and step
  ``W - 1`` reaches the body's start. ``warmup_init=r`` ramps ``(r + (1 - r) t / W) *
  body(0)`` instead, reaching the body's start at step ``W``: timm's ``warmup_lr_init /
  lr``, optax's ``init_value / peak_value``; ``warmup_init=0`` is Hugging Face's ``t / W``.
* ``total_steps=T`` is the run's length (None: the schedule never ends). From step ``T``
  on a schedule holds its value at ``T``. Families with a run length spread their body
  over ``D = T - W`` steps with progress ``p = min(s / D, 1)``.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import inspect
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import numpy as np

from lrsched.errors import InputError
from lrsched.schedules import spec
from lrsched.schedules.fields import MAX_NESTING, MAX_STEPS, as_steps, coerce
from lrsched.schedules.preview import MAX_PREVIEW_STEPS, plot_schedule, schedule_png

_REGISTRY: dict[str, type[Schedule]] = {}
_ALIASES = {"trapezoid": "wsd"}
_RENAMED = {"decay_shape": "shape", "anneal_shape": "shape", "anneal": "shape"}  # old keys


class Phase(NamedTuple):
    """A named stretch of a schedule: steps ``start`` to ``end - 1`` (``end=None``: open)."""

    name: str
    start: int
    end: int | None


@dataclass(frozen=True, kw_only=True, repr=False)
class Schedule:
    """Base of every schedule family: evaluation, warmup, validation and serialisation."""

    name: ClassVar[str]
    warmup: int = 0
    warmup_init: float | None = None
    # The run's length: a key in the families that take it, else derived from the other
    # fields by _run_length() (None: the schedule never ends).
    total_steps: int | None = field(default=None, init=False)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            if cls.name in _REGISTRY:
                raise TypeError(f"a schedule family named {cls.name!r} exists already")
            _REGISTRY[cls.name] = cls

    def __post_init__(self):
        keys, hints, total = spec_fields(type(self)), _hints(type(self)), None
        for key, f in keys.items():  # total_steps first: other lengths may be shares of it
            value = coerce(self.name, key, getattr(self, f.name), hints[f.name], total,
                           f.metadata.get("count", False), as_schedule)
            object.__setattr__(self, f.name, value)
            total = value if key == "total_steps" else total
        if total is not None:
            self._check_run()
        self._require(self.warmup_init is None or 0.0 <= self.warmup_init <= 1.0,
                      "warmup_init", "a fraction of the peak in [0, 1]")
        self._require(self.warmup_init is None or self.warmup > 0, "warmup_init",
                      "left out without a warmup (it is where the warmup starts)")
        self._check()
        if "total_steps" not in keys:
            derived = self._run_length()
            if derived is not None and derived > MAX_STEPS:
                raise InputError(f"{self.name}: the schedule runs {derived} steps, more than "
                                 f"a schedule may hold; give at most {MAX_STEPS:,}")
            object.__setattr__(self, "total_steps", derived)

    def _check_run(self) -> None:
        if self.total_steps < 1:
            raise InputError(f"{self.name}: total_steps must be at least 1, got "
                             f"{self.total_steps}")
        if self.warmup >= self.total_steps:
            raise InputError(f"{self.name}: warmup={self.warmup} must be shorter than "
                             f"total_steps={self.total_steps}; shorten the warmup or lengthen "
                             "the run")

    def _require(self, ok: bool, key: str, allowed: str) -> None:
        """A one-line InputError saying ``key`` must be ``allowed``, unless ``ok``."""
        if not ok:
            value = getattr(self, spec_fields(type(self))[key].name)
            value = list(value) if isinstance(value, tuple) else value
            raise InputError(f"{self.name}: {key}={value!r:.60} is invalid; {key} must be "
                             f"{allowed}")

    def _check_final(self, top: float = 1.0, top_name: str = "1") -> None:
        """``final`` in [0, top], and above 0 where the family's ``shape`` is exponential."""
        self._require(0.0 <= self.final <= top, "final", f"a fraction in [0, {top_name}]")
        self._require(getattr(self, "shape", None) != "exponential" or self.final > 0, "final",
                      "> 0 for shape=exponential (it decays geometrically towards it)")

    # -- hooks a family implements --------------------------------------------------------
    def _body(self, s: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _check(self) -> None:
        """Family-specific validation, after the fields are coerced to their types."""

    def _phases(self) -> list[Phase]:
        """Named stretches of the body (body steps)."""
        return [Phase(self.name, 0, None if self.total_steps is None else self._length())]

    def _run_length(self) -> int | None:
        """total_steps, in families that derive it (tabulated, join, continual)."""
        return None

    def _momentum(self, s: np.ndarray) -> np.ndarray | None:
        """The momentum at body steps ``s``, in families that cycle it."""
        return None

    def _horizon(self) -> int:
        """Steps that show an open-ended schedule's shape: 1.25 x its last phase edge."""
        return round(1.25 * max(e for p in self.phases() for e in p[1:] if e is not None))

    def _length(self) -> int:
        """Body length D = total_steps - warmup."""
        return self.total_steps - self.warmup

    def _progress(self, s: np.ndarray) -> np.ndarray:
        """Progress through the body, p = min(s / D, 1)."""
        return np.minimum(s / self._length(), 1.0)

    # -- evaluation -----------------------------------------------------------------------
    def __call__(self, steps: int | np.ndarray) -> float | np.ndarray:
        """The LR multiplier at ``steps`` (int -> float, int array -> float64 array)."""
        t, s = self._steps(steps)
        out = np.asarray(self._body(s), dtype=np.float64)
        if self.warmup:
            w, r = self.warmup, self.warmup_init
            ramp = (t + 1) / w if r is None else r + (1.0 - r) * t / w
            out = np.where(t < w, ramp * float(self._body(np.zeros(1, np.int64))[0]), out)
        return _shaped(out, steps)

    def momentum(self, steps: int | np.ndarray) -> float | np.ndarray | None:
        """The momentum at ``steps`` (SGD's ``momentum``, Adam's ``beta1``) for schedules
        that cycle it (one_cycle and cyclic, unless ``cycle_momentum=false``), else None.

        Absolute values, not multipliers; held at the body's first value in the warmup.
        """
        _, s = self._steps(steps)
        m = self._momentum(s)
        return None if m is None else _shaped(np.asarray(m, dtype=np.float64), steps)

    def _steps(self, steps) -> tuple[np.ndarray, np.ndarray]:
        """(t, s): the steps, held at total_steps, and the body steps max(t - W, 0)."""
        t = as_steps(steps).reshape(-1)
        if self.total_steps is not None:
            t = np.minimum(t, self.total_steps)
        return t, np.maximum(t - self.warmup, 0)

    # -- phases and previews ----------------------------------------------------------------
    def phases(self) -> list[Phase]:
        """Named stretches of the schedule in absolute steps (warmup first), within the run."""
        w, end = self.warmup, self.total_steps
        out = [Phase("warmup", 0, w)] if w else []
        for p in self._phases():
            start, stop = p.start + w, None if p.end is None else p.end + w
            if end is not None:
                if start >= end:
                    continue
                stop = end if stop is None else min(stop, end)
            out.append(Phase(p.name, start, stop))
        return out

    def preview_steps(self) -> int:
        """How many steps a preview shows: the run, or enough of an open-ended schedule to
        show its shape (1,000 to MAX_PREVIEW_STEPS)."""
        if self.total_steps is not None:
            return self.total_steps
        return int(min(max(1000, self._horizon()), MAX_PREVIEW_STEPS))

    def plot(self, ax=None, steps: int | None = None, peak_lr: float | None = None, **kwargs):
        """Draw the schedule on ``ax`` (see ``schedules.preview.plot_schedule``)."""
        return plot_schedule(self, ax=ax, steps=steps, peak_lr=peak_lr, **kwargs)

    def _repr_png_(self) -> bytes:
        """Notebook preview: the schedule as an inline PNG."""
        return schedule_png(self)

    # -- composition ------------------------------------------------------------------------
    def with_warmup(self, steps: int, init: float | None = None) -> Schedule:
        """The same schedule with a ``steps``-long warmup (from ``init``) in front of its body."""
        return dataclasses.replace(self, warmup=steps, warmup_init=init)

    def anneal_at(self, step: int, steps: int, shape: str | None = None,
                  final: float | None = None) -> Schedule:
        """This schedule annealing over ``steps`` steps from ``step`` on (infinite and
        constant schedules; others have their decay built in)."""
        raise InputError(f"{self.name} schedules cannot anneal on demand; use an infinite "
                         "or constant schedule (their decay is not fixed in advance)")

    # -- serialisation ----------------------------------------------------------------------
    def _items(self, skip_defaults: bool) -> list[tuple[str, Any]]:
        """(spec key, value) pairs, total_steps first."""
        return [(key, getattr(self, f.name)) for key, f in spec_fields(type(self)).items()
                if not (skip_defaults and getattr(self, f.name) == f.default)]

    def _plain(self, skip_defaults: bool) -> dict[str, Any]:
        """``{"name": ..., key: value}`` in plain types (lists, dicts)."""
        return {"name": self.name, **{k: _plain(v, skip_defaults)
                                      for k, v in self._items(skip_defaults)}}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ``{"name": ..., key: value, ...}`` with every key."""
        return self._plain(False)

    def to_spec(self) -> str:
        """The spec string ``NAME:key=value,...`` (defaults left out); round-trips exactly."""
        return spec.format_spec(self._plain(True))

    def short_spec(self, max_items: int = 6) -> str:
        """``to_spec()`` with lists longer than ``max_items`` cut, for display."""
        return spec.format_spec(self._plain(True), max_items)

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Schedule:
        """Rebuild a schedule from ``to_dict()`` output (or any dict with a ``name``)."""
        if not isinstance(d, dict) or "name" not in d:
            raise InputError(f"a schedule dict needs a 'name' key, got {d!r:.80}")
        _check_nesting(d)
        params = dict(d)
        cls = family(params.pop("name"))
        keys = spec_fields(cls)
        for key in params:
            if key not in keys:
                raise InputError(_unknown_key(cls, key, params[key], keys))
        missing = [k for k, f in keys.items()
                   if f.default is dataclasses.MISSING and k not in params]
        if missing:
            raise InputError(f"{cls.name} needs {', '.join(missing)}; "
                             f"e.g. {cls.name}:{missing[0]}=...")
        return cls(**{keys[k].name: v for k, v in params.items()})

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={_short_repr(v)}" for k, v in self._items(True))
        return f"lrsched.{self.name}({args})"


def _shaped(out: np.ndarray, steps) -> float | np.ndarray:
    return float(out[0]) if np.ndim(steps) == 0 else out.reshape(np.shape(steps))


def _plain(value: Any, skip_defaults: bool) -> Any:
    if isinstance(value, Schedule):
        return value._plain(skip_defaults)
    if isinstance(value, tuple):
        return [_plain(v, skip_defaults) for v in value]
    return value


def _short_repr(value: Any) -> str:
    if isinstance(value, tuple) and len(value) > 6:
        return f"({_short_repr(value[0])}, ..., {_short_repr(value[-1])})  # {len(value)} items"
    return repr(value)


# -- the catalogue's registry and constructors ---------------------------------------------


@functools.cache
def spec_fields(cls: type[Schedule]) -> dict[str, dataclasses.Field]:
    """The family's spec keys (a field's ``metadata["key"]``, else its name) and their
    fields, total_steps first."""
    fields = sorted((f for f in dataclasses.fields(cls) if f.init),
                    key=lambda f: f.name != "total_steps")
    return {f.metadata.get("key", f.name): f for f in fields}


@functools.cache
def _hints(cls: type[Schedule]) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def family(name: Any) -> type[Schedule]:
    """The family registered under ``name``, or a one-line InputError."""
    if not isinstance(name, str):
        raise InputError(f"a schedule's name is a string such as 'cosine', got {name!r:.60}; "
                         "give one family name")
    name = _ALIASES.get(name, name)
    if name not in _REGISTRY:
        hint = difflib.get_close_matches(name, list(_REGISTRY), 1)
        raise InputError(f"unknown schedule {name!r:.60}"
                         + (f" (did you mean {hint[0]!r}?)" if hint else "")
                         + f"; known: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def constructor(cls: type[Schedule]):
    """The family's constructor: keyword arguments are its spec keys, errors are one line."""
    def make(**params) -> Schedule:
        return Schedule.from_dict({"name": cls.name, **params})

    empty = inspect.Parameter.empty
    make.__signature__ = inspect.Signature([
        inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY,
                          default=empty if f.default is dataclasses.MISSING else f.default)
        for key, f in spec_fields(cls).items()], return_annotation=cls)
    make.__name__ = make.__qualname__ = cls.name
    make.__doc__ = cls.__doc__
    return make


def as_schedule(x: Schedule | str | dict) -> Schedule:
    """A Schedule from a Schedule, a spec string or a ``to_dict()`` dict."""
    if isinstance(x, Schedule):
        return x
    if isinstance(x, str):
        return from_spec(x)
    if isinstance(x, dict):
        return Schedule.from_dict(x)
    raise InputError(f"expected a Schedule, a spec string or a dict, got {type(x).__name__}")


def from_spec(text: str, **defaults) -> Schedule:
    """Parse ``NAME`` or ``NAME:key=value,...`` into a Schedule.

    ``defaults`` fill the keys the spec leaves out, where the family has them:
    ``from_spec("cosine:final=0.1", total_steps=1000, warmup=50)`` is a cosine over a
    1000-step run, and ``from_spec("constant", total_steps=1000)`` ignores total_steps.
    """
    params = spec.parse(text)
    if defaults:
        keys = spec_fields(family(params["name"]))
        params = {**{k: v for k, v in defaults.items() if k in keys}, **params}
    return Schedule.from_dict(params)


def _unknown_key(cls: type[Schedule], key: Any, value: Any, keys: dict) -> str:
    new = _RENAMED.get(key) if isinstance(key, str) else None
    if new in keys:
        return f"{cls.name}: the key {key} is now called {new}; write {new}={value}"
    hint = difflib.get_close_matches(str(key), list(keys), 1)
    return (f"{cls.name} has no key {key!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
            + f"; allowed keys: {', '.join(keys)}")


def _check_nesting(d: dict) -> None:
    """A one-line InputError if ``d`` nests schedules more than MAX_NESTING deep."""
    stack = [(d, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            raise InputError(f"the schedule nests more than {MAX_NESTING} schedules deep; "
                             "flatten it (a join takes any number of parts)")
        items = node.values() if isinstance(node, dict) else node
        stack.extend((v, depth + isinstance(v, dict)) for v in items
                     if isinstance(v, (dict, list)))
