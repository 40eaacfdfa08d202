"""Which run to make next: ``plan_runs`` and ``lrsched plan-runs``."""

from __future__ import annotations

import json

import numpy as np
import pytest

import lrsched
from lrsched.choosing import Proposal, plan_runs
from lrsched.choosing.plan import log_jacobian, noise, proposals, shortened, widths
from lrsched.cli import main
from lrsched.errors import InputError
from lrsched.laws import CrossLRLaw, Fit, MomentumLaw, predictive

PEAK, STEPS, WARMUP = 3e-4, 3000, 200
PARAMS = {"L0": 3.04, "A": 0.52, "alpha": 0.51, "C": 1.64, "lam": 0.9957}
DATA = [{"name": "constant.csv", "n": 60, "first_step": WARMUP, "steps": [WARMUP, STEPS],
         "lr": [PEAK / WARMUP, PEAK]}]


def make_fit(calibration=0.004, covariance=True, length=0.3) -> Fit:
    names = list(PARAMS)
    cov = np.diag([(1e-3 * v) ** 2 for v in PARAMS.values()]) if covariance else None
    return Fit(MomentumLaw(), dict(PARAMS), {n: 0.0 for n in names}, covariance=cov,
               covariance_names=names if covariance else [], data=DATA,
               calibration=calibration, correlation_length=length,
               train={"constant.csv": {"pred_e": 0.001, "n": 60}})


@pytest.fixture(scope="module")
def plan():
    return plan_runs(make_fit())


def lrs_of(schedule, steps=STEPS):
    return PEAK * schedule(np.arange(steps))


def test_the_decision_and_the_defaults(plan):
    assert (plan.total_steps, plan.peak_lr) == (STEPS, PEAK)  # the fitted run's
    assert plan.best.loss <= plan.rival.loss and plan.margin == pytest.approx(
        plan.best.loss - plan.rival.loss, abs=1e-9)
    _, cov = predictive.joint(make_fit(), [lrs_of(plan.best.schedule),
                                           lrs_of(plan.rival.schedule)])
    assert plan.width == pytest.approx(np.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]))
    assert 0.5 <= plan.p_best_lower < 1
    low, high = plan.interval
    assert low < plan.margin < high


def test_runs_are_ranked_by_reduction_per_step(plan):
    values = [r.value for r in plan.runs]
    assert values == sorted(values, reverse=True)
    for r in plan.runs:
        assert r.reduction == pytest.approx(plan.width - r.width)
        assert r.value == pytest.approx(1000 * r.reduction / r.cost)
        assert 0 <= r.width <= plan.width  # a run never widens the margin, under the model
    names = [r.name for r in plan.runs]
    assert any(n.startswith("cooldown") for n in names)
    assert f"{plan.best.name}, 750 steps" in names and f"{plan.rival.name}, 750 steps" in names
    assert not any(n.startswith("constant at peak LR") for n in names)  # one peak LR fitted


def test_a_branch_is_the_constant_run_then_its_cooldown():
    branches = proposals(make_fit(), STEPS, PEAK, WARMUP, {})
    branch = next(b for b in branches if b.name == "cooldown 600 steps from step 1,500 of the "
                                                   "constant run")
    expected = lrs_of(lrsched.wsd(total_steps=2100, warmup=WARMUP, decay_steps=600), 2100)
    np.testing.assert_allclose(branch.lrs, expected)
    assert branch.cost == 600 and branch.steps[0] == 1500 and branch.steps[-1] == 2099
    assert branch.steps.size == 20  # at least 20 (at the fitted run's density: 13)
    assert all(b.lrs.size <= STEPS for b in branches)


def test_a_shortened_schedule_keeps_its_warmup_and_shape():
    full = lrs_of(lrsched.wsd(total_steps=STEPS, warmup=WARMUP, decay_steps=700))
    short = shortened(full, WARMUP, 900)
    np.testing.assert_array_equal(short[:WARMUP], full[:WARMUP])
    assert short.size == 900 and short[-1] == full[-1]
    decay = WARMUP + np.argmax(short[WARMUP:] < PEAK)  # the cooldown's start
    assert (decay - WARMUP) / 700 == pytest.approx((STEPS - 700 - WARMUP) / 2800, abs=0.01)


def test_a_fit_across_peak_lrs_is_offered_runs_at_other_peak_lrs():
    fit = make_fit()
    fit.data = [DATA[0], {**DATA[0], "lr": [PEAK / 2 / WARMUP, PEAK / 2]}]
    names = [p.name for p in proposals(fit, STEPS, PEAK, WARMUP, {})]
    assert "constant at peak LR 0.00015, 750 steps" in names
    assert "constant at peak LR 0.0006, 750 steps" in names


def test_the_model_error_is_conditioned_most_by_the_best_schedule_itself():
    fit = make_fit(covariance=False)  # the model part alone
    best = lrs_of(lrsched.wsd(total_steps=STEPS, warmup=WARMUP, decay_steps=600))
    rival = lrs_of(lrsched.wsd(total_steps=STEPS, warmup=WARMUP, decay_steps=1200))
    far = lrs_of(lrsched.constant(warmup=WARMUP), 1000)
    steps = np.arange(WARMUP, STEPS, 50)
    runs = [Proposal("best", best, steps, 600), Proposal("far", far, steps[steps < 1000], 600)]
    _, width, after = widths(fit, best, rival, runs)
    _, k = predictive.joint(fit, [best, rival])
    variance = k[0, 0] + k[1, 1] - 2 * k[0, 1]
    assert width == pytest.approx(np.sqrt(variance))
    # its curve observes e_best among its cuts: at least as much as its final loss alone,
    # var(D | e_b) = var(D) - (K_bb - K_rb)^2 / (K_bb + its noise)
    final_noise = noise(fit) ** 2 * fit.predict(best, [STEPS - 1])[0] ** 2
    alone = np.sqrt(variance - (k[0, 0] - k[0, 1]) ** 2 / (k[0, 0] + final_noise))
    assert after[0] <= alone * (1 + 1e-9)
    assert after[0] < after[1] < width


