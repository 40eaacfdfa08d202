"""Copies of a training run's state, to branch off and come back (torch)."""

from __future__ import annotations

import contextlib
import copy
import os
import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch


def _to_cpu(obj: Any) -> Any:
    """``obj`` with every tensor replaced by a CPU copy (dicts, lists, tuples walked)."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj


class Snapshot:
    """The state of model, optimizer, scheduler and random generators at one moment.

    Held as CPU copies in memory, or in the file ``path`` (for models too large to copy
    in memory). ``restore()`` puts everything back in place, so the parameters the
    optimizer holds stay the same objects; the run then continues exactly as from the
    moment of the snapshot, as often as it is restored.
    """

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                 scheduler=None, path: str | os.PathLike | None = None):
        self.model, self.optimizer, self.scheduler, self.path = model, optimizer, scheduler, path
        state = {
            "model": _to_cpu(model.state_dict()),
            "optimizer": _to_cpu(optimizer.state_dict()),
            "scheduler": None if scheduler is None else _to_cpu(scheduler.state_dict()),
            "rng": {"torch": torch.get_rng_state(),
                    "numpy": np.random.get_state(),  # noqa: NPY002 (the global generator)
                    "python": random.getstate(),
                    "cuda": (torch.cuda.get_rng_state_all() if torch.cuda.is_initialized()
                             else None)},
        }
        if path is None:
            self._state = state
        else:
            torch.save(state, path)
            self._state = None

    def restore(self) -> None:
        """Put model, optimizer, scheduler and random generators back as they were."""
        # A copy: optimizers keep the tensors they load and update them in place, which
        # would change the snapshot and spoil the next restore from it.
        state = (copy.deepcopy(self._state) if self.path is None
                 else torch.load(self.path, weights_only=False))
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        rng = state["rng"]
        torch.set_rng_state(rng["torch"])
        np.random.set_state(rng["numpy"])  # noqa: NPY002
        random.setstate(rng["python"])
        if rng["cuda"] is not None:
            torch.cuda.set_rng_state_all(rng["cuda"])


@contextlib.contextmanager
def anneal_branch(model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler,
                  steps: int, shape: str | None = None, final: float | None = None,
                  keep: bool = False) -> Iterator[None]:
    """Anneal a branch of an infinite-schedule run, then return to the main run.

    Inside the ``with`` block the scheduler anneals over ``steps`` steps from the
    current step (train those steps and save the annealed checkpoint there). On exit
    the model, optimizer, scheduler and random generators go back to where the branch
    began, so the annealed weights do not feed the next segment — unless ``keep=True``.
    """
    snapshot = Snapshot(model, optimizer, scheduler)
    scheduler.anneal(steps, shape=shape, final=final)
    try:
        yield
    finally:
        if not keep:
            snapshot.restore()
