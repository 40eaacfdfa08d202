"""The schedule catalogue: values, bounds, continuity, serialisation, parity with torch,
and bad input."""

import dataclasses
import doctest
import importlib
import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from strategies import any_schedule, closed_form
from torch.optim.lr_scheduler import CyclicLR, OneCycleLR

import lrsched
from lrsched import from_spec
from lrsched.errors import InputError
from lrsched.schedules import CATALOGUE, Phase, Schedule, as_schedule, family, interpolate
from lrsched.schedules.base import _REGISTRY

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
    """``(t + 1) / W`` of the body's start, or from ``warmup_init`` as ``r + (1 - r) t / W``."""
    w, r = s.warmup, s.warmup_init
    if w:
        t = np.arange(w)
        ramp = (t + 1) / w if r is None else r + (1 - r) * t / w
        np.testing.assert_allclose(s(t), ramp * s(w), rtol=1e-12, atol=1e-300)


@given(any_schedule)
def test_the_value_at_total_steps_holds_from_there_on(s):
    if s.total_steps is not None:
        t = s.total_steps
        assert s(t) == s(t + 1) == s(10 * t + 5)


CONTINUOUS = ("linear", "cosine", "polynomial", "exponential", "inverse_sqrt", "one_cycle",
              "wsd", "cyclic")


@given(closed_form(CONTINUOUS))
def test_continuous_families_move_in_small_steps(s):
    """Families that promise continuity change by at most C / length^e per step (e = 1 for
    smooth shapes, the power for polynomial and 1/2 for 1-sqrt), at phase edges too."""
    start, end, scale, e = s.warmup, s.total_steps, 1, 1.0
    if s.name == "cyclic":
        if s.mode == "exp_range":
            return
        end, scale = start + 4 * s._horizon(), min(s.step_size_up, s.step_size_down or 10**9)
    elif s.name in ("exponential", "inverse_sqrt"):
        end = start + 10_000
    elif s.name == "wsd":
        scale, e = s._decay_len(), (0.5 if s.shape == "1-sqrt" else 1.0)
    else:
        scale = end - start
    if s.name == "polynomial":
        e = min(1.0, s.power)
    elif s.name == "one_cycle":
        scale *= min(s.pct_start, 1 - 2 * s.pct_start if s.three_phase else 1.0)
    t = np.arange(start, end + 2)
    assert np.abs(np.diff(s(t))).max() <= 10.0 / scale**e + 1e-12


@given(any_schedule)
def test_momentum_is_none_or_within_its_bounds(s):
    m = s.momentum(ALL_STEPS)
    cycles = getattr(s, "cycle_momentum", False)
    if s.name == "join":
        cycles = s.parts[0].momentum(0) is not None
    if not cycles:
        assert m is None and s.momentum(5) is None
        return
    assert m.shape == ALL_STEPS.shape and m.dtype == np.float64
    assert isinstance(s.momentum(7), float) and s.momentum(7) == m[1]
    parts = s.parts if s.name == "join" else [s]
    low = min(p.base_momentum for p in parts)
    high = max(p.max_momentum for p in parts)
    assert np.all(m >= low - 1e-12) and np.all(m <= high + 1e-12)


# -- the catalogue, as a newcomer reads it ----------------------------------------------------


def test_every_family_documents_its_formula_and_an_example():
    assert len(_REGISTRY) >= 16
    for name, cls in _REGISTRY.items():
        doc = cls.__doc__ or ""
        assert ".. math::" in doc and ">>> " in doc, f"{name}: no formula or no example"
        assert cls.__module__.rsplit(".", 1)[1] in CATALOGUE, f"{name} is outside the catalogue"


@pytest.mark.parametrize("module", [*CATALOGUE, "shapes"])
def test_the_docstring_examples_run(module):
    mod = importlib.import_module(f"lrsched.schedules.{module}")
    result = doctest.testmod(mod, verbose=False)
    assert result.attempted > 0 and result.failed == 0


