"""lrsched schedules in the real Hugging Face Trainer: its optimizer set-up and step count
kept, and resume_from_checkpoint giving the LRs of an uninterrupted run."""

import numpy as np
import pytest
import torch
from transformers import SchedulerType, Trainer, TrainerCallback, TrainingArguments

import lrsched
from lrsched import ScheduleLR, from_hf
from lrsched.errors import InputError
from lrsched.integrations.hf_trainer import ScheduleTrainerMixin


class LRSchedTrainer(ScheduleTrainerMixin, Trainer):
    pass


class TinyRegression(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 1)

    def forward(self, x, labels=None):
        pred = self.linear(x).squeeze(-1)
        return {"loss": torch.nn.functional.mse_loss(pred, labels), "logits": pred}


class RecordLRs(TrainerCallback):
    """The LR of every param group at the start of each optimizer step, by global step."""

    def __init__(self):
        self.lrs = {}

    def on_step_begin(self, args, state, control, optimizer=None, **kwargs):
        self.lrs[state.global_step] = [float(g["lr"]) for g in optimizer.param_groups]


def train(tmp_path, schedule, resume_from=None, max_steps=8, callbacks=(), **args):
    torch.manual_seed(0)
    data = [{"x": torch.randn(4), "labels": torch.randn(())} for _ in range(16)]
    record = RecordLRs()
    trainer = LRSchedTrainer(
        model=TinyRegression(), train_dataset=data, callbacks=[record, *callbacks],
        lr_schedule=schedule,
        args=TrainingArguments(output_dir=str(tmp_path), max_steps=max_steps, save_steps=4,
                               per_device_train_batch_size=2, learning_rate=0.1,
                               weight_decay=0.01, report_to="none", use_cpu=True,
                               disable_tqdm=True, seed=0, **args))
    trainer.train(resume_from_checkpoint=resume_from)
    return trainer, record.lrs


@pytest.mark.parametrize("schedule,expected", [
    ("cosine:warmup=2,final=0.1", lrsched.cosine(total_steps=8, warmup=2, final=0.1)),
    ("linear", lrsched.linear(total_steps=8, warmup=3)),  # warmup from TrainingArguments
    (lrsched.wsd(total_steps=8, decay_steps=3), lrsched.wsd(total_steps=8, decay_steps=3)),
])
def test_the_trainer_keeps_its_optimizer_and_step_count(tmp_path, schedule, expected):
    trainer, lrs = train(tmp_path, schedule, warmup_steps=3 if schedule == "linear" else 0)
    assert isinstance(trainer.lr_scheduler, ScheduleLR)
    assert trainer.lr_scheduler.schedule == expected
    decay = sorted(g["weight_decay"] for g in trainer.optimizer.param_groups)
    assert decay == [0.0, 0.01]  # the Trainer's own groups: no decay on the bias
    np.testing.assert_allclose([lrs[s] for s in range(8)],
                               np.repeat(0.1 * expected(np.arange(8))[:, None], 2, axis=1),
                               rtol=1e-15)


def test_resume_from_checkpoint_gives_the_lrs_of_an_uninterrupted_run(tmp_path):
    schedule = "cosine:warmup=2,final=0.1"
    _, full = train(tmp_path / "full", schedule)
    _, resumed = train(tmp_path / "resumed", schedule,
                       resume_from=str(tmp_path / "full" / "checkpoint-4"))
    assert sorted(resumed) == [4, 5, 6, 7]
    assert {s: resumed[s] for s in resumed} == {s: full[s] for s in resumed}


def test_resumed_with_a_larger_max_steps_the_run_follows_the_new_horizon(tmp_path):
    """Issue 20, item 5: the checkpoint's 8-step schedule was kept silently; now steps
    8-15 take the LRs of a fresh 16-step run, and a warning says so."""
    schedule = "cosine:warmup=2,final=0.1"
    train(tmp_path / "first", schedule)
    _, fresh = train(tmp_path / "fresh", schedule, max_steps=16)
    with pytest.warns(UserWarning, match=r"resumed at step 8 of .*checkpoint-8 on this run's "
                                         r"schedule, lrsched.cosine\(total_steps=16"):
        trainer, resumed = train(tmp_path / "resumed", schedule, max_steps=16,
                                 resume_from=str(tmp_path / "first" / "checkpoint-8"))
    assert sorted(resumed) == list(range(8, 16)) and trainer.state.global_step == 16
    assert resumed == {s: fresh[s] for s in resumed}


def test_a_schedule_per_param_group(tmp_path):
    """Issue 20, item 11: the Trainer's two groups (weight decay, none), each its own
    schedule, as ScheduleLR takes them."""
    decayed, flat = "cosine:warmup=2", lrsched.constant()
    trainer, lrs = train(tmp_path, [decayed, flat])
    assert trainer.lr_scheduler.schedule == [lrsched.cosine(total_steps=8, warmup=2), flat]
    np.testing.assert_allclose([lrs[s] for s in range(8)], np.stack(
        [0.1 * lrsched.cosine(total_steps=8, warmup=2)(np.arange(8)), np.full(8, 0.1)], 1))


def test_from_hf_knows_every_scheduler_of_the_installed_transformers():
    for name in SchedulerType:
        if name.value in ("reduce_lr_on_plateau", "greedy"):
            with pytest.raises(InputError, match="ReduceLROnPlateau"):
                from_hf(name)
        else:
            kwargs = {"warmup_stable_decay": {"num_decay_steps": 10},
                      "polynomial": {"lr_init": 1e-3},
                      "cosine_with_min_lr": {"min_lr_rate": 0.1},
                      "cosine_warmup_with_min_lr": {"min_lr_rate": 0.1}}.get(name.value, {})
            assert isinstance(from_hf(name, 10, 100, kwargs), lrsched.Schedule)
