"""Any lrsched schedule in the Hugging Face Trainer (transformers is not imported here)."""

from __future__ import annotations

from typing import Any

from lrsched.integrations import schedule_for_run
from lrsched.scheduler import ScheduleLR


class ScheduleTrainerMixin:
    """Mix into ``transformers.Trainer`` to schedule the LR with an lrsched schedule::

        class Trainer(ScheduleTrainerMixin, transformers.Trainer):
            pass

        trainer = Trainer(model=model, args=args, train_dataset=data,
                          lr_schedule="cosine:warmup=100,final=0.1")

    The Trainer sets up its optimizer as always (its weight-decay groups, ``optim``) and
    counts the run's optimizer steps; a spec string without ``total_steps`` takes that
    count, and without ``warmup`` the TrainingArguments' warmup. The scheduler is a
    ScheduleLR, saved in the Trainer's checkpoints and resumed with
    ``train(resume_from_checkpoint=...)``.
    """

    def __init__(self, *args: Any, lr_schedule: Any, **kwargs: Any) -> None:
        self.lr_schedule = lr_schedule
        super().__init__(*args, **kwargs)

    def create_scheduler(self, num_training_steps: int, optimizer=None) -> ScheduleLR:
        if self.lr_scheduler is None:
            schedule = schedule_for_run(self.lr_schedule, num_training_steps,
                                        self.args.get_warmup_steps(num_training_steps))
            self.lr_scheduler = ScheduleLR(optimizer or self.optimizer, schedule)
            self._created_lr_scheduler = True  # as Trainer's own: a new train() builds anew
        return self.lr_scheduler
