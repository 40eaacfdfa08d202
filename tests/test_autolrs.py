"""AutoLRS: the search finds a good LR, restores and replays exactly, counts its cost,
and survives bad input, faults and a resume."""

from __future__ import annotations

import copy
import datetime
import itertools
import json
import math
import sys

import numpy as np
import pytest
import torch

import lrsched
from lrsched import AutoLRS, ScheduleLR
from lrsched.autolrs import bo
from lrsched.autolrs.forecast import (
    ExponentialForecast,
    MomentumForecast,
    TrialCurve,
    _smoothed_losses,
    fit_exponential,
)

# A noisy quadratic: loss 0.5·Σ h_i x_i², SGD on the gradient h·x plus noise from the batch
# and from torch's global generator (so restoring the random state matters too).
D, SIGMA = 50, 0.3
H = torch.from_numpy(np.geomspace(0.5, 2.0, D)).float()


def expected_loss(lr: float, steps: int, x0: float) -> float:
    """E[loss] after ``steps`` SGD steps at ``lr`` from x = x0 (closed form)."""
    h = H.double().numpy()
    r = (1 - lr * h) ** 2
    ex = r**steps * x0**2 + lr**2 * SIGMA**2 * (1 - r**steps) / (1 - r)
    return float(0.5 * (h * ex).sum())


def quadratic(x0: float = 0.3, seed: int = 0):
    torch.manual_seed(seed)
    model = torch.nn.Module()
    model.x = torch.nn.Parameter(torch.full((D,), x0))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)

    def train_step(batch):
        optimizer.zero_grad()
        loss = 0.5 * (H * model.x**2).sum()
        loss.backward()
        model.x.grad += SIGMA * (batch + torch.randn(D)) / math.sqrt(2)
        optimizer.step()
        return loss.item()

    return model, optimizer, train_step


def noise(count: int = 4000, seed: int = 1) -> list[torch.Tensor]:
    return list(torch.randn(count, D, generator=torch.Generator().manual_seed(seed)))


def search(model, optimizer, train_step, **kw) -> AutoLRS:
    kw = {"lr_range": (1e-3, 1.2), "trials": 6, "tau_trial": 8, "tau": 40, **kw}
    return AutoLRS(model, optimizer, train_step, **kw)


def params(model) -> torch.Tensor:
    return model.x.detach().clone()


@pytest.fixture(scope="module")
def searched():
    """A 700-step search of the noisy quadratic (three stages and the steps left over) and
    its batches; the tests only read it."""
    batches = noise()
    return search(*quadratic()).run(iter(batches), 700), batches


@pytest.fixture(scope="module")
def short_search():
    """A 300-step search and its batches."""
    batches = noise()
    return search(*quadratic()).run(iter(batches), 300), batches


# -- the search -------------------------------------------------------------------------

def assert_replays(search_, schedule, batches, model):
    """ScheduleLR with ``schedule`` on a fresh model, fed the exploitation batches, ends
    with exactly the searched model's parameters."""
    model2, opt2, step2 = quadratic()
    scheduler = ScheduleLR(opt2, schedule)
    for st in search_.stages:
        for batch in batches[slice(*st["batches"])]:
            step2(batch)
            scheduler.step()
    assert torch.equal(params(model), params(model2))