def test_total_steps_is_a_field_of_every_family_a_key_where_it_is_given():
    keyed = {"linear", "cosine", "polynomial", "wsd", "cosine_restarts", "one_cycle", "infinite"}
    for name, cls in _REGISTRY.items():
        fields = {f.name: f for f in dataclasses.fields(cls)}
        assert "total_steps" in fields, name
        assert fields["total_steps"].init == (name in keyed), name
    assert lrsched.continual(segments=[10, 20]).total_steps == 30
    assert lrsched.step(step_size=5).total_steps is None


def test_public_names_import_from_their_old_places():
    for name in ["constant", "linear", "cosine", "polynomial", "exponential", "inverse_sqrt",
                 "step", "multistep", "cosine_restarts", "one_cycle", "cyclic", "wsd",
                 "tabulated", "join", "infinite", "continual", "from_spec", "Schedule"]:
        assert getattr(lrsched, name) is getattr(lrsched.schedules, name)
        assert name in lrsched.__all__
    assert as_schedule("constant") == lrsched.constant() and Phase("a", 0, None).end is None
    assert family("trapezoid") is family("wsd")


@pytest.mark.parametrize("spec,new", [
    ("wsd:total_steps=100,decay_shape=cosine", "shape=cosine"),
    ("continual:segments=[10],decay_shape=linear", "shape=linear"),
    ("infinite:cooldown_steps=10,anneal_shape=linear", "shape=linear"),
    ("one_cycle:total_steps=100,anneal=linear", "shape=linear"),
])
def test_an_old_key_names_its_new_spelling(spec, new):
    with pytest.raises(InputError, match=f"is now called shape; write {new}$"):
        from_spec(spec)


def test_one_spelling_of_the_decay_shape():
    for name in ["wsd", "infinite", "continual", "one_cycle"]:
        assert "shape" in {f.name for f in dataclasses.fields(family(name))}
    for cls in _REGISTRY.values():
        names = {f.name for f in dataclasses.fields(cls)}
        assert not names & {"decay_shape", "anneal_shape", "anneal"}, cls.name


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
    s = lrsched.wsd(total_steps=10_000, warmup=500, decay_steps=2000, shape=shape, final=final)
    assert s(499) == 1.0 and s(500) == 1.0 and s(7999) == 1.0 and s(8000) == 1.0
    assert s(9000) == pytest.approx(final + (1 - final) * mid if shape != "exponential" else mid)
    assert s(10_000) == pytest.approx(final, abs=1e-15)
    assert [p.name for p in s.phases()] == ["warmup", "stable", "decay"]
    assert [(p.start, p.end) for p in s.phases()] == [(0, 500), (500, 8000), (8000, 10_000)]


def test_step_counts_may_be_percentages_of_the_run():
    a = lrsched.wsd(total_steps=10_000, warmup="5%", decay_steps="20%")
    assert (a.warmup, a.decay_steps) == (500, 2000)
    assert a == from_spec("trapezoid:total_steps=10000,warmup=5%,decay_steps=20%")
    assert a.to_spec() == "wsd:total_steps=10000,warmup=500,decay_steps=2000"
    t = np.arange(11_000)  # 20% decay by default:
    np.testing.assert_array_equal(a(t), lrsched.wsd(total_steps=10_000, warmup=500)(t))
    assert lrsched.cosine(total_steps=3, warmup="50%").warmup == 2  # halves round up
    assert lrsched.cosine(total_steps=1000, warmup="0.05%").warmup == 1
    assert lrsched.infinite(total_steps=1000, cooldown_steps="10%", anneal_at="90%",
                            anneal_steps="10%").anneal_start == 900


