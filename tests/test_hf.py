"""``lrsched.hf.from_hf`` against transformers' schedules, re-derived here from their docs.

transformers is not imported: each ``hf_*`` function below writes out, from the
formulas transformers documents, the multiplier its ``get_scheduler(name, ...)`` applies
at step ``t`` (its warmup is ``t / W``). The relations checked, with ``W`` the warmup and
``T`` the run length:

* after warmup, ours equals transformers' to 1e-12 relative, or 1e-13 absolute near 0,
  where the cancellation in ``1 + cos(...)`` leaves no relative precision;
* inside warmup, ours(t) = hf(t + 1) (our warmup is ``(t + 1) / W``); for
  ``cosine_warmup_with_min_lr`` ours(t) = hf(t), as its warmup already is ``(t + 1) / W``,
  and for ``constant`` there is no warmup (transformers ignores it);
* from the end of the run on, ours holds its final value; transformers holds it too,
  except the cosines (``cosine``, ``cosine_with_min_lr``, ``cosine_warmup_with_min_lr``),
  whose cosine carries on past the end and rises again.
"""

from __future__ import annotations

import math
from enum import Enum

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lrsched
from lrsched.hf import from_hf

RTOL, ATOL = 1e-12, 1e-13


# -- transformers' multipliers, re-derived --------------------------------------------------
def _warm(t, W):
    """transformers' warmup: 0 at step 0, rising by 1/W a step."""
    return t / max(W, 1)


def _half_cosine(x):
    """1 at x = 0 down to 0 at x = 1 (num_cycles = 0.5); not clamped beyond 1."""
    return (1 + np.cos(math.pi * x)) / 2


def hf_constant(t, W, T):
    return np.ones(t.shape)


def hf_constant_with_warmup(t, W, T):
    return np.where(t < W, _warm(t, W), 1.0)


def hf_linear(t, W, T):
    return np.where(t < W, _warm(t, W), np.maximum((T - t) / (T - W), 0.0))


def hf_cosine(t, W, T, num_cycles=0.5):
    return np.where(t < W, _warm(t, W), _half_cosine((t - W) / (T - W)))


def hf_cosine_with_restarts(t, W, T, num_cycles=1):
    # Exact arithmetic for the position in the cycle: (num_cycles * progress) mod 1.
    D, s = T - W, t - W
    in_cycle = (num_cycles * s % D) / D
    return np.where(t < W, _warm(t, W), np.where(s >= D, 0.0, _half_cosine(in_cycle)))


def hf_polynomial(t, W, T, lr_end=1e-7, power=1.0, lr_init=None):
    lr_init = 1.0 if lr_init is None else lr_init  # any optimizer LR, when lr_end = 0
    remaining = np.clip(1 - (t - W) / (T - W), 0.0, None)
    lr = lr_end + (lr_init - lr_end) * remaining**power
    return np.where(t < W, _warm(t, W), lr / lr_init)


def hf_inverse_sqrt(t, W, T, timescale=None):
    tau = timescale or W or 10_000
    return np.where(t < W, _warm(t, W), np.sqrt(tau / (np.maximum(t - W, 0) + tau)))


def _min_rate(min_lr, min_lr_rate, lr_init):
    return min_lr_rate if min_lr is None else min_lr / lr_init


def hf_cosine_with_min_lr(t, W, T, num_cycles=0.5, min_lr=None, min_lr_rate=None,
                          lr_init=None):
    m = _min_rate(min_lr, min_lr_rate, lr_init)
    return np.where(t < W, _warm(t, W), m + (1 - m) * _half_cosine((t - W) / (T - W)))


def hf_cosine_warmup_with_min_lr(t, W, T, num_cycles=0.5, min_lr=None, min_lr_rate=None,
                                 warmup_lr_rate=None, lr_init=None):
    m = _min_rate(min_lr, min_lr_rate, lr_init)
    if warmup_lr_rate is None:
        warm = (t + 1) / W
    else:
        warm = warmup_lr_rate + (1 - warmup_lr_rate) * t / max(W - 1, 1)
    decay = m + (1 - m) * _half_cosine((t - W + 1) / (T - W))
    return np.where(t < W, warm, decay)


