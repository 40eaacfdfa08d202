"""Forecast a run while it trains: fit the law to the run's own loss so far, then predict
its final loss under the schedule it follows and what a cooldown now would give.

* ``forecast(steps, losses, lrs)``: one forecast, for a hand-written loop;
* ``LiveForecast``: when to forecast (each forecast followed by training that takes
  1 / ``cost`` times as long, so the fits cost a share ``cost`` of the time: 0.5% by
  default, which with the bookkeeping of every step stays under 1%);
* ``HFForecastCallback`` (a ``transformers.TrainerCallback``) and
  ``LightningForecastCallback`` (a ``lightning.pytorch.Callback``): the same, logged to the
  trainer's loggers (TensorBoard, W&B, ...) as ``forecast/...`` and, optionally, drawn.

What the run's own loss can tell: the power part of the law (L0, A, alpha) from any run,
the annealing part only once the LR has decreased. So either give ``base``, a fit of other
runs whose annealing parameters are kept (only L0, A, alpha are fitted to this run), or
forecasts start once the run's LR has fallen ``MIN_DROP`` below its peak.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import inspect
import math
import os
import time
import warnings
from dataclasses import dataclass

import numpy as np

from lrsched import drawing
from lrsched.choosing.anneal import Cooldown, cooldown_lrs
from lrsched.choosing.prediction import final_interval, final_loss
from lrsched.curves import Curve
from lrsched.errors import InputError
from lrsched.files import check_outputs
from lrsched.laws import Fit, FitError, MomentumLaw, load_fit
from lrsched.laws.base import Law
from lrsched.laws.fitting import fit
from lrsched.lr_arrays import as_lrs, check_run_length, first_used_step
from lrsched.schedules import constant

MIN_POINTS = 8  # logged losses after the warmup before the first forecast
MAX_POINTS = 256  # the logged losses are averaged into at most this many points
COST = 0.005  # the share of the training time a LiveForecast's fits may take
FIRST_COST = 0.25  # seconds a first forecast is expected to take (fit and imports)
COOLDOWN_FRACTION = 0.2  # default cooldown-now length, of the steps done
MIN_DROP = 0.01  # fall of the LR below its peak before a run alone can fit the whole law
STARTS = 1  # starting points of a forecast's fit (a fit's default is 3): bounds its cost


def fit_run(curve, law=None, base=None, starts: int = 3):
    """The law fitted to one run's own loss (a ``Curve``), from ``starts`` starting points.

    With ``base`` (a ``Fit`` of other runs) its law and annealing parameters are kept and
    only L0, A and alpha are fitted. Without, ``law`` (default ``MomentumLaw()``) is fitted
    whole, which needs the run's LR to have fallen below its peak (else InputError).
    """
    if base is not None:
        held = [p.name for p in base.law.params  # a blend's are named member.param
                if p.name.rpartition(".")[2] not in ("L0", "A", "alpha")]
        return fit(base.law, [curve], starts=starts,
                   fixed={name: base.params[name] for name in held})
    after = curve.lrs[first_used_step(curve.lrs):]
    if not after.size or after.min() > (1 - MIN_DROP) * curve.lrs.max():
        raise InputError(f"{curve.name}: the LR has not fallen below its peak yet, so the "
                         "run's own loss cannot tell what a decay gains; give a fit of other "
                         "runs (FIT.json, base=) or wait for the decay")
    return (law or MomentumLaw()).fit([curve], starts=starts)


@dataclass(frozen=True)
class Forecast:
    """After ``step`` steps: the predicted loss at the last step of the planned LRs
    ``lrs`` (``final_loss``, 80% ``interval``), and of a cooldown from now (``cooldown``,
    with LRs ``cooldown_lrs``); ``fit`` is the law fitted to ``curve``, the run's
    (averaged) loss so far."""

    step: int
    final_loss: float
    interval: tuple[float, float]
    cooldown: Cooldown
    fit: object
    curve: object
    lrs: np.ndarray
    cooldown_lrs: np.ndarray

    def metrics(self, prefix: str = "forecast/") -> dict[str, float]:
        """The numbers to log, under ``prefix``."""
        c = self.cooldown
        return {f"{prefix}{k}": float(v) for k, v in {
            "final_loss": self.final_loss, "final_low": self.interval[0],
            "final_high": self.interval[1], "cooldown_now_loss": c.loss,
            "cooldown_now_low": c.interval[0], "cooldown_now_high": c.interval[1],
            "cooldown_now_end": c.start + c.length}.items()}

    def figure(self):
        """The logged loss, the fitted law, and its two predictions (the planned schedule,
        a cooldown now) with their intervals."""
        fig = drawing.figure(7, 4)
        ax = fig.subplots()
        c, curve = self.cooldown, self.curve
        ax.plot(curve.steps, curve.loss, ".", ms=3, color="0.4", label="logged loss")
        for lrs, loss, interval, label, color in (
                (self.lrs, self.final_loss, self.interval, "planned schedule", "C0"),
                (self.cooldown_lrs, c.loss, c.interval, f"cooldown now over {c.length}", "C1")):
            steps = drawing.grid(min(first_used_step(lrs), lrs.size - 1), lrs.size - 1, 300)
            ax.plot(steps, self.fit.predict(lrs, steps), color=color,
                    label=f"{label}: {loss:.4f}")
            drawing.error_bar(ax, lrs.size - 1, loss, interval, color)
        drawing.mark(ax, self.step)
        low = min(self.interval[0], c.interval[0])
        ax.set_ylim(low - 0.05 * (curve.loss.max() - low), np.quantile(curve.loss, 0.9))
        ax.set(xlabel="step", ylabel="loss", title=f"forecast at step {self.step} "
               f"({self.fit.law.name} law, 80% intervals)")
        ax.legend(fontsize=8)
        return fig


def forecast(steps, losses, lrs, now: int | None = None, *, law=None, base=None,
             cooldown_steps: int | None = None, shape: str = "linear",
             final: float = 0.0) -> Forecast:
    """Fit the law to the losses logged at ``steps`` (``fit_run``) and forecast.

    ``lrs``: the per-step LR of the whole planned run (the steps done and those to come);
    ``now``: steps done (default: the last logged step + 1). ``base``: a ``Fit`` or the
    path of a saved one. The cooldown now runs from the current LR to ``final`` times it
    along ``shape`` over ``cooldown_steps`` steps (default ``COOLDOWN_FRACTION`` of the
    steps done). Runs are at most ``MAX_STEPS`` steps, the cooldown's end included. A fit
    that predicts a loss or a bound that is not finite and > 0 gives no forecast: an
    InputError says the run's loss does not determine the law yet.
    """
    law, base = _options(law=law, base=base, cooldown_steps=cooldown_steps, shape=shape,
                         final=final)
    lrs = as_lrs(lrs)
    steps, losses = np.asarray(steps, dtype=np.int64), np.asarray(losses, dtype=float)
    if not steps.size:
        raise InputError("no loss logged yet; forecast once the run has logged some")
    now = int(steps[-1]) + 1 if now is None else now
    if now > lrs.size:
        raise InputError(f"{now} steps done but LRs for only {lrs.size}; give the LR of every "
                         "step of the planned run")
    curve = Curve(*_binned(steps, losses), lrs[:now], name="run so far")
    length = max(1, round(COOLDOWN_FRACTION * now)) if cooldown_steps is None else cooldown_steps
    check_run_length(now + length)
    fitted = fit_run(curve, law, base, STARTS)
    cooled = cooldown_lrs(lrs[:now], constant(), now, length, shape, final)
    try:
        cooldown = Cooldown(now, length, final_loss(fitted, cooled),
                            final_interval(fitted, cooled))
        return Forecast(now, final_loss(fitted, lrs), final_interval(fitted, lrs), cooldown,
                        fitted, curve, lrs, cooled)
    except InputError as exc:  # a loss or a bound that no run has (choosing.prediction)
        raise InputError(f"the fit to the run's {curve.steps.size} points gives no forecast "
                         f"({str(exc).partition(',')[0]}): the run's loss does not determine "
                         "the law yet; forecast later, or give a fit of other runs "
                         "(base=)") from None


def _options(*, law, base, cooldown_steps, shape, final):
    """(law, base) checked, a saved fit's path read as the ``Fit``; ``cooldown_steps``,
    ``shape`` and ``final`` checked. One home for the checks of ``forecast`` and of
    ``LiveForecast``, which makes them when it is built."""
    if law is not None and not isinstance(law, Law):
        raise InputError(f"law={law!r:.40} is not a law; give one such as "
                         "lrsched.MomentumLaw(), or leave it out")
    if isinstance(base, (str, os.PathLike)):
        base = load_fit(base)
    if base is not None and not isinstance(base, Fit):
        raise InputError(f"base={base!r:.40} is not a fit; give a Fit, the path of a saved "
                         "one (FIT.json), or leave it out")
    if cooldown_steps is not None and (isinstance(cooldown_steps, bool) or not isinstance(
            cooldown_steps, int) or cooldown_steps < 1):
        raise InputError(f"cooldown_steps={cooldown_steps!r:.40} must be a whole number of "
                         "steps >= 1, or None (a share of the steps done)")
    if cooldown_steps is not None:
        check_run_length(cooldown_steps)
    constant().anneal_at(1, 1, shape=shape, final=final)  # the schedules' own checks
    return law, base


def _binned(steps: np.ndarray, losses: np.ndarray):
    """The points averaged in at most MAX_POINTS groups of consecutive points."""
    if steps.size <= MAX_POINTS:
        return steps, losses
    groups = np.array_split(np.arange(steps.size), MAX_POINTS)
    return (np.array([round(steps[g].mean()) for g in groups], dtype=np.int64),
            np.array([losses[g].mean() for g in groups]))


class LiveForecast:
    """Forecasts during training: ``observe(step, loss)`` each logged loss, then
    ``update(lrs)`` returns a ``Forecast`` when one is due (else None).

    ``every``: steps between forecasts; None (default): as often as keeps the time spent
    forecasting under ``cost`` of the training time: after a forecast that took c
    seconds, the next once the training has taken c / ``cost`` seconds more (the first
    after ``FIRST_COST / cost``: 50 s by default). ``plot``: a PNG path redrawn at
    each forecast. Other options go to ``forecast``.

    A forecast never stops the training: the options and the ``plot`` path are checked
    here (an InputError), and a forecast that cannot be made (too few points, no decay
    and no ``base``, a fit that does not converge, or any error inside it) is skipped
    with one warning saying why.
    """

    def __init__(self, *, every: int | None = None, cost: float = COST, plot=None, **options):
        if every is not None and (isinstance(every, bool) or not isinstance(every, int)
                                  or every < 1):
            raise InputError(f"every must be a number of steps >= 1, not {every!r:.40}")
        if isinstance(cost, bool) or not isinstance(cost, (int, float)) or not 0 < cost < 1:
            raise InputError(f"cost must be a share of the training time in (0, 1), not "
                             f"{cost!r:.40}")
        params = inspect.signature(forecast).parameters
        takes = [n for n, p in params.items() if p.kind is p.KEYWORD_ONLY]
        for name in options:
            if name not in takes:
                hint = difflib.get_close_matches(name, takes, 1)
                raise InputError(f"LiveForecast has no option {name!r}"
                                 + (f" (did you mean {hint[0]!r}?)" if hint else "")
                                 + f"; its options: every, cost, plot, {', '.join(takes)}")
        check_outputs(figures=[plot])
        options["law"], options["base"] = _options(
            **{n: options.get(n, params[n].default) for n in takes})
        self.every, self.cost, self.plot, self.options = every, cost, plot, options
        self.steps: list[int] = []
        self.losses: list[float] = []
        self._counts: list[int] = []  # losses averaged into each point
        self.spent = 0.0  # seconds spent forecasting
        self.forecasts = 0
        self._clock: float | None = None  # end of the last forecast (or first observe)
        self._last_cost = FIRST_COST
        self._last_step = None
        self._warned: set[str] = set()

    def observe(self, step: int, loss: float) -> None:
        """Record the loss logged at ``step`` (a repeated step is averaged in)."""
        if self._clock is None:
            self._clock = time.perf_counter()
        loss = float(loss)
        if not math.isfinite(loss):
            return
        if self.steps and step <= self.steps[-1]:
            if step == self.steps[-1]:
                self._counts[-1] += 1
                self.losses[-1] += (loss - self.losses[-1]) / self._counts[-1]
            return
        self.steps.append(int(step))
        self.losses.append(loss)
        self._counts.append(1)

    def due(self, now: int) -> bool:
        """Whether a forecast is due after ``now`` steps."""
        if self._last_step is not None and now <= self._last_step:
            return False
        if self.every is not None:
            return self._last_step is None or now - self._last_step >= self.every
        return time.perf_counter() - self._clock >= self._last_cost / self.cost

    def update(self, lrs, now: int | None = None) -> Forecast | None:
        """A forecast for the planned per-step LRs ``lrs`` (an array, or a function
        returning one, called only when a forecast is due) if one is due and can be made."""
        if not self.steps:
            return None
        now = self.steps[-1] + 1 if now is None else int(now)
        if not self.due(now):
            return None
        clock = time.perf_counter()
        result = None
        with self._never_raising("no forecast yet"):
            lrs = np.asarray(lrs() if callable(lrs) else lrs, dtype=float)
            if (np.asarray(self.steps) >= first_used_step(lrs[:now])).sum() < MIN_POINTS:
                self.spent += time.perf_counter() - clock
                return None
            result = forecast(self.steps, self.losses, lrs, now, **self.options)
        if result is not None and self.plot is not None:
            with self._never_raising(f"the forecast is not drawn to {self.plot}"):
                drawing.save_figure(result.figure(), self.plot)
        self._clock = time.perf_counter()
        self._last_cost = self._clock - clock
        self.spent += self._last_cost
        self._last_step = now
        self.forecasts += result is not None
        return result

    @contextlib.contextmanager
    def _never_raising(self, what: str):
        """Any error inside as one warning, ``what: why``: the training goes on."""
        try:
            yield
        except (InputError, FitError) as exc:
            self._warn(f"{what}: {_first_line(exc)}")
        except Exception as exc:  # a bug in lrsched: said, and never raised into the loop
            self._warn(f"{what}: {type(exc).__name__}: {_first_line(exc)} (an error in "
                       "lrsched; the training goes on)")

    def _warn(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            warnings.warn(message, stacklevel=2)


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def planned_lrs(scheduler, total_steps: int) -> np.ndarray:
    """The per-step LR of the first param group for steps 0 .. total_steps - 1, from a
    ``ScheduleLR`` (its first group's schedule) or a ``LambdaLR`` (its ``lr_lambdas``, as
    the ``transformers`` schedulers are)."""
    check_run_length(total_steps)
    if hasattr(scheduler, "schedules"):
        table = np.asarray(scheduler.schedules[0](np.arange(total_steps)), dtype=float)
    elif hasattr(scheduler, "lr_lambdas"):
        table = _lambda_table(scheduler.lr_lambdas[0], total_steps)
    else:
        raise InputError(f"cannot read the planned LRs from a {type(scheduler).__name__}; "
                         "use lrsched.ScheduleLR (a join of schedules where SequentialLR "
                         "chains them) or a LambdaLR, or call forecast() with the LRs")
    return float(scheduler.base_lrs[0]) * table


@functools.lru_cache(maxsize=4)
def _lambda_table(fn, total_steps: int) -> np.ndarray:
    return np.array([fn(t) for t in range(total_steps)], dtype=float)


# -- trainer callbacks (built on first use: transformers and lightning stay optional) ---

def _hf_callback():
    from transformers import TrainerCallback

    class HFForecastCallback(TrainerCallback):
        """Forecasts during ``transformers.Trainer.train``, from the training loss it logs
        (so at most every ``logging_steps``), logged with ``trainer.log`` as
        ``forecast/...``. ``trainer``: the Trainer (it owns the loggers); options: as
        ``LiveForecast``'s."""

        def __init__(self, trainer, **options):
            self.trainer = trainer
            self.live = LiveForecast(**options)
            self._logged_to = 0  # the global step of the last training-loss log
            self._logging = False

        def on_train_begin(self, args, state, control, **kwargs):
            self._logged_to = state.global_step  # not 0 when resumed from a checkpoint

        def on_log(self, args, state, control, logs=None, lr_scheduler=None, **kwargs):
            if self._logging or not logs or "loss" not in logs or lr_scheduler is None:
                return
            # the logged loss averages the steps since the last log: put it at their middle
            self.live.observe(round((self._logged_to + state.global_step - 1) / 2), logs["loss"])
            self._logged_to = state.global_step
            result = self.live.update(lambda: planned_lrs(lr_scheduler, state.max_steps),
                                      now=state.global_step)
            if result is not None:
                self._logging = True
                try:
                    self.trainer.log(result.metrics())
                finally:
                    self._logging = False

    return HFForecastCallback


