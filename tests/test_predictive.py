"""The joint predictive distribution of final losses (``laws.predictive``) and what is
built on it: ``Fit.compare``, ``beat_best``, the calibration of ``calibrate``."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lrsched
from lrsched.errors import InputError
from lrsched.laws import Fit, MomentumLaw, calibrate, load_fit, predictive

PARAMS = {"L0": 3.04, "A": 0.52, "alpha": 0.51, "C": 1.64, "lam": 0.9957}
STEPS = 2000
PEAK = 3e-4


def momentum_fit(calibration=0.005, length=0.2, covariance=None) -> Fit:
    names = list(PARAMS)
    cov = np.diag([1e-6, 1e-6, 1e-5, 1e-4, 1e-8]) if covariance is None else covariance
    return Fit(MomentumLaw(), dict(PARAMS), {n: 1e-3 for n in names}, covariance=cov,
               covariance_names=names, data=[{"name": "run", "n": 50, "steps": [0, STEPS - 1],
                                              "lr": [PEAK, PEAK]}],
               calibration=calibration, correlation_length=length)


def wsd(fraction: float, steps: int = STEPS, peak: float = PEAK) -> np.ndarray:
    schedule = lrsched.wsd(total_steps=steps, decay_steps=round(fraction * steps))
    return peak * schedule(np.arange(steps))


CONSTANT = np.full(STEPS, PEAK)
COSINE = PEAK * lrsched.cosine(total_steps=STEPS)(np.arange(STEPS))

fractions = st.floats(0.05, 0.95)
schedules = st.lists(fractions, min_size=1, max_size=6)


def test_distances_of_known_schedules():
    d = predictive.distances([CONSTANT, COSINE, wsd(0.4), wsd(0.6), np.full(2 * STEPS, PEAK)])
    assert d[0, 1] == pytest.approx(np.sqrt(3 / 8), abs=0.01)  # RMS of (1 - cos)/2
    assert d[2, 3] == pytest.approx(0.15, abs=0.01)
    assert d[0, 4] == pytest.approx(predictive.LENGTH_WEIGHT * np.log(2))
    assert np.allclose(np.diag(d), 0) and np.allclose(d, d.T)


@given(schedules, st.floats(0.1, 10))
def test_distances_are_a_metric_blind_to_the_lr_scale(fs, scale):
    runs = [wsd(f) for f in fs] + [COSINE]
    d = predictive.distances(runs)
    assert np.all(d[:, :, None] <= d[:, None, :] + d.T[None, :, :] + 1e-12)  # triangle
    assert np.allclose(predictive.distances([scale * r for r in runs]), d)


@settings(deadline=None, max_examples=30)
@given(schedules, st.floats(0.01, 5))
def test_the_joint_covariance_is_positive_semidefinite(fs, length):
    _, cov = predictive.joint(momentum_fit(length=length), [wsd(f) for f in fs] + [CONSTANT])
    assert np.allclose(cov, cov.T)
    assert np.linalg.eigvalsh(cov).min() >= -1e-12 * np.abs(cov).max()


def test_the_interval_of_a_final_loss_is_the_joint_marginal():
    fit = momentum_fit()
    mean, cov = predictive.joint(fit, [COSINE])
    low, high = fit.interval(COSINE, [STEPS - 1], level=0.8)
    half = 1.2815515655446004 * np.sqrt(cov[0, 0])
    assert (low[0], high[0]) == pytest.approx((mean[0] - half, mean[0] + half), rel=1e-9)


@settings(deadline=None, max_examples=30)
@given(fractions, fractions)
def test_compare_is_antisymmetric_and_centred_on_the_predicted_difference(f, g):
    fit = momentum_fit()
    a, b = wsd(f), wsd(g)
    ab, ba = fit.compare(a, b), fit.compare(b, a)
    predicted = fit.predict(a, [STEPS - 1])[0] - fit.predict(b, [STEPS - 1])[0]
    assert ab.difference == pytest.approx(predicted) == pytest.approx(-ba.difference)
    assert ab.p_lower + ba.p_lower == pytest.approx(1.0)
    assert ab.interval[0] <= ab.difference <= ab.interval[1] and ab.same_length
    assert (ab.p_lower > 0.5) == (ab.difference < 0) or ab.difference == 0


def test_a_run_compared_with_itself_is_a_coin_flip():
    result = momentum_fit().compare(COSINE, COSINE)
    assert result.difference == 0 and result.interval == (0, 0) and result.p_lower == 0.5


def test_shared_error_cancels_for_alike_schedules():
    """The difference of two alike runs is known better than of two unlike ones, and
    better than either final loss; with no correlation length the errors are shared
    less."""
    fit = momentum_fit(length=0.3)
    near = fit.compare(wsd(0.4), wsd(0.45))
    far = fit.compare(wsd(0.4), CONSTANT)
    low, high = fit.interval(wsd(0.4), [STEPS - 1])
    width = lambda r: r.interval[1] - r.interval[0]  # noqa: E731
    assert width(near) < 0.25 * width(far) and width(near) < 0.25 * (high[0] - low[0])
    assert width(momentum_fit(length=0.01).compare(wsd(0.4), wsd(0.45))) > 3 * width(near)


def test_compare_says_when_lengths_differ_and_refuses_bad_input():
    fit = momentum_fit()
    assert not fit.compare(wsd(0.2), wsd(0.2, steps=STEPS // 2)).same_length
    with pytest.raises(InputError, match="level=1.5 must be a probability"):
        fit.compare(COSINE, CONSTANT, level=1.5)
    with pytest.raises(InputError, match="every learning rate is 0"):
        fit.compare(np.zeros(STEPS), CONSTANT)


def test_beat_best_marks_the_best_and_gives_the_others_their_chance():
    fit = momentum_fit()
    runs = [CONSTANT, wsd(0.2), wsd(0.2), COSINE]
    best, p = predictive.beat_best(fit, runs)
    mean, _ = predictive.joint(fit, runs)
    assert best == int(np.argmin(mean)) and np.isnan(p[best])
    others = [i for i in range(len(runs)) if i != best]
    assert all(p[i] == pytest.approx(fit.compare(runs[i], runs[best]).p_lower) for i in others)
    assert p[2 if best == 1 else 1] == 0.5  # the same schedule as the best: a coin flip


def test_a_degenerate_covariance_counts_as_known():
    bad = -np.eye(len(PARAMS)) * 1e-6
    assert np.allclose(predictive.parameter_covariance(momentum_fit(covariance=bad)), 0)
    fit = momentum_fit(covariance=bad)
    low, high = fit.interval(COSINE, [STEPS - 1])
    assert np.isfinite(low).all() and high[0] > low[0]


def test_measure_length_reads_the_shared_error():
    runs = [CONSTANT, COSINE, wsd(0.3)]
    shared = predictive.measure_length(np.array([0.01, 0.01, 0.01]), runs)
    assert shared == pytest.approx(predictive.LONGEST)  # one error for all: the longest
    opposite = predictive.measure_length(np.array([0.01, -0.01]), runs[:2])
    assert opposite == pytest.approx(predictive.distances(runs[:2])[0, 1] / 3)  # the shortest
    some = predictive.measure_length(np.array([0.01, -0.01, 0.01]), runs)
    assert some < shared
    assert predictive.measure_length(np.array([0.01]), runs[:1]) is None


def test_calibrate_measures_sigma_and_the_length_and_they_are_saved(tmp_path):
    truth = momentum_fit()
    curves = []
    for name, lrs in [("constant", CONSTANT), ("cosine", COSINE), ("wsd", wsd(0.3))]:
        steps = np.arange(100, STEPS, 25)
        loss = truth.predict(lrs, steps) * (1 + 0.002 * np.sin(steps / 37.0))
        curves.append(lrsched.Curve(steps, loss, lrs, name))
    fit = MomentumLaw().fit(curves)
    sigma = calibrate(fit, curves)
    assert sigma == fit.calibration and sigma >= np.sqrt(4 / 7) * MomentumLaw.heldout_error
    assert fit.correlation_length is not None and 0 < fit.correlation_length <= 5
    fit.save(tmp_path / "fit.json")
    back = load_fit(tmp_path / "fit.json")
    assert (back.calibration, back.correlation_length) == (fit.calibration,
                                                           fit.correlation_length)