@pytest.mark.parametrize("make,match", [
    (lambda: lrsched.wsd(total_steps=1000, decay_steps=0.999),
     r"whole number of steps >= 0; for a share of the run write decay_steps=99.9%$"),
    (lambda: lrsched.cosine(total_steps=1000, warmup=0.0001), "write warmup=0.01%"),
    (lambda: lrsched.cosine(total_steps=1000, warmup="0.01%"), "is 0 steps; give a larger "
                                                               r"share \(at least 0.05%\)"),
    (lambda: lrsched.cosine(total_steps=1000, warmup="120%"), "from 0% to 100%"),
    (lambda: lrsched.cosine(total_steps=1000, warmup="x%"), "from 0% to 100%"),
    (lambda: lrsched.constant(warmup="5%"), r"share of the run, but the run's length"),
    (lambda: lrsched.constant(warmup=0.1), r"whole number of steps >= 0$"),
    (lambda: lrsched.cosine(total_steps="50%"), "total_steps must be a whole number"),
    (lambda: lrsched.cosine_restarts(total_steps=100, cycles="10%"), "cycles must be a whole"),
])
def test_a_share_of_the_run_is_a_percentage_and_never_rounds_to_nothing(make, match):
    with pytest.raises(InputError, match=match) as info:
        make()
    assert "\n" not in str(info.value)


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


def test_join_cycles_momentum_where_its_parts_do():
    a = lrsched.one_cycle(total_steps=100, cycle_momentum=True)
    b = lrsched.cyclic(base=0.1, step_size_up=10, cycle_momentum=True)
    s = lrsched.join([a, b], [100])
    t = np.arange(300)
    np.testing.assert_array_equal(s.momentum(t), np.where(t < 100, a.momentum(t),
                                                          b.momentum(np.maximum(t - 100, 0))))
    with pytest.raises(InputError, match="all cycle momentum, or none"):
        lrsched.join([a, "constant"], [100])


def test_with_warmup_and_immutability():
    s = lrsched.cosine(total_steps=1000)
    w = s.with_warmup(100)
    assert w == lrsched.cosine(total_steps=1000, warmup=100) and s.warmup == 0
    assert s.with_warmup(100, init=0.1) == lrsched.cosine(total_steps=1000, warmup=100,
                                                          warmup_init=0.1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.total_steps = 5
    assert hash(w) == hash(from_spec(w.to_spec()))


def test_interpolate_shapes_share_endpoints():
    p = np.array([0.0, 1.0])
    for shape in ["linear", "cosine", "1-sqrt", "exponential"]:
        np.testing.assert_allclose(interpolate(p, 2.0, 0.5, shape), [2.0, 0.5])


def test_evaluating_a_million_steps_returns_a_vector():
    assert lrsched.cosine(total_steps=10**6)(np.arange(10**6)).shape == (10**6,)


def test_short_spec_cuts_long_lists_for_display():
    s = lrsched.join([lrsched.tabulated(values=np.linspace(1, 0, 2001)), "constant"], [3000])
    assert s.short_spec() == ("join:parts=[(tabulated:values=[1.0,0.9995,0.999,0.9985,0.998,"
                              "...,0.0](2001 items)),(constant)],boundaries=[3000]")
    assert len(s.to_spec()) > 10_000 and from_spec(s.to_spec()) == s


# -- parity with torch and the libraries users compare against --------------------------------


def _torch_run(optimizer, make_scheduler, steps):
    """(LR, momentum) of param group 0 at each step, as torch's scheduler sets them."""
    scheduler = make_scheduler(optimizer)
    lrs, momenta = [], []
    for _ in range(steps):
        group = optimizer.param_groups[0]
        lrs.append(group["lr"])
        momenta.append(group["betas"][0] if "betas" in group else group["momentum"])
        optimizer.step()
        scheduler.step()
    return np.array(lrs), np.array(momenta)


OPTIMIZERS = {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.02, momentum=0.9),
    "adam": lambda p: torch.optim.Adam(p, lr=0.02),
}


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("mode,gamma,down", [("triangular", 1.0, None), ("triangular", 1.0, 11),
                                             ("triangular2", 1.0, 4), ("exp_range", 0.99, 9)])
