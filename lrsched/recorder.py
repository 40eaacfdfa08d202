"""``GradNormRecorder``: one gradient norm per optimizer step, for ``lrsched.refine``."""

from __future__ import annotations

import os
from array import array
from typing import Any, Literal

import numpy as np
import torch
from torch.nn.utils import get_total_norm
from torch.optim import Optimizer

from lrsched.refinement import save_norms

Norm = Literal["l1", "l2"]
# Optimizers that scale each coordinate on its own: their refinement uses l1 norms.
_COORDINATEWISE = {"adagrad", "adadelta", "rmsprop", "adafactor"}
_SKIPPED = -1.0  # marks a step a fused optimizer skipped (GradScaler found inf/nan)


class GradNormRecorder:
    """Records the norm of the gradient the optimizer steps with, once per step.

    Attaches with ``optimizer.register_step_pre_hook``, so the training loop stays as it
    is. The hook runs inside ``optimizer.step()``: it sees gradients after DDP's all-reduce
    and after ``GradScaler`` unscaling, and steps that ``GradScaler`` skips (inf/nan
    gradients) are not recorded. Norms stay on the gradients' device and are copied to the
    host every ``sync_every`` steps (no per-step sync); the record costs 8 bytes a step.

    Args:
        optimizer: the optimizer to watch.
        norm: ``"l1"`` (Adam-type, coordinate-wise optimizers), ``"l2"`` (SGD-type), or
            ``"auto"`` to choose from the optimizer's class. ``kind`` gives the matching
            ``refine(..., kind=...)``.
        sync_every: steps between copies of the pending norms to the host.
    """

    def __init__(self, optimizer: Optimizer, norm: Norm | Literal["auto"] = "auto",
                 sync_every: int = 256) -> None:
        if norm not in ("auto", "l1", "l2"):
            raise ValueError(f"norm={norm!r} is invalid; use 'auto', 'l1' or 'l2'")
        if sync_every < 1:
            raise ValueError(f"sync_every={sync_every!r} is invalid; give a whole number >= 1")
        self.norm: Norm = default_norm(optimizer) if norm == "auto" else norm
        self.sync_every = sync_every
        self._record = array("d")
        self._pending: list[torch.Tensor] = []
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

    def save(self, path: str | os.PathLike) -> None:
        """Write the norms to ``path``: .npy, or .csv with columns ``step,norm``.
        Read them back with ``lrsched.refinement.load_norms``."""
        save_norms(path, self.norms)

    def remove(self) -> None:
        """Detach from the optimizer; the norms recorded so far stay readable."""
        self._flush()
        self._handle.remove()

    def state_dict(self) -> dict[str, Any]:
        """The norm kind and the record (a float64 tensor: ``weights_only``-safe)."""
        return {"norm": self.norm, "norms": torch.from_numpy(self.norms)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume a record: the saved norms replace this recorder's."""
        if state_dict["norm"] != self.norm:
            raise ValueError(f"the saved record holds {state_dict['norm']} norms but this "
                             f"recorder measures {self.norm}; create it with "
                             f"norm={state_dict['norm']!r}")
        self._pending.clear()
        self._record = array("d", np.asarray(state_dict["norms"], dtype=np.float64).tolist())

    def _hook(self, optimizer: Optimizer, args, kwargs) -> None:
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
        self._pending.append(norm.detach())
        if len(self._pending) >= self.sync_every:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            values = torch.stack(self._pending).to("cpu", torch.float64)
            self._record.extend(v for v in values.tolist() if v != _SKIPPED)
            self._pending.clear()


def default_norm(optimizer: Optimizer) -> Norm:
    """``"l1"`` for Adam-type (coordinate-wise) optimizers, ``"l2"`` for the rest."""
    names = {cls.__name__.lower() for cls in type(optimizer).__mro__}
    return "l1" if names & _COORDINATEWISE or any("adam" in n for n in names) else "l2"