def test_first_stage_finds_a_good_lr():
    """Plain SGD from x0 = 0.3: the best constant LR for τ = 40 steps is known in closed
    form (about 0.06); the LR chosen gets within 2x of its loss, while the range's ends
    (1e-3 and 1.2, which diverges) are over 20x and unboundedly worse."""
    torch.manual_seed(0)
    model = torch.nn.Module()
    model.x = torch.nn.Parameter(torch.full((D,), 0.3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def train_step(_):
        opt.zero_grad()
        loss = 0.5 * (H * model.x**2).sum()
        loss.backward()
        model.x.grad += SIGMA * torch.randn(D)
        opt.step()
        return loss.item()

    s = search(model, opt, train_step, trials=8).run(itertools.repeat(None), 8 * 8 + 40)
    grid = np.geomspace(1e-3, 0.99, 300)
    best = min(expected_loss(lr, 40, 0.3) for lr in grid)
    assert expected_loss(s.stages[0]["lr"], 40, 0.3) < 2 * best
    assert expected_loss(1e-3, 40, 0.3) > 20 * best


def test_stage_restore_is_exact():
    """After one stage the parameters equal a run that trained only the exploitation
    steps at the chosen LR from the stage's start, on the exploitation batches."""
    batches = noise()
    model, opt, step = quadratic()
    s = search(model, opt, step).run(iter(batches), 6 * 8 + 40)
    stage = s.stages[0]
    assert stage["tau"] == 40 and stage["batches"] == [s.steps_used - 40, s.steps_used]

    model2, opt2, step2 = quadratic()
    for group in opt2.param_groups:
        group["lr"] = stage["lr"]
    for batch in batches[slice(*stage["batches"])]:
        step2(batch)
    assert torch.equal(params(model), params(model2))
    assert torch.equal(opt.state[model.x]["momentum_buffer"],
                       opt2.state[model2.x]["momentum_buffer"])


def test_schedule_replays_the_search_exactly(searched):
    """ScheduleLR with schedule() on a fresh optimizer, fed the exploitation batches of
    every stage, reproduces the searched run bit for bit."""
    s, batches = searched
    assert len(s.stages) >= 3

    schedule = s.schedule()
    kept = sum(st["tau"] for st in s.stages)
    assert schedule.total_steps == kept
    for st in s.stages:
        a, b = st["steps"]
        assert np.all(schedule(np.arange(a, b)) == st["lr"] / 0.1)

    assert_replays(s, schedule, batches, s.model)


def test_costs_are_counted_and_stages_double(searched):
    s = searched[0]
    trial_steps = sum(t["steps"] for t in s.history)
    assert s.steps_used == 700 == trial_steps + sum(st["exploit_steps"] for st in s.stages)
    assert s.batches_used == 700
    assert [st["tau_trial"] for st in s.stages][:3] == [8, 16, 32]
    assert len(s.history) == 6 * len(s.stages)
    assert all(st["trial_steps"] == sum(t["steps"] for t in s.history
                                        if t["stage"] == st["stage"]) for st in s.stages)
    # 88 + 176 + 352 steps, and the last stage's exploitation takes the 84 left over.
    assert s.stages[-1]["tau"] == 160 + 84 + 6 * 32 - s.stages[-1]["trial_steps"]


def test_validation_loss_scores_the_trials_once_they_are_long():
    """τ' >= τ_max / 10 switches the objective to the validation loss (the paper)."""
    model, opt, step = quadratic()
    calls = []

    def val_loss():
        calls.append(1)
        return float(0.5 * (H * model.x.detach() ** 2).sum())

    s = search(model, opt, step, tau_trial=8, tau=80, tau_max=160, val_loss=val_loss)
    s.run(iter(noise()), (6 * 8 + 80) + (6 * 16 + 160))
    assert [st["objective"] for st in s.stages] == ["train", "val"]
    val_trials = [t for t in s.history if t["objective"] == "val"]
    assert len(val_trials) == 6 and val_trials[0]["val_steps"] == list(range(0, 17, 2))
    assert len(calls) == 1 + 6 * 8


def test_forecasters_are_pluggable():
    seen = []

    def last_loss(trial: TrialCurve) -> float:
        seen.append(trial)
        return float(trial.losses[-1])

    model, opt, step = quadratic()
    s = search(model, opt, step, forecaster=last_loss).run(iter(noise()), 6 * 8 + 40)
    assert len(seen) == 6 and seen[0].horizon == 40 and seen[0].past_lrs.size == 0
    best = min(s.history, key=lambda t: t["forecast"])
    assert s.stages[0]["lr"] == best["lr"] and best["forecast"] == best["losses"][-1]

    model, opt, step = quadratic()
    s = search(model, opt, step, forecaster="momentum", trials=3).run(iter(noise()), 3 * 8 + 40)
    assert all(math.isfinite(t["forecast"]) for t in s.history if not t["diverged"])


# -- bad input and faults ---------------------------------------------------------------
@pytest.mark.parametrize("kw, match", [
    ({"lr_range": (0.0, 1.0)}, "0 < low < high"),
    ({"lr_range": (-1e-3, 1.0)}, "0 < low < high"),
    ({"lr_range": (1.0, 1e-3)}, "0 < low < high"),
    ({"lr_range": (1e-3, float("nan"))}, "0 < low < high"),
    ({"tau_trial": 40, "tau": 40}, "shorter than tau"),
    ({"tau_trial": 50, "tau": 40}, "shorter than tau"),
    ({"trials": 0}, "trials=0"),
    ({"tau_trial": 2}, "tau_trial=2"),
    ({"tau_max": 20}, "at least tau"),
    ({"forecaster": "spline"}, "forecaster='spline' is unknown"),
])
def test_bad_settings_are_refused(kw, match):
    model, opt, step = quadratic()
    with pytest.raises(ValueError, match=match):
        search(model, opt, step, **kw)


def test_too_few_steps_for_a_stage():
    model, opt, step = quadratic()
    with pytest.raises(ValueError, match="less than one stage"):
        search(model, opt, step).run(iter(noise()), 50)


def test_failing_train_step_restores_the_stage_start_and_resumes():
    model, opt, step = quadratic()
    calls = itertools.count()

    def flaky(batch):
        if next(calls) == 100:  # in the second stage's trials
            raise OSError("disk on fire")
        return step(batch)

    batches = iter(noise())
    s = search(model, opt, flaky)
    with pytest.raises(RuntimeError, match=r"stage 1, trial \d at lr=.*: OSError: disk on fire") \
            as err:
        s.run(batches, 300)
    spent = 100 - s.stages[0]["steps_used"]
    assert s.batches_used == 101  # the failed step's batch was drawn too
    assert (f"the {spent} steps it took still count in steps_used, and batches_used=101: "
            "run() again starts stage 1 over on the batches that follow") in str(err.value)
    assert isinstance(err.value.__cause__, OSError)
    first = s.stages[0]
    assert len(s.stages) == 1 and len(s.history) == 6  # the failed stage left no record
    end_of_stage_0 = first["steps_used"]
    assert s.steps_used == 100 > end_of_stage_0  # the steps were spent all the same
    # The model is back where stage 1 began: the end of stage 0's exploitation.
    model2, opt2, step2 = quadratic()
    for group in opt2.param_groups:
        group["lr"] = 0.1
    replay = ScheduleLR(opt2, lrsched.tabulated(values=[first["multiplier"]]))
    for batch in noise()[slice(*first["batches"])]:
        step2(batch)
        replay.step()
    assert torch.equal(params(model), params(model2))
    s.run(batches, 300)  # and the search goes on from there
    assert s.steps_used == 300 and len(s.stages) >= 2


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 1e3])
def test_diverging_trials_are_scored_bad_not_a_crash(bad):
    """LRs above 0.5 give a NaN, inf or exploding loss (over 10x the run's first): those
    trials stop at once with forecast None, and the rest of the stage goes on."""
    model, opt, step = quadratic()

    def unstable(batch):
        loss = step(batch)
        return bad * loss if opt.param_groups[0]["lr"] > 0.5 else loss

    s = search(model, opt, unstable, trials=8).run(iter(noise()), 8 * 8 + 40)
    bad_trials = [t for t in s.history if t["lr"] > 0.5]
    assert bad_trials and all(t["diverged"] and t["forecast"] is None and t["steps"] == 1
                              for t in bad_trials)
    assert s.stages[0]["lr"] <= 0.5
    assert s.steps_used == 8 * 8 + 40  # the unused trial steps went to the exploitation
    json.dumps(s.state_dict(), allow_nan=False)


