"""Hugging Face transformers' scheduler names as lrsched schedules.

``from_hf`` takes the arguments of ``transformers.get_scheduler`` (less the optimizer)
and returns the equivalent Schedule; transformers itself is not needed. The one
deliberate difference is lrsched's warmup, ``(t + 1) / W`` where transformers has
``t / W``; docs/hf-equivalents.md lists every mapping and every difference.
"""

from __future__ import annotations

import inspect
from typing import Any

from lrsched.errors import InputError
from lrsched.schedules import (
    Schedule,
    constant,
    cosine,
    cosine_restarts,
    inverse_sqrt,
    join,
    linear,
    polynomial,
    tabulated,
    wsd,
)


def from_hf(name: Any, num_warmup_steps: int | None = None,
            num_training_steps: int | None = None,
            scheduler_specific_kwargs: dict[str, Any] | None = None) -> Schedule:
    """The lrsched Schedule equal to ``transformers.get_scheduler(name, ...)``.

    ``scheduler_specific_kwargs`` takes transformers' keys, plus ``lr_init`` (the
    optimizer's initial LR) where an absolute LR (``lr_end``, ``min_lr``) needs a ratio.
    Raises a one-line ValueError for a missing argument or an option with no exact
    equivalent.
    """
    name = getattr(name, "value", name)  # a transformers SchedulerType member
    if name in _METRIC_DRIVEN:
        raise InputError(f"{name} follows a metric, not the step, so it is no Schedule; use "
                         "torch.optim.lr_scheduler.ReduceLROnPlateau")
    if name not in _BUILDERS:
        raise InputError(f"unknown transformers scheduler {name!r}; known: "
                         f"{', '.join([*_BUILDERS, *_METRIC_DRIVEN])}")
    if num_warmup_steps is None and name != "constant":
        raise InputError(f"{name} requires num_warmup_steps; pass it (0 for no warmup)")
    builder = _BUILDERS[name]
    kwargs = dict(scheduler_specific_kwargs or {})
    allowed = list(inspect.signature(builder).parameters)[2:]
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise InputError(f"{name} takes no scheduler_specific_kwargs key {unknown[0]!r}; "
                         f"allowed: {', '.join(allowed) or 'none'}")
    return builder(num_warmup_steps, num_training_steps, **kwargs)


def _total(name: str, num_training_steps: int | None) -> int:
    if num_training_steps is None:
        raise InputError(f"{name} requires num_training_steps (the run's length in steps)")
    return num_training_steps


def _half_wave(name: str, num_cycles: float) -> None:
    if num_cycles != 0.5:
        raise InputError(f"{name}: num_cycles={num_cycles!r} has no lrsched equivalent; only "
                         "num_cycles=0.5 (one half-wave down) maps exactly")


def _ratio(name: str, key: str, value: float, lr_init: float | None) -> float:
    """``value`` (an absolute LR) as a fraction of ``lr_init``."""
    if value == 0:
        return 0.0
    if lr_init is None:
        raise InputError(f"{name}: {key}={value!r} is an absolute LR; also pass lr_init "
                         "(the optimizer's lr) in scheduler_specific_kwargs")
    return value / lr_init


def _ramp(start: float, steps: int) -> Schedule:
    """Linear from ``start`` at step 0 to 1 at step ``steps - 1``."""
    return tabulated(values=[start, 1.0], steps=[0, steps - 1])


def _constant(w, t):
    return constant()  # transformers ignores num_warmup_steps for "constant"


def _constant_with_warmup(w, t):
    return constant(warmup=w)


def _linear(w, t):
    return linear(total_steps=_total("linear", t), warmup=w)


def _cosine(w, t, num_cycles=0.5):
    _half_wave("cosine", num_cycles)
    return cosine(total_steps=_total("cosine", t), warmup=w)


def _cosine_with_restarts(w, t, num_cycles=1):
    if num_cycles != int(num_cycles) or num_cycles < 1:
        raise InputError(f"cosine_with_restarts: num_cycles={num_cycles!r} must be a whole "
                         "number >= 1 (a partial last cycle has no lrsched equivalent)")
    return cosine_restarts(total_steps=_total("cosine_with_restarts", t), warmup=w,
                           cycles=int(num_cycles))


def _polynomial(w, t, lr_end=1e-7, power=1.0, lr_init=None):
    final = _ratio("polynomial", "lr_end", lr_end, lr_init)
    if final >= 1:
        raise InputError(f"polynomial: lr_end={lr_end!r} must be below lr_init={lr_init!r}")
    return polynomial(total_steps=_total("polynomial", t), warmup=w, power=power, final=final)


