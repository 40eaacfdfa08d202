"""The shared fitting path: recovery of known parameters, Fit, save/load."""

from __future__ import annotations

import json

import numpy as np
import pytest

import lrsched
from lrsched.curves import Curve
from lrsched.errors import InputError
from lrsched.laws import (
    BlendLaw,
    Fit,
    FitError,
    MomentumLaw,
    MultiPowerLaw,
    RelaxationLaw,
    fitting,
    load_fit,
)
from lrsched.laws.fit import VERSION
from lrsched.laws.fitting import _starts, select
from lrsched.laws.multipower import FEW_CURVES_WIDTH, InstantDropLaw
from tests.test_laws import MOM, MPL, REL, schedule


def synthetic(law, params, kinds=("cosine", "constant", "wsd0"), n=4000, every=40, noise=0.0):
    rng = np.random.default_rng(0)
    curves = []
    for kind in kinds:
        lrs = schedule(n, kind)
        steps = np.arange(n // 10, n, every)
        loss = law.predict(params, lrs, steps) * np.exp(noise * rng.standard_normal(steps.size))
        curves.append(Curve(steps, loss, lrs, kind))
    return curves


@pytest.fixture(scope="module")
def recovered():
    """Each law fitted to noise-free curves of known parameters: law name -> (curves, fit)."""
    cases = {"momentum": (MomentumLaw(), MOM, ("cosine", "constant", "wsd0")),
             "multipower": (MultiPowerLaw(prior_width=0.3), MPL,
                            ("cosine", "constant", "wsd0", "linear0")),
             "relaxation": (RelaxationLaw(), REL, ("cosine", "constant"))}
    out = {}
    for name, (law, params, kinds) in cases.items():
        curves = synthetic(law, params, kinds)
        out[name] = curves, law.fit(curves)
    return out


def test_momentum_fit_recovers_known_parameters(recovered):
    fit = recovered["momentum"][1]
    for name, value in MOM.items():
        assert fit.params[name] == pytest.approx(value, rel=1e-3), name
    assert all(m["pred_e"] < 1e-6 for m in fit.train.values())


def test_momentum_fixed_and_grid_lambda():
    law = MomentumLaw()
    curves = synthetic(law, MOM)
    fixed = MomentumLaw(lam=0.999).fit(curves)
    assert fixed.params["lam"] == 0.999 and fixed.stderr["lam"] == 0
    grid = MomentumLaw(lam="grid").fit(curves)
    assert grid.params["lam"] == 0.999  # the true value is on the grid


def test_relaxation_fit_recovers_known_parameters(recovered):
    fit = recovered["relaxation"][1]
    for name, value in REL.items():
        assert fit.params[name] == pytest.approx(value, rel=1e-3), name
    assert fit.warnings == []


def test_multipower_fit_recovers_known_parameters_and_predicts_new_schedules(recovered):
    fit = recovered["multipower"][1]
    for name in ("L0", "A", "alpha"):
        assert fit.params[name] == pytest.approx(MPL[name], rel=0.02), name
    held_out = schedule(8000, "cosine")
    later = np.arange(800, 8000)
    truth = fit.law.predict(MPL, held_out, later)
    # B comes from the instant-drop law and C, beta, gamma have a prior: close, not exact
    assert np.max(np.abs(fit.predict(held_out, later) / truth - 1)) < 3e-3


def test_multipower_fit_takes_b_from_the_instant_drop_law(recovered):
    curves, fit = recovered["multipower"]
    pilot = InstantDropLaw().fit(curves)
    assert fit.params["B"] == pilot.params["B"] and "B" not in fit.covariance_names
    # an estimate of the first stage, with that stage's standard error, not an exact value
    assert fit.estimated == {"B": "instant-drop"} and fit.stderr["B"] == pilot.stderr["B"] > 0


def test_multipower_prior_width_is_chosen_by_leave_one_curve_out(monkeypatch):
    curves = synthetic(MultiPowerLaw(), MPL, kinds=("cosine", "constant", "wsd0"), n=2000)
    grids = []  # the starting-point grids scored: the widths of a fold share theirs
    monkeypatch.setattr(fitting, "_starts", lambda law, *args: grids.append(law.name)
                        or _starts(law, *args))
    fit = MultiPowerLaw().fit(curves, starts=1)  # the choice is made with one start anyway
    assert grids.count("multipower") == 3 + 1  # each fold, then all curves (not 4 x 3 + 1)
    # the law's own curves without noise: no prior predicts the left-out curve best
    assert fit.law.prior_width is None  # the fitted law records the width used
    assert all(p.prior is None for p in fit.law.params)
    assert MultiPowerLaw().fit(curves[:2]).law.prior_width == FEW_CURVES_WIDTH
    with_prior = {p.name for p in MultiPowerLaw(prior_width=0.3).params if p.prior}
    assert with_prior == {"C", "beta", "gamma"}
    with pytest.raises(ValueError, match="prior_width"):
        MultiPowerLaw(prior_width=-1)


def test_select_prefers_the_candidate_that_predicts_left_out_curves():
    law = MomentumLaw(lam=0.999)
    curves = synthetic(law, MOM, kinds=("cosine", "constant", "wsd0"), n=2000)
    candidates = {lam: MomentumLaw(lam=lam) for lam in (0.99, 0.999)}
    assert select(candidates, curves) == 0.999
    # two curves: the time split (fit the first 60%, score the rest) decides
    assert select(candidates, curves[:2], fallback="split") == 0.999
    assert select(candidates, curves[:2], fallback=0.99) == 0.99


def test_noisy_fit_has_stderr_and_a_band_around_the_prediction():
    law = MomentumLaw(lam=0.999)
    fit = law.fit(synthetic(law, MOM, noise=2e-3))
    assert all(np.isfinite(fit.stderr[n]) and fit.stderr[n] > 0 for n in ("L0", "A", "alpha"))
    lrs = schedule(6000, "cosine")
    low, high = fit.band(lrs, np.arange(600, 6000, 100))
    mid = fit.predict(lrs, np.arange(600, 6000, 100))
    assert np.all(low < mid) and np.all(mid < high)
    assert np.all(high - low < 0.05)


def test_fit_ignores_warmup_points_unless_told():
    law = MomentumLaw()
    lrs = schedule(4000, "cosine")
    steps = np.arange(0, 4000, 40)
    loss = np.where(steps < 400, 10.0, law.predict(MOM, lrs, np.maximum(steps, 1)))
    curves = [Curve(steps, loss, lrs, "a"), *synthetic(law, MOM, kinds=("constant",))]
    fit = law.fit(curves)
    assert fit.data[0]["first_step"] == 400
    assert fit.params["alpha"] == pytest.approx(MOM["alpha"], rel=1e-3)
    later = law.fit(curves, first_step=2000)
    assert later.data[0]["first_step"] == 2000 and later.data[0]["n"] == 50


def test_too_few_points_is_a_value_error():
    lrs = schedule(1000, "cosine")
    curve = Curve(np.array([500, 600, 700]), np.array([3.5, 3.4, 3.3]), lrs, "tiny")
    with pytest.raises(ValueError, match="tiny: 3 loss points cannot determine 5 parameters"):
        MomentumLaw().fit([curve])


def test_fit_that_never_converges_raises(monkeypatch):
    import lmfit

    class Failed:
        success = False
        residual = np.array([np.nan])

    monkeypatch.setattr(lmfit, "minimize", lambda *a, **k: Failed())
    with pytest.raises(FitError, match="did not converge"):
        MomentumLaw().fit(synthetic(MomentumLaw(), MOM))


@pytest.mark.parametrize("name", ["momentum", "multipower", "relaxation"])
def test_save_and_load_round_trip(tmp_path, recovered, name):
    fit = recovered[name][1]
    path = tmp_path / "fit.json"
    fit.save(path)
    raw = json.loads(path.read_text())
    assert raw["law"] == name and raw["version"] == VERSION
    back = load_fit(path)
    assert isinstance(back, Fit) and back.params == fit.params
    assert back.law.options() == fit.law.options()
    lrs, steps = schedule(3000, "linear0"), np.arange(300, 3000)
    assert np.array_equal(back.predict(lrs, steps), fit.predict(lrs, steps))
    assert np.allclose(back.band(lrs, steps)[1], fit.band(lrs, steps)[1])


def test_a_blend_averages_its_members_fitted_alone(tmp_path):
    curves = synthetic(MomentumLaw(), MOM, n=1000, every=20)  # the momentum law's curves
    blend = BlendLaw().fit(curves)
    alone = [MomentumLaw().fit(curves), RelaxationLaw().fit(curves)]
    assert blend.params == {f"{f.law.name}.{k}": v for f in alone for k, v in f.params.items()}
    assert blend.covariance_names == [f"{f.law.name}.{n}" for f in alone
                                      for n in f.covariance_names]
    lrs, steps = schedule(2000, "linear0"), np.arange(200, 2000)
    expected = np.mean([f.predict(lrs, steps) for f in alone], axis=0)
    np.testing.assert_allclose(blend.predict(lrs, steps), expected, rtol=1e-12)
    low, high = blend.band(lrs, steps)
    assert np.all(low < expected) and np.all(expected < high)
    path = tmp_path / "blend.json"
    blend.save(path)
    back = load_fit(path)
    assert back.law == blend.law and back.params == blend.params
    assert np.array_equal(back.predict(lrs, steps), blend.predict(lrs, steps))


@pytest.mark.parametrize("laws, message", [
    ([["cubic", {}], ["momentum", {}]], "a blend's laws are among"),
    ([["momentum", {}]], "needs two or more different laws"),
    ([["momentum", {"lam": 7}], ["relaxation", {}]], "lam=7 is outside"),
])
def test_load_fit_rejects_a_blend_it_cannot_build(tmp_path, laws, message):
    path = tmp_path / "fit.json"
    path.write_text(json.dumps({"law": "blend", "version": VERSION, "options": {"laws": laws}}))
    with pytest.raises(InputError, match=message):
        load_fit(path)


@pytest.mark.parametrize("content, message", [
    ("{", "not valid JSON"),
    ('{"law": "cubic", "version": 2}', 'law "cubic" is not one of'),
    ('{"law": "momentum", "version": 7}', "version 7"),
    ('{"law": "momentum", "version": true}', "version true"),
    ('{"law": "momentum", "version": 2, "params": {"L0": 1}}', "A, alpha, C, lam missing"),
])
def test_load_fit_rejects_bad_files(tmp_path, content, message):
    path = tmp_path / "fit.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        load_fit(path)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A saved momentum-law fit (with covariance), as a dict to corrupt."""
    fit = MomentumLaw().fit(synthetic(MomentumLaw(), MOM, noise=1e-3))
    path = tmp_path_factory.mktemp("saved") / "fit.json"
    fit.save(path)
    return json.loads(path.read_text())


@pytest.mark.parametrize("change, message", [
    ({"options": {"lam": "fit", "colour": "red"}}, "'options' .* do not make a momentum law"),
    ({"options": {"lam": [1]}}, "do not make a momentum law"),
    ({"options": "fit"}, "'options' is \"fit\", not a JSON object"),
    ({"stderr": [1, 2]}, "'stderr' is .* not a JSON object"),
    ({"stderr": {"L0": "big"}}, "stderr of L0 is \"big\", not a number"),
    ({"first_step": "400"}, "'first_step' is \"400\", not a whole number >= 0"),
    ({"first_step": -3}, "'first_step' is -3"),
    ({"params": {**MOM, "A": True}}, "A missing or not numbers"),
    ({"params": {**MOM, "A": -1e6}}, r"parameter A = -1e\+06 is outside the momentum law's range"),
    ({"params": {**MOM, "lam": 5}}, "parameter lam = 5 is outside"),
    ({"params": {**MOM, "L0": 1e400}}, "parameter L0 = inf is outside"),
    ({"calibration": 7}, "'calibration' 7 is not a relative error"),
    ({"correlation_length": -0.2}, "'correlation_length' -0.2 is not a distance > 0"),
    ({"correlation_length": "long"}, "'correlation_length' is \"long\", not a number"),
    ({"covariance": {"names": ["L0", "A"], "matrix": [[1.0]]}},
     r"covariance matrix is of shape \(1, 1\), but there are 2 covariance names"),
    ({"covariance": {"names": ["L0", "A"], "matrix": [[1.0, 0], [0]]}}, "not a numeric matrix"),
    ({"covariance": {"names": ["L0", "zeta"], "matrix": None}}, "covariance names"),
    ({"covariance": {"names": "L0", "matrix": None}}, "'names' is \"L0\", not a JSON list"),
    ({"seconds": "fast"}, "'seconds' is \"fast\""),
])
def test_load_fit_rejects_hand_edited_files_in_one_line(tmp_path, saved, change, message):
    path = tmp_path / "fit.json"
    path.write_text(json.dumps({**saved, **change}))
    with pytest.raises(ValueError, match=message) as info:
        load_fit(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_load_fit_reads_null_stderr_and_covariance_as_unknown(tmp_path, saved):
    assert saved["covariance"]["matrix"] is not None
    assert len(saved["covariance"]["matrix"]) == len(saved["covariance"]["names"])
    path = tmp_path / "fit.json"
    path.write_text(json.dumps({**saved, "stderr": None, "covariance": None}))
    fit = load_fit(path)
    assert all(np.isnan(v) for v in fit.stderr.values()) and fit.covariance is None
    lrs = schedule(1000, "cosine")
    low, high = fit.band(lrs, [500, 999])
    assert np.array_equal(low, high)


def test_fit_predict_and_band_reject_steps_outside_the_lrs(saved, tmp_path):
    path = tmp_path / "fit.json"
    path.write_text(json.dumps(saved))
    fit, lrs = load_fit(path), schedule(1000, "cosine")
    for method in (fit.predict, fit.band):
        with pytest.raises(ValueError, match="step 1000 is outside the run"):
            method(lrs, [10, 1000])
        with pytest.raises(ValueError, match="step -5 is outside the run"):
            method(lrs, np.array([-5]))


def test_a_law_that_cannot_describe_its_curves_is_no_fit():
    lrs = np.full(2000, 1e-3)
    steps = np.arange(100, 2000, 20)
    rising = Curve(steps, np.exp(steps / 300.0), lrs, "rising")  # 1.4 to 760: no loss curve
    with pytest.raises(FitError, match="misses its own training curves"):
        MomentumLaw().fit([rising])


def test_a_fit_reads_paths_and_refuses_what_is_not_a_curve():
    """Issue 20: ``law.fit(['a.csv'])`` raised an AttributeError traceback."""
    path = "data/curves/schaipp124m/0.002/train/cos0_T25000.csv"
    fit = MomentumLaw().fit([path, path.replace("cos0", "stable")], starts=1)
    assert [d["name"] for d in fit.data] == [path, path.replace("cos0", "stable")]
    with pytest.raises(InputError, match="a training curve is a Curve or the path of a curve "
                                         "file, not int"):
        MomentumLaw().fit([3])


def test_losses_too_small_to_fit_are_one_line():
    """Issue 20: losses near 1e-300 gave lmfit's raw "Parameter 'L0' has min == max"."""
    lrs = 1e-3 * lrsched.cosine(total_steps=1000, warmup=50)(np.arange(1000))
    steps = np.arange(60, 1000, 20)
    curve = Curve(steps, 1e-300 * (2 + 1 / np.sqrt(steps)), lrs, "tiny")
    with pytest.raises(InputError, match=r"the losses go down to 2.03e-300: the laws fit "
                                         r"losses from 1e-12 up"):
        MomentumLaw().fit([curve])