def test_every_trial_diverging_is_an_error_with_the_state_restored():
    model, opt, step = quadratic()
    start = params(model)
    s = search(model, opt, lambda batch: step(batch) * float("inf"))
    with pytest.raises(RuntimeError, match="every LR tried diverged"):
        s.run(iter(noise()), 6 * 8 + 40)
    assert torch.equal(params(model), start) and s.history == []


def _nan_at(step, call: int):
    """``step`` that reports a NaN loss on its ``call``-th call (0-based)."""
    calls = itertools.count()

    def train_step(batch):
        loss = step(batch)
        return math.nan if next(calls) == call else loss

    return train_step


# Three trials of 4 steps then τ = 10 (calls 12-21 exploit), all at stable LRs; ranked by
# the last loss (no GP, no fit: the test is about the bookkeeping).
SHORT = {"lr_range": (1e-3, 0.3), "trials": 3, "tau_trial": 4, "tau": 10,
         "forecaster": lambda trial: float(trial.losses[-1])}


def test_a_one_step_exploitation_retry_is_kept_and_replays():
    """The best LR diverges at exploitation step 8 of 10: the next best trains the one
    step left. That stage is one table point of schedule(), which still replays exactly."""
    batches = noise()
    model, opt, step = quadratic()
    s = search(model, opt, _nan_at(step, 12 + 8), **SHORT).run(iter(batches), 22 + 44)
    first = s.stages[0]
    assert first["tau"] == 1 and len(first["failed_lrs"]) == 1
    assert first["exploit_steps"] == 10 and first["steps"] == [0, 1]
    assert first["batches"] == [21, 22] and len(s.stages) == 2

    schedule = s.schedule()
    assert schedule.total_steps == 1 + s.stages[1]["tau"]
    assert schedule(0) == first["multiplier"]
    assert_replays(s, schedule, batches, model)