def _inverse_sqrt(w, t, timescale=None):
    return inverse_sqrt(warmup=w, timescale=timescale)


def _min_lr_rate(name, min_lr, min_lr_rate, lr_init) -> float:
    if (min_lr is None) == (min_lr_rate is None):
        raise InputError(f"{name} needs exactly one of min_lr or min_lr_rate in "
                         "scheduler_specific_kwargs")
    return min_lr_rate if min_lr is None else _ratio(name, "min_lr", min_lr, lr_init)


def _cosine_with_min_lr(w, t, num_cycles=0.5, min_lr=None, min_lr_rate=None, lr_init=None):
    name = "cosine_with_min_lr"
    _half_wave(name, num_cycles)
    final = _min_lr_rate(name, min_lr, min_lr_rate, lr_init)
    return cosine(total_steps=_total(name, t), warmup=w, final=final)


def _cosine_warmup_with_min_lr(w, t, num_cycles=0.5, min_lr=None, min_lr_rate=None,
                               warmup_lr_rate=None, lr_init=None):
    # transformers' warmup here is already lrsched's (t + 1) / W, and its decay starts one
    # step early (step W is at progress 1/D): a cosine joined at step W - 1.
    name = "cosine_warmup_with_min_lr"
    _half_wave(name, num_cycles)
    final = _min_lr_rate(name, min_lr, min_lr_rate, lr_init)
    total = _total(name, t)
    if w == 0:
        raise InputError(f"{name} with num_warmup_steps=0 starts at progress 1/T, past the "
                         "peak; no lrsched equivalent (cosine_with_min_lr is that curve one "
                         "step later)")
    if w == 1 and warmup_lr_rate is not None:
        raise InputError(f"{name}: warmup_lr_rate needs num_warmup_steps >= 2 for an "
                         "lrsched equivalent")
    if w == 1:
        return cosine(total_steps=total - 1, final=final)
    warm = constant(warmup=w) if warmup_lr_rate is None else _ramp(warmup_lr_rate, w)
    return join([warm, cosine(total_steps=total - w, final=final)], [w - 1])


def _warmup_stable_decay(w, t, num_decay_steps=None, num_stable_steps=None,
                         warmup_type="linear", decay_type="cosine", min_lr_ratio=0.0,
                         num_cycles=0.5):
    name = "warmup_stable_decay"
    if num_decay_steps is None:
        raise InputError(f"{name} requires num_decay_steps in scheduler_specific_kwargs")
    if num_stable_steps is None:
        if t is None:
            raise InputError(f"{name} requires num_training_steps or num_stable_steps")
        num_stable_steps = t - w - num_decay_steps
    for key, value in (("warmup_type", warmup_type), ("decay_type", decay_type)):
        if value not in ("linear", "cosine", "1-sqrt"):
            raise InputError(f"{name}: {key}={value!r} is unknown; use linear, cosine or 1-sqrt")
    if warmup_type != "linear" and w > 1:
        raise InputError(f"{name}: warmup_type={warmup_type!r} has no lrsched equivalent; "
                         "lrsched's warmup is linear (warmup_type='linear')")
    if decay_type == "cosine":
        _half_wave(name, num_cycles)
    body = dict(decay_steps=num_decay_steps, shape=decay_type, final=min_lr_ratio)
    if min_lr_ratio == 0 or w < 2:
        return wsd(total_steps=w + num_stable_steps + num_decay_steps, warmup=w, **body)
    # The warmup rises from min_lr_ratio, not 0.
    return join([_ramp(min_lr_ratio + (1 - min_lr_ratio) / w, w),
                 wsd(total_steps=num_stable_steps + num_decay_steps, **body)], [w])


_BUILDERS = {
    "linear": _linear,
    "cosine": _cosine,
    "cosine_with_restarts": _cosine_with_restarts,
    "polynomial": _polynomial,
    "constant": _constant,
    "constant_with_warmup": _constant_with_warmup,
    "inverse_sqrt": _inverse_sqrt,
    "cosine_with_min_lr": _cosine_with_min_lr,
    "cosine_warmup_with_min_lr": _cosine_warmup_with_min_lr,
    "warmup_stable_decay": _warmup_stable_decay,
}
# transformers' schedulers that follow a metric (greedy: transformers 5's GreedyLR)
_METRIC_DRIVEN = ("reduce_lr_on_plateau", "greedy")