def hf_warmup_stable_decay(t, W, T, num_decay_steps, num_stable_steps=None,
                           warmup_type="linear", decay_type="cosine", min_lr_ratio=0.0,
                           num_cycles=0.5):
    m, Dd = min_lr_ratio, num_decay_steps
    S = T - W - Dd if num_stable_steps is None else num_stable_steps
    x = np.clip((t - W - S) / Dd, 0.0, 1.0)
    shape = {"linear": 1 - x, "cosine": _half_cosine(x), "1-sqrt": 1 - np.sqrt(x)}[decay_type]
    out = np.where(t < W + S, 1.0, m + (1 - m) * shape)
    return np.where(t < W, m + (1 - m) * _warm(t, W), out)


HF = {
    "linear": hf_linear,
    "cosine": hf_cosine,
    "cosine_with_restarts": hf_cosine_with_restarts,
    "polynomial": hf_polynomial,
    "constant": hf_constant,
    "constant_with_warmup": hf_constant_with_warmup,
    "inverse_sqrt": hf_inverse_sqrt,
    "cosine_with_min_lr": hf_cosine_with_min_lr,
    "cosine_warmup_with_min_lr": hf_cosine_warmup_with_min_lr,
    "warmup_stable_decay": hf_warmup_stable_decay,
}
WARMUP_UNSHIFTED = {"cosine_warmup_with_min_lr"}
OPEN_ENDED = {"constant", "constant_with_warmup", "inverse_sqrt"}
RISES_AFTER_END = {"cosine", "cosine_with_min_lr", "cosine_warmup_with_min_lr"}


def _end(name, W, T, kw):
    """The step from which our schedule holds its final value."""
    if name == "warmup_stable_decay" and kw.get("num_stable_steps") is not None:
        return W + kw["num_stable_steps"] + kw["num_decay_steps"]
    return T - 1 if name == "cosine_warmup_with_min_lr" else T


def check(name, W, T, kw):
    schedule = from_hf(name, W, T, kw)
    assert lrsched.from_spec(schedule.to_spec()) == schedule
    t = np.arange(T + 50)
    ours = schedule(t)
    hf_all = HF[name](np.arange(T + 51), W, T, **kw)
    hf, hf_next = hf_all[:-1], hf_all[1:]
    end = len(t) if name in OPEN_ENDED else _end(name, W, T, kw)
    warm = (t < W) & (name != "constant")
    body = ~warm & (t < end)

    np.testing.assert_allclose(ours[body], hf[body], rtol=RTOL, atol=ATOL)
    expected_warmup = hf if name in WARMUP_UNSHIFTED else hf_next
    np.testing.assert_allclose(ours[warm], expected_warmup[warm], rtol=RTOL, atol=ATOL)
    if name in OPEN_ENDED:
        return
    tail = t >= end
    np.testing.assert_array_equal(ours[tail], ours[end])
    if name in RISES_AFTER_END:
        if ours[end] < 0.99:
            assert hf[end + 1] > ours[end + 1]
    else:
        np.testing.assert_allclose(ours[tail], hf[tail], rtol=RTOL, atol=ATOL)


