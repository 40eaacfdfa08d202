"""When to anneal: ``anneal_plan`` and ``lrsched plan-anneal``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_optimize import PARAMS, PEAK, WARMUP, make_fit

import lrsched
from lrsched.choosing import anneal_plan
from lrsched.choosing.anneal import cooldown_lrs
from lrsched.choosing.prediction import final_loss
from lrsched.cli import main
from lrsched.errors import InputError

NOW = 1500


@pytest.fixture(params=["momentum", "multipower"])
def fit(request):
    return make_fit(request.param)


def constant_run(now=NOW):
    return PEAK * lrsched.constant(warmup=WARMUP)(np.arange(now))


def test_plan_cells_are_the_final_losses_of_their_cooldowns(fit):
    plan = anneal_plan(fit, constant_run(), budget=3000)
    assert plan.losses.shape == (plan.starts.size, plan.lengths.size)
    assert plan.starts[0] == NOW and 3000 - NOW in plan.lengths  # now, to the budget's end
    ends = plan.starts[:, None] + plan.lengths[None, :]
    assert np.array_equal(np.isnan(plan.losses), ends > 3000)
    i, j = 3, 1
    lrs = cooldown_lrs(constant_run(), lrsched.constant(), int(plan.starts[i]),
                       int(plan.lengths[j]), "linear", 0.0)
    assert lrs.size == ends[i, j] and lrs[-1] == pytest.approx(PEAK / plan.lengths[j])
    assert plan.losses[i, j] == final_loss(fit, lrs)
    assert plan.best.loss == np.nanmin(plan.losses)
    assert plan.now_best.start == NOW and plan.now_best.loss == np.nanmin(plan.losses[0])
    low, high = plan.best.interval
    assert low < plan.best.loss < high


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 100), st.integers(1, 200),
       st.sampled_from(["linear", "1-sqrt", "cosine", "exponential"]))
def test_the_recommended_schedule_is_what_scheduler_anneal_does(wait, length, shape):
    # the plan's LRs == the LRs a ScheduleLR gives when told to anneal at the start step
    fit, now = make_fit("momentum"), 300
    schedule = lrsched.infinite(warmup=50, cooldown_steps=100, const=0.5, final=0.1)
    so_far = PEAK * schedule(np.arange(now))
    final = 0.05 if shape == "exponential" else 0.0
    start = now + wait
    plan = anneal_plan(fit, so_far, starts=[start], lengths=[length], shape=shape,
                       final=final, schedule=schedule)
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=PEAK)
    scheduler = lrsched.ScheduleLR(optimizer, schedule)
    lrs = []
    for step in range(start + length):
        if step == start:
            scheduler.anneal(length, shape=shape, final=final)
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    expected = cooldown_lrs(so_far, schedule, start, length, shape, final)
    np.testing.assert_allclose(lrs, expected, rtol=1e-12)
    np.testing.assert_allclose(PEAK * plan.schedule_for(plan.best)(np.arange(start + length)),
                               expected, rtol=1e-12)
    assert plan.best.loss == final_loss(fit, expected)


def test_bad_plans_are_one_line_errors():
    fit = make_fit("momentum")
    with pytest.raises(InputError, match="larger --budget"):
        anneal_plan(fit, constant_run(), budget=NOW)
    with pytest.raises(InputError, match="starts must be"):
        anneal_plan(fit, constant_run(), starts=[NOW - 1])
    with pytest.raises(InputError, match="lengths must be"):
        anneal_plan(fit, constant_run(), lengths=[0])
    with pytest.raises(InputError, match="fits in the budget"):
        anneal_plan(fit, constant_run(), lengths=[2000], budget=3000)
    with pytest.raises(ValueError, match="cannot anneal"):
        anneal_plan(fit, constant_run(), schedule=lrsched.cosine(total_steps=3000))
    cooled = np.concatenate([constant_run(), np.linspace(PEAK, 0, 300)])
    with pytest.raises(InputError, match="LR at step 1799 is already 0: it has cooled down"):
        anneal_plan(fit, cooled)  # issue 20, item 4: it advised a cooldown from LR 0


def write_run(path, lrs, loss=None, every=20):
    """A curve file: the LR every step, the loss every ``every`` steps after the warmup."""
    rows = ["step,lr,loss"]
    for t, lr in enumerate(lrs):
        logged = loss is not None and t >= WARMUP and t % every == every - 1
        rows.append(f"{t},{float(lr)!r},{float(loss[t]) if logged else ''}")
    path.write_text("\n".join(rows) + "\n")
    return path


def law_loss(lrs, seed=0):
    """The momentum law's loss at every step, with a little noise."""
    clean = lrsched.MomentumLaw().predict(PARAMS["momentum"], lrs)
    return clean + np.random.default_rng(seed).normal(0, 2e-4, lrs.size)


