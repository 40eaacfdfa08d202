"""Saved fits read back by ``load_fit``: any JSON value in any field of a saved fit gives a
Fit that predicts, or one InputError line; never another exception (issue 20)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lrsched
from lrsched.choosing.prediction import final_interval, final_loss, fitted_start
from lrsched.errors import InputError
from lrsched.files import json_ready
from lrsched.laws import BlendLaw, Fit, MomentumLaw, MultiPowerLaw, load_fit

PARAMS = {
    "momentum": {"L0": 3.04, "A": 0.52, "alpha": 0.51, "C": 1.64, "lam": 0.9957},
    "multipower": {"L0": 3.04, "A": 0.52, "alpha": 0.51, "B": 378.0, "C": 0.93, "beta": 1.23,
                   "gamma": 0.47},
}
SUMMARY = {"name": "run", "n": 40, "first_step": 100, "steps": [100, 599],
           "lr": [3e-5, 3e-4], "loss": [3.2, 4.1]}
LRS = 3e-4 * lrsched.cosine(total_steps=600, final=0.1)(np.arange(600))


def saved(law) -> dict:
    """What ``Fit.save`` writes for a fit of ``law`` (params, covariance, a curve summary)."""
    if isinstance(law, BlendLaw):
        params = {f"{m}.{k}": v for m in ("momentum", "multipower")
                  for k, v in PARAMS[m].items()}
    else:
        params = dict(PARAMS[law.name])
    names = list(params)
    fit = Fit(law, params, {n: 1e-3 for n in names}, covariance=np.diag([1e-6] * len(names)),
              covariance_names=names, first_step=None, objective=1e-3, data=[SUMMARY],
              train={"run": {"r2": 0.99}}, seconds=0.5, warnings=["a warning"],
              calibration=0.01)
    return json.loads(json.dumps(json_ready(fit.to_dict())))


FITS = [saved(MomentumLaw()), saved(MultiPowerLaw()),
        saved(BlendLaw(["momentum", "multipower"]))]


def paths(value, prefix=()):
    """Every path (a tuple of keys and indices) into ``value``, itself included."""
    yield prefix
    items = value.items() if isinstance(value, dict) else \
        enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield from paths(child, (*prefix, key))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(10**300, 10**400)
    | st.integers(-(10**400), -(10**300)) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=4),
    max_leaves=8)


def works(fit: Fit) -> None:
    """What the commands do with a loaded fit: predict, interval, checks, save."""
    steps = np.arange(fitted_start(fit), LRS.size) if fitted_start(fit) < LRS.size else None
    assert np.all(np.isfinite(fit.predict(LRS, steps)))
    low, high = fit.interval(LRS, steps)
    assert np.all(low <= high)
    assert all(isinstance(m, str) for m in fit.check(LRS))
    final_interval(fit, LRS), final_loss(fit, LRS)
    json.dumps(json_ready(fit.to_dict()), allow_nan=False)


def test_the_fits_the_property_edits_load_and_work(tmp_path):
    for raw in FITS:
        path = tmp_path / "fit.json"
        path.write_text(json.dumps(raw))
        works(load_fit(path))


@settings(deadline=None)
@given(st.sampled_from(FITS), st.data(), json_values | st.just(KeyError))
def test_any_json_in_any_field_is_a_working_fit_or_one_input_error(tmp_path_factory, raw,
                                                                    data, value):
    raw = json.loads(json.dumps(raw))
    where = data.draw(st.sampled_from(list(paths(raw))[1:]), label="field")
    parent = raw
    for key in where[:-1]:
        parent = parent[key]
    if value is KeyError:
        del parent[where[-1]]
    else:
        parent[where[-1]] = value
    path = tmp_path_factory.mktemp("fit") / "fit.json"
    path.write_text(json.dumps(raw))
    try:
        fit = load_fit(path)
    except InputError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)
        return
    try:
        works(fit)
    except InputError as exc:  # a prediction the laws refuse: said in one line
        assert "\n" not in str(exc)


def test_a_degenerate_fit_keeps_the_covariance_it_could_not_determine(tmp_path):
    """lmfit's covariance of a degenerate fit has negative variances, their standard errors
    unknown (null): the fit file says so, and loads."""
    raw = json.loads(json.dumps(FITS[0]))
    raw["covariance"]["matrix"][3][3] = -1.0
    raw["stderr"]["C"] = None
    path = tmp_path / "fit.json"
    path.write_text(json.dumps(raw))
    assert load_fit(path).covariance[3, 3] == -1.0


@pytest.mark.parametrize("change, message", [
    ({"law": {"name": "momentum"}}, 'law {"name": "momentum"} is not one of'),
    ({"law": ["momentum"]}, r'law \["momentum"\] is not one of'),
    ({"params": {**PARAMS["momentum"], "A": 10**400}}, "parameter A is 1000.*too large"),
    ({"first_step": 10**30}, "'first_step' is 1000.*not a whole number >= 0"),
    ({"covariance": {"names": ["L0", "A"], "matrix": [[-1.0, 0.0], [0.0, 1.0]]}},
     "gives L0 a negative variance, but its stderr is 0.001"),
    ({"stderr": {"A": -0.5}}, "stderr of A is -0.5, below 0"),
    ({"data": [{"lr": [0, 0]}]}, "'data' entry 1's lr is"),
    ({"data": ["run"]}, "'data' entry 1 is \"run\", not a JSON object"),
])
def test_fields_that_once_raised_another_exception_or_were_accepted(tmp_path, change, message):
    path = tmp_path / "fit.json"
    path.write_text(json.dumps({**FITS[0], **change}))
    with pytest.raises(InputError, match=message):
        load_fit(path)