# -- fixed cases ------------------------------------------------------------------------------
CASES = [
    ("constant", 10, 100, {}),
    ("constant", None, None, {}),
    ("constant_with_warmup", 0, 100, {}),
    ("constant_with_warmup", 25, 100, {}),
    ("linear", 0, 100, {}),
    ("linear", 10, 1000, {}),
    ("cosine", 0, 100, {}),
    ("cosine", 37, 500, {}),
    ("cosine_with_restarts", 10, 110, {}),
    ("cosine_with_restarts", 10, 110, {"num_cycles": 4}),
    ("cosine_with_restarts", 0, 97, {"num_cycles": 3}),
    ("polynomial", 10, 200, {"lr_init": 1e-3}),
    ("polynomial", 0, 200, {"lr_end": 1e-5, "power": 2.0, "lr_init": 3e-4}),
    ("polynomial", 5, 50, {"lr_end": 0.0, "power": 0.5}),
    ("inverse_sqrt", 0, 100, {}),
    ("inverse_sqrt", 40, 400, {}),
    ("inverse_sqrt", 40, 400, {"timescale": 7}),
    ("cosine_with_min_lr", 10, 300, {"min_lr_rate": 0.1}),
    ("cosine_with_min_lr", 0, 300, {"min_lr": 1e-5, "lr_init": 1e-3}),
    ("cosine_warmup_with_min_lr", 1, 300, {"min_lr_rate": 0.1}),
    ("cosine_warmup_with_min_lr", 2, 300, {"min_lr_rate": 0.0}),
    ("cosine_warmup_with_min_lr", 30, 300, {"min_lr_rate": 0.1}),
    ("cosine_warmup_with_min_lr", 30, 300, {"min_lr_rate": 0.05, "warmup_lr_rate": 0.01}),
    ("warmup_stable_decay", 10, 200, {"num_decay_steps": 40}),
    ("warmup_stable_decay", 0, 200, {"num_decay_steps": 200, "decay_type": "linear"}),
    ("warmup_stable_decay", 20, 200, {"num_decay_steps": 30, "decay_type": "1-sqrt",
                                      "min_lr_ratio": 0.1}),
    ("warmup_stable_decay", 20, None, {"num_decay_steps": 30, "num_stable_steps": 50,
                                       "min_lr_ratio": 0.2, "decay_type": "linear"}),
    ("warmup_stable_decay", 1, 100, {"num_decay_steps": 30, "warmup_type": "cosine",
                                     "min_lr_ratio": 0.3}),
]


@pytest.mark.parametrize(("name", "W", "T", "kw"), CASES)
def test_matches_transformers(name, W, T, kw):
    if T is None:  # constant needs no run length; WSD may take num_stable_steps instead
        schedule = from_hf(name, W, None, kw)
        T = 300 if name == "constant" else W + kw["num_stable_steps"] + kw["num_decay_steps"]
        assert schedule == from_hf(name, W, T, kw)
    check(name, W or 0, T, kw)


def test_every_transformers_name_is_covered():
    # transformers' SchedulerType values; the metric-driven ones have no Schedule.
    assert {*HF, "reduce_lr_on_plateau", "greedy"} == {
        "linear", "cosine", "cosine_with_restarts", "polynomial", "constant",
        "constant_with_warmup", "inverse_sqrt", "reduce_lr_on_plateau", "cosine_with_min_lr",
        "cosine_warmup_with_min_lr", "warmup_stable_decay", "greedy",
    }
    assert {name for name, *_ in CASES} == set(HF)


def test_the_mappings_read_as_documented():
    assert from_hf("linear", 100, 1000) == lrsched.linear(total_steps=1000, warmup=100)
    assert from_hf("constant", 100) == lrsched.constant()
    assert from_hf("cosine_with_min_lr", 100, 1000, {"min_lr_rate": 0.1}) == lrsched.cosine(
        total_steps=1000, warmup=100, final=0.1)
    assert from_hf("warmup_stable_decay", 100, 1000, {"num_decay_steps": 200}) == lrsched.wsd(
        total_steps=1000, warmup=100, decay_steps=200, shape="cosine")


@pytest.mark.parametrize(("ours", "name", "kw"), [
    ("linear", "linear", {}),
    ("cosine", "cosine", {}),
    ("constant", "constant_with_warmup", {}),
    ("inverse_sqrt", "inverse_sqrt", {}),
])
def test_warmup_init_0_is_transformers_warmup_at_every_step(ours, name, kw):
    """``warmup_init=0`` ramps t / W, as transformers: equal at every step, warmup included."""
    W, T = 40, 400
    keys = {} if ours in ("constant", "inverse_sqrt") else {"total_steps": T}
    schedule = lrsched.from_spec(ours, warmup=W, warmup_init=0, **keys)
    t = np.arange(T)
    assert schedule(0) == 0.0
    np.testing.assert_allclose(schedule(t), HF[name](t, W, T, **kw), rtol=RTOL, atol=ATOL)


def test_accepts_a_scheduler_type_member():
    class SchedulerType(str, Enum):  # as transformers' ExplicitEnum
        LINEAR = "linear"

    assert from_hf(SchedulerType.LINEAR, 10, 100) == from_hf("linear", 10, 100)


def test_restarts_exact():
    # Cycle 6 of 10 over 24 steps starts at step 12, at the peak.
    assert from_hf("cosine_with_restarts", 0, 24, {"num_cycles": 10})(12) == 1.0
    t = np.arange(398)
    ours = from_hf("cosine_with_restarts", 0, 398, {"num_cycles": 190})(t)
    np.testing.assert_allclose(ours, hf_cosine_with_restarts(t, 0, 398, 190), RTOL, ATOL)