def test_cli_plans_with_a_fit_of_other_runs(tmp_path, capsys):
    fit_path = tmp_path / "fit.json"
    make_fit("multipower").save(fit_path)
    run = write_run(tmp_path / "run.csv", constant_run(), law_loss(constant_run()))
    png = tmp_path / "plan.png"
    assert main(["plan-anneal", str(fit_path), "--curve", str(run), "--budget", "3000",
                 "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert f"the multipower fit in {fit_path} (fitted to a.csv)" in out
    assert "cool down now over 1500 steps" in out and "then cool down over" in out
    spec = out.split("schedule: ")[1].split()[0]
    assert lrsched.from_spec(spec).name == "infinite" and png.stat().st_size > 10_000


def test_cli_warns_when_peak_lr_is_not_what_the_run_logged(tmp_path, capsys):
    """Issue 20, item 4: a --peak-lr far from the logged LR replaced the run's LRs
    silently; now warned, with predict's warning of a peak LR outside the fitted ones."""
    fit_path = tmp_path / "fit.json"
    make_fit("momentum").save(fit_path)
    run = write_run(tmp_path / "run.csv", constant_run(), law_loss(constant_run()))
    assert main(["plan-anneal", str(fit_path), "--curve", str(run), "--schedule",
                 f"constant:warmup={WARMUP}", "--peak-lr", str(10 * PEAK)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (f"lrsched plan-anneal: warning: {run}: column 'lr' logs a peak LR of "
                      f"{PEAK:g}, but the peak LR times the schedule peaks at {10 * PEAK:g}; "
                      "the schedule's LRs are used: check --peak-lr and --schedule")
    assert len(err) == 2 and f"warning: peak LR {10 * PEAK:g} is" in err[1]
    assert main(["plan-anneal", str(fit_path), "--curve", str(run), "--schedule",
                 f"constant:warmup={WARMUP}", "--peak-lr", str(PEAK)]) == 0
    assert capsys.readouterr().err == ""


def test_cli_refits_on_the_run_itself_once_its_lr_has_fallen(tmp_path, capsys):
    schedule = lrsched.infinite(warmup=WARMUP, cooldown_steps=600, const=0.5, final=0.1)
    lrs = PEAK * schedule(np.arange(NOW))
    run = write_run(tmp_path / "run.csv", lrs, law_loss(lrs))
    assert main(["plan-anneal", "--curve", str(run), "--budget", "3000",
                 "--schedule", schedule.to_spec()]) == 0
    out = capsys.readouterr().out
    assert f"momentum law fitted to {run}'s own loss" in out
    spec = out.split("schedule: ")[1].split()[0]
    annealed = lrsched.from_spec(spec)
    assert annealed.const == 0.5 and annealed.anneal_start >= NOW


@pytest.mark.parametrize(("case", "message"), [
    ("constant", "has not fallen below its peak"),
    ("no loss", "no finite loss"),
    ("plot folder", "does not exist"),
])
def test_cli_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, case, message):
    lrs = constant_run()
    run = write_run(tmp_path / "run.csv", lrs, None if case == "no loss" else law_loss(lrs))
    extra = ["--plot", str(tmp_path / "missing" / "plan.png")] if case == "plot folder" else []
    assert main(["plan-anneal", "--curve", str(run), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert [p.name for p in tmp_path.iterdir()] == ["run.csv"]
