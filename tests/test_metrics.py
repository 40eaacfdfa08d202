"""Curve and decision metrics: what they measure, on cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lrsched.errors import InputError
from lrsched.laws import curve_metrics, decision_metrics

# distinct losses in steps of 1e-4 (a float offset cannot merge two of them by rounding)
losses = st.lists(st.integers(10_000, 100_000), min_size=2, max_size=9, unique=True).map(
    lambda xs: [x / 1e4 for x in xs])


def test_curve_metrics_on_a_known_case():
    m = curve_metrics([1.0, 2.2, 2.9], [1.0, 2.0, 3.0])
    assert m["mae"] == pytest.approx(0.1)
    assert m["pred_e"] == pytest.approx((0.1 + 0.1 / 3) / 3)
    assert m["worst_e"] == pytest.approx(0.1)
    assert m["rmse"] == pytest.approx(np.sqrt(0.05 / 3))
    assert m["r2"] == pytest.approx(1 - 0.05 / 2)
    assert m["final_e"] == pytest.approx(0.1 / 3)  # the last point only
    assert m["n"] == 3
    with pytest.raises(InputError):
        curve_metrics([1.0], [1.0, 2.0])


@settings(max_examples=50, deadline=None)
@given(losses, st.integers(-100, 100).map(lambda k: k / 128))
def test_a_constant_offset_predicts_every_gap_and_the_winner(actual, offset):
    d = decision_metrics(np.add(actual, offset), actual)
    assert d["gap_error"] == pytest.approx(0.0, abs=1e-9)
    assert d["regret"] == 0.0
    assert d["kendall_tau"] == pytest.approx(1.0)
    assert d["n"] == len(actual)


@settings(max_examples=50, deadline=None)
@given(losses)
def test_predicting_no_difference_scores_one_and_reversing_scores_two(actual):
    flat = decision_metrics(np.full(len(actual), 3.0), actual)
    assert flat["gap_error"] == pytest.approx(1.0)
    reversed_ = decision_metrics(-np.asarray(actual), actual)
    assert reversed_["gap_error"] == pytest.approx(2.0)
    assert reversed_["regret"] == pytest.approx(max(actual) - min(actual))
    assert reversed_["kendall_tau"] == pytest.approx(-1.0)


def test_regret_is_the_cost_of_the_predicted_winner():
    actual = [3.00, 3.01, 3.05]
    d = decision_metrics([3.02, 2.99, 3.10], actual)  # ranks the second best first
    assert d["regret"] == pytest.approx(0.01)
    # pairs: (0,1) predicted +0.03 vs actual -0.01; (0,2) -0.08 vs -0.05; (1,2) -0.11 vs -0.04
    assert d["gap_error"] == pytest.approx((0.04 + 0.03 + 0.07) / (0.01 + 0.05 + 0.04))


def test_fewer_than_two_candidates_is_an_input_error():
    with pytest.raises(InputError, match="at least two"):
        decision_metrics([3.0], [3.0])
