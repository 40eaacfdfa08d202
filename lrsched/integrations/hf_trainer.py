"""Any lrsched schedule in the Hugging Face Trainer (transformers is not imported here)."""

from __future__ import annotations

import warnings
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
    count, and without ``warmup`` the TrainingArguments' warmup. ``lr_schedule`` may be a
    list, one schedule per param group (the Trainer's are: with weight decay, without).
    The scheduler is a ScheduleLR, saved in the Trainer's checkpoints and resumed with
    ``train(resume_from_checkpoint=...)``: at the checkpoint's step, on the schedule for
    this run. Resumed with another ``max_steps`` (or ``lr_schedule``), the run keeps its
    step and follows the new schedule from there, with a warning saying so.
    """

    def __init__(self, *args: Any, lr_schedule: Any, **kwargs: Any) -> None:
        self.lr_schedule = lr_schedule
        super().__init__(*args, **kwargs)

    def create_scheduler(self, num_training_steps: int, optimizer=None) -> ScheduleLR:
        if self.lr_scheduler is None:
            self._run_schedule = schedule_for_run(self.lr_schedule, num_training_steps,
                                                  self.args.get_warmup_steps(num_training_steps))
            self.lr_scheduler = ScheduleLR(optimizer or self.optimizer, self._run_schedule)
            self._created_lr_scheduler = True  # as Trainer's own: a new train() builds anew
        return self.lr_scheduler

    def _load_optimizer_and_scheduler(self, checkpoint) -> None:
        """The Trainer's own loading, then this run's schedule from the checkpoint's step
        on, where it differs from the checkpoint's."""
        super()._load_optimizer_and_scheduler(checkpoint)
        scheduler, planned = self.lr_scheduler, getattr(self, "_run_schedule", None)
        if checkpoint is None or not isinstance(scheduler, ScheduleLR) or planned is None:
            return
        if scheduler.schedule != planned:
            saved = scheduler.schedule
            scheduler.set_schedule(planned)
            warnings.warn(f"resumed at step {scheduler.last_epoch} of {checkpoint} on this "
                          f"run's schedule, {planned!r}, not the checkpoint's, {saved!r}: "
                          "the LR follows this run's from there", stacklevel=2)