def test_cyclic_equals_torch_cyclic_lr_with_its_momentum(optimizer, mode, gamma, down):
    params = [torch.nn.Parameter(torch.zeros(1))]
    lr, momentum = _torch_run(OPTIMIZERS[optimizer](params), lambda o: CyclicLR(
        o, base_lr=0.002, max_lr=0.02, step_size_up=7, step_size_down=down, mode=mode,
        gamma=gamma, base_momentum=0.8, max_momentum=0.9), 200)
    s = lrsched.cyclic(base=0.1, step_size_up=7, step_size_down=down, mode=mode, gamma=gamma,
                       cycle_momentum=True)
    t = np.arange(200)
    np.testing.assert_allclose(0.02 * s(t), lr, rtol=1e-14)
    np.testing.assert_array_equal(s.momentum(t), momentum)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("three_phase", [False, True])
@pytest.mark.parametrize("shape,strategy", [("cosine", "cos"), ("linear", "linear")])
def test_one_cycle_equals_torch_one_cycle_lr_with_its_momentum(optimizer, three_phase, shape,
                                                               strategy):
    params = [torch.nn.Parameter(torch.zeros(1))]
    lr, momentum = _torch_run(OPTIMIZERS[optimizer](params), lambda o: OneCycleLR(
        o, max_lr=0.02, total_steps=97, pct_start=0.25, anneal_strategy=strategy,
        three_phase=three_phase, base_momentum=0.8, max_momentum=0.93), 97)
    s = lrsched.one_cycle(total_steps=97, pct_start=0.25, shape=shape, three_phase=three_phase,
                          cycle_momentum=True, base_momentum=0.8, max_momentum=0.93)
    t = np.arange(97)
    np.testing.assert_allclose(0.02 * s(t), lr, rtol=1e-14, atol=1e-16 * 0.02)
    np.testing.assert_allclose(s.momentum(t), momentum, rtol=1e-15)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("spec, make_torch", [
    ("one_cycle:total_steps=97", lambda o: OneCycleLR(o, max_lr=0.02, total_steps=97)),
    ("cyclic:base=0.1,step_size_up=7", lambda o: CyclicLR(o, base_lr=0.002, max_lr=0.02,
                                                            step_size_up=7)),
])
def test_one_cycle_and_cyclic_cycle_momentum_by_default_as_torch(optimizer, spec, make_torch):
    """Issue 20, item 12: the defaults are torch's, momentum cycling included."""
    theirs = _torch_run(OPTIMIZERS[optimizer]([torch.nn.Parameter(torch.zeros(1))]),
                        make_torch, 97)
    ours = _torch_run(OPTIMIZERS[optimizer]([torch.nn.Parameter(torch.zeros(1))]),
                      lambda o: lrsched.ScheduleLR(o, spec), 97)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-14, atol=1e-18)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-15)


