"""GradNormRecorder: a plain loop, GradScaler (plain and fused optimizers), 2-process DDP."""

import numpy as np
import pytest
import torch
import torch.distributed as dist

from lrsched import GradNormRecorder
from lrsched.refinement import read_norms

STEPS = 12


def make_model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))


def batch(step: int, rank: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1000 * rank + step)
    return torch.randn(16, 6, generator=g), torch.randint(0, 3, (16,), generator=g)


def loss_fn(model, step, rank=0):
    x, y = batch(step, rank)
    return torch.nn.functional.cross_entropy(model(x), y)


def grad_norm(model, p: float) -> float:
    return float(torch.cat([q.grad.flatten() for q in model.parameters()]).double().norm(p))


def train(make_opt, steps=STEPS, scaler=None, nan_at=None, loop_step=False, **recorder_kw):
    """A plain training loop; returns (recorder, norms the loop saw before each step).
    ``loop_step``: the recorder numbers the steps by the loop's counter."""
    model = make_model()
    opt = make_opt(model.parameters())
    i = 0
    rec = GradNormRecorder(opt, step=(lambda: i) if loop_step else None, **recorder_kw)
    seen = []
    for i in range(steps):  # the recorder reads i
        opt.zero_grad()
        loss = loss_fn(model, i) * (float("nan") if i == nan_at else 1.0)
        if scaler is None:
            loss.backward()
            seen.append(grad_norm(model, 1 if rec.norm == "l1" else 2))
            opt.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
    return rec, seen


def sgd(params):
    return torch.optim.SGD(params, lr=0.1, momentum=0.9)


def adam(params, fused=False):
    return torch.optim.Adam(params, lr=1e-2, fused=fused)


@pytest.mark.parametrize("make_opt,norm", [(sgd, "l2"), (adam, "l1")])
def test_plain_loop_records_the_norm_of_each_step(make_opt, norm):
    rec, seen = train(make_opt, sync_every=5)
    assert rec.norm == norm and rec.kind == {"l1": "adam", "l2": "sgd"}[norm]
    assert rec.norms.dtype == np.float64 and len(rec.norms) == STEPS
    np.testing.assert_allclose(rec.norms, seen, rtol=1e-6)


def test_norm_is_chosen_from_the_optimizer_and_overridable():
    params = [torch.nn.Parameter(torch.zeros(2))]
    opts = {"l1": [torch.optim.Adam, torch.optim.AdamW, torch.optim.NAdam, torch.optim.RAdam,
                   torch.optim.Adamax, torch.optim.Adagrad, torch.optim.RMSprop],
            "l2": [torch.optim.SGD, torch.optim.ASGD, torch.optim.Rprop]}
    for norm, classes in opts.items():
        for cls in classes:
            assert GradNormRecorder(cls(params, lr=0.1)).norm == norm, cls.__name__
    rec, seen = train(adam, norm="l2")
    assert rec.kind == "sgd"
    np.testing.assert_allclose(rec.norms, seen, rtol=1e-6)
    with pytest.raises(ValueError, match="norm='l3'"):
        GradNormRecorder(sgd(params), norm="l3")


def test_params_without_grads_and_several_groups():
    model = make_model()
    first, last = list(model[0].parameters()), list(model[2].parameters())
    opt = torch.optim.SGD([{"params": first, "lr": 0.1}, {"params": last, "lr": 0.01}])
    rec = GradNormRecorder(opt)
    opt.step()  # no gradients yet: nothing to record
    model[2].weight.requires_grad_(False)
    loss_fn(model, 0).backward()
    expected = float(torch.cat([p.grad.flatten() for p in model.parameters()
                                if p.grad is not None]).norm())
    opt.step()
    np.testing.assert_allclose(rec.norms, [expected], rtol=1e-6)


@pytest.mark.parametrize("make_opt", [sgd, adam, lambda p: adam(p, fused=True)],
                         ids=["sgd", "adam", "fused-adam"])
