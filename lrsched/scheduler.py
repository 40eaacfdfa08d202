"""``ScheduleLR``: any Schedule as a drop-in ``torch.optim.lr_scheduler`` scheduler."""

from __future__ import annotations

from typing import Any

import numpy as np
from torch import Tensor
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from lrsched.schedules import Schedule, as_schedule

_CHUNK = 1024  # steps evaluated at once; chunks are aligned so resumed runs match bit for bit


class ScheduleLR(LRScheduler):
    """Sets the LR of group ``g`` at step ``t`` to ``initial_lr[g] * schedule(t)``.

    A true ``LRScheduler``: the LR is a closed form of the step, so it works inside
    ``SequentialLR`` and ``ChainedScheduler`` and with ``step(epoch)`` jumps; a Tensor
    ``lr`` (capturable or compiled optimizers) is updated in place. The state dict holds
    the step and the schedule as a plain dict, so it loads with
    ``torch.load(..., weights_only=True)`` and a resumed run repeats the exact LRs.

    Like ``LambdaLR`` it sets the LR from ``initial_lr`` when built; inside a
    ``ChainedScheduler``, factors that schedulers built after it multiply in each step
    are kept (build it first).

    Args:
        optimizer: the wrapped optimizer; each group's ``lr`` is its peak LR.
        schedule: a Schedule, a spec string (``"cosine:total_steps=1000"``) or a dict.
        last_epoch: the index of the last step taken; -1 starts a new run.
    """

    def __init__(self, optimizer: Optimizer, schedule: Schedule | str | dict,
                 last_epoch: int = -1) -> None:
        self._schedule = as_schedule(schedule)
        self._chunk: tuple[int, list[float]] | None = None
        self._scale = [1.0] * len(optimizer.param_groups)  # factors of chained schedulers
        super().__init__(optimizer, last_epoch)

    @property
    def schedule(self) -> Schedule:
        """The schedule in use; assigning one swaps it in (as ``set_schedule``)."""
        return self._schedule

    @schedule.setter
    def schedule(self, schedule: Schedule | str | dict) -> None:
        self.set_schedule(schedule)

    def factor(self, step: int) -> float:
        """The schedule's multiplier at ``step``, evaluated a chunk of steps at a time."""
        index, offset = divmod(step, _CHUNK)
        if self._chunk is None or self._chunk[0] != index:
            start = index * _CHUNK
            self._chunk = (index, self._schedule(np.arange(start, start + _CHUNK)).tolist())
        return self._chunk[1][offset]

    def get_lr(self) -> list[float | Tensor]:
        """``initial_lr * schedule(t)``, times whatever other schedulers chained with this
        one (``ChainedScheduler``) multiplied into the LR since this one last set it."""
        last_lrs = getattr(self, "_last_lr", None)  # None while the constructor steps
        if last_lrs is not None:
            self._scale = [scale * _ratio(group["lr"], last) for scale, group, last
                           in zip(self._scale, self.optimizer.param_groups, last_lrs)]
        factor = self.factor(self.last_epoch)
        return [base * factor * scale for base, scale in zip(self.base_lrs, self._scale)]

    def _get_closed_form_lr(self) -> list[float | Tensor]:
        """``initial_lr * schedule(t)`` for a jump to step ``t`` (``step(t)``, SequentialLR)."""
        self._scale = [1.0] * len(self.base_lrs)
        factor = self.factor(self.last_epoch)
        return [base * factor for base in self.base_lrs]

    def set_schedule(self, schedule: Schedule | str | dict) -> None:
        """Swap in another schedule from the current step on (its LR applies at once)."""
        self._schedule = as_schedule(schedule)
        self._chunk = None
        self._apply(self._get_closed_form_lr())

    def anneal(self, steps: int, shape: str | None = None, final: float | None = None) -> None:
        """Start annealing now: over ``steps`` steps from the current step, to ``final``.

        Works on schedules that can anneal on demand (infinite, constant); the anneal is
        part of the schedule, so it is saved with the state dict and survives resume.
        """
        self.set_schedule(self._schedule.anneal_at(self.last_epoch, steps, shape=shape,
                                                   final=final))

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state with the schedule as a dict (``weights_only``-safe)."""
        state = {k: v for k, v in self.__dict__.items()
                 if k not in ("optimizer", "_schedule", "_chunk")}
        state["schedule"] = self._schedule.to_dict()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the state, and the LRs it last set (whichever of optimizer and scheduler
        was built or loaded first)."""
        state = dict(state_dict)
        self._schedule = Schedule.from_dict(state.pop("schedule"))
        self._chunk = None
        self.__dict__.update(state)
        self._apply(self._last_lr)

    def _apply(self, lrs: list[float | Tensor]) -> None:
        """Set the groups' LRs and remember them as the last LRs."""
        set_lrs(self.optimizer, lrs)
        self._last_lr = [g["lr"].clone() if isinstance(g["lr"], Tensor) else g["lr"]
                         for g in self.optimizer.param_groups]


def set_lrs(optimizer: Optimizer, lrs: list[float | Tensor]) -> None:
    """Set each param group's LR, a Tensor LR in place (capturable/compiled optimizers)."""
    for group, lr in zip(optimizer.param_groups, lrs):
        if isinstance(group["lr"], Tensor):
            group["lr"].fill_(float(lr))
        else:
            group["lr"] = lr


def _ratio(lr: float | Tensor, last: float | Tensor) -> float:
    """How much another scheduler scaled the LR since this one set it (1.0 if untouched)."""
    lr, last = float(lr), float(last)
    return 1.0 if lr == last or last == 0.0 else lr / last
