"""``ScheduleLR``: any Schedule as a drop-in ``torch.optim.lr_scheduler`` scheduler.

It follows torch's own rules for composing schedulers, with no case per caller:

* ``step()`` is chainable, as LinearLR's is: it moves this scheduler's factor in the LR
  from ``schedule(t - 1)`` to ``schedule(t)`` and keeps whatever else multiplies the LR
  (ChainedScheduler's other schedulers, ReduceLROnPlateau). Alone, the LR is
  ``initial_lr * schedule(t)`` bit for bit.
* ``step(t)``, SequentialLR's milestones and ``seek(t)`` use the closed form
  ``initial_lr * schedule(t)`` (``_get_closed_form_lr``).
* The state is the step and the schedule (with torch's bookkeeping: base_lrs, _last_lr,
  _step_count), and ``load_state_dict`` writes nothing into the optimizer, whose own
  state holds the LR: a run resumed inside any wrapper, with the optimizer loaded before
  or after the scheduler, repeats the LRs of a run that never stopped.

docs/integrations.md lists what each composition does and the deliberate differences
from torch's schedulers.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from numbers import Real
from typing import Any

import numpy as np
from torch import Tensor
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from lrsched.errors import InputError
from lrsched.schedules import MAX_STEPS, Schedule, as_schedule

_CHUNK = 1024  # steps evaluated at once; chunks are aligned so resumed runs match bit for bit
_STATE_KEYS = ("last_epoch", "base_lrs", "_step_count", "_last_lr", "schedule")


class ScheduleLR(LRScheduler):
    """Sets the LR of group ``g`` at step ``t`` to ``initial_lr[g] * schedule(t)``.

    A true ``LRScheduler``: chainable in a ``ChainedScheduler``, closed-form in
    ``SequentialLR`` and ``step(epoch)``; a Tensor ``lr`` (capturable or compiled
    optimizers) is updated in place. Schedules that cycle the momentum (``one_cycle`` and
    ``cyclic``, unless ``cycle_momentum=false``) set each group's ``momentum``, or
    ``betas[0]`` for Adam-type optimizers, at every step, as torch's OneCycleLR does. The
    state dict is plain data (``torch.load(..., weights_only=True)`` loads it).

    Like torch's chainable schedulers, a new ScheduleLR multiplies the LR it finds by
    ``schedule(0)``: build it on an optimizer whose LR is its peak, and when resuming
    build it before loading the optimizer's state (torch's rule for every scheduler).

    Args:
        optimizer: the wrapped optimizer; each group's ``lr`` is its peak LR.
        schedule: a Schedule, a spec string (``"cosine:total_steps=1000"``) or a dict; or
            a list of them, one per param group (as LambdaLR's list of lambdas).
        last_epoch: the index of the last step taken; -1 starts a new run.
    """

    def __init__(self, optimizer: Optimizer, schedule: Any, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self._use(_tables(optimizer, schedule))
        super().__init__(optimizer, last_epoch)

    # -- the schedule ---------------------------------------------------------------------
    @property
    def schedules(self) -> list[Schedule]:
        """The schedule of each param group."""
        return [table.schedule for table in self._tables]

    @property
    def schedule(self) -> Schedule | list[Schedule]:
        """The schedule in use: one Schedule, or a list of one per param group where they
        differ. Assigning one (or a list) swaps it in, as ``set_schedule``."""
        schedules = self.schedules
        return schedules[0] if all(s == schedules[0] for s in schedules) else schedules

    @schedule.setter
    def schedule(self, schedule: Any) -> None:
        self.set_schedule(schedule)

    def set_schedule(self, schedule: Any) -> None:
        """Swap in another schedule (or one per group) from the current step on: the LR
        moves from the old schedule's value at this step to the new one's at once."""
        old = self._tables
        self._use(_tables(self.optimizer, schedule))
        t = self.last_epoch
        if t >= 0:  # -1: a SequentialLR part that has not started sets no LR
            self._set_momentum(t)
            self._apply(_moved(self.optimizer.param_groups, self.base_lrs,
                               [(before.lr(t), after.lr(t)) for before, after in
                                zip(old, self._tables)]))

    def anneal(self, steps: int, shape: str | None = None, final: float | None = None) -> None:
        """Start annealing now: over ``steps`` steps from the current step, to ``final``.

        Works on schedules that can anneal on demand (infinite, constant); the anneal is
        part of the schedule, so it is saved with the state dict and survives resume.
        """
        self.set_schedule([s.anneal_at(self.last_epoch, steps, shape=shape, final=final)
                           for s in self.schedules])

    # -- torch's scheduler protocol ---------------------------------------------------------
    def get_lr(self) -> list[float | Tensor]:
        """Each group's LR with this scheduler's factor moved from ``schedule(t - 1)`` to
        ``schedule(t)`` (from 1 at ``t = 0``), as torch's chainable schedulers compute it.

        Built with ``last_epoch >= 0`` to resume, it keeps the optimizer's loaded LRs, as
        torch's chainable schedulers do.
        """
        if not self._get_lr_called_within_step:
            warnings.warn("To get the last learning rate computed by the scheduler, please "
                          "use `get_last_lr()`.", UserWarning, stacklevel=2)
        t = self.last_epoch
        if t != 0 and getattr(self, "_is_initial", False):
            return [_copy(group["lr"]) for group in self.optimizer.param_groups]
        if self._cycling:
            self._set_momentum(t)
        factors = [(1.0 if t == 0 else table.lr(t - 1), table.lr(t)) for table in self._distinct]
        return _moved(self.optimizer.param_groups, self.base_lrs,
                      factors * len(self.base_lrs) if len(factors) == 1 else
                      [factors[i] for i in self._which])

    def _get_closed_form_lr(self) -> list[float | Tensor]:
        """``initial_lr * schedule(t)``: ``step(t)`` and SequentialLR's milestones."""
        t = self.last_epoch
        self._set_momentum(t)
        return [base * table.lr(t) for base, table in zip(self.base_lrs, self._tables)]

    def step(self, epoch: float | None = None) -> None:
        """Advance one step (chainable). ``epoch`` (deprecated by torch, with its warning)
        jumps to that step in closed form; a fractional one interpolates linearly between
        the neighbouring steps. A refused ``epoch`` changes nothing."""
        if epoch is not None:
            _check_step("epoch", epoch)
        LRScheduler.step(self, epoch)

    def seek(self, step: float) -> None:
        """Go to ``step`` and set its LRs (and momenta) in closed form: ``step(step)``
        without torch's deprecation warning, for loops that count steps themselves. A
        refused ``step`` changes nothing."""
        _check_step("step", step)
        self.last_epoch = step
        self._apply(self._get_closed_form_lr())

    # -- state --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The step, the schedule as a dict (a list of dicts for per-group schedules) and
        torch's bookkeeping; plain data that loads with ``weights_only=True``."""
        schedule = self.schedule
        return {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs),
                "_step_count": self._step_count, "_last_lr": list(self._last_lr),
                "schedule": ([s.to_dict() for s in schedule] if isinstance(schedule, list)
                             else schedule.to_dict())}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore a state that ``state_dict()`` wrote; anything else is an InputError
        naming the key, and leaves the scheduler as it was. The optimizer's LRs are left
        alone: its own state holds them."""
        state = _checked(state_dict, len(self.optimizer.param_groups))
        saved = state["schedule"]
        try:
            schedule = ([Schedule.from_dict(d) for d in saved] if isinstance(saved, list)
                        else Schedule.from_dict(saved))
        except (ValueError, TypeError) as e:
            raise InputError(f"ScheduleLR state: 'schedule' is not a schedule dict ({e})") from None
        self._use(_tables(self.optimizer, schedule))
        self.last_epoch = state["last_epoch"]
        self.base_lrs = list(state["base_lrs"])
        self._step_count = state["_step_count"]
        self._last_lr = list(state["_last_lr"])

    # -- helpers --------------------------------------------------------------------------------
    def _use(self, tables: list[_Table]) -> None:
        """Schedule with ``tables`` (one per group; groups may share one)."""
        self._tables = tables
        self._distinct = list({id(t): t for t in tables}.values())
        self._which = [self._distinct.index(t) for t in tables]
        self._cycling = [(i, t) for i, t in enumerate(tables) if t.cycles_momentum]

    def _set_momentum(self, t: float) -> None:
        groups = self.optimizer.param_groups
        for i, table in self._cycling:
            _set_momentum(groups[i], table.momentum(t))

    def _apply(self, lrs: list[float | Tensor]) -> None:
        """Set the groups' LRs and remember them as the last LRs (as torch's step does)."""
        set_lrs(self.optimizer, lrs)
        self._last_lr = [_copy(group["lr"]) for group in self.optimizer.param_groups]


class _Table:
    """A schedule's LR multipliers and momenta, evaluated ``_CHUNK`` aligned steps at a
    time (the scheduler asks one step at a time)."""

    def __init__(self, schedule: Schedule):
        self.schedule = schedule
        self.cycles_momentum = schedule.momentum(0) is not None
        self._index, self._lrs, self._momenta = -1, [], []

    def lr(self, t: float) -> float:
        if type(t) is int and t // _CHUNK == self._index:  # the common case, kept fast
            return self._lrs[t % _CHUNK]
        return self._get(t, "_lrs")

    def momentum(self, t: float) -> float:
        return self._get(t, "_momenta")

    def _get(self, t: float, values: str) -> float:
        if t != int(t):  # a fractional step (step(0.5)): linear between its neighbours
            low = math.floor(t)
            a, b = self._get(low, values), self._get(low + 1, values)
            return a + (t - low) * (b - a)
        index, offset = divmod(int(t), _CHUNK)
        if index != self._index:
            steps = np.arange(index * _CHUNK, min((index + 1) * _CHUNK, MAX_STEPS + 1))
            self._lrs = self.schedule(steps).tolist()
            if self.cycles_momentum:
                self._momenta = np.asarray(self.schedule.momentum(steps), float).tolist()
            self._index = index
        return getattr(self, values)[offset]


def _tables(optimizer: Optimizer, schedule: Any) -> list[_Table]:
    """One table per param group from a schedule or a list of one per group (groups with
    equal schedules share a table); checks that groups cycling momentum have one."""
    groups = optimizer.param_groups
    if isinstance(schedule, (list, tuple)):
        if len(schedule) != len(groups):
            raise InputError(f"ScheduleLR got {len(schedule)} schedules for {len(groups)} param "
                             "groups; pass one schedule for every group, or one per group")
        schedules = [as_schedule(s) for s in schedule]
    else:
        schedules = [as_schedule(schedule)] * len(groups)
    tables: list[_Table] = []
    for i, (group, s) in enumerate(zip(groups, schedules)):
        table = next((t for t in tables if t.schedule == s), None) or _Table(s)
        if table.cycles_momentum and "momentum" not in group and "betas" not in group:
            raise InputError(f"{s.name} cycles the momentum, but param group {i} has neither "
                             "'momentum' (SGD) nor 'betas' (Adam-type); use such an optimizer "
                             "or a schedule without momentum cycling")
        tables.append(table)
    return tables


def _moved(groups: list[dict], bases: list, factors: list[tuple[float, float]]) -> list:
    """Each group's LR with this scheduler's factor moved from ``old`` to ``new``
    (``factors``: one ``(old, new)`` per group).

    ``base * new`` times ``lr / (base * old)``, the factor that others put on the LR
    (exactly 1 when none did); ``base * new`` when ``base * old`` is 0, as the LR then
    holds no record of other factors. (One call a step: it runs every step.)
    """
    out = []
    for group, base, (old, new) in zip(groups, bases, factors):
        lr, before, after = group["lr"], base * old, base * new
        out.append(after if lr == before or before == 0 else after * (lr / before))
    return out


def _copy(value: Any) -> Any:
    return value.clone() if isinstance(value, Tensor) else value


def _set_momentum(group: dict, momentum: float) -> None:
    """Set SGD's ``momentum`` or Adam's ``betas[0]`` (a Tensor in place), as OneCycleLR."""
    key = "betas" if "betas" in group else "momentum"
    current = group[key][0] if key == "betas" else group[key]
    if isinstance(current, Tensor):
        current.fill_(momentum)
    elif key == "betas":
        group["betas"] = (momentum, *group["betas"][1:])
    else:
        group["momentum"] = momentum


def set_lrs(optimizer: Optimizer, lrs: list[float | Tensor]) -> None:
    """Set each param group's LR, a Tensor LR in place (capturable/compiled optimizers)."""
    for group, lr in zip(optimizer.param_groups, lrs):
        if isinstance(group["lr"], Tensor):
            group["lr"].fill_(float(lr))
        else:
            group["lr"] = lr