def test_the_parameters_take_one_kalman_step():
    fit = make_fit(calibration=0.0)  # the parameter part alone
    best = lrs_of(lrsched.wsd(total_steps=STEPS, warmup=WARMUP, decay_steps=600))
    rival = lrs_of(lrsched.cosine(total_steps=STEPS, warmup=WARMUP))
    run = Proposal("run", best[:2000], np.arange(WARMUP, 2000, 100), 2000)
    _, width, after = widths(fit, best, rival, [run])
    jac = predictive.final_jacobian(fit, [best, rival])
    g = jac[0] - jac[1]
    c = predictive.parameter_covariance(fit)
    assert width == pytest.approx(np.sqrt(g @ c @ g))
    j = log_jacobian(fit, run.lrs, run.steps)
    updated = np.linalg.pinv(np.linalg.pinv(c) + j.T @ j / noise(fit) ** 2)
    assert after[0] == pytest.approx(np.sqrt(g @ updated @ g), rel=1e-6)
    assert noise(fit) == pytest.approx(0.001 * np.sqrt(np.pi / 2))


def test_a_blend_learns_each_member_from_the_run_as_if_fitted_alone():
    blend = lrsched.BlendLaw(["momentum", "multipower"])
    lrs = lrs_of(lrsched.cosine(total_steps=STEPS, warmup=WARMUP))
    steps = np.arange(WARMUP, STEPS, 100)
    params = {"momentum.L0": 3.0, "momentum.A": 0.5, "momentum.alpha": 0.5, "momentum.C": 1.6,
              "momentum.lam": 0.995, "multipower.L0": 3.0, "multipower.A": 0.5,
              "multipower.alpha": 0.5, "multipower.B": 400.0, "multipower.C": 1.0,
              "multipower.beta": 0.5, "multipower.gamma": 0.5}
    names = ["momentum.C", "multipower.gamma"]
    fit = Fit(blend, params, {}, covariance=np.eye(2), covariance_names=names)
    member = Fit(MomentumLaw(), blend.own(params, blend.members[0]), {},
                 covariance=np.eye(1), covariance_names=["C"])
    np.testing.assert_allclose(log_jacobian(fit, lrs, steps)[:, 0],
                               log_jacobian(member, lrs, steps)[:, 0])


def test_a_budget_leaves_out_dearer_runs():
    plan = plan_runs(make_fit(), STEPS, PEAK, budget=300)
    assert plan.runs and all(r.cost <= 300 for r in plan.runs)
    with pytest.raises(InputError, match="cheapest, 150 steps"):
        plan_runs(make_fit(), STEPS, PEAK, budget=100)


def test_bad_plans_are_input_errors():
    with pytest.raises(InputError, match="no calibration"):
        plan_runs(make_fit(calibration=None))
    with pytest.raises(InputError, match="whole number"):
        plan_runs(make_fit(), STEPS, PEAK, budget=1.5)
    with pytest.raises(InputError, match="cost"):
        plan_runs(make_fit(), STEPS, PEAK, runs=[Proposal("x", np.full(10, PEAK), [5, 9], 0)])


def status(argv: list[str]) -> int:
    """``main``'s exit status (argparse's errors leave through SystemExit)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


@pytest.fixture(scope="module")
def fit_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("plan") / "fit.json"
    make_fit().save(path)
    return path


def test_cli_plans_and_writes_the_plan(fit_file, tmp_path, capsys, plan):
    out = tmp_path / "plan.json"
    assert main(["plan-runs", str(fit_file), "--top", "3", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"best: {plan.best.name}" in text and "P(best ends lower)" in text
    assert f"make next: {plan.runs[0].name}: {plan.runs[0].cost:,} steps" in text
    assert f"{len(plan.runs) - 3} more (--top)" in text
    doc = json.loads(out.read_text())
    assert doc["best"]["name"] == plan.best.name and doc["rival"]["name"] == plan.rival.name
    assert doc["width"] == pytest.approx(plan.width)
    assert [(r["name"], r["cost"]) for r in doc["runs"]] == [(r.name, r.cost) for r in plan.runs]
    assert [r["width"] for r in doc["runs"]] == pytest.approx([r.width for r in plan.runs])


@pytest.mark.parametrize("extra, message", [
    (["--budget", "100"], "cheapest, 150 steps"),
    (["--budget", "-5"], "whole number of steps"),
    (["--peak-lr", "nan"], "finite number"),
])
def test_cli_bad_input_is_one_line_and_writes_nothing(fit_file, tmp_path, capsys, extra,
                                                      message):
    out = tmp_path / "plan.json"
    assert status(["plan-runs", str(fit_file), "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists()


def test_cli_refuses_an_uncalibrated_fit(tmp_path, capsys):
    path = tmp_path / "fit.json"
    make_fit(calibration=None).save(path)
    assert main(["plan-runs", str(path), "--out", str(tmp_path / "plan.json")]) == 2
    err = capsys.readouterr().err
    assert "no calibration" in err and "fit-curve --json" in err and err.count("\n") == 1
    assert not (tmp_path / "plan.json").exists()


def test_cross_lr_fits_plan_across_peak_lrs():
    fit = lrsched.load_fit("benchmarks/results/fit_124m_cross_lr.json")
    assert isinstance(fit.law, CrossLRLaw) and fit.calibration
    runs = proposals(fit, 25000, 2e-3, 300, {})
    assert sum(r.name.startswith("constant at peak LR") for r in runs) == 2