def test_warmup_from_a_given_fraction_as_timm_and_optax():
    """timm's warmup_lr_init (with warmup_prefix) and optax's warmup_cosine_decay_schedule,
    re-derived from their docs: ``init + (peak - init) t / W``, then the body from step W."""
    peak, init, end, W, T = 3e-4, 1e-6, 3e-5, 50, 1000
    t = np.arange(1200)
    ours = peak * lrsched.cosine(total_steps=T, warmup=W, warmup_init=init / peak,
                                 final=end / peak)(t)
    u = np.clip((t - W) / (T - W), 0, 1)
    theirs = np.where(t < W, init + (peak - init) * t / W,
                      end + (peak - end) * (1 + np.cos(np.pi * u)) / 2)
    np.testing.assert_allclose(ours, theirs, rtol=1e-13)
    assert ours[0] == pytest.approx(init, rel=1e-12) and ours[W] == peak


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("make,match", [
    (lambda: lrsched.cosine(total_steps=-5), "whole number of steps >= 0"),
    (lambda: lrsched.cosine(total_steps=10.5), "whole number of steps >= 0"),
    (lambda: lrsched.cosine(total_steps=100, warmup=100), "warmup=100 must be shorter"),
    (lambda: lrsched.cosine(total_steps=100, final=float("nan")), "finite"),
    (lambda: lrsched.linear(total_steps=100, final=float("inf")), "finite"),
    (lambda: lrsched.cosine(total_steps=100, final=1.5), r"final must be a fraction"),
    (lambda: lrsched.exponential(gamma=1.5), "gamma"),
    (lambda: lrsched.wsd(total_steps=100, decay_steps=200), "decay_steps"),
    (lambda: lrsched.wsd(total_steps=100, shape="exponential"), "final"),
    (lambda: lrsched.wsd(total_steps=100, shape="square"), "one of linear"),
    (lambda: lrsched.wsd(total_steps=2), "default is 20% of the run: 0 steps"),
    (lambda: lrsched.multistep(milestones=[30, 10]), "strictly increasing"),
    (lambda: lrsched.tabulated(values=[1.0, -0.5]), ">= 0"),
    (lambda: lrsched.tabulated(values=[]), r"values=\[\] is invalid; values must be a non-empty"),
    (lambda: lrsched.tabulated(values=[1, 2], steps=[3]), "one step per value"),
    (lambda: lrsched.join(["constant"], [10]), "one fewer"),
    (lambda: lrsched.join(["constant", "constant"], []), "one fewer"),
    (lambda: lrsched.join([], []), "non-empty list of schedules"),
    (lambda: lrsched.join([5], []), "must be a schedule"),
    (lambda: lrsched.one_cycle(total_steps=3), "pct_start"),
    (lambda: lrsched.one_cycle(total_steps=100, cycle_momentum=False, max_momentum=0.9),
     "with cycle_momentum=false"),
    # issue 20, item 13: the key named is the key that is wrong
    (lambda: lrsched.one_cycle(total_steps=100, max_momentum=1.0),
     "one_cycle: max_momentum=1.0 is invalid; max_momentum must be below 1"),
    (lambda: lrsched.cyclic(base=0.1, max_momentum=1.2), "cyclic: max_momentum=1.2 is invalid"),
    (lambda: lrsched.cyclic(base=0.1, base_momentum=0.95),
     r"base_momentum=0.95 is invalid; base_momentum must be in \[0, max_momentum=0.9\]"),
    (lambda: lrsched.join(["one_cycle:total_steps=10", "constant"], [10]),
     "all cycle momentum, or none of them .*unless cycle_momentum=false"),
    (lambda: lrsched.cyclic(base=0.1, gamma=0.9), "unless mode=exp_range"),
    (lambda: lrsched.cyclic(base=1.5), "base_lr / max_lr"),
    (lambda: lrsched.cyclic(base=0.1, step_size_down=0), "step_size_down"),
    (lambda: lrsched.cosine_restarts(total_steps=1000, cycles=0.5), "whole number >= 0"),
    (lambda: lrsched.cosine_restarts(total_steps=1000, cycles=3, cycle_mult=1e5), "2 steps"),
    (lambda: lrsched.constant(warmup_init=0.1), "without a warmup"),
    (lambda: lrsched.constant(warmup=5, warmup_init=2.0), r"warmup_init.*in \[0, 1\]"),
    (lambda: from_spec("cosin:total_steps=5"), "did you mean 'cosine'"),
    (lambda: from_spec("cosine:total_steps=100,fnal=0.1"), "did you mean 'final'"),
    (lambda: from_spec("cosine"), "cosine needs total_steps"),
    (lambda: from_spec("cosine:total_steps"), "expected '='"),
    (lambda: from_spec("cosine:total_steps=100,"), "expected a key"),
    (lambda: from_spec("cosine:total_steps=100)"), "expected ',' or the end"),
    (lambda: from_spec("cosine:total_steps=1,total_steps=2"), "twice"),
    (lambda: from_spec("join:parts=[(constant],boundaries=[1]"), "closing the nested"),
    (lambda: from_spec(""), "a schedule name"),
    (lambda: from_spec(5), "a spec must be a string"),
    (lambda: Schedule.from_dict(["constant"]), "needs a 'name' key"),
    # issue 20, item 10: dicts as JSON or Python may hold them
    (lambda: Schedule.from_dict({"name": ["cosine", "wsd"]}), "name is a string such as"),
    (lambda: Schedule.from_dict({"name": {"a": 1}}), "got {'a': 1}; give one family name"),
    (lambda: Schedule.from_dict({"name": "cosine", "total_steps": 9, 1: 2}),
     "cosine has no key 1; allowed keys: total_steps"),
    (lambda: as_schedule(3.0), "expected a Schedule"),
    (lambda: interpolate(np.zeros(1), 1.0, 0.0, "square"), "unknown shape"),
    (lambda: lrsched.constant()(-1), "steps must be >= 0"),
    (lambda: lrsched.constant()(np.array([0.5])), "integers"),
    (lambda: lrsched.constant()(2.0), "integers"),
    (lambda: lrsched.cosine(total_steps=100).anneal_at(10, 10), "cannot anneal"),
])
def test_bad_input_is_one_clear_line(make, match):
    with pytest.raises(InputError, match=match) as info:
        make()
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("make,match", [
    (lambda: from_spec("cosine:total_steps=1e18"), r"total_steps=1e\+18 is more steps than a "
                                                   "schedule may hold; give at most 1,000,000"),
    (lambda: from_spec("constant:warmup=1e20"), "more steps than a schedule may hold"),
    (lambda: from_spec("cosine_restarts:total_steps=1e10,cycles=1e9"),
     "cycles=1000000000.0 is more parts than a schedule may hold; give at most 10,000"),
    (lambda: lrsched.continual(segments=[10**12, 10**12]), "runs 2000000000000 steps"),
    (lambda: lrsched.constant()(10**13), "beyond what a schedule evaluates"),
    (lambda: lrsched.constant()(np.array([2**64 - 1], dtype=np.uint64)), "beyond"),
    (lambda: lrsched.constant()(2**70), "integers from 0 to 1,000,000,000,000"),
])
def test_sizes_beyond_what_one_call_evaluates_are_one_line(make, match):
    with pytest.raises(InputError, match=match) as info:
        make()
    assert "\n" not in str(info.value)