def _check_step(name: str, value: Any) -> None:
    """Refuse, before anything changes, a step no schedule evaluates."""
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 <= value <= MAX_STEPS:
        raise InputError(f"ScheduleLR: {name}={value!r:.40} must be a step >= 0 (steps count "
                         f"from 0) and at most {MAX_STEPS:,}")


def _is_lr(value: Any) -> bool:
    return isinstance(value, Tensor) or (isinstance(value, Real) and not isinstance(value, bool))


def _checked(state: Any, groups: int) -> Mapping[str, Any]:
    """``state`` if it is one that ``ScheduleLR.state_dict()`` wrote, else an InputError."""
    keys = ", ".join(_STATE_KEYS)
    if not isinstance(state, Mapping):
        raise InputError(f"a ScheduleLR state is the dict state_dict() returns ({keys}), got "
                         f"{type(state).__name__}")
    unknown = [k for k in state if k not in _STATE_KEYS]
    if unknown:
        raise InputError(f"ScheduleLR state has a key {unknown[0]!r} that ScheduleLR never "
                         f"writes; load a state from ScheduleLR.state_dict() ({keys})")
    missing = [k for k in _STATE_KEYS if k not in state]
    if missing:
        raise InputError(f"ScheduleLR state lacks {missing[0]!r}; load a state from "
                         f"ScheduleLR.state_dict() ({keys})")
    epoch, count = state["last_epoch"], state["_step_count"]
    if isinstance(epoch, bool) or not isinstance(epoch, Real) or not -1 <= epoch <= MAX_STEPS:
        raise InputError(f"ScheduleLR state: 'last_epoch'={epoch!r:.40} must be a step >= -1 "
                         f"and at most {MAX_STEPS:,}")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise InputError(f"ScheduleLR state: '_step_count'={count!r} must be an int >= 0")
    for key in ("base_lrs", "_last_lr"):
        value = state[key]
        if not isinstance(value, (list, tuple)) or len(value) != groups:
            size = f"{len(value)} values" if isinstance(value, (list, tuple)) else repr(value)
            raise InputError(f"ScheduleLR state: {key!r} has {size} for {groups} param "
                             "groups; load the state into an optimizer built like the saved one")
        if not all(map(_is_lr, value)):
            raise InputError(f"ScheduleLR state: {key!r} must hold one LR (a number) per group")
    return state
