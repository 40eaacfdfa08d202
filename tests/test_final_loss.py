"""``final_loss``: the last step of ``predict`` and its analytic gradient in every LR."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lrsched.laws import BlendLaw, MomentumLaw, MultiPowerLaw
from lrsched.laws import multipower as mp

MOM = {"L0": 3.0, "A": 0.5, "alpha": 0.5, "C": 0.8, "lam": 0.99}
MPL = {"L0": 3.0, "A": 0.5, "alpha": 0.5, "B": 400.0, "C": 2.0, "beta": 0.6, "gamma": 0.6}
LAWS = [(MomentumLaw(warmup=w), MOM) for w in ("plain", "peak")] + \
       [(MultiPowerLaw(warmup=w), MPL) for w in ("plain", "peak")]
IDS = ["momentum-plain", "momentum-peak", "multipower-plain", "multipower-peak"]

# short enough that the multi-power sum in ``predict`` is exact (no blocks)
positive_lrs = st.lists(st.floats(1e-5, 1e-3), min_size=2, max_size=mp.EXACT_CHANGES)
lrs_with_zeros = st.lists(st.floats(1e-5, 1e-3) | st.just(0.0), min_size=2,
                          max_size=mp.EXACT_CHANGES)


def shape_params(law, params, draw_values):
    """``params`` with the shape parameters drawn: lam for momentum, C/beta/gamma else."""
    if isinstance(law, MomentumLaw):
        return {**params, "lam": draw_values[0]}
    return {**params, "C": draw_values[1], "beta": draw_values[2], "gamma": draw_values[3]}


shapes = st.tuples(st.floats(0.99, 0.9995), st.floats(0.1, 8.0), st.floats(0.1, 2.0),
                   st.floats(0.0, 1.2))


@pytest.mark.parametrize(("law", "params"), LAWS, ids=IDS)
@settings(max_examples=60, deadline=None)
@given(lrs=lrs_with_zeros, values=shapes)
def test_final_loss_is_the_last_step_of_predict(law, params, lrs, values):
    lrs = np.array([5e-4, *lrs])  # a positive LR first, so S1 > 0 at every step
    p = shape_params(law, params, values)
    expected = law.predict(p, lrs)[-1]
    assert law.final_loss(p, lrs) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    loss, grad = law.final_loss(p, lrs, grad=True)
    assert loss == law.final_loss(p, lrs)
    assert grad.shape == lrs.shape and grad.dtype == np.float64


@pytest.mark.parametrize(("law", "params"), LAWS, ids=IDS)
@settings(max_examples=60, deadline=None)
@given(lrs=positive_lrs, values=shapes)
def test_gradient_matches_central_differences(law, params, lrs, values):
    lrs = np.array(lrs)
    h = 1e-9
    gaps = np.abs(lrs[:, None] - lrs[None, :])[~np.eye(lrs.size, dtype=bool)]
    assume(gaps.min() > 4 * h)  # the warmup end (the peak's step) stays put
    p = shape_params(law, params, values)
    _, grad = law.final_loss(p, lrs, grad=True)
    numeric = np.empty_like(lrs)
    for j in range(lrs.size):
        up, down = lrs.copy(), lrs.copy()
        up[j] += h
        down[j] -= h
        numeric[j] = (law.final_loss(p, up) - law.final_loss(p, down)) / (2 * h)
    scale = np.abs(grad).max()
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-5 * scale)


def test_zero_lr_steps_take_the_limit_g_equals_one():
    # a drop to exactly 0 counts in full (G = 1); its own LR then has no G' term
    law, lrs = MultiPowerLaw(), np.array([1e-3, 1e-3, 0.0, 0.0])
    loss, grad = law.final_loss(MPL, lrs, grad=True)
    assert loss == pytest.approx(law.predict(MPL, lrs)[-1], rel=1e-12)
    power = MPL["A"] * lrs.sum() ** -MPL["alpha"]
    assert loss == pytest.approx(MPL["L0"] + power - MPL["B"] * 1e-3, rel=1e-12)
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize(("law", "params"), LAWS, ids=IDS)
def test_long_schedule_agrees_with_predict(law, params):
    # past EXACT_CHANGES the fast predict groups old drops into blocks (~1e-5 in loss)
    n, w = 20_000, 1000
    t = np.arange(n - w) / (n - w)
    cosine = 3e-4 * (0.1 + 0.45 * (1 + np.cos(np.pi * t)))
    lrs = np.concatenate([np.linspace(3e-4 / w, 3e-4, w), cosine])
    assert law.final_loss(params, lrs) == pytest.approx(law.predict(params, lrs)[-1], abs=3e-5)


@settings(max_examples=30, deadline=None)
@given(lrs=positive_lrs)
def test_a_blend_is_the_mean_of_its_members(lrs):
    lrs = np.array(lrs)
    law = BlendLaw(["momentum", ["multipower", {"warmup": "peak"}]])
    members = [(MomentumLaw(), MOM), (MultiPowerLaw(warmup="peak"), MPL)]
    params = {f"{m.name}.{k}": v for m, values in members for k, v in values.items()}
    loss, grad = law.final_loss(params, lrs, grad=True)
    parts = [m.final_loss(values, lrs, grad=True) for m, values in members]
    assert loss == pytest.approx(np.mean([p[0] for p in parts]), rel=1e-12)
    np.testing.assert_allclose(grad, np.mean([p[1] for p in parts], axis=0), rtol=1e-12)
    np.testing.assert_allclose(law.predict(params, lrs),
                               np.mean([m.predict(v, lrs) for m, v in members], axis=0),
                               rtol=1e-12)
