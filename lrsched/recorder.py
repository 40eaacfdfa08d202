"""``GradNormRecorder``: one gradient norm per optimizer step, for ``lrsched.refine``."""

from __future__ import annotations

import os
from array import array
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import torch
from torch.nn.utils import get_total_norm
from torch.optim import Optimizer

from lrsched.errors import InputError
from lrsched.refinement import save_norms

Norm = Literal["l1", "l2"]
# Optimizers that scale each coordinate on its own: their refinement uses l1 norms.
_COORDINATEWISE = {"adagrad", "adadelta", "rmsprop", "adafactor"}
_SKIPPED = -1.0  # marks a step a fused optimizer skipped (GradScaler found inf/nan)


class GradNormRecorder:
    """Records the norm of the gradient the optimizer steps with, once per step, and the
    number of that step.

    Attaches with ``optimizer.register_step_pre_hook``, so the training loop stays as it
    is. The hook runs inside ``optimizer.step()``: it sees gradients after DDP's all-reduce
    and after ``GradScaler`` unscaling. A step that ``GradScaler`` skips (inf/nan
    gradients) records no norm but keeps its number, so ``steps`` has a gap there and
    ``norms[i]`` is the norm of step ``steps[i]``. Norms stay on the gradients' device
    and are copied to the host every ``sync_every`` steps (no per-step sync); the record
    costs 16 bytes a step.

    Steps are numbered by the calls of ``optimizer.step()``, from 0. GradScaler calls a
    fused optimizer (``fused=True``) on a skipped step, but skips the call of any other
    optimizer, so give ``step`` to count those: a function returning the number of the
    step about to be taken, e.g. ``step=lambda: scheduler.last_epoch`` when the
    scheduler steps once per iteration.

    Args:
        optimizer: the optimizer to watch.
        norm: ``"l1"`` (Adam-type, coordinate-wise optimizers), ``"l2"`` (SGD-type), or
            ``"auto"`` to choose from the optimizer's class. ``kind`` gives the matching
            ``refine(..., kind=...)``.
        sync_every: steps between copies of the pending norms to the host.
        step: ``() -> int``, the number of the step being taken (default: the count of
            ``optimizer.step()`` calls).
    """

    def __init__(self, optimizer: Optimizer, norm: Norm | Literal["auto"] = "auto",
                 sync_every: int = 256, step: Callable[[], int] | None = None) -> None:
        if norm not in ("auto", "l1", "l2"):
            raise InputError(f"norm={norm!r} is invalid; use 'auto', 'l1' or 'l2'")
        if isinstance(sync_every, bool) or not isinstance(sync_every, int) or sync_every < 1:
            raise InputError(f"sync_every={sync_every!r} is invalid; give a whole number >= 1")
        self.norm: Norm = default_norm(optimizer) if norm == "auto" else norm
        self.sync_every = sync_every
        self._step = step
        self._calls = 0  # optimizer.step() calls seen
        self._steps = array("q")
        self._record = array("d")
        self._pending: list[tuple[int, torch.Tensor]] = []
        self._handle = optimizer.register_step_pre_hook(self._hook)

    @property
    def kind(self) -> Literal["adam", "sgd"]:
        """The ``refine`` kind for these norms: ``"adam"`` for l1, ``"sgd"`` for l2."""
        return "adam" if self.norm == "l1" else "sgd"

    @property
    def norms(self) -> np.ndarray:
        """The recorded norms, one per step taken (a float64 copy)."""
        self._flush()
        return np.array(self._record, dtype=np.float64)

    @property
    def steps(self) -> np.ndarray:
        """The step of each norm (an int64 copy): gaps where steps were skipped."""
        self._flush()
        return np.array(self._steps, dtype=np.int64)

    def save(self, path: str | os.PathLike) -> None:
        """Write the steps and norms to ``path``: .csv with columns ``step,norm``, or .npy
        (a table of both). Read them back with ``lrsched.refinement.read_norms``."""
        save_norms(path, self.norms, self.steps)

    def remove(self) -> None:
        """Detach from the optimizer; the norms recorded so far stay readable."""
        self._flush()
        self._handle.remove()

    def state_dict(self) -> dict[str, Any]:
        """The norm kind, the record and its steps (tensors: ``weights_only``-safe), and
        the count of ``optimizer.step()`` calls."""
        return {"norm": self.norm, "norms": torch.from_numpy(self.norms),
                "steps": torch.from_numpy(self.steps), "calls": self._calls}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume a record: the saved norms and steps replace this recorder's."""
        if state_dict["norm"] != self.norm:
            raise InputError(f"the saved record holds {state_dict['norm']} norms but this "
                             f"recorder measures {self.norm}; create it with "
                             f"norm={state_dict['norm']!r}")
        norms = np.asarray(state_dict["norms"], dtype=np.float64)
        steps = np.asarray(state_dict.get("steps", np.arange(len(norms))), dtype=np.int64)
        if steps.shape != norms.shape:
            raise InputError(f"the saved record has {len(steps)} steps for {len(norms)} "
                             "norms; save it again with state_dict()")
        self._pending.clear()
        self._record = array("d", norms.tolist())
        self._steps = array("q", steps.tolist())
        self._calls = int(state_dict.get("calls", steps[-1] + 1 if len(steps) else 0))

    def _hook(self, optimizer: Optimizer, args, kwargs) -> None:
        step = self._calls if self._step is None else int(self._step())
        self._calls += 1
        grads = [p.grad for group in optimizer.param_groups for p in group["params"]
                 if p.grad is not None]
        if not grads:
            return
        wide = [g if g.dtype in (torch.float32, torch.float64) else g.float() for g in grads]
        norm = get_total_norm(wide, norm_type=1.0 if self.norm == "l1" else 2.0)
        # GradScaler hands fused optimizers scaled gradients, with the scale and an
        # inf/nan flag as attributes; such a step is skipped inside the optimizer.
        scale = getattr(optimizer, "grad_scale", None)
        if scale is not None:
            norm = norm / scale.to(norm.device)
        found_inf = getattr(optimizer, "found_inf", None)
        if found_inf is not None:
            norm = torch.where(found_inf.to(norm.device) > 0, _SKIPPED, norm)
        self._pending.append((step, norm.detach()))
        if len(self._pending) >= self.sync_every:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            values = torch.stack([n for _, n in self._pending]).to("cpu", torch.float64)
            for (step, _), value in zip(self._pending, values.tolist()):
                if value != _SKIPPED:
                    self._steps.append(step)
                    self._record.append(value)
            self._pending.clear()


def default_norm(optimizer: Optimizer) -> Norm:
    """``"l1"`` for Adam-type (coordinate-wise) optimizers, ``"l2"`` for the rest."""
    names = {cls.__name__.lower() for cls in type(optimizer).__mro__}
    return "l1" if names & _COORDINATEWISE or any("adam" in n for n in names) else "l2"
