"""Snapshots: a run restored from one snapshot, as often as wanted, continues exactly;
state files are read with weights_only, so a replaced one is refused, never run."""

import resource
import signal
from pathlib import Path

import numpy as np
import pytest
import torch

from lrsched import ScheduleLR, Snapshot
from lrsched.errors import InputError
from lrsched.snapshot import load_state, rng_state, save_state


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


class _Payload:
    """Unpickled without weights_only, it would create the file ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_a_replaced_snapshot_file_is_refused_not_run(tmp_path):
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    path, marker = tmp_path / "snap.pt", tmp_path / "ran"
    snapshot = Snapshot(model, opt, path=path)
    torch.save({"model": _Payload(marker)}, path)  # the file is replaced
    with pytest.raises(InputError, match=f"{path}: not a snapshot file that lrsched wrote"):
        snapshot.restore()
    assert not marker.exists()
    path.write_bytes(path.read_bytes()[:40])  # torn
    with pytest.raises(InputError, match="or a damaged one"):
        snapshot.restore()


def test_state_files_and_a_full_disk(tmp_path):
    """save_state writes what load_state reads back (weights_only); a write that fails
    for want of space is an OSError naming the file, and leaves no file behind."""
    state = {"w": torch.arange(3.0), "rng": rng_state(), "step": 7}
    save_state(state, tmp_path / "s.pt")
    loaded = load_state(tmp_path / "s.pt")
    assert torch.equal(loaded["w"], state["w"]) and loaded["step"] == 7
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (10_000, hard))  # a nearly full disk
    try:
        with pytest.raises(OSError, match="writing the checkpoint failed.*is the disk full") \
                as info:
            save_state({"w": torch.zeros(100_000)}, tmp_path / "big.pt", "checkpoint")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert info.value.filename == str(tmp_path / "big.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.pt"]
