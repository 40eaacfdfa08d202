"""The schedule catalogue: values, bounds, continuity, serialisation, bad input."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import any_schedule, closed_form

import lrsched
from lrsched import from_spec
from lrsched.schedules import Schedule, interpolate

ALL_STEPS = np.arange(0, 120_000, 7)


# -- properties of every schedule ----------------------------------------------------------


@given(any_schedule)
def test_values_are_finite_and_non_negative(s):
    v = s(ALL_STEPS)
    assert v.shape == ALL_STEPS.shape and v.dtype == np.float64
    assert np.all(np.isfinite(v)) and np.all(v >= 0)


@given(closed_form())
def test_closed_forms_never_exceed_the_peak(s):
    assert np.all(s(ALL_STEPS) <= 1.0 + 1e-12)


@given(any_schedule)
def test_spec_and_dict_round_trip_exactly(s):
    assert from_spec(s.to_spec()) == s
    assert Schedule.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    assert from_spec(s.to_spec()).to_spec() == s.to_spec()


@given(any_schedule, st.integers(0, 100_000))
def test_scalar_and_vector_evaluation_agree(s, t):
    value = s(t)
    assert isinstance(value, float)
    assert value == s(np.array([t]))[0]


@given(closed_form())
def test_warmup_ramps_linearly_to_the_body_start(s):
    w = s.warmup
    if w:
        body0 = s(w)
        ramp = s(np.arange(w))
        np.testing.assert_allclose(ramp, (np.arange(w) + 1) / w * body0, rtol=1e-12)


@given(closed_form())
def test_value_after_the_run_is_held(s):
    if s.total_steps is not None:
        t = s.total_steps
        assert s(t) == s(t + 1) == s(10 * t + 5)


CONTINUOUS = ["linear", "cosine", "polynomial", "exponential", "inverse_sqrt", "one_cycle", "wsd"]


@given(closed_form())
def test_continuous_families_move_in_small_steps(s):
    """Families that promise continuity change by at most C / length^e per step (e = 1 for
    smooth shapes, the power for polynomial and 1/2 for 1-sqrt), at phase edges too."""
    if s.name not in CONTINUOUS or s.total_steps is None:
        return
    body = s.total_steps - s.warmup
    scale, e = body, 1.0
    if s.name == "wsd":
        scale, e = s._decay_len(), (0.5 if s.decay_shape == "1-sqrt" else 1.0)
    elif s.name == "polynomial":
        e = min(1.0, s.power)
    elif s.name == "one_cycle":
        scale = body * min(s.pct_start, 1 - 2 * s.pct_start if s.three_phase else 1.0)
    t = np.arange(s.warmup, s.total_steps + 2)
    assert np.abs(np.diff(s(t))).max() <= 10.0 / scale**e + 1e-12


# -- exact values ----------------------------------------------------------------------------


def test_linear_cosine_polynomial_formulas():
    t = np.arange(0, 1001)
    p = np.minimum((t - 100) / 900, 1)
    lin = lrsched.linear(total_steps=1000, warmup=100, final=0.1)(t)
    cos = lrsched.cosine(total_steps=1000, warmup=100, final=0.1)(t)
    poly = lrsched.polynomial(total_steps=1000, warmup=100, power=2.0, final=0.1)(t)
    after = t >= 100
    np.testing.assert_allclose(lin[after], (1 - 0.9 * p)[after], rtol=1e-14)
    np.testing.assert_allclose(cos[after], (0.1 + 0.45 * (1 + np.cos(np.pi * p)))[after],
                               rtol=1e-14)
    np.testing.assert_allclose(poly[after], (0.1 + 0.9 * (1 - p) ** 2)[after], rtol=1e-14)
    assert lin[0] == cos[0] == poly[0] == 1 / 100 and lin[99] == 1.0
    assert lin[1000] == cos[1000] == pytest.approx(0.1)


@pytest.mark.parametrize("shape,mid", [("linear", 0.5), ("cosine", 0.5),
                                      ("1-sqrt", 1 - math.sqrt(0.5)),
                                      ("exponential", math.sqrt(0.01))])
def test_wsd_phase_boundaries(shape, mid):
    final = 0.01 if shape == "exponential" else 0.0
    s = lrsched.wsd(total_steps=10_000, warmup=500, decay_steps=2000, decay_shape=shape,
                    final=final)
    assert s(499) == 1.0 and s(500) == 1.0 and s(7999) == 1.0 and s(8000) == 1.0
    assert s(9000) == pytest.approx(final + (1 - final) * mid if shape != "exponential" else mid)
    assert s(10_000) == pytest.approx(final, abs=1e-15)
    assert [p.name for p in s.phases()] == ["warmup", "stable", "decay"]
    assert [(p.start, p.end) for p in s.phases()] == [(0, 500), (500, 8000), (8000, 10_000)]


def test_step_counts_may_be_fractions_of_the_run():
    a = lrsched.wsd(total_steps=10_000, warmup=0.05, decay_steps=0.2)
    assert (a.warmup, a.decay_steps) == (500, 2000)
    assert a == from_spec("trapezoid:total_steps=10000,warmup=0.05,decay_steps=0.2")
    t = np.arange(11_000)  # 20% decay by default:
    np.testing.assert_array_equal(a(t), lrsched.wsd(total_steps=10_000, warmup=500)(t))
    with pytest.raises(ValueError, match="in families that have one"):
        lrsched.constant(warmup=0.1)


def test_step_exponential_inverse_sqrt():
    t = np.arange(0, 500)
    np.testing.assert_allclose(lrsched.step(step_size=30, gamma=0.5)(t), 0.5 ** (t // 30))
    np.testing.assert_allclose(lrsched.exponential(gamma=0.99)(t), 0.99 ** t, rtol=1e-13)
    np.testing.assert_allclose(lrsched.multistep(milestones=[100, 300], gamma=0.1)(t),
                               np.where(t < 100, 1, np.where(t < 300, 0.1, 0.01)), rtol=1e-15)
    inv = lrsched.inverse_sqrt(warmup=100)(t)
    np.testing.assert_allclose(inv[100:], 1 / np.sqrt(1 + (t[100:] - 100) / 100), rtol=1e-14)
    assert inv[99] == inv[100] == 1.0


def test_cosine_restarts_cycles():
    s = lrsched.cosine_restarts(total_steps=300, cycles=3)
    assert s(0) == s(100) == s(200) == 1.0
    assert s(99) < 0.01 and s(300) == 0.0
    grown = lrsched.cosine_restarts(total_steps=700, cycles=3, cycle_mult=2.0)
    assert [(p.start, p.end) for p in grown.phases()] == [(0, 100), (100, 300), (300, 700)]
    assert grown(100) == grown(300) == 1.0 and grown(200) == pytest.approx(0.5)


def test_tabulated_interpolates_and_holds_its_ends():
    s = lrsched.tabulated(values=[0.5, 1.0, 0.0], steps=[10, 20, 40])
    np.testing.assert_allclose(s(np.array([0, 10, 15, 20, 30, 40, 99])),
                               [0.5, 0.5, 0.75, 1.0, 0.5, 0.0, 0.0])
    assert s.total_steps == 41
    assert lrsched.tabulated(values=np.linspace(1, 0, 5)).to_spec() == \
        "tabulated:values=[1.0,0.75,0.5,0.25,0.0]"


def test_join_counts_each_part_from_its_own_start():
    s = lrsched.join(["constant", lrsched.linear(total_steps=100)], [50])
    t = np.arange(200)
    np.testing.assert_allclose(s(t), np.where(t < 50, 1.0, np.maximum(1 - (t - 50) / 100, 0)))
    assert s.total_steps == 150
    assert s.to_spec() == "join:parts=[(constant),(linear:total_steps=100)],boundaries=[50]"
    assert [p.name for p in s.phases()] == ["1:constant", "2:linear"]


def test_with_warmup_and_immutability():
    s = lrsched.cosine(total_steps=1000)
    w = s.with_warmup(100)
    assert w == lrsched.cosine(total_steps=1000, warmup=100) and s.warmup == 0
    with pytest.raises(AttributeError):
        s.total_steps = 5
    assert hash(w) == hash(from_spec(w.to_spec()))


def test_interpolate_shapes_share_endpoints():
    p = np.array([0.0, 1.0])
    for shape in ["linear", "cosine", "1-sqrt", "exponential"]:
        np.testing.assert_allclose(interpolate(p, 2.0, 0.5, shape), [2.0, 0.5])


def test_evaluating_a_million_steps_returns_a_vector():
    assert lrsched.cosine(total_steps=10**6)(np.arange(10**6)).shape == (10**6,)


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("make,match", [
    (lambda: lrsched.cosine(total_steps=-5), "non-negative integer"),
    (lambda: lrsched.cosine(total_steps=10.5), "non-negative integer"),
    (lambda: lrsched.cosine(total_steps=100, warmup=100), "warmup=100 must be shorter"),
    (lambda: lrsched.cosine(total_steps=100, final=float("nan")), "finite"),
    (lambda: lrsched.linear(total_steps=100, final=float("inf")), "finite"),
    (lambda: lrsched.cosine(total_steps=100, final=1.5), r"final must be a fraction"),
    (lambda: lrsched.exponential(gamma=1.5), "gamma"),
    (lambda: lrsched.wsd(total_steps=100, decay_steps=200), "decay_steps"),
    (lambda: lrsched.wsd(total_steps=100, decay_shape="exponential"), "final"),
    (lambda: lrsched.wsd(total_steps=100, decay_shape="square"), "one of linear"),
    (lambda: lrsched.multistep(milestones=[30, 10]), "strictly increasing"),
    (lambda: lrsched.tabulated(values=[1.0, -0.5]), ">= 0"),
    (lambda: lrsched.join(["constant"], [10]), "one fewer"),
    (lambda: lrsched.one_cycle(total_steps=3), "pct_start"),
    (lambda: lrsched.cosine_restarts(total_steps=1000, cycles=0.5), "non-negative integer"),
    (lambda: lrsched.cosine_restarts(total_steps=1000, cycles=3, cycle_mult=1e5), "2 steps"),
    (lambda: lrsched.wsd(total_steps=2), "a decay of 0 steps"),
    (lambda: from_spec("cosin:total_steps=5"), "did you mean 'cosine'"),
    (lambda: from_spec("cosine:total_steps=100,fnal=0.1"), "did you mean 'final'"),
    (lambda: from_spec("cosine"), "cosine needs total_steps"),
    (lambda: from_spec("cosine:total_steps"), "expected '='"),
    (lambda: from_spec("cosine:total_steps=100,"), "expected a key"),
    (lambda: from_spec("cosine:total_steps=100)"), "expected ',' or the end"),
    (lambda: from_spec("cosine:total_steps=1,total_steps=2"), "twice"),
    (lambda: from_spec("join:parts=[(constant],boundaries=[1]"), "closing the nested"),
    (lambda: from_spec(""), "a schedule name"),
    (lambda: lrsched.constant()(-1), "steps must be >= 0"),
    (lambda: lrsched.constant()(np.array([0.5])), "integers"),
    (lambda: lrsched.constant()(2.0), "integers"),
])
def test_bad_input_is_one_clear_line(make, match):
    with pytest.raises(ValueError, match=match) as info:
        make()
    assert "\n" not in str(info.value)


def test_spec_accepts_integral_floats_for_step_counts():
    assert from_spec("cosine:total_steps=1e4") == lrsched.cosine(total_steps=10_000)


def test_import_does_not_load_torch_or_matplotlib():
    code = ("import sys, lrsched; lrsched.cosine(total_steps=10)(5); "
            "print(sorted(m for m in ('torch', 'matplotlib', 'lmfit', 'scipy') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_spec_defaults_fill_only_missing_keys_the_family_has():
    assert from_spec("cosine:final=0.1", total_steps=1000, warmup=50) == \
        lrsched.cosine(total_steps=1000, warmup=50, final=0.1)
    assert from_spec("cosine:total_steps=5", total_steps=1000) == lrsched.cosine(total_steps=5)
    assert from_spec("constant", total_steps=1000) == lrsched.constant()
