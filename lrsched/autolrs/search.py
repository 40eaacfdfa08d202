"""AutoLRS (Jin et al. 2021, "AutoLRS: Automatic Learning-Rate Schedule by Bayesian
Optimization on the Fly", arXiv 2105.10762): one constant LR per training stage, found
by Bayesian optimisation while the model trains.

A stage: snapshot the run; for each of k trials, the BO proposes an LR η (log-uniform
range), training restarts from the snapshot and runs τ' steps at η, and a forecaster
predicts the loss after τ steps from the trial's losses: the forecast is the BO
objective. Then the snapshot is restored and the LR with the best forecast trains τ
steps: the exploitation, the part of the run that is kept. τ' and τ double stage by
stage while τ stays within τ_max; once τ' >= τ_max / 10 the trials are scored on the
validation loss (when ``val_loss`` is given), measured up to VAL_POINTS times a trial.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import os
from collections.abc import Callable, Iterable

import numpy as np
import torch

from lrsched import drawing
from lrsched.autolrs import bo
from lrsched.autolrs.figure import search_figure
from lrsched.autolrs.forecast import TrialCurve, as_forecaster
from lrsched.errors import InputError
from lrsched.files import atomic_path, json_ready
from lrsched.scheduler import set_lrs
from lrsched.schedules import Schedule, tabulated
from lrsched.snapshot import Snapshot

VERSION = 1  # of state_dict() and the saved history
EXPLODE = 10.0  # a loss above this many times the run's first loss has diverged
VAL_POINTS = 10  # validation losses per trial, when trials are scored on validation loss
_CONFIG = ("lr_range", "trials", "tau_trial", "tau", "tau_max", "base_lr")
log = logging.getLogger(__name__)


class AutoLRS:
    """Search the LR of each training stage on the fly, and keep the run it trains.

    Args:
        model, optimizer: the user's; each group's ``lr`` at construction is its initial
            LR, and the searched LRs are those of group 0 (other groups keep their ratio).
        train_step: ``train_step(batch) -> loss``: forward, backward and
            ``optimizer.step()`` as the user's loop does them (AutoLRS sets the LR).
        lr_range: (low, high), the LRs the BO may try, log-uniformly.
        trials: k, LRs tried per stage (paper: 10).
        tau_trial, tau: τ' and τ of the first stage (paper: 100 and 1000).
        tau_max: τ doubles while it stays within this (default 8·tau: the paper's 8000
            for τ = 1000).
        val_loss: optional ``() -> float``, the validation loss of the model as it is;
            it scores the trials once τ' >= tau_max / 10 (the paper). Put the model back
            in training mode before returning.
        seed: of the BO's random generator.
        forecaster: ``"exponential"`` (the paper's), ``"momentum"`` (the momentum law) or
            a callable ``(TrialCurve) -> float``; see ``lrsched.autolrs.forecast``.
        kappa: κ of the LCB acquisition μ − κσ.
        snapshot_path: keep the stage snapshot in this file instead of CPU memory (under
            torch.distributed each rank appends ``.rank<r>``).

    Costs are counted honestly: ``steps_used`` is every optimizer step taken, trials and
    failed attempts included, and ``run(batches, total_steps)`` stops at that budget.
    """

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                 train_step: Callable[[object], float], lr_range: tuple[float, float],
                 trials: int = 10, tau_trial: int = 100, tau: int = 1000,
                 tau_max: int | None = None, val_loss: Callable[[], float] | None = None,
                 seed: int = 0, forecaster="exponential", kappa: float = 2.0,
                 snapshot_path: str | os.PathLike | None = None):
        _require_extra()
        lo, hi = (float(x) for x in lr_range)
        if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
            raise InputError(f"lr_range={tuple(lr_range)} is invalid: give (low, high) with "
                             "0 < low < high, e.g. (1e-4, 1e-1)")
        tau_max = 8 * tau if tau_max is None else tau_max
        _check_int("trials", trials, 1)
        _check_int("tau_trial", tau_trial, 4)
        _check_int("tau", tau, 1)
        _check_int("tau_max", tau_max, 1)
        if tau_trial >= tau:
            raise InputError(f"tau_trial={tau_trial} must be shorter than tau={tau}: a trial "
                             "looks a few steps ahead of the tau steps it forecasts")
        if tau_max < tau:
            raise InputError(f"tau_max={tau_max} must be at least tau={tau}")
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        base_lr = float(optimizer.param_groups[0]["initial_lr"])
        if not base_lr > 0:
            raise InputError(f"the optimizer's lr is {base_lr}; build it with lr > 0 (the "
                             "schedule AutoLRS finds is a multiple of that LR)")
        self.model, self.optimizer, self.train_step = model, optimizer, train_step
        self.val_loss, self.kappa, self.seed = val_loss, kappa, seed
        self.forecaster = as_forecaster(forecaster)
        self.snapshot_path = snapshot_path
        self.config = {"lr_range": [lo, hi], "trials": trials, "tau_trial": tau_trial,
                       "tau": tau, "tau_max": tau_max, "base_lr": base_lr}
        self.history: list[dict] = []  # one record per trial
        self.stages: list[dict] = []  # one record per stage
        self.steps_used = 0  # optimizer steps taken, trials included
        self.batches_used = 0  # batches drawn from the run's iterator
        self._size = (tau_trial, tau)  # τ', τ of the next stage, before fitting the budget
        self._rng = np.random.default_rng(seed)
        self._where = ""  # what the search is doing, for error messages

    # -- the search --------------------------------------------------------------------
    def run(self, batches: Iterable, total_steps: int,
            on_stage: Callable[[AutoLRS], None] | None = None) -> AutoLRS:
        """Train until ``steps_used`` reaches ``total_steps`` (trial steps count).

        ``batches`` yields one batch per optimizer step (trials draw from it too).
        ``on_stage(self)`` runs after each stage: the place to checkpoint the model, the
        optimizer and ``self.state_dict()``. A resumed search calls ``run`` again with the
        same ``total_steps`` and an iterator positioned after ``batches_used`` batches.
        """
        _check_int("total_steps", total_steps, 1)
        batches = iter(batches)
        while self.steps_used < total_steps:
            tau_trial, tau = self._fit_stage(total_steps - self.steps_used)
            self._stage(batches, tau_trial, tau)
            if 2 * self._size[1] <= self.config["tau_max"]:
                self._size = (2 * self._size[0], 2 * self._size[1])
            if on_stage is not None:
                on_stage(self)
        return self

    def _fit_stage(self, remaining: int) -> tuple[int, int]:
        """(τ', τ) of the next stage within ``remaining`` steps: halved (not below the
        first stage's) until the stage fits, and the last stage's τ takes the steps no
        further stage would fit in."""
        k, first = self.config["trials"], (self.config["tau_trial"], self.config["tau"])
        tau_trial, tau = self._size
        while k * tau_trial + tau > remaining and tau > first[1]:
            tau_trial, tau = tau_trial // 2, tau // 2
        cost = k * tau_trial + tau
        if cost > remaining:
            raise InputError(f"{remaining} steps left is less than one stage ({k} trials x "
                             f"{tau_trial} steps + tau={tau}); raise total_steps or lower "
                             "trials, tau_trial or tau")
        if remaining - cost < k * first[0] + first[1]:
            tau += remaining - cost
        return tau_trial, tau

    def _stage(self, batches, tau_trial: int, tau: int) -> None:
        stage = len(self.stages)
        mark = (len(self.history), self._rng.bit_generator.state, self.steps_used)
        snapshot = Snapshot(self.model, self.optimizer, path=self._snapshot_file())
        use_val = self.val_loss is not None and tau_trial >= self.config["tau_max"] / 10
        self._where = "validation loss at the stage start"
        try:
            start_val = float(self.val_loss()) if use_val else None
            trials = []
            for i in range(self.config["trials"]):
                lr = _from_rank0(lambda: self._propose(trials))
                trials.append(self._trial(batches, stage, i, lr, tau_trial, tau, start_val))
                self.history.append(trials[-1])
                snapshot.restore()
            end = self.steps_used + tau + sum(tau_trial - t["steps"] for t in trials)
            self.stages.append(self._exploit(batches, stage, snapshot, trials, tau_trial, end,
                                             "val" if use_val else "train"))
        except BaseException as exc:
            snapshot.restore()
            del self.history[mark[0]:]
            self._rng.bit_generator.state = mark[1]
            if not isinstance(exc, Exception):
                raise
            raise RuntimeError(
                f"AutoLRS stage {stage}, {self._where}: {type(exc).__name__}: {exc} (model, "
                f"optimizer and random state are back at the start of stage {stage}; the "
                f"{self.steps_used - mark[2]} steps it took still count in steps_used, and "
                f"batches_used={self.batches_used}: run() again starts stage {stage} over on "
                "the batches that follow)") from exc
        finally:
            if self.snapshot_path is not None:
                os.remove(self._snapshot_file())

    def _propose(self, trials: list[dict]) -> float:
        lo, hi = np.log(self.config["lr_range"])
        scores = [np.inf if t["forecast"] is None else t["forecast"] for t in trials]
        log_lrs = [math.log(t["lr"]) for t in trials]
        return math.exp(bo.propose(log_lrs, scores, (lo, hi), self._rng, self.kappa))

    def _trial(self, batches, stage, i, lr, tau_trial, tau, start_val) -> dict:
        """Train τ' steps at ``lr`` from the snapshot; the record with its forecast."""
        every = -(-tau_trial // VAL_POINTS) if start_val is not None else 0
        losses, val_steps, val_losses = self._train(
            batches, lr, tau_trial, f"trial {i} at lr={lr:.4g}", val_every=every)
        diverged = len(losses) < tau_trial or not all(map(math.isfinite, losses))
        if start_val is None:
            steps, series = np.arange(len(losses)), losses
        else:
            steps, series = [0, *val_steps], [start_val, *val_losses]
        forecast = None
        if not diverged:
            self._where = f"forecasting trial {i} at lr={lr:.4g}"
            curve = TrialCurve(np.asarray(steps), np.asarray(series, dtype=float), lr, tau,
                               self._past_lrs())
            forecast = _from_rank0(lambda: float(self.forecaster(curve)))
            diverged = not math.isfinite(forecast)
        log.info("stage %d trial %d: lr=%.4g forecast=%s", stage, i, lr, forecast)
        record = {"stage": stage, "trial": i, "lr": lr, "steps": len(losses),
                  "losses": json_ready(losses), "forecast": None if diverged else forecast,
                  "diverged": diverged, "objective": "train" if start_val is None else "val"}
        if start_val is not None:
            record.update(val_steps=[0, *val_steps], val_losses=json_ready(series))
        return record

    def _exploit(self, batches, stage, snapshot, trials, tau_trial, end, objective) -> dict:
        """Train at the best-forecast LR up to step ``end`` of the budget: τ steps, plus
        the steps diverged trials left unused; if it diverges, restore and take the next
        best LR for the steps still left (as few as one)."""
        ranked = sorted((t for t in trials if t["forecast"] is not None),
                        key=lambda t: t["forecast"])
        failed, spent = [], 0
        for rank, best in enumerate(ranked):
            tau, first_batch = end - self.steps_used, self.batches_used
            if tau < 1:
                tried = ", ".join(f"{lr:.3g}" for lr in failed)
                raise FloatingPointError(
                    f"the exploitation at lr={tried} diverged on the stage's last step, "
                    f"using up its {spent} steps; {len(ranked) - rank} forecast LR(s) were "
                    "left untried (lower lr_range, or check the model for NaNs)")
            label = f"exploitation at lr={best['lr']:.4g}"
            losses = self._train(batches, best["lr"], tau, label)[0]
            spent += len(losses)
            if len(losses) == tau and all(map(math.isfinite, losses)):
                start = sum(s["tau"] for s in self.stages)
                log.info("stage %d: lr=%.4g for %d steps (%d steps used)", stage, best["lr"],
                         tau, self.steps_used)
                return {"stage": stage, "tau_trial": tau_trial, "tau": tau,
                        "objective": objective, "lr": best["lr"],
                        "multiplier": best["lr"] / self.config["base_lr"],
                        "forecast": best["forecast"], "failed_lrs": failed,
                        "trial_steps": sum(t["steps"] for t in trials), "exploit_steps": spent,
                        "steps": [start, start + tau],
                        "batches": [first_batch, first_batch + tau], "losses": losses,
                        "steps_used": self.steps_used}
            failed.append(best["lr"])
            snapshot.restore()
        raise FloatingPointError(f"every LR tried diverged ({len(trials)} trials, the lowest "
                                 f"LR {min(t['lr'] for t in trials):.3g}, {len(failed)} "
                                 "exploitation attempts); lower lr_range, or check the model "
                                 "for NaNs")

    def _train(self, batches, lr: float, steps: int, label: str, val_every: int = 0):
        """Up to ``steps`` steps at ``lr``: (losses, validation steps, validation losses).

        Stops early at a non-finite loss or one above EXPLODE times the run's first loss.
        Losses are averaged over ranks under torch.distributed, so every rank decides alike.
        """
        multiplier = lr / self.config["base_lr"]
        # initial_lr x multiplier, set as ScheduleLR sets it (one code path): replays match
        set_lrs(self.optimizer, [g["initial_lr"] * multiplier
                                 for g in self.optimizer.param_groups])
        first = next((t["losses"][0] for t in self.history if t["losses"][0] is not None), None)
        losses, val_steps, val_losses = [], [], []
        for j in range(steps):
            self._where = f"{label}, step {j}"
            batch = next(batches, _END)
            if batch is _END:
                raise InputError(f"the batches ran out after {self.batches_used}; give an "
                                 "endless iterator (e.g. itertools.cycle) or more batches")
            self.batches_used += 1
            loss = _mean_over_ranks(float(self.train_step(batch)))
            self.steps_used += 1
            losses.append(loss)
            first = loss if first is None else first
            if not math.isfinite(loss) or 0 < EXPLODE * first < loss:
                break
            if val_every and (j + 1) % val_every == 0:
                self._where = f"{label}, validation after step {j}"
                val_steps.append(j + 1)
                val_losses.append(float(self.val_loss()))
        return losses, val_steps, val_losses

    def _past_lrs(self) -> np.ndarray:
        """Group 0's LR at every kept (exploitation) step so far."""
        return np.concatenate([np.full(s["tau"], s["lr"]) for s in self.stages] or [[]])

    def _snapshot_file(self) -> str | None:
        if self.snapshot_path is None:
            return None
        rank = _rank_and_size()[0]
        return os.fspath(self.snapshot_path) + (f".rank{rank}" if _rank_and_size()[1] > 1 else "")

    # -- results -----------------------------------------------------------------------
    def schedule(self) -> Schedule:
        """The kept run's LRs as a tabulated Schedule of multipliers of the optimizer's
        initial LR, one entry per exploitation step (trial steps are not in it): a table
        point at each stage's first and last step (one for a one-step stage).

        ``ScheduleLR(optimizer, search.schedule())`` on an optimizer built like the
        original, from the same start state, fed the exploitation batches (each stage's
        ``batches`` range of the stream) reproduces the searched run's parameters exactly.
        """
        if not self.stages:
            raise InputError("no stage has run yet; call run() first")
        steps, values = [], []
        for s in self.stages:
            ends = sorted({s["steps"][0], s["steps"][1] - 1})
            steps += ends
            values += [s["multiplier"]] * len(ends)
        return tabulated(values=values, steps=steps)

    def state_dict(self) -> dict:
        """The search state (JSON-able): settings, sizes, counters, history, BO generator.
        Save it with the model and optimizer state to resume the search later."""
        return {"version": VERSION, "config": dict(self.config), "size": list(self._size),
                "steps_used": self.steps_used, "batches_used": self.batches_used,
                "history": self.history, "stages": self.stages,
                "rng": self._rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        """Resume from ``state_dict()``; the search must be built with the same settings."""
        if state.get("version") != VERSION:
            raise InputError(f"search state version {state.get('version')!r}; this lrsched "
                             f"reads version {VERSION}")
        for key in _CONFIG:
            if state["config"][key] != self.config[key]:
                raise InputError(f"the saved search has {key}={state['config'][key]}, this one "
                                 f"{self.config[key]}; build AutoLRS with the same settings")
        self._size = tuple(state["size"])
        self.steps_used, self.batches_used = state["steps_used"], state["batches_used"]
        self.history, self.stages = list(state["history"]), list(state["stages"])
        self._rng.bit_generator.state = state["rng"]

    def save_history(self, path: str | os.PathLike) -> None:
        """Write ``state_dict()`` (every trial: LR, steps, losses, forecast; every stage)
        as JSON, atomically."""
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(self.state_dict(), allow_nan=False) + "\n")

    def plot(self, path: str | os.PathLike | None = None):
        """The search picture (``figure.search_figure``); saved to ``path`` if given."""
        fig = search_figure(self.state_dict())
        if path is not None:
            drawing.save_figure(fig, path)
        return fig


_END = object()


def _check_int(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"{name}={value!r} is invalid; give a whole number >= {minimum}")


def _require_extra() -> None:
    """A one-line error now, not a ModuleNotFoundError at the fourth trial, when the
    ``autolrs`` extra (scikit-learn, which brings threadpoolctl) is not installed."""
    missing = [name for name in ("sklearn", "threadpoolctl")
               if importlib.util.find_spec(name) is None]
    if missing:
        raise ModuleNotFoundError(f"AutoLRS needs scikit-learn (missing: {', '.join(missing)}"
                                  "); install it with: pip install 'lrsched-toolkit[autolrs]'",
                                  name=missing[0])


def _rank_and_size() -> tuple[int, int]:
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _from_rank0(compute: Callable[[], float]) -> float:
    """``compute()`` on rank 0, broadcast to every rank (just ``compute()`` alone).

    It runs with one BLAS thread: the GP and the forecast fits work on tiny arrays, where
    a thread pool's start-up costs ten times the work."""
    from threadpoolctl import threadpool_limits

    rank, size = _rank_and_size()
    with threadpool_limits(1, user_api="blas"):
        value = compute() if rank == 0 else None
    if size == 1:
        return value
    box = [value]
    torch.distributed.broadcast_object_list(box, src=0)
    return box[0]


def _mean_over_ranks(loss: float) -> float:
    size = _rank_and_size()[1]
    if size == 1:
        return loss
    device = "cuda" if torch.distributed.get_backend() == "nccl" else "cpu"
    total = torch.tensor([loss], dtype=torch.float64, device=device)
    torch.distributed.all_reduce(total)
    return float(total) / size
