"""The LR range test (Smith 2017, "Cyclical Learning Rates for Training Neural
Networks"): train a few steps while the LR rises from ``start_lr`` to ``end_lr``, watch
the smoothed loss, and read a peak LR off the curve; then put the model and optimizer
back exactly as they were.

``lr_range_test(model, optimizer, batches, loss_fn)`` is a plain loop (as the
torch-lr-finder package's), with gradient accumulation and autocast (AMP, with an
optional GradScaler) as that package has them. It returns a ``RangeTest``: the LRs, the
raw and smoothed losses, the two suggestions users know (the steepest descent of the
smoothed loss, and the LR of its minimum / 10) and its picture.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn.utils import clip_grad_norm_

from lrsched import drawing
from lrsched.errors import InputError
from lrsched.files import atomic_path
from lrsched.snapshot import Snapshot

MODES = ("exp", "linear")


@dataclass(frozen=True)
class RangeTest:
    """What a range test measured, and its suggestions.

    ``lrs``, ``losses`` and ``smoothed`` hold one value per step done (the loss of the
    step's batch, and its exponential moving average); ``stopped`` is the step whose
    loss diverged (the loop stopped before it was recorded), None when every step ran.
    The suggestions are read off ``smoothed`` without its first ``skip[0]`` and last
    ``skip[1]`` points: ``steepest``, the LR where it falls fastest per step of the
    ramp (per unit log LR on an exponential ramp, the spacing the LRs were drawn at: a
    slope per unit LR there favours the noisy top end, Lightning #21141), and
    ``min_over_10``, the LR of its minimum divided by 10.
    """

    mode: str
    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    stopped: int | None
    skip: tuple[int, int]

    @property
    def window(self) -> slice:
        """The points the suggestions are read from."""
        return slice(self.skip[0], self.lrs.size - self.skip[1])

    @property
    def steepest(self) -> float:
        """The LR where the smoothed loss falls fastest."""
        return float(self.lrs[self.window][np.argmin(np.gradient(self.smoothed[self.window]))])

    @property
    def min_over_10(self) -> float:
        """The LR of the smoothed loss' minimum, divided by 10."""
        return float(self.lrs[self.window][np.argmin(self.smoothed[self.window])] / 10)

    @property
    def suggestions(self) -> dict[str, float]:
        return {"steepest": self.steepest, "min/10": self.min_over_10}

    def write_csv(self, path: str | os.PathLike) -> None:
        """The columns lr, loss, smoothed, a row per step (atomically)."""
        with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(["lr", "loss", "smoothed"])
            writer.writerows((f"{a:.7g}", f"{b:.7g}", f"{c:.7g}")
                             for a, b, c in zip(self.lrs, self.losses, self.smoothed))

    def figure(self):
        """Loss against LR: the raw losses, the smoothed curve, and both suggestions."""
        fig = drawing.figure(6, 4)
        ax = fig.subplots()
        ax.plot(self.lrs, self.losses, ".", ms=3, color="0.7", label="loss")
        ax.plot(self.lrs, self.smoothed, color="C0", label="smoothed")
        for (name, lr), color in zip(self.suggestions.items(), ("C3", "C2")):
            ax.axvline(lr, color=color, lw=1, ls="--", label=f"{name}: {lr:.3g}")
        low, start = min(self.losses.min(), self.smoothed.min()), self.smoothed[0]
        ax.set_ylim(low - 0.1 * (start - low), start + 0.5 * (start - low))
        if self.mode == "exp":
            ax.set_xscale("log")
        ax.set(xlabel="learning rate", ylabel="training loss",
               title="LR range test" + (f" (diverged at step {self.stopped})"
                                        if self.stopped is not None else ""))
        ax.legend(fontsize=8)
        return fig

    def plot(self, path: str | os.PathLike | None = None):
        """The figure; saved to ``path`` if given."""
        fig = self.figure()
        if path is not None:
            drawing.save_figure(fig, path)
        return fig


def lr_range_test(model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                  batches: Iterable, loss_fn: Callable, *, start_lr: float = 1e-7,
                  end_lr: float = 10.0, steps: int = 100, mode: str = "exp",
                  smooth: float = 0.05, diverge: float = 5.0, accumulation_steps: int = 1,
                  grad_clip: float | None = None, amp_dtype: torch.dtype | None = None,
                  grad_scaler: torch.amp.GradScaler | None = None,
                  skip: tuple[int, int] = (10, 5)) -> RangeTest:
    """Run the LR range test, then restore the model, the optimizer (its LRs and state),
    a ``grad_scaler`` and the random generators bit for bit (``lrsched.Snapshot``).

    Step ``i`` of ``steps`` trains at ``start_lr * (end_lr / start_lr) ** (i / (steps - 1))``
    (``mode="exp"``) or on the straight line between them (``"linear"``), the same LR in
    every param group, on ``accumulation_steps`` batches of ``batches`` (an iterable,
    started again when it runs out), each loss ``loss_fn(model, batch)`` divided by
    their number. The smoothed loss is ``smooth * loss + (1 - smooth) * previous``; the
    test stops once it exceeds ``diverge`` times its lowest value, or a loss is not
    finite. ``amp_dtype`` runs the forward passes under ``torch.autocast``;
    ``grad_clip`` clips the gradient norm (after ``grad_scaler`` unscales it).

    Unusable input, a loss that is not finite at the first step, or a test that
    diverges before the suggestions have points: InputError, with everything restored.
    """
    _check(start_lr, end_lr, steps, mode, smooth, diverge, accumulation_steps, skip)
    ramp = (np.geomspace if mode == "exp" else np.linspace)(start_lr, end_lr, steps)
    params = [p for group in optimizer.param_groups for p in group["params"]]
    device = params[0].device  # an optimizer holds at least one parameter
    snapshot = Snapshot(model, optimizer)
    scaler_state = grad_scaler.state_dict() if grad_scaler is not None else None
    modes = [m.training for m in model.modules()]
    lrs, losses, smoothed, stopped = [], [], [], None
    try:
        model.train()
        source = _Cycle(batches)
        for i, lr in enumerate(ramp):
            for group in optimizer.param_groups:
                group["lr"] = float(lr)
            optimizer.zero_grad(set_to_none=True)
            total = torch.zeros((), device=device)
            for _ in range(accumulation_steps):
                with (torch.autocast(device.type, dtype=amp_dtype) if amp_dtype is not None
                      else contextlib.nullcontext()):
                    loss = loss_fn(model, source.next()) / accumulation_steps
                (grad_scaler.scale(loss) if grad_scaler is not None else loss).backward()
                total += loss.detach().float()
            if grad_clip:
                if grad_scaler is not None:
                    grad_scaler.unscale_(optimizer)
                clip_grad_norm_(params, grad_clip)
            if grad_scaler is not None:
                grad_scaler.step(optimizer)
                grad_scaler.update()
            else:
                optimizer.step()
            value = float(total)
            average = value if not smoothed else smooth * value + (1 - smooth) * smoothed[-1]
            if not math.isfinite(value) or (smoothed and average > diverge * min(smoothed)):
                stopped = i
                break
            lrs.append(float(lr))
            losses.append(value)
            smoothed.append(average)
    finally:
        snapshot.restore()
        if grad_scaler is not None:
            grad_scaler.load_state_dict(scaler_state)
        for module, training in zip(model.modules(), modes):
            module.training = training
    if not lrs:
        raise InputError(f"the loss was not finite at the first step (LR {start_lr:.3g}); "
                         "check the model and loss_fn, or give a lower start_lr")
    if len(lrs) < sum(skip) + 2:
        raise InputError(f"the loss diverged at step {stopped} of {steps} (LR "
                         f"{ramp[stopped]:.3g}), before the {sum(skip) + 2} steps the "
                         "suggestions need; give a lower start_lr (or end_lr)")
    return RangeTest(mode, np.array(lrs), np.array(losses), np.array(smoothed), stopped,
                     tuple(skip))


def _check(start_lr, end_lr, steps, mode, smooth, diverge, accumulation_steps, skip) -> None:
    if mode not in MODES:
        raise InputError(f"mode={mode!r}: give one of {', '.join(MODES)}")
    for name, value in (("start_lr", start_lr), ("end_lr", end_lr)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise InputError(f"{name}={value!r}: give a finite learning rate > 0")
    if end_lr <= start_lr:
        raise InputError(f"the LR range {start_lr:g} to {end_lr:g} is inverted or empty; "
                         "give start_lr < end_lr")
    if not 0 < smooth <= 1:
        raise InputError(f"smooth={smooth!r}: give the new loss' weight, in (0, 1]")
    if not diverge > 1:
        raise InputError(f"diverge={diverge!r}: give a factor > 1 over the lowest loss")
    for name, value, low in (("accumulation_steps", accumulation_steps, 1),
                             *((f"skip[{i}]", s, 0) for i, s in enumerate(skip))):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InputError(f"{name}={value!r}: give a whole number >= {low}")
    need = sum(skip) + math.ceil(1 / smooth)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < need:
        raise InputError(f"steps={steps!r} are too few for the smoothing (smooth={smooth:g} "
                         f"spans {math.ceil(1 / smooth)} steps) and the skipped ends "
                         f"{tuple(skip)}; give steps >= {need}")


class _Cycle:
    """The batches of an iterable, started again each time it runs out."""

    def __init__(self, batches: Iterable) -> None:
        self.batches, self.it = batches, iter(batches)

    def next(self):
        try:
            return next(self.it)
        except StopIteration:
            self.it = iter(self.batches)
            try:
                return next(self.it)
            except StopIteration:
                raise InputError("batches ran out, and starting them again gives none; "
                                 "give a list or a DataLoader, not a used-up iterator") \
                    from None