def test_grad_scaler_norms_are_unscaled_and_skipped_steps_keep_their_numbers(make_opt):
    """GradScaler skips step 4: no norm for it, and norm i stays the norm of steps[i]
    (counted by optimizer.step() calls for a fused optimizer, which GradScaler calls on a
    skipped step; by the step function for the others, which it does not call)."""
    plain, _ = train(make_opt)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 12)
    scaled, _ = train(make_opt, scaler=scaler)
    np.testing.assert_allclose(scaled.norms, plain.norms, rtol=1e-6)
    assert scaled.steps.tolist() == list(range(STEPS))
    fused = getattr(make_opt([torch.nn.Parameter(torch.zeros(1))]), "_step_supports_amp_scaling",
                    False)
    skipping, _ = train(make_opt, scaler=torch.amp.GradScaler("cpu", init_scale=2.0 ** 12),
                        nan_at=4, loop_step=not fused)
    assert len(skipping.norms) == STEPS - 1 and np.all(np.isfinite(skipping.norms))
    assert skipping.steps.tolist() == [0, 1, 2, 3, *range(5, STEPS)]
    np.testing.assert_allclose(skipping.norms[:4], plain.norms[:4], rtol=1e-6)


def test_save_load_state_dict_and_remove(tmp_path):
    rec, _ = train(sgd)
    for name in ["norms.npy", "norms.csv"]:
        rec.save(tmp_path / name)
        record = read_norms(tmp_path / name)
        np.testing.assert_array_equal(record.norms, rec.norms)
        np.testing.assert_array_equal(record.steps, rec.steps)

    torch.save(rec.state_dict(), tmp_path / "rec.pt")
    model = make_model()
    opt = sgd(model.parameters())
    resumed = GradNormRecorder(opt)
    resumed.load_state_dict(torch.load(tmp_path / "rec.pt", weights_only=True))
    np.testing.assert_array_equal(resumed.norms, rec.norms)
    loss_fn(model, 0).backward()
    opt.step()
    assert len(resumed.norms) == STEPS + 1 and resumed.steps[-1] == STEPS
    resumed.remove()
    opt.step()
    assert len(resumed.norms) == STEPS + 1
    with pytest.raises(ValueError, match="holds l2 norms"):
        GradNormRecorder(adam(model.parameters())).load_state_dict(rec.state_dict())


# -- DDP: 2 processes on gloo -----------------------------------------------------------


def _ddp_worker(rank: int, world: int, init: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    torch.set_num_threads(1)
    model = torch.nn.parallel.DistributedDataParallel(make_model())
    reference = make_model()  # no DDP: reduce its gradients by hand
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    rec = GradNormRecorder(opt, sync_every=4)
    expected, local = [], []
    for step in range(STEPS):
        reference.load_state_dict(model.module.state_dict())
        reference.zero_grad()
        loss_fn(reference, step, rank).backward()
        grads = torch.cat([p.grad.flatten() for p in reference.parameters()])
        local.append(float(grads.norm(1)))
        dist.all_reduce(grads)
        expected.append(float((grads / world).norm(1)))
        opt.zero_grad()
        loss_fn(model, step, rank).backward()
        opt.step()
    np.save(f"{out}/rank{rank}.npy", np.stack([rec.norms, expected, local]))


def test_ddp_ranks_record_the_all_reduced_norm(tmp_path, run_ranks):
    run_ranks(_ddp_worker, 2, f"file://{tmp_path}/rendezvous", str(tmp_path))
    (rec0, expected0, local0), (rec1, _, local1) = (np.load(tmp_path / f"rank{r}.npy")
                                                     for r in range(2))
    np.testing.assert_array_equal(rec0, rec1)
    np.testing.assert_allclose(rec0, expected0, rtol=1e-5)
    assert not np.allclose(local0, local1)  # the ranks saw different data