def _nested(depth: int) -> str:
    spec = "constant"
    for _ in range(depth):
        spec = f"join:parts=[({spec})],boundaries=[]"
    return spec


def test_deep_nesting_is_one_line_not_a_recursion_error():
    assert lrsched.from_spec(_nested(49)).total_steps is None  # 50 schedules deep: fine
    with pytest.raises(InputError, match="nests .*more than 50 deep"):
        lrsched.from_spec(_nested(400))
    s = lrsched.constant()
    with pytest.raises(InputError, match="more than 50 joins deep"):
        for _ in range(400):
            s = lrsched.join([s], [])
    d = {"name": "constant"}
    for _ in range(10 * sys.getrecursionlimit()):  # too deep for any recursive reader
        d = {"name": "join", "parts": [d], "boundaries": []}
    with pytest.raises(InputError, match="more than 50 schedules deep"):
        Schedule.from_dict(d)


def test_spec_accepts_integral_floats_for_step_counts():
    assert from_spec("cosine:total_steps=1e4") == lrsched.cosine(total_steps=10_000)


def test_import_lrsched_loads_numpy_only():
    """No torch, matplotlib, lmfit, scipy or scikit-learn until a name that needs them is
    used; the lazy ``lrsched.refine`` is the function and brings no torch. (The one
    interpreter started for it: sys.modules here holds everything already.)"""
    code = ("import sys, lrsched; lrsched.cosine(total_steps=10)(5); "
            "print(sorted({'torch', 'matplotlib', 'lmfit', 'scipy', 'sklearn'} "
            "& set(sys.modules))); f = lrsched.refine; import lrsched.refinement; "
            "print(f is lrsched.refinement.refine, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["[]", "True False"]


def test_spec_defaults_fill_only_missing_keys_the_family_has():
    assert from_spec("cosine:final=0.1", total_steps=1000, warmup=50) == \
        lrsched.cosine(total_steps=1000, warmup=50, final=0.1)
    assert from_spec("cosine:total_steps=5", total_steps=1000) == lrsched.cosine(total_steps=5)
    assert from_spec("constant", total_steps=1000) == lrsched.constant()
