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
from lrsched.forecast import FIRST_COST, LiveForecast, forecast
from lrsched.laws import BlendLaw, Fit

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
    # transformers' warmup peaks at step 5: 8 losses after it, then every 20 steps
    assert [h["step"] for h in history] == [14, 34, 54] and len(seen) == 3
    assert all(np.isfinite(h["forecast/cooldown_now_loss"]) for h in history)


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

        def configure_optimizers(self):
            optimizer = torch.optim.SGD(self.parameters(), lr=3e-2)
            schedule = lrsched.cosine(total_steps=60, warmup=5)
            scheduler = lrsched.ScheduleLR(optimizer, schedule)
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
    assert [int(r["step"]) for r in rows] == [13, 33, 53]
    assert all(np.isfinite(float(r["forecast/final_high"])) for r in rows)
