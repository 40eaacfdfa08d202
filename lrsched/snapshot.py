"""Copies of a training run's state, to branch off and come back (torch), and the
saving and loading of state files that ``torch.load(weights_only=True)`` reads."""

from __future__ import annotations

import contextlib
import copy
import errno
import os
import random
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from lrsched.errors import InputError
from lrsched.files import atomic_path


def save_state(state: dict, path: str | os.PathLike, what: str = "state") -> None:
    """Write ``state`` (tensors, numbers, strings, lists, tuples, dicts) to ``path``
    atomically; a failed write (a full disk) is an OSError naming the file."""
    with atomic_path(path) as tmp:
        try:
            torch.save(state, tmp)
        except RuntimeError as exc:  # how torch's zip writer reports a failed write
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise OSError(errno.EIO, f"writing the {what} failed ({reason}); is the disk "
                                     "full?", os.fspath(path)) from exc


def load_state(path: str | os.PathLike, what: str = "state") -> dict:
    """Read a file ``save_state`` wrote, with ``weights_only=True``: a file that would run
    code when unpickled, or a torn or garbage one, is an InputError naming the file."""
    try:
        with warnings.catch_warnings():  # a pickle protocol note of a crafted file
            warnings.simplefilter("ignore", UserWarning)
            state = torch.load(path, map_location="cpu", weights_only=True)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except Exception as exc:  # torch reports a damaged or foreign file in many ways
        reason = (str(exc).splitlines() or [""])[0][:120] or type(exc).__name__
        raise InputError(f"{os.fspath(path)}: not a {what} file that lrsched wrote, or a "
                         f"damaged one ({type(exc).__name__}: {reason})") from exc
    if not isinstance(state, dict):
        raise InputError(f"{os.fspath(path)}: not a {what} file that lrsched wrote (it "
                         f"holds a {type(state).__name__}, not a dict)")
    return state


def rng_state() -> dict:
    """The states of torch's, numpy's global and Python's random generators (and
    CUDA's, once initialised), as tensors, ints and tuples: weights_only-safe."""
    name, keys, pos, has_gauss, gauss = np.random.get_state()  # noqa: NPY002
    return {"torch": torch.get_rng_state(),
            "numpy": (name, torch.from_numpy(keys.astype(np.int64)), int(pos),
                      int(has_gauss), float(gauss)),
            "python": random.getstate(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None}


def set_rng_state(rng: dict) -> None:
    """Put back the generators' states ``rng_state()`` returned."""
    name, keys, pos, has_gauss, gauss = rng["numpy"]
    torch.set_rng_state(rng["torch"])
    np.random.set_state((name, np.asarray(keys).astype(np.uint32), pos, has_gauss,  # noqa: NPY002
                         gauss))
    random.setstate(rng["python"])
    if rng["cuda"] is not None:
        torch.cuda.set_rng_state_all(rng["cuda"])


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
            "rng": rng_state(),
        }
        if path is None:
            self._state = state
        else:
            save_state(state, path, "snapshot")
            self._state = None

    def restore(self) -> None:
        """Put model, optimizer, scheduler and random generators back as they were.

        A snapshot in a file is read with ``torch.load(weights_only=True)``: a file
        replaced by one that would run code is refused (InputError), never run."""
        # A copy: optimizers keep the tensors they load and update them in place, which
        # would change the snapshot and spoil the next restore from it.
        state = (copy.deepcopy(self._state) if self.path is None
                 else load_state(self.path, "snapshot"))
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        set_rng_state(state["rng"])


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