# -- generated cases --------------------------------------------------------------------------
@st.composite
def hf_cases(draw):
    name = draw(st.sampled_from(sorted(HF)))
    W = draw(st.integers(2 if name == "cosine_warmup_with_min_lr" else 0, 40))
    D = draw(st.integers(2, 400))
    fraction = st.floats(0.0, 1.0)
    kw = {}
    if name == "cosine_with_restarts":
        kw["num_cycles"] = draw(st.integers(1, D // 2))
    elif name == "polynomial":
        lr_init = draw(st.floats(1e-6, 1.0))
        kw = {"lr_init": lr_init, "lr_end": draw(st.floats(0.0, 0.99)) * lr_init,
              "power": draw(st.floats(0.1, 5.0))}
    elif name == "inverse_sqrt":
        kw["timescale"] = draw(st.none() | st.integers(1, 1000))
    elif name in ("cosine_with_min_lr", "cosine_warmup_with_min_lr"):
        if draw(st.booleans()):
            kw["min_lr_rate"] = draw(fraction)
        else:
            kw["lr_init"] = draw(st.floats(1e-6, 1.0))
            kw["min_lr"] = draw(fraction) * kw["lr_init"]
        if name == "cosine_warmup_with_min_lr":
            kw["warmup_lr_rate"] = draw(st.none() | fraction)
    elif name == "warmup_stable_decay":
        kw = {"num_decay_steps": draw(st.integers(1, D)),
              "decay_type": draw(st.sampled_from(["linear", "cosine", "1-sqrt"])),
              "min_lr_ratio": draw(fraction)}
    return name, W, W + D, kw


@settings(max_examples=300, deadline=None)
@given(hf_cases())
def test_matches_transformers_generated(case):
    check(*case)


# -- what has no equivalent ---------------------------------------------------------------------
@pytest.mark.parametrize(("args", "says"), [
    (("reduce_lr_on_plateau",), "ReduceLROnPlateau"),
    (("greedy",), "greedy follows a metric.*ReduceLROnPlateau"),
    (("cosine_annealing", 10, 100), "unknown transformers scheduler"),
    (("linear", None, 100), "requires num_warmup_steps"),
    (("linear", 10), "requires num_training_steps"),
    (("cosine_with_min_lr", 10, None, {"min_lr_rate": 0.1}), "requires num_training_steps"),
    (("linear", 10, 100, {"num_cycles": 2}), "allowed: none"),
    (("cosine", 10, 100, {"num_cycles": 1.0}), "num_cycles=1.0 has no lrsched equivalent"),
    (("cosine_with_restarts", 10, 100, {"num_cycles": 1.5}), "whole number"),
    (("polynomial", 10, 100), "also pass lr_init"),
    (("polynomial", 10, 100, {"lr_end": 1.0, "lr_init": 0.5}), "must be below lr_init"),
    (("cosine_with_min_lr", 10, 100), "exactly one of min_lr or min_lr_rate"),
    (("cosine_with_min_lr", 10, 100, {"min_lr": 1e-5}), "also pass lr_init"),
    (("cosine_warmup_with_min_lr", 0, 100, {"min_lr_rate": 0.1}), "no lrsched equivalent"),
    (("cosine_warmup_with_min_lr", 1, 100, {"min_lr_rate": 0.1, "warmup_lr_rate": 0.1}),
     "num_warmup_steps >= 2"),
    (("warmup_stable_decay", 10, 100), "requires num_decay_steps"),
    (("warmup_stable_decay", 10, None, {"num_decay_steps": 10}), "or num_stable_steps"),
    (("warmup_stable_decay", 10, 100, {"num_decay_steps": 10, "warmup_type": "cosine"}),
     "lrsched's warmup is linear"),
    (("warmup_stable_decay", 10, 100, {"num_decay_steps": 10, "decay_type": "exponential"}),
     "is unknown"),
])
def test_no_equivalent_is_a_one_line_error(args, says):
    with pytest.raises(ValueError, match=says) as info:
        from_hf(*args)
    assert "\n" not in str(info.value)