def _lightning_callback():
    import torch
    from lightning.pytorch import Callback

    class LightningForecastCallback(Callback):
        """Forecasts during ``lightning.Trainer.fit`` from the training loss of each step
        (``training_step``'s ``loss``), logged to every ``trainer.loggers`` as
        ``forecast/...``; options: as ``LiveForecast``'s. Losses stay on the device until a
        forecast is due (no synchronisation per step)."""

        def __init__(self, **options):
            self.live = LiveForecast(**options)
            self._pending: list[tuple[int, torch.Tensor]] = []
            self._step = 0

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            self._step = trainer.global_step  # the optimizer step this batch is part of

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            loss = outputs["loss"] if isinstance(outputs, dict) else outputs
            if loss is None or not trainer.lr_scheduler_configs:
                return
            self._pending.append((self._step, loss.detach()))
            now = trainer.global_step
            if self.live.steps and not self.live.due(now):
                return
            values = torch.stack([v for _, v in self._pending]).float().cpu().tolist()
            for (step, _), value in zip(self._pending, values):
                self.live.observe(step, value)
            self._pending.clear()
            scheduler = trainer.lr_scheduler_configs[0].scheduler
            result = self.live.update(lambda: planned_lrs(scheduler, _run_length(trainer)),
                                      now=now)
            if result is not None:
                for logger in trainer.loggers:
                    logger.log_metrics(result.metrics(), step=now)

    def _run_length(trainer) -> int:
        total = trainer.max_steps if trainer.max_steps > 0 else trainer.estimated_stepping_batches
        if not math.isfinite(total):
            raise InputError("the run has no set length (max_steps=-1 and an endless data "
                             "loader); give the Trainer max_steps")
        return int(total)

    return LightningForecastCallback


_CALLBACKS = {"HFForecastCallback": _hf_callback, "LightningForecastCallback": _lightning_callback}


@functools.cache
def __getattr__(name: str):
    if name in _CALLBACKS:
        return _CALLBACKS[name]()
    raise AttributeError(f"module 'lrsched.forecast' has no attribute {name!r}")
