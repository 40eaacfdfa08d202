"""lrsched schedules in a real Lightning Trainer: stepped every optimizer step, resumed
from a checkpoint with the LRs of an uninterrupted run."""

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

import lrsched
from lrsched import ScheduleLR
from lrsched.integrations.lightning import lr_scheduler_config

SCHEDULE = "cosine:warmup=2,final=0.1"  # total_steps: the Trainer's estimated steps


class Tiny(L.LightningModule):
    def __init__(self, schedule=SCHEDULE):
        super().__init__()
        self.linear = torch.nn.Linear(4, 1)
        self.schedule = schedule
        self.lrs = {}

    def training_step(self, batch, batch_idx):
        groups = self.optimizers().param_groups
        self.lrs[self.global_step] = groups[0]["lr"] if len(groups) == 1 else \
            [g["lr"] for g in groups]
        x, y = batch
        return torch.nn.functional.mse_loss(self.linear(x).squeeze(-1), y)

    def configure_optimizers(self):
        groups = [{"params": [self.linear.weight]}, {"params": [self.linear.bias]}]
        opt = torch.optim.AdamW(groups if isinstance(self.schedule, list) else
                                self.parameters(), lr=0.1)
        return {"optimizer": opt,
                "lr_scheduler": lr_scheduler_config(opt, self.schedule, self.trainer)}


def fit(tmp_path, ckpt_path=None, schedule=SCHEDULE):
    torch.manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.randn(8, 4), torch.randn(8))
    model = Tiny(schedule)
    trainer = L.Trainer(max_steps=8, accelerator="cpu", logger=False, enable_progress_bar=False,
                        enable_model_summary=False, default_root_dir=tmp_path,
                        callbacks=[ModelCheckpoint(dirpath=tmp_path, every_n_train_steps=4,
                                                   save_top_k=-1)])
    trainer.fit(model, torch.utils.data.DataLoader(data, batch_size=2), ckpt_path=ckpt_path)
    return trainer, model.lrs


def test_fit_steps_the_schedule_every_optimizer_step(tmp_path):
    trainer, lrs = fit(tmp_path)
    config = trainer.lr_scheduler_configs[0]
    assert isinstance(config.scheduler, ScheduleLR) and config.interval == "step"
    expected = lrsched.cosine(total_steps=8, warmup=2, final=0.1)
    assert config.scheduler.schedule == expected
    np.testing.assert_allclose([lrs[s] for s in range(8)], 0.1 * expected(np.arange(8)),
                               rtol=1e-15)


def test_resume_from_a_checkpoint_gives_the_lrs_of_an_uninterrupted_run(tmp_path):
    _, full = fit(tmp_path / "full")
    (checkpoint,) = (tmp_path / "full").glob("*step=4.ckpt")
    _, resumed = fit(tmp_path / "resumed", ckpt_path=checkpoint)
    assert sorted(resumed) == [4, 5, 6, 7]
    assert resumed == {s: full[s] for s in resumed}


def test_a_schedule_per_param_group(tmp_path):
    """Issue 20, item 11: a list of schedules, one per param group, as ScheduleLR takes."""
    trainer, lrs = fit(tmp_path, schedule=[SCHEDULE, "constant"])
    expected = lrsched.cosine(total_steps=8, warmup=2, final=0.1)
    assert trainer.lr_scheduler_configs[0].scheduler.schedule == [expected, lrsched.constant()]
    np.testing.assert_allclose([lrs[s] for s in range(8)],
                               np.stack([0.1 * expected(np.arange(8)), np.full(8, 0.1)], 1),
                               rtol=1e-15)