def test_an_exploitation_that_diverges_on_the_last_step_is_not_every_lr_diverging():
    model, opt, step = quadratic()
    start = params(model)
    s = search(model, opt, _nan_at(step, 12 + 9), **SHORT)
    with pytest.raises(RuntimeError, match=r"diverged on the stage's last step, using up its "
                                           r"10 steps; 2 forecast LR\(s\) were left untried"):
        s.run(iter(noise()), 22)
    assert torch.equal(params(model), start) and s.history == [] and s.steps_used == 22


def test_a_missing_autolrs_extra_is_a_one_line_hint_at_construction(monkeypatch):
    """Without scikit-learn (and threadpoolctl, which comes with it) the package imports,
    and building AutoLRS says what to install."""
    monkeypatch.setitem(sys.modules, "sklearn", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)
    model = torch.nn.Linear(2, 1)
    with pytest.raises(ModuleNotFoundError) as info:
        AutoLRS(model, torch.optim.SGD(model.parameters(), lr=0.1), lambda batch: 0.0,
                (1e-3, 1.0))
    assert str(info.value) == ("AutoLRS needs scikit-learn (missing: sklearn, threadpoolctl); "
                               "install it with: pip install 'lrsched-toolkit[autolrs]'")


def test_batches_running_out_is_explained():
    model, opt, step = quadratic()
    with pytest.raises(RuntimeError, match="batches ran out after 30"):
        search(model, opt, step).run(iter(noise(30)), 6 * 8 + 40)


# -- state, history, picture ------------------------------------------------------------
def test_resumed_search_matches_an_uninterrupted_one(searched):
    """Stop after stage 1, restore model, optimizer, random state and search state into
    new objects, go on: the result is the uninterrupted run's, bit for bit."""
    full, batches = searched

    class Stop(Exception):
        pass

    saved = {}

    def checkpoint(s):
        if len(s.stages) == 2:
            saved.update(search=json.loads(json.dumps(s.state_dict())),
                         rng=torch.get_rng_state(), model=params(s.model),
                         opt=copy.deepcopy(s.optimizer.state_dict()))
            raise Stop

    with pytest.raises(Stop):
        search(*quadratic()).run(iter(batches), 700, on_stage=checkpoint)
    model, opt, step = quadratic(seed=5)
    with torch.no_grad():
        model.x.copy_(saved["model"])
    opt.load_state_dict(saved["opt"])
    torch.set_rng_state(saved["rng"])
    resumed = search(model, opt, step)
    resumed.load_state_dict(saved["search"])
    resumed.run(iter(batches[resumed.batches_used:]), 700)
    assert torch.equal(params(model), params(full.model))
    assert resumed.history == full.history and resumed.stages == full.stages

    with pytest.raises(ValueError, match="trials=6, this one 5"):
        search(*quadratic(), trials=5).load_state_dict(saved["search"])


def test_history_json_and_picture(short_search, tmp_path):
    s = short_search[0]
    s.save_history(tmp_path / "history.json")
    saved = json.loads((tmp_path / "history.json").read_text())
    assert saved == json.loads(json.dumps(s.state_dict()))
    trial = saved["history"][0]
    assert {"stage", "lr", "steps", "losses", "forecast"} <= set(trial)
    assert len(trial["losses"]) == trial["steps"]
    s.plot(tmp_path / "search.png")
    assert (tmp_path / "search.png").stat().st_size > 10_000


def test_snapshot_on_disk_gives_the_same_run(short_search, tmp_path):
    a, batches = short_search
    b = search(*quadratic(), snapshot_path=tmp_path / "snap.pt").run(iter(batches), 300)
    assert torch.equal(params(a.model), params(b.model)) and a.stages == b.stages
    assert list(tmp_path.iterdir()) == []  # the snapshot file is removed after each stage


