"""Shared helpers for the scheduler tests: optimizers, runs, and save/resume round trips."""

import io
import warnings

import numpy as np
import torch


def make_optimizer(lrs=(0.1,), tensor_lr=False, cls=torch.optim.SGD, **kwargs):
    """An optimizer with one param group per LR (Tensor LRs with ``tensor_lr``)."""
    groups = [{"params": [torch.nn.Parameter(torch.zeros(2))],
               "lr": torch.tensor(lr) if tensor_lr else lr} for lr in lrs]
    return cls(groups, **kwargs)


def run(scheduler, steps):
    """The LRs of every group at each of ``steps`` optimizer steps (float64 array);
    ``scheduler`` may be a list of schedulers of one optimizer, stepped in turn."""
    schedulers = scheduler if isinstance(scheduler, list) else [scheduler]
    optimizer = schedulers[0].optimizer
    out = []
    for _ in range(steps):
        out.append([float(g["lr"]) for g in optimizer.param_groups])
        optimizer.step()
        for s in schedulers:
            s.step()
    return np.array(out).reshape(steps, len(optimizer.param_groups))


def save_and_load(state):
    """``state`` through torch.save and torch.load(weights_only=True), as a checkpoint."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def resume(build, stop, more, optimizer_first=True, lrs=(0.3, 0.01), tensor_lr=False):
    """(LRs of a run resumed at ``stop`` into fresh objects, LRs of one that never stopped).

    ``build(optimizer)`` makes the scheduler (any wrapper). The optimizer's state is loaded
    before the scheduler's (as the HF Trainer and Lightning do) or after it.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's step-order hints: not under test here
        optimizer = make_optimizer(lrs, tensor_lr)
        full = run(build(optimizer), stop + more)
        optimizer = make_optimizer(lrs, tensor_lr)
        scheduler = build(optimizer)
        run(scheduler, stop)
        state = save_and_load({"opt": optimizer.state_dict(), "sched": scheduler.state_dict()})
        optimizer = make_optimizer(lrs, tensor_lr)
        scheduler = build(optimizer)
        loads = [lambda: optimizer.load_state_dict(state["opt"]),
                 lambda: scheduler.load_state_dict(state["sched"])]
        for load in loads if optimizer_first else loads[::-1]:
            load()
        return run(scheduler, more), full[stop:]
