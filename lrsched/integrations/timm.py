"""timm's scheduler contract for any lrsched schedule (timm itself is not imported)."""

from __future__ import annotations

from typing import Any

from torch.optim import Optimizer

from lrsched.scheduler import ScheduleLR


class TimmScheduler:
    """An lrsched schedule where timm's train.py takes its ``lr_scheduler``.

    timm calls ``step_update(num_updates=..., metric=...)`` after each optimizer update
    and ``step(epoch, metric)`` at each epoch's end, and once with the start epoch (or
    ``step_update(start_epoch * updates_per_epoch)``) when it resumes. The schedule counts
    optimizer updates (timm's ``sched_on_updates``): ``step_update(n)`` sets the LR of
    update ``n`` and ``step`` does nothing; with ``t_in_epochs=True`` it counts epochs
    instead and ``step(epoch)`` sets the LR. The LR is a closed form of the count, so a
    resumed run needs no scheduler state (timm saves none); the metric is kept, unused.

    Args:
        optimizer: the wrapped optimizer; each group's ``lr`` is its peak LR.
        schedule: a Schedule, a spec string or a dict, or one per param group.
        t_in_epochs: count epochs rather than optimizer updates.
    """

    def __init__(self, optimizer: Optimizer, schedule: Any, t_in_epochs: bool = False) -> None:
        self.scheduler = ScheduleLR(optimizer, schedule)
        self.optimizer = optimizer
        self.t_in_epochs = t_in_epochs
        self.metric: float | None = None

    def step(self, epoch: int, metric: float | None = None) -> None:
        """End of an epoch: ``epoch`` is the next epoch's index."""
        self._count(epoch, metric, self.t_in_epochs)

    def step_update(self, num_updates: int, metric: float | None = None) -> None:
        """After an optimizer update: ``num_updates`` updates are done."""
        self._count(num_updates, metric, not self.t_in_epochs)

    def _count(self, t: int, metric: float | None, counts: bool) -> None:
        if metric is not None:
            self.metric = metric
        if counts:
            self.scheduler.seek(t)

    def state_dict(self) -> dict[str, Any]:
        return self.scheduler.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.scheduler.load_state_dict(state_dict)
