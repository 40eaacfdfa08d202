"""Snapshots: a run restored from one snapshot, as often as wanted, continues exactly."""

import numpy as np
import pytest
import torch

from lrsched import ScheduleLR, Snapshot


def _train(model, opt, sched, steps):
    losses = []
    for _ in range(steps):
        x = torch.randn(8, 4)
        noise = np.random.randn()  # noqa: NPY002 (the global generator, which snapshots restore)
        loss = (model(x) - x.sum(1, keepdim=True)).pow(2).mean() + 0.01 * noise
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("on_disk", [False, True])
def test_every_restore_replays_the_same_run(tmp_path, on_disk):
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.AdamW(model.parameters(), lr=0.01)
    sched = ScheduleLR(opt, "cosine:total_steps=50,warmup=5")
    _train(model, opt, sched, 10)
    snapshot = Snapshot(model, opt, sched, path=tmp_path / "snap.pt" if on_disk else None)
    runs = []
    for _ in range(3):
        losses = _train(model, opt, sched, 15)
        runs.append((losses, [p.detach().clone() for p in model.parameters()],
                     opt.param_groups[0]["lr"]))
        snapshot.restore()
        assert sched.last_epoch == 10
    for losses, params, lr in runs[1:]:
        assert losses == runs[0][0] and lr == runs[0][2]
        assert all(torch.equal(a, b) for a, b in zip(params, runs[0][1]))
