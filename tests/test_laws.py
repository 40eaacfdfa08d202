"""The loss-curve laws: formulas, limits, the fast multi-power sum, speed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import lrsched
from lrsched.laws import MomentumLaw, MultiPowerLaw, RelaxationLaw
from lrsched.laws import multipower as mp
from lrsched.lr_arrays import warmup_end

MOM = {"L0": 3.0, "A": 0.5, "alpha": 0.5, "C": 0.8, "lam": 0.999}
MPL = {"L0": 3.0, "A": 0.5, "alpha": 0.5, "B": 400.0, "C": 2.0, "beta": 0.6, "gamma": 0.6}


def brute_decay(lrs, steps, p, warmup="plain"):
    """LD(t)/B by the paper's double sum, term by term (O(n^2)); eta_k = 0 gives G = 1.
    The sum starts at step 1 ("plain") or after the warmup ("peak")."""
    cum = np.cumsum(lrs)
    start = 1 if warmup == "plain" else warmup_end(lrs) + 1
    out = []
    for t in steps:
        k = np.arange(start, t + 1)
        drop = lrs[k - 1] - lrs[k]
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(lrs[k] > 0, lrs[k] ** -p["gamma"] * (cum[t] - cum[k - 1]), np.inf)
        g = 1 - (p["C"] * x + 1) ** -p["beta"]
        out.append(np.sum(drop * g))
    return np.array(out)


def schedule(n, kind, peak=3e-4):
    """Warmup over 10% of n, then constant, cosine to 10%, linear to 0, or WSD to 0."""
    w = n // 10
    s = np.arange(n - w) / (n - w - 1)
    body = {
        "constant": np.full(n - w, peak),
        "cosine": peak * (0.1 + 0.45 * (1 + np.cos(np.pi * s))),
        "linear0": peak * (1 - s),
        "wsd0": peak * np.clip((1 - s) / 0.2, 0, 1),
    }[kind]
    return np.concatenate([np.linspace(0, peak, w), body])


lr_lists = st.lists(st.floats(0.0, 1e-3), min_size=3, max_size=mp.EXACT_CHANGES)


@settings(max_examples=40, deadline=None)
@given(lr_lists, st.floats(0.2, 0.9), st.floats(0.1, 5.0), st.floats(0.1, 1.5))
def test_multipower_sum_equals_direct_sum_when_exact(lrs, gamma, c, beta):
    # with at most EXACT_CHANGES LR changes every term is summed exactly
    lrs = np.array([1e-3, *lrs])
    p = {**MPL, "gamma": gamma, "C": c, "beta": beta}
    steps = np.arange(lrs.size)
    law = MultiPowerLaw()
    fast = law.decay(p, law.prepare(lrs, steps))
    ref = brute_decay(lrs, steps, p)
    assert np.allclose(fast, ref, rtol=1e-10, atol=1e-16)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.floats(1e-6, 1e-3), min_size=60, max_size=300), st.floats(0.2, 0.9))
def test_multipower_blocks_stay_close_to_direct_sum_on_random_schedules(lrs, gamma):
    lrs = np.array([1e-3, *lrs])
    p = {**MPL, "gamma": gamma}
    steps = np.arange(lrs.size)
    law = MultiPowerLaw()
    fast = law.decay(p, law.prepare(lrs, steps))
    ref = brute_decay(lrs, steps, p)
    scale = np.abs(lrs[:-1] - lrs[1:]).sum()  # LD/B cannot exceed the total LR change
    assert np.max(np.abs(fast - ref)) <= 1e-3 * scale


@pytest.mark.parametrize("warmup", ["plain", "peak"])
@pytest.mark.parametrize("kind", ["cosine", "linear0", "wsd0"])
def test_multipower_blocks_error_is_small_on_long_decays(kind, warmup):
    lrs = schedule(6000, kind)
    steps = np.arange(0, 6000, 7)
    law = MultiPowerLaw(warmup=warmup)
    fast = law.decay(MPL, law.prepare(lrs, steps))
    ref = brute_decay(lrs, steps, MPL, warmup)
    assert np.max(np.abs(fast - ref)) * MPL["B"] < 2e-5  # in loss units
    assert np.max(np.abs(fast - ref)) < 2e-4 * np.max(np.abs(ref))


@settings(max_examples=30, deadline=None)
@given(st.floats(1e-5, 1e-2), st.integers(10, 2000), st.floats(0.99, 0.9995))
def test_momentum_constant_lr_has_no_annealing_and_falls(lr, n, lam):
    law = MomentumLaw()
    lrs = np.full(n, lr)
    prepared = law.prepare(lrs, np.arange(n))
    assert np.all(law.basis({**MOM, "lam": lam}, prepared)["C"] == 0)
    loss = law.predict({**MOM, "lam": lam}, lrs)
    assert np.all(np.diff(loss) < 0)


def test_momentum_annealing_lowers_the_loss_gradually():
    lrs = np.where(np.arange(5000) < 2500, 3e-4, 3e-5)
    loss = MomentumLaw().predict(MOM, lrs)
    const = MomentumLaw().predict(MOM, np.full(5000, 3e-4))
    gap = const - loss
    assert np.all(gap[:2500] == 0)
    assert 0 < gap[2501] < gap[3000] < gap[4999]  # the drop takes effect over ~1/(1-lam) steps


def test_momentum_peak_warmup_ignores_the_ramp():
    lrs = schedule(3000, "constant")
    peak = MomentumLaw(warmup="peak").predict(MOM, lrs)
    flat = MomentumLaw().predict(MOM, np.full(3000, 3e-4))
    assert np.allclose(peak, flat)
    plain = MomentumLaw(warmup="plain").predict(MOM, lrs)
    assert np.all(plain[400:] > flat[400:])  # the ramp counts as "negative annealing"


@pytest.mark.parametrize("kind", ["linear0", "wsd0"])
@pytest.mark.parametrize("law, params", [(MomentumLaw(), MOM), (MultiPowerLaw(), MPL)])
def test_lr_decaying_to_zero_gives_finite_falling_predictions(law, params, kind):
    lrs = schedule(4000, kind)
    assert lrs[-1] == 0
    loss = law.predict(params, lrs)[400:]
    assert np.all(np.isfinite(loss))
    assert loss[-1] < loss[0]


def test_multipower_zero_lr_step_takes_the_limit_g_equal_1():
    lrs = np.array([1e-3, 1e-3, 5e-4, 0.0, 0.0])
    law = MultiPowerLaw()
    ld = law.decay(MPL, law.prepare(lrs, np.arange(5)))
    assert ld[3] - ld[2] == pytest.approx(5e-4)  # the step to 0 adds its full drop
    assert np.allclose(ld, brute_decay(lrs, np.arange(5), MPL))


def test_multipower_warmup_enters_ld_only_when_plain():
    lrs = schedule(3000, "constant")
    plain, peak = MultiPowerLaw(), MultiPowerLaw(warmup="peak")
    ld_plain = plain.decay(MPL, plain.prepare(lrs, np.arange(3000)))
    assert np.all(peak.decay(MPL, peak.prepare(lrs, np.arange(3000))) == 0)
    assert np.all(ld_plain[300:] < 0)  # the LR rise counts as negative drops ...
    assert ld_plain[-1] == pytest.approx(-3e-4, rel=0.05)  # ... each nearly saturated


def test_multipower_constant_lr_is_a_pure_power_law():
    lrs = np.full(1000, 1e-3)
    loss = MultiPowerLaw().predict(MPL, lrs)
    s = np.cumsum(lrs)
    assert np.allclose(loss, MPL["L0"] + MPL["A"] * s ** -MPL["alpha"])


def test_a_100k_step_cosine_prediction_is_finite():
    # its speed is benchmarked (benchmarks/bench_laws.py), never timed in a test
    lrs = schedule(100_000, "cosine")
    for law, params in [(MultiPowerLaw(), MPL), (MomentumLaw(), MOM)]:
        assert np.all(np.isfinite(law.predict(params, lrs)[10_001:]))


@pytest.mark.parametrize("bad", [[1.0, -1e-4, 1.0], [1.0, np.nan], [0.0, 0.0], [[1.0]]])
def test_laws_reject_unusable_lrs(bad):
    with pytest.raises(ValueError):
        MultiPowerLaw().predict(MPL, bad)


@pytest.mark.parametrize("law, params", [(MultiPowerLaw(), MPL), (MomentumLaw(), MOM)])
@pytest.mark.parametrize("steps, message", [
    ([0, 100], "step 100 is outside the run: the LR array covers steps 0..99"),
    ([-1, 5], "step -1 is outside the run"),
    ([1.5], "whole numbers"),
    ([[1, 2]], "1-D array"),
])
def test_predict_rejects_steps_outside_the_lr_array(law, params, steps, message):
    lrs = schedule(100, "cosine")
    with pytest.raises(ValueError, match=message) as info:
        law.predict(params, lrs, steps)
    assert "\n" not in str(info.value)
    assert law.predict(params, lrs, [99.0, 50]).shape == (2,)  # whole floats are steps


@pytest.mark.parametrize("law", [MomentumLaw(), MomentumLaw(warmup="peak"), MultiPowerLaw(),
                                 mp.InstantDropLaw()])
def test_the_power_law_term_is_in_the_lr_area(law):
    lrs, steps = schedule(200, "cosine"), np.array([30, 120, 199])
    eta = lrs.copy()
    if getattr(law, "warmup", "plain") == "peak":
        eta[:warmup_end(lrs)] = lrs.max()
    values = {**MOM, **MPL}
    power = law.basis(values, law.prepare(lrs, steps))["A"]
    np.testing.assert_allclose(power, np.cumsum(eta)[steps] ** -values["alpha"], rtol=1e-12)


def test_multipower_long_runs_stay_finite_without_warnings():
    """A 240,000-step cosine: block means of many tiny drops once rounded outside their
    block (negative distances, NaN losses and a log1p RuntimeWarning)."""
    import warnings

    lrs = 3e-4 * lrsched.cosine(total_steps=240_000, warmup=2160)(np.arange(240_000))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = MultiPowerLaw().predict(MPL, lrs, np.arange(2200, 240_000, 97))
    assert np.all(np.isfinite(loss)) and np.all(np.diff(loss) < 0)


REL = {"L0": 2.5, "A": 0.8, "alpha": 0.4, "B": 3.0, "kappa": 0.01, "q": 0.7}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.0, 2e-3), min_size=2, max_size=60), st.floats(1e-4, 1.0),
       st.floats(0.2, 1.5))
@example(lrs=[0.001953125, 0.0, 0.001953125, 2.220446049250313e-16], kappa=1e-4,
         q=0.201171875)
def test_relaxation_sum_equals_the_direct_sum(lrs, kappa, q):
    lrs = np.array([1e-3, *lrs])
    p = {**REL, "kappa": kappa, "q": q}
    drops = -np.diff(lrs**q, prepend=0.0)
    s = np.cumsum(lrs)
    direct = [np.sum(drops[:t + 1] * -np.expm1(-(s[t] - s[:t + 1]) / kappa))
              for t in range(lrs.size)]
    law = RelaxationLaw()
    fast = law.decay(p, law.prepare(lrs, np.arange(lrs.size)))
    # R telescopes: drops of up to ~0.3 cancel to values as small as 1e-9, so the error
    # allowed is absolute, at rounding of the drops (found by hypothesis: 1.02e-15)
    rounding = 1e-15 * lrs.size * np.abs(drops).max()
    np.testing.assert_allclose(fast, direct, rtol=1e-9, atol=rounding)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.floats(1e-5, 2e-3), min_size=3, max_size=40), st.floats(1e-3, 0.1),
       st.floats(0.3, 1.2))
def test_relaxation_final_loss_and_its_gradient(lrs, kappa, q):
    lrs = np.array(lrs)
    p = {**REL, "kappa": kappa, "q": q}
    law = RelaxationLaw()
    loss, grad = law.final_loss(p, lrs, grad=True)
    assert loss == pytest.approx(law.predict(p, lrs)[-1], rel=1e-12)
    h = 1e-9
    numeric = [(law.final_loss(p, lrs + h * e) - law.final_loss(p, lrs - h * e)) / (2 * h)
               for e in np.eye(lrs.size)]
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-6 * np.abs(grad).max())


def test_relaxation_gains_need_lr_area_after_the_drop():
    """A drop to an LR of 0 realises nothing (no area); to a small LR, it relaxes in area."""
    law = RelaxationLaw()
    before = np.full(1000, 1e-3)
    to_zero = np.concatenate([before, np.zeros(500)])
    to_low = np.concatenate([before, np.full(500, 1e-4)])
    zero = law.predict(REL, to_zero)
    assert zero[-1] == pytest.approx(zero[1000], rel=1e-12)  # nothing moves at LR 0
    low = law.predict(REL, to_low)
    assert np.all(np.diff(low[1000:]) < 0)  # falls as the area since the drop grows
    gained = low[999] - low[-1]
    assert gained > 0.9 * REL["B"] * (1e-3**REL["q"] - 1e-4**REL["q"])  # 0.05 area = 5 kappa


@pytest.mark.parametrize("kappa", [1e-4, 3e-2, 3.0])
def test_relaxation_stretches_and_doubling_scan_agree(kappa):
    from lrsched.laws.relaxation import _relaxed_by_doubling, relaxed

    rng = np.random.default_rng(0)
    eta, drops = np.abs(rng.normal(1e-3, 3e-4, 50_000)), rng.normal(0, 1e-4, 50_000)
    both = relaxed(drops, eta, kappa), _relaxed_by_doubling(drops, np.exp(-eta / kappa))
    np.testing.assert_allclose(*both, rtol=0, atol=1e-11 * np.abs(both[1]).max())


@pytest.mark.parametrize("spec", ["cosine:total_steps=60000,warmup=2000,final=0.1",
                                  "wsd:total_steps=60000,warmup=2000,decay_steps=6000",
                                  "multistep:milestones=[20000,40000],gamma=0.3,warmup=2000",
                                  "wsd:total_steps=60000,warmup=2000,decay_steps=300,final=0"])
def test_multipower_many_steps_are_interpolated_between_exact_anchors(spec, monkeypatch):
    lrs = 3e-4 * lrsched.from_spec(spec)(np.arange(60_000))
    law = MultiPowerLaw()
    fast = law.predict(MPL, lrs)
    monkeypatch.setattr(mp, "DENSE", 10**9)  # every step by the blocks
    exact = law.predict(MPL, lrs)
    assert np.max(np.abs(fast[2001:] - exact[2001:])) < 2e-5


# the range each shape parameter is drawn from (kappa log-uniformly)
SHAPES = {"alpha": (0.1, 1.0), "lam": (0.99, 0.9995), "C": (0.1, 8.0), "beta": (0.1, 2.0),
          "gamma": (0.0, 1.2), "kappa": (1e-3, 0.3), "q": (0.3, 1.5)}
GRADIENT_LAWS = {
    "momentum-plain": (MomentumLaw(), MOM),
    "momentum-peak": (MomentumLaw(warmup="peak"), MOM),
    "multipower-plain": (MultiPowerLaw(), MPL),
    "multipower-peak": (MultiPowerLaw(warmup="peak"), MPL),
    "instant-drop": (mp.InstantDropLaw(), {k: MPL[k] for k in ("L0", "A", "alpha", "B")}),
    "relaxation": (RelaxationLaw(), REL),
    "blend": (lrsched.BlendLaw(), {**{f"momentum.{k}": v for k, v in MOM.items()},
                                   **{f"relaxation.{k}": v for k, v in REL.items()}}),
}


@pytest.mark.parametrize("name", GRADIENT_LAWS)
@settings(max_examples=25, deadline=None)
@given(lrs=st.lists(st.floats(1e-6, 2e-3) | st.just(0.0), min_size=2, max_size=400),
       draws=st.lists(st.floats(0.0, 1.0), min_size=len(SHAPES), max_size=len(SHAPES)))
def test_gradient_is_the_derivative_of_evaluate(name, lrs, draws):
    """Every law's analytic gradient (the fit's Jacobian) against central differences of
    its prediction, in every parameter, over schedules long enough for the multi-power
    blocks (their plan does not depend on the parameters, so the gradient is exact)."""
    law, values = GRADIENT_LAWS[name]
    drawn = dict(zip(SHAPES, draws))
    for key in values:
        short = key.split(".")[-1]
        if short in SHAPES:
            lo, hi = SHAPES[short]
            u = drawn[short]
            value = lo * (hi / lo) ** u if short == "kappa" else lo + u * (hi - lo)
            values = {**values, key: value}
    lrs = np.array([1e-3, *lrs])  # S1 > 0 at every step
    prepared = law.prepare(lrs, np.arange(lrs.size))
    gradient = law.gradient(values, prepared)
    assert set(gradient) == set(law.param_names)
    for key, value in values.items():
        h = 1e-6 * max(abs(value), 1e-2)
        up, down = ({**values, key: value + s} for s in (h, -h))
        high, low = law.evaluate(up, prepared), law.evaluate(down, prepared)
        numeric = (high - low) / (2 * h)
        rounding = 1e-13 * np.abs(high).max() / h  # of the difference quotient
        np.testing.assert_allclose(np.broadcast_to(gradient[key], numeric.shape), numeric,
                                   rtol=1e-5, atol=rounding + 1e-7 * np.abs(numeric).max(),
                                   err_msg=f"{name}: d/d{key}")
