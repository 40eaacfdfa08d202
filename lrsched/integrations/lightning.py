"""Any lrsched schedule in Lightning (lightning is not imported here)."""

from __future__ import annotations

from typing import Any

from torch.optim import Optimizer

from lrsched.integrations import schedule_for_run
from lrsched.scheduler import ScheduleLR


def lr_scheduler_config(optimizer: Optimizer, schedule: Any, trainer=None) -> dict[str, Any]:
    """Lightning's ``lr_scheduler`` config: ``schedule`` stepped after every optimizer step.

    Return ``{"optimizer": opt, "lr_scheduler": lr_scheduler_config(opt, schedule,
    self.trainer)}`` from ``configure_optimizers``. A spec string without ``total_steps``
    takes ``trainer.estimated_stepping_batches`` (the run's optimizer steps, gradient
    accumulation included). ``schedule`` may be a list, one per param group.
    """
    total = None if trainer is None else trainer.estimated_stepping_batches
    return {"scheduler": ScheduleLR(optimizer, schedule_for_run(schedule, total)),
            "interval": "step", "frequency": 1}
