"""The live forecast: ``forecast``, ``LiveForecast`` and the callbacks, run with the real
transformers and lightning Trainers on a tiny model."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from test_optimize import PARAMS, make_fit

import lrsched
from lrsched.choosing.anneal import cooldown_lrs
from lrsched.choosing.prediction import final_loss
from lrsched.errors import InputError
from lrsched.forecast import FIRST_COST, LiveForecast, forecast, planned_lrs
from lrsched.laws import BlendLaw, Fit
from lrsched.lr_arrays import MAX_STEPS

TOTAL, WARMUP, PEAK = 3000, 200, 3e-4
TRUE = PARAMS["momentum"]


def logged(schedule, now, every=10, noise=5e-4):
    """Steps, losses (the momentum law's, with noise) logged every ``every`` steps up to
    ``now``, and the planned LRs of the whole run."""
    lrs = PEAK * schedule(np.arange(TOTAL))
    clean = lrsched.MomentumLaw().predict(TRUE, lrs)
    steps = np.arange(every - 1, now, every)
    return steps, clean[steps] + np.random.default_rng(0).normal(0, noise, steps.size), lrs, clean


def test_forecast_predicts_the_end_of_a_run_from_its_first_half():
    schedule = lrsched.cosine(total_steps=TOTAL, warmup=WARMUP)
    steps, losses, lrs, clean = logged(schedule, 1500)
    result = forecast(steps, losses, lrs)
    assert result.step == 1500 and abs(result.final_loss - clean[-1]) < 0.01
    c = result.cooldown
    assert (c.start, c.length) == (1500, 300)
    cooled = cooldown_lrs(lrs[:1500], lrsched.constant(), 1500, 300, "linear", 0.0)
    assert c.loss == final_loss(result.fit, cooled)
    metrics = result.metrics()
    assert metrics["forecast/cooldown_now_end"] == 1800 and all(np.isfinite(list(metrics.values())))


def test_a_constant_run_needs_a_fit_of_other_runs():
    steps, losses, lrs, clean = logged(lrsched.wsd(total_steps=TOTAL, warmup=WARMUP,
                                                   decay_steps=600), 1500)
    with pytest.raises(InputError, match="has not fallen below its peak"):
        forecast(steps, losses, lrs)
    with pytest.raises(InputError, match="no loss logged yet"):
        forecast([], [], lrs)
    base = make_fit("momentum")
    result = forecast(steps, losses, lrs, base=base)
    assert result.fit.params["lam"] == base.params["lam"]
    assert result.fit.params["C"] == base.params["C"]
    assert abs(result.final_loss - clean[-1]) < 0.01
    blend = BlendLaw(["momentum", "multipower"])  # each member keeps its annealing terms
    base = Fit(blend, {f"{m}.{k}": v for m in ("momentum", "multipower")
                       for k, v in PARAMS[m].items()}, {}, data=base.data)
    result = forecast(steps, losses, lrs, base=base)
    kept = {n: v for n, v in base.params.items() if n.split(".")[1] not in ("L0", "A", "alpha")}
    assert {n: result.fit.params[n] for n in kept} == kept
    assert abs(result.final_loss - clean[-1]) < 0.01


def test_live_forecast_every_n_steps_and_within_its_cost(tmp_path):
    schedule = lrsched.cosine(total_steps=TOTAL, warmup=WARMUP)
    steps, losses, lrs, _ = logged(schedule, 2000, every=1)
    live = LiveForecast(every=500, plot=tmp_path / "forecast.png")
    made = []
    with pytest.warns(UserWarning, match="no forecast yet: .* has not fallen below its peak"):
        for step, loss in zip(steps, losses):
            live.observe(step, loss)
            live.observe(step, loss)  # a repeated step is averaged in
            if (result := live.update(lrs)) is not None:
                made.append(result.step)
    # tried once 8 points after the warmup, when the LR had barely fallen: skipped, warned
    assert made == [WARMUP + 508, WARMUP + 1008, WARMUP + 1508]
    assert live.losses == pytest.approx(list(losses)) and (tmp_path / "forecast.png").is_file()
    by_cost = LiveForecast()
    by_cost.observe(0, 3.0)
    assert not by_cost.due(1000)  # the first waits for FIRST_COST / cost of training
    assert by_cost.cost * 60 > FIRST_COST


def test_a_forecast_the_run_does_not_determine_is_no_result():
    """Issue 20, item 3: 20 noisy points barely past the warmup gave the interval
    (-16459, 16467) as a result."""
    steps, losses, lrs, _ = logged(lrsched.cosine(total_steps=TOTAL, warmup=WARMUP), 400,
                                   noise=0.05)
    with pytest.raises(InputError, match=r"gives no forecast \(the momentum law gives a .*of "
                                         r"-.*the run's loss does not determine the law yet"):
        forecast(steps, np.abs(losses) + 0.01, lrs)


def test_forecast_options_are_checked_before_any_fit(tmp_path):
    """Issue 20, items 8 and 10: a cooldown of 10**9 steps took 24 GB; a fit's path as
    ``base`` raised AttributeError."""
    steps, losses, lrs, clean = logged(lrsched.wsd(total_steps=TOTAL, warmup=WARMUP,
                                                   decay_steps=600), 1500)
    with pytest.raises(InputError, match=f"longer than the {MAX_STEPS:,} steps"):
        forecast(steps, losses, lrs, cooldown_steps=10**9)
    for bad, says in [({"cooldown_steps": 0}, "cooldown_steps=0 must be a whole number"),
                      ({"base": 3}, "base=3 is not a fit; give a Fit, the path"),
                      ({"law": "momentum"}, "law='momentum' is not a law"),
                      ({"shape": "square"}, "shape='square' is invalid")]:
        with pytest.raises(InputError, match=says):
            forecast(steps, losses, lrs, **bad)
    path = tmp_path / "fit.json"
    make_fit("momentum").save(path)
    result = forecast(steps, losses, lrs, base=str(path))
    assert abs(result.final_loss - clean[-1]) < 0.01


def test_live_forecast_checks_its_options_and_never_raises(tmp_path):
    """Issue 20, item 7: a misspelled option and a plot into a missing folder crashed
    the training at the first forecast; now when LiveForecast is built. An error inside a
    forecast is a warning, and the next forecast is made."""
    with pytest.raises(InputError, match=r"no option 'cooldown' \(did you mean "
                                         r"'cooldown_steps'\?\); its options: every, cost"):
        LiveForecast(cooldown=10)
    with pytest.raises(InputError, match="folder .*missing does not exist"):
        LiveForecast(plot=tmp_path / "missing" / "forecast.png")
    with pytest.raises(InputError, match="every must be a number of steps >= 1"):
        LiveForecast(every=2.5)
    steps, losses, lrs, _ = logged(lrsched.cosine(total_steps=TOTAL, warmup=WARMUP), 2000)
    live = LiveForecast(every=1)
    for step, loss in zip(steps, losses):
        live.observe(step, loss)

    def broken():
        raise RuntimeError("a bug")

    with pytest.warns(UserWarning, match="no forecast yet: RuntimeError: a bug .*training "
                                         "goes on"):
        assert live.update(broken, now=1500) is None
    assert live.update(lrs, now=2000) is not None


def test_planned_lrs_of_each_scheduler():
    """Issue 20, items 7 and 10: a ScheduleLR per param group crashed the callbacks; a
    SequentialLR raised AttributeError."""
    groups = [{"params": [torch.zeros(1)]}, {"params": [torch.zeros(1)], "lr": 0.5}]
    opt = torch.optim.SGD(groups, lr=0.1)
    cosine = lrsched.cosine(total_steps=10)
    per_group = lrsched.ScheduleLR(opt, [cosine, lrsched.constant()])
    np.testing.assert_array_equal(planned_lrs(per_group, 10), 0.1 * cosine(np.arange(10)))
    sequential = torch.optim.lr_scheduler.SequentialLR(
        opt, [lrsched.ScheduleLR(opt, "constant"), lrsched.ScheduleLR(opt, cosine)], [5])
    with pytest.raises(InputError, match="cannot read the planned LRs from a SequentialLR; "
                                         "use lrsched.ScheduleLR"):
        planned_lrs(sequential, 10)
    with pytest.raises(InputError, match="longer than"):
        planned_lrs(per_group, 10**9)


class Tiny(torch.nn.Module):
    """Regression with a small MLP; ``forward`` returns the loss, as Trainers want."""

    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(),
                                       torch.nn.Linear(16, 1))

    def forward(self, x, y):
        return {"loss": torch.nn.functional.mse_loss(self.net(x).squeeze(-1), y)}


def dataset(n=2048):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 8, generator=g)
    y = torch.sin(x @ torch.randn(8, generator=g)) + 0.05 * torch.randn(n, generator=g)
    return x, y


def test_transformers_trainer_logs_the_forecast(tmp_path):
    from transformers import Trainer, TrainerCallback, TrainingArguments

    from lrsched.forecast import HFForecastCallback

    class Seen(TrainerCallback):  # what a reporting integration (TensorBoard, W&B) receives
        logs = []

        def on_log(self, args, state, control, logs=None, **kwargs):
            self.logs.append(dict(logs))

    torch.manual_seed(0)
    x, y = dataset()
    args = TrainingArguments(output_dir=str(tmp_path / "out"), max_steps=60, logging_steps=1,
                             per_device_train_batch_size=16, learning_rate=3e-2,
                             lr_scheduler_type="cosine", warmup_steps=5, report_to=[],
                             use_cpu=True, save_strategy="no", disable_tqdm=True)
    trainer = Trainer(model=Tiny(), args=args,
                      train_dataset=[{"x": a, "y": b} for a, b in zip(x, y)])
    trainer.add_callback(HFForecastCallback(trainer, every=20))
    trainer.add_callback(Seen())
    trainer.train()
    history = [h for h in trainer.state.log_history if "forecast/final_loss" in h]
    seen = [h for h in Seen.logs if "forecast/final_loss" in h]
    # transformers' warmup peaks at step 5: 8 losses after it, then every 20 steps; a
    # forecast the run's loss does not determine is skipped (item 3 of issue 20)
    assert history and {h["step"] for h in history} <= {14, 34, 54}
    assert len(seen) == len(history)
    assert all(0 < h["forecast/final_low"] <= h["forecast/final_high"] < np.inf
               for h in history)


def test_lightning_trainer_logs_the_forecast(tmp_path):
    import lightning.pytorch as pl
    from lightning.pytorch.loggers import CSVLogger

    from lrsched.forecast import LightningForecastCallback

    class Module(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.model = Tiny()

        def training_step(self, batch, batch_idx):
            return self.model(*batch)["loss"]

        def configure_optimizers(self):  # a schedule per group: crashed (issue 20, item 7)
            net = self.model.net
            optimizer = torch.optim.SGD([{"params": net[0].parameters()},
                                         {"params": net[2].parameters()}], lr=3e-2)
            schedule = lrsched.cosine(total_steps=60, warmup=5)
            scheduler = lrsched.ScheduleLR(optimizer, [schedule, lrsched.constant()])
            return {"optimizer": optimizer,
                    "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    torch.manual_seed(0)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*dataset()),
                                         batch_size=16, shuffle=True)
    trainer = pl.Trainer(max_steps=60, accelerator="cpu", logger=CSVLogger(tmp_path),
                         callbacks=[LightningForecastCallback(every=20)],
                         enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False)
    trainer.fit(Module(), loader)
    with open(trainer.logger.log_dir + "/metrics.csv") as f:
        rows = [r for r in csv.DictReader(f) if r.get("forecast/final_loss")]
    assert rows and {int(r["step"]) for r in rows} <= {13, 33, 53}
    assert all(0 < float(r["forecast/final_low"]) <= float(r["forecast/final_high"]) < np.inf
               for r in rows)