# -- forecasters and BO -----------------------------------------------------------------
def test_exponential_fit_recovers_the_curve():
    x = np.arange(60.0)
    y = 2.0 * np.exp(-0.08 * x) + 0.5
    assert np.allclose(fit_exponential(x, y, (1 / 60, 20.0)), (2.0, 0.08, 0.5), rtol=1e-4)
    noisy = y + np.random.default_rng(0).normal(0, 0.01, x.size)
    noisy[[7, 30]] += 1.0  # outliers
    trial = TrialCurve(x, noisy, lr=0.1, horizon=600, past_lrs=np.zeros(0))
    assert ExponentialForecast()(trial) == pytest.approx(0.5, abs=0.02)
    assert np.max(np.abs(_smoothed_losses(noisy) - y)) < 0.05


def test_momentum_forecast_on_a_law_made_curve():
    """A trial drawn from the momentum law itself (after 100 steps at LR 0.02, 30 at
    0.01) is forecast at its horizon within 1%."""
    from lrsched.laws import MomentumLaw

    law = MomentumLaw(lam=0.999)
    truth = {"L0": 2.0, "A": 1.5, "alpha": 0.5, "C": 0.1, "lam": 0.999}
    past = np.full(100, 0.02)
    lrs = np.concatenate([past, np.full(300, 0.01)])
    steps = np.arange(31)
    losses = law.predict(truth, lrs, 99 + steps)
    trial = TrialCurve(steps, losses, lr=0.01, horizon=300, past_lrs=past)
    assert MomentumForecast()(trial) == pytest.approx(law.predict(truth, lrs, [399])[0],
                                                      rel=0.01)


def test_bo_finds_the_minimum_of_a_smooth_objective():
    rng = np.random.default_rng(0)
    f = lambda x: (x + 4.0) ** 2  # noqa: E731  (minimum at log LR = -4)
    xs, ys = [], []
    for _ in range(10):
        xs.append(bo.propose(xs, ys, (-9.0, 0.0), rng, kappa=2.0))
        ys.append(f(xs[-1]))
    assert len(set(xs)) == 10  # never the same LR twice
    assert abs(xs[int(np.argmin(ys))] + 4.0) < 0.3


def test_failed_scores_rank_below_every_finite_one():
    filled = bo.fill_failed(np.array([1.0, np.nan, 3.0, np.inf]))
    assert filled[0] == 1.0 and filled[2] == 3.0 and filled[1] == filled[3] == 5.0
    assert np.all(bo.fill_failed(np.array([np.nan, np.nan])) == 1.0)


# -- torch.distributed ------------------------------------------------------------------
def _ddp_worker(rank: int, world: int, init: str, out: str) -> None:
    torch.distributed.init_process_group("gloo", init_method=init, rank=rank, world_size=world,
                                         timeout=datetime.timedelta(seconds=60))
    torch.manual_seed(0)  # the same start on every rank
    model = torch.nn.Linear(D, 1)
    net = torch.nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    target = torch.from_numpy(np.geomspace(0.5, 2.0, D)).float()

    def train_step(x):
        opt.zero_grad()
        loss = ((net(x).squeeze(-1) - x @ target) ** 2).mean()
        loss.backward()
        opt.step()
        return loss.item()

    data = torch.randn(100, 8, D, generator=torch.Generator().manual_seed(rank))  # per rank
    s = AutoLRS(model, opt, train_step, lr_range=(1e-4, 1.0), trials=4, tau_trial=5, tau=20)
    s.run(iter(data), 100)
    torch.save({"params": [p.detach() for p in model.parameters()], "history": s.history,
                "stages": s.stages}, f"{out}/rank{rank}.pt")


def test_ddp_ranks_share_proposals_and_restores(tmp_path, run_ranks):
    """Two gloo processes on different data: rank 0's proposals reach both ranks, the
    losses they decide on are averaged, and both end with the same parameters."""
    run_ranks(_ddp_worker, 2, f"file://{tmp_path}/init", str(tmp_path))
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(2)]
    assert all(torch.equal(a, b) for a, b in zip(ranks[0]["params"], ranks[1]["params"]))
    assert ranks[0]["history"] == ranks[1]["history"] and ranks[0]["stages"] == ranks[1]["stages"]
    assert len({t["lr"] for t in ranks[0]["history"]}) == len(ranks[0]["history"])
