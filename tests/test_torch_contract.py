"""PyTorch's own scheduler tests (pytorch/pytorch test/optim/test_lrscheduler.py), ported
to ScheduleLR with equal lrsched schedules.

Each torch scheduler used below has an lrsched twin (``Twin``). A ported case runs with
every combination of torch schedulers and ScheduleLR twins in its place, and each must
give torch's targets (torch's tolerance) and the all-torch run (tightly). The optimizer
is torch's: two groups, LR 0.05 and a Tensor LR 0.5. Where torch's test checks nothing
(its compound ReduceLROnPlateau cases slice their targets to an empty list; its
closed-form cases read a fresh, untouched optimizer), the port checks against torch's
own run of the same case.
"""

import copy
import gc
import itertools
import math
import pickle
import warnings
import weakref
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from lr_runs import resume, run
from strategies import any_schedule
from torch.optim.lr_scheduler import (
    EPOCH_DEPRECATION_WARNING,
    ChainedScheduler,
    ConstantLR,
    CosineAnnealingLR,
    CosineAnnealingWarmRestarts,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    MultiplicativeLR,
    MultiStepLR,
    OneCycleLR,
    PolynomialLR,
    ReduceLROnPlateau,
    SequentialLR,
    StepLR,
)
from torch.optim.swa_utils import SWALR

import lrsched
from lrsched import ScheduleLR

pytestmark = pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step()`")


def torch_optimizer(lrs=(0.05, "tensor 0.5")):
    """torch's test optimizer: one SGD group per LR (by default 0.05, and 0.5 as a Tensor)."""
    lrs = [torch.tensor(0.5) if lr == "tensor 0.5" else lr for lr in lrs]
    return torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(2))], "lr": lr}
                            for lr in lrs])


class Twin(NamedTuple):
    """A torch scheduler and the lrsched schedule equal to it."""

    torch: Callable[[torch.optim.Optimizer], Any]
    schedule: Any

    def build(self, optimizer, ours: bool):
        return ScheduleLR(optimizer, self.schedule) if ours else self.torch(optimizer)


def step_lr(step_size, gamma=0.1):
    return Twin(lambda o: StepLR(o, step_size, gamma),
                lrsched.step(step_size=step_size, gamma=gamma))


def multistep_lr(milestones, gamma=0.1):
    return Twin(lambda o: MultiStepLR(o, milestones, gamma),
                lrsched.multistep(milestones=milestones, gamma=gamma))


def exponential_lr(gamma):
    return Twin(lambda o: ExponentialLR(o, gamma), lrsched.exponential(gamma=gamma))


def constant_lr(factor, total_iters):
    return Twin(lambda o: ConstantLR(o, factor, total_iters),
                lrsched.tabulated(values=[factor, factor, 1.0],
                                  steps=[0, total_iters - 1, total_iters]))


def linear_lr(start, end, total_iters):
    return Twin(lambda o: LinearLR(o, start, end, total_iters),
                lrsched.tabulated(values=[start, end], steps=[0, total_iters]))


def polynomial_lr(total_iters, power):
    return Twin(lambda o: PolynomialLR(o, total_iters, power),
                lrsched.polynomial(total_steps=total_iters, power=power))


def cosine_lr(t_max):
    return Twin(lambda o: CosineAnnealingLR(o, t_max), lrsched.cosine(total_steps=t_max))


def both_groups(single):
    """torch's targets for its two groups: the second group's LR is ten times the first's."""
    return [single, [x * 10 for x in single]]


def cos(x, n):
    return (1 + math.cos(math.pi * x / n)) / 2


def check_every_mix(twins, compose, targets, epochs, optimizer=torch_optimizer):
    """Run ``compose(optimizer, schedulers)`` with each mix of torch schedulers and twins."""
    runs = {}
    for mask in itertools.product([False, True], repeat=len(twins)):
        opt = optimizer()
        runs[mask] = run(compose(opt, [t.build(opt, ours) for t, ours in zip(twins, mask)]),
                         epochs)
        np.testing.assert_allclose(runs[mask], np.transpose(targets)[:epochs], rtol=0, atol=1e-5,
                                   err_msg=f"ScheduleLR in place of {mask}")
        np.testing.assert_allclose(runs[mask], runs[(False,) * len(twins)], rtol=1e-6, atol=1e-12,
                                   err_msg=f"ScheduleLR in place of {mask}")


def as_list(opt, schedulers):
    """Schedulers stepped one after the other, as torch's compound tests do."""
    return schedulers


def chained(opt, schedulers):
    return ChainedScheduler(schedulers)


def sequential(*milestones):
    return lambda opt, schedulers: SequentialLR(opt, schedulers, list(milestones))


# -- one scheduler: test_step_lr ... test_cos_anneal_lr, test_lambda_lr ------------------------
@pytest.mark.parametrize("twin,single,epochs", [
    (step_lr(3), [0.05] * 3 + [0.005] * 3 + [0.0005] * 3 + [0.00005] * 3, 10),
    (multistep_lr([2, 5, 9]), [0.05] * 2 + [0.005] * 3 + [0.0005] * 4 + [0.00005] * 3, 10),
    (constant_lr(0.5, 5), [0.025] * 5 + [0.05] * 5, 10),
    (linear_lr(0.5, 1.0, 4), [0.05 * (0.5 + i * 0.5 / 4) for i in range(4)] + [0.05] * 6, 10),
    (exponential_lr(0.9), [0.05 * 0.9**x for x in range(10)], 10),
    (polynomial_lr(5, 0.9), [(1 - x / 5) ** 0.9 * 0.05 for x in range(5)] + [0.0] * 5, 10),
    (cosine_lr(10), [0.05 * cos(x, 10) for x in range(10)], 10),
])
def test_single_schedulers(twin, single, epochs):
    check_every_mix([twin], as_list, both_groups(single), epochs)


@pytest.mark.parametrize("torch_scheduler", [
    lambda o: LambdaLR(o, [lambda t: 0.9**t, lambda t: 0.8**t]),
    lambda o: MultiplicativeLR(o, [lambda t: 0.9, lambda t: 0.8]),
])
def test_lambda_and_multiplicative_lr_with_a_schedule_per_group(torch_scheduler):
    twin = Twin(torch_scheduler, [lrsched.exponential(gamma=0.9), lrsched.exponential(gamma=0.8)])
    targets = [[0.05 * 0.9**x for x in range(10)], [0.4 * 0.8**x for x in range(10)]]
    check_every_mix([twin], as_list, targets, 10, lambda: torch_optimizer((0.05, 0.4)))


def test_get_last_lr_before_each_step():
    opt = torch_optimizer()
    sched = ScheduleLR(opt, constant_lr(0.5, 5).schedule)
    last = []
    for _ in range(10):
        last.append([float(x) for x in sched.get_last_lr()])
        opt.step()
        sched.step()
    np.testing.assert_allclose(last, np.transpose(both_groups([0.025] * 5 + [0.05] * 5)),
                               atol=1e-7)
    assert sched.get_last_lr()[1] is not opt.param_groups[1]["lr"]  # a copy, never an alias


# -- step(epoch): _test_with_epoch, _test_against_closed_form, constant epoch ----------------------
@pytest.mark.parametrize("twin,single", [
    (multistep_lr([2, 5, 9]), [0.05] * 2 + [0.005] * 3 + [0.0005] * 4 + [0.00005]),
    (constant_lr(0.5, 5), [0.025] * 5 + [0.05] * 5),
    (linear_lr(0.5, 1.0, 4), [0.05 * (0.5 + i * 0.5 / 4) for i in range(4)] + [0.05] * 6),
])
def test_step_with_epoch_warns_and_gives_the_targets(twin, single):
    opt = torch_optimizer()
    sched = ScheduleLR(opt, twin.schedule)
    for epoch in range(10):
        opt.step()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sched.step(epoch)
        assert [str(w.message) for w in caught] == [EPOCH_DEPRECATION_WARNING]
        np.testing.assert_allclose([float(g["lr"]) for g in opt.param_groups],
                                   [single[epoch], 10 * single[epoch]], atol=1e-6)


@pytest.mark.parametrize("twin", [step_lr(3), linear_lr(1 / 3, 0.7, 4), constant_lr(1 / 3, 4),
                                  multistep_lr([2, 5, 9]), exponential_lr(0.9),
                                  polynomial_lr(5, 0.9), cosine_lr(5)])
def test_chainable_steps_equal_the_closed_form(twin):
    """torch's _test_against_closed_form, each scheduler on its own optimizer."""
    stepped = ScheduleLR(torch_optimizer(), twin.schedule)
    jumped = ScheduleLR(torch_optimizer(), twin.schedule)
    for epoch in range(1, 20):
        stepped.optimizer.step()
        stepped.step()
        jumped.optimizer.step()
        with pytest.warns(UserWarning, match="epoch parameter"):
            jumped.step(epoch)
        assert [float(g["lr"]) for g in stepped.optimizer.param_groups] == [
            float(g["lr"]) for g in jumped.optimizer.param_groups]
    assert stepped.optimizer.param_groups[0]["lr"] != 0.05 or twin.schedule(19) == 1.0


@pytest.mark.parametrize("twin", [step_lr(2), exponential_lr(0.9), constant_lr(1 / 3, 5),
                                  linear_lr(1 / 3, 1.0, 5), polynomial_lr(5, 0.9)])
def test_lr_is_constant_for_a_constant_epoch(twin):
    sched = ScheduleLR(torch_optimizer(), twin.schedule)
    seen = set()
    for _ in range(10):
        sched.optimizer.step()
        with pytest.warns(UserWarning, match="epoch parameter"):
            sched.step(2)
        seen.add(sched.optimizer.param_groups[0]["lr"])
    assert seen == {0.05 * twin.schedule(2)}


# -- ChainedScheduler: test_chained_lr1 ... 5 ---------------------------------------------------
@pytest.mark.parametrize("twins,single,epochs", [
    ([step_lr(3)], [0.05] * 3 + [0.005] * 3 + [0.0005] * 3 + [0.00005], 10),
    ([linear_lr(0.4, 1.0, 3)], [0.02, 0.03, 0.04] + [0.05] * 7, 10),
    ([linear_lr(0.4, 1.0, 3), multistep_lr([4, 8, 10])],
     [0.02, 0.03, 0.04, 0.05] + [0.005] * 4 + [0.0005] * 2, 10),
    ([exponential_lr(0.9), constant_lr(0.2, 4), step_lr(3)],
     [0.05 * 0.2 * 0.9**x for x in range(3)] + [0.05 * 0.2 * 0.9**3 * 0.1]
     + [0.05 * 0.9**x * 0.1 for x in range(4, 6)] + [0.05 * 0.9**x * 0.01 for x in range(6, 9)],
     9),
    ([polynomial_lr(5, 0.9), constant_lr(0.1, 5)],
     [0.1 * 0.05 * (1 - x / 5) ** 0.9 for x in range(5)] + [0.0] * 5, 10),
])
def test_chained_scheduler(twins, single, epochs):
    check_every_mix(twins, chained, both_groups(single), epochs)


def test_chained_get_last_lr_before_step_is_the_last_scheduler_s():
    opt = torch_optimizer()
    parts = [ScheduleLR(opt, linear_lr(0.4, 1.0, 3).schedule),
             ScheduleLR(opt, multistep_lr([4, 8, 10]).schedule)]
    chain = ChainedScheduler(parts)
    assert chain.get_last_lr() == parts[-1].get_last_lr()
    assert [float(x) for x in chain.get_last_lr()] == pytest.approx([0.02, 0.2])


# -- schedulers stepped side by side: test_compound_* -------------------------------------------
@pytest.mark.parametrize("twins,single", [
    ([step_lr(3), multistep_lr([2, 5, 9])],
     [0.05] * 2 + [0.005] + [5e-4] * 2 + [5e-5] + [5e-6] * 3 + [5e-8]),
    ([step_lr(3), exponential_lr(0.9)], [0.05 * 0.1 ** (x // 3) * 0.9**x for x in range(10)]),
    ([multistep_lr([2, 5, 9]), exponential_lr(0.9)],
     [0.05 * 0.1 ** sum(x >= m for m in (2, 5, 9)) * 0.9**x for x in range(10)]),
    ([linear_lr(0.4, 0.9, 4), exponential_lr(0.9)],
     [0.05 * 0.9**x * (0.4 + min(x, 4) / 4 * 0.5) for x in range(10)]),
    ([step_lr(3), constant_lr(0.4, 4)],
     [0.05 * 0.4] * 3 + [0.005 * 0.4] + [0.005] * 2 + [0.0005] * 3 + [0.00005]),
    ([multistep_lr([2, 5, 9]), linear_lr(0.4, 1.0, 4)],
     [0.05 * 0.1 ** sum(x >= m for m in (2, 5, 9)) * (0.4 + min(x, 4) / 4 * 0.6)
      for x in range(10)]),
    ([cosine_lr(10), step_lr(3)], [0.05 * cos(x, 10) * 0.1 ** (x // 3) for x in range(10)]),
    ([cosine_lr(10), multistep_lr([2, 5, 9])],
     [0.05 * cos(x, 10) * 0.1 ** sum(x >= m for m in (2, 5, 9)) for x in range(10)]),
    ([linear_lr(0.4, 1.0, 4), cosine_lr(10)],
     [0.05 * cos(x, 10) * (0.4 + min(x, 4) / 4 * 0.6) for x in range(10)]),
    ([cosine_lr(10), exponential_lr(0.1)], [0.05 * cos(x, 10) * 0.1**x for x in range(10)]),
])
def test_compound_schedulers(twins, single):
    check_every_mix(twins, as_list, both_groups(single), 10)


@pytest.mark.parametrize("twin,metrics,kwargs,cuts", [
    (step_lr(3), [10 - i * 0.0167 for i in range(20)],
     dict(threshold_mode="abs", mode="min", threshold=0.01, patience=5, cooldown=5), False),
    (multistep_lr([3, 8, 12]), [10 - i * 0.0165 for i in range(22)],
     dict(patience=5, cooldown=0, threshold_mode="abs", mode="min", threshold=0.1), True),
    (exponential_lr(0.1), [-0.8] * 2 + [-0.234] * 20,
     dict(mode="max", patience=5, cooldown=5, threshold_mode="abs"), False),  # LR < eps
    (cosine_lr(10), [1.5 * (1.025**i) for i in range(10)],
     dict(mode="max", patience=3, threshold_mode="rel", threshold=0.1), False),
    (linear_lr(0.4, 1.0, 4), [10 - i * 0.0165 for i in range(22)],
     dict(patience=5, cooldown=0, threshold_mode="abs", mode="min", threshold=0.1), True),
])
def test_compound_with_reduce_lr_on_plateau(twin, metrics, kwargs, cuts):
    """torch's test_compound_reduce_lr_on_plateau1-5, which check no LR (their targets are
    sliced to an empty list, and the intended ones do not hold): here the mix must equal
    torch's run of the same case, and the plateau cuts the LR where torch's own
    test_reduce_lr_on_plateau cases say it does."""
    runs = []
    for ours in (False, True):
        opt = torch_optimizer((0.5, "tensor 0.5"))
        plateau = ReduceLROnPlateau(opt, **kwargs)
        sched = twin.build(opt, ours)
        lrs = []
        for metric in metrics:
            opt.step()
            plateau.step(metric)
            sched.step()
            lrs.append([float(g["lr"]) for g in opt.param_groups])
        runs.append(np.array(lrs))
    np.testing.assert_allclose(runs[1], runs[0], rtol=1e-6, atol=1e-20)
    alone = 0.5 * twin.schedule(np.arange(1, len(metrics) + 1))
    assert (runs[1][:, 0] < alone * (1 - 1e-9)).any() == cuts


# -- SequentialLR: test_sequentiallr1 ... 5 ------------------------------------------------------
@pytest.mark.parametrize("twins,milestones,single,epochs", [
    ([exponential_lr(0.8), step_lr(4)], [3],
     [0.05, 0.04, 0.032] + [0.05] * 4 + [0.005] * 4 + [0.0005] * 4 + [0.00005] * 4, 19),
    ([constant_lr(0.1, 3), exponential_lr(0.9)], [3],
     [0.005] * 3 + [0.05 * 0.9**x for x in range(10)], 13),
    ([constant_lr(0.1, 3), exponential_lr(0.8), step_lr(2)], [3, 6],
     [0.005] * 3 + [0.05, 0.04, 0.032] + [0.05, 0.05, 0.005, 0.005, 0.0005, 0.0005], 12),
    ([linear_lr(0.1, 0.8, 4), linear_lr(0.8, 0.1, 4)], [4],
     [0.005, 0.01375, 0.0225, 0.03125, 0.04, 0.03125, 0.0225, 0.01375], 8),
])
def test_sequential_lr(twins, milestones, single, epochs):
    check_every_mix(twins, sequential(*milestones), both_groups(single), epochs)


def test_sequential_lr_holding_a_chained_scheduler():
    def compose(opt, parts):
        return SequentialLR(opt, [ChainedScheduler(parts[:2]), parts[2]], milestones=[5])

    single = [0.0005, 0.0014, 0.0023, 0.0032, 0.0041] + [0.025] * 5
    check_every_mix([linear_lr(0.1, 1.0, 5), constant_lr(0.1, 5), constant_lr(0.5, 5)],
                    compose, both_groups(single), 10)


def test_sequential_lr_parts_leave_the_initial_lr_alone_and_warn_nothing():
    opt = torch_optimizer()
    before = [g["lr"] for g in opt.param_groups]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        seq = SequentialLR(opt, [ScheduleLR(opt, "constant"),
                                 ScheduleLR(opt, constant_lr(0.1, 5).schedule)], milestones=[10])
        assert [g["lr"] for g in opt.param_groups] == before
        for _ in range(20):
            opt.step()
            seq.step()


def test_sequential_lr_does_not_alias_a_tensor_lr_and_initial_lr():
    opt = torch_optimizer((torch.tensor(2.0),))
    seq = SequentialLR(opt, [ScheduleLR(opt, linear_lr(0.1, 0.8, 4).schedule),
                             ScheduleLR(opt, linear_lr(0.8, 0.1, 4).schedule)], milestones=[4])
    np.testing.assert_allclose(run(seq, 8)[:, 0], [0.2, 0.55, 0.9, 1.25, 1.6, 1.25, 0.9, 0.55],
                               rtol=1e-6)
    assert float(opt.param_groups[0]["initial_lr"]) == 2.0


# -- other families: OneCycleLR, CosineAnnealingWarmRestarts, SWALR ----------------------------
def test_one_cycle_lr_targets():
    """torch's test_onecycle_lr_cosine_annealing (max LR 25, final_div_factor 2)."""
    targets = [1, 13, 25] + [0.5 + 24.5 * cos(k, 7) for k in range(1, 7)] + [0.5]
    schedule = lrsched.one_cycle(total_steps=10, final_div_factor=2)
    np.testing.assert_allclose(run(ScheduleLR(torch_optimizer((25.0, 25.0)), schedule), 10),
                               np.transpose([targets, targets]), atol=1e-9)


@pytest.mark.parametrize("three_phase", [False, True])
def test_one_cycle_lr_equals_torch_s(three_phase):
    kw = dict(total_steps=10, pct_start=0.4, final_div_factor=4, three_phase=three_phase)
    ours = run(ScheduleLR(torch_optimizer((25.0, 25.0)), lrsched.one_cycle(**kw)), 10)
    theirs = run(OneCycleLR(torch_optimizer((25.0, 25.0)), max_lr=25.0, **kw), 10)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


@pytest.mark.parametrize("t_mult", [1, 2, 4])
def test_cosine_annealing_warm_restarts(t_mult):
    cycles = {1: 10, 2: 4, 4: 3}[t_mult]
    total = sum(10 * t_mult**k for k in range(cycles))
    twin = Twin(lambda o: CosineAnnealingWarmRestarts(o, T_0=10, T_mult=t_mult),
                lrsched.cosine_restarts(total_steps=total, cycles=cycles, cycle_mult=t_mult))
    check_every_mix([twin], as_list, both_groups(_warm_restarts(range(100), t_mult)), 100)


def _warm_restarts(epochs, t_mult):
    """0.05 times CosineAnnealingWarmRestarts(T_0=10, T_mult) at each epoch."""
    out = []
    for epoch in epochs:
        start, length = 0, 10
        while epoch >= start + length:
            start, length = start + length, length * t_mult
        out.append(0.05 * cos(epoch - start, length))
    return out


@pytest.mark.parametrize("t_mult,epochs", [
    (1, [0, 1, 2, 3, 4, 5, 12, 27, 3, 4, 5, 6, 13]),
    (2, [0, 1, 2, 3, 4, 5, 25, 32, 33, 34, 80, 81, 3]),
])
def test_cosine_annealing_warm_restarts_jumps_back_and_forth(t_mult, epochs):
    sched = ScheduleLR(torch_optimizer(), lrsched.cosine_restarts(
        total_steps=10 * (2**5 - 1), cycles=5, cycle_mult=t_mult) if t_mult == 2 else
        lrsched.cosine_restarts(total_steps=100, cycles=10))
    seen = []
    for epoch in epochs:
        sched.optimizer.step()
        with pytest.warns(UserWarning, match="epoch parameter"):
            sched.step(epoch)
        seen.append(float(sched.optimizer.param_groups[0]["lr"]))
    np.testing.assert_allclose(seen, _warm_restarts(epochs, t_mult), atol=1e-12)


@pytest.mark.parametrize("strategy,swa_lrs,anneal", [
    ("cos", [0.01, 0.01], lambda t, n: 0.0 if t + 1 >= n else cos(t + 1, n)),
    ("linear", [0.01, 0.02], lambda t, n: 0.0 if t + 1 >= n else 1 - (t + 1) / n),
])
def test_swalr_after_schedule_lr(strategy, swa_lrs, anneal):
    """torch's test_swalr_*_anneal_after_multiplicative: 0.9 per epoch, then SWALR."""
    epochs, swa_start, n = 15, 5, {"cos": 5, "linear": 4}[strategy]
    opt = torch_optimizer()
    sched = ScheduleLR(opt, lrsched.exponential(gamma=0.9))
    swa = SWALR(opt, anneal_epochs=n, anneal_strategy=strategy, swa_lr=swa_lrs)
    seen = []
    for epoch in range(epochs):
        seen.append([float(g["lr"]) for g in opt.param_groups])
        opt.step()
        (swa if epoch >= swa_start else sched).step()
    for group, (lr, swa_lr) in enumerate(zip((0.05, 0.5), swa_lrs)):
        before = [lr * 0.9**i for i in range(swa_start + 1)]
        after = [before[-1] * anneal(t, n) + swa_lr * (1 - anneal(t, n))
                 for t in range(epochs - swa_start - 1)]
        np.testing.assert_allclose([s[group] for s in seen], before + after, atol=1e-6)


# -- state: test_*_state_dict, test_lr_scheduler_state_dict_load, checkpoints --------------------
def test_loaded_state_equals_the_saved_one():
    """torch's _check_scheduler_state_dict: a differently built scheduler takes the state."""
    sched = ScheduleLR(torch_optimizer(), step_lr(3).schedule)
    run(sched, 10)
    other = ScheduleLR(torch_optimizer(), lrsched.step(step_size=1, gamma=0.005))
    other.load_state_dict(sched.state_dict())
    assert other.state_dict() == sched.state_dict() and other.schedule == sched.schedule
    assert other.get_last_lr() == sched.get_last_lr()


@pytest.mark.parametrize("weights_only", [True, False])
@pytest.mark.parametrize("build", [
    lambda o: ScheduleLR(o, "cosine:total_steps=10,warmup=2"),
    lambda o: ScheduleLR(o, ["constant", "linear:total_steps=10"]),
    lambda o: ChainedScheduler([ScheduleLR(o, "constant:warmup=3"), ScheduleLR(o, "constant")]),
    lambda o: SequentialLR(o, [ScheduleLR(o, "constant:warmup=3"),
                               ScheduleLR(o, "linear:total_steps=5")], milestones=[2]),
])
def test_state_dict_saves_and_loads(build, weights_only, tmp_path):
    scheduler = build(torch_optimizer())
    state = scheduler.state_dict()
    torch.save(state, tmp_path / "state.pt")
    loaded = torch.load(tmp_path / "state.pt", weights_only=weights_only)
    assert loaded == state
    again = build(torch_optimizer())
    again.load_state_dict(loaded)
    assert again.state_dict() == state
    assert pickle.loads(pickle.dumps(state)) == state


@pytest.mark.parametrize("schedule", ["cosine:total_steps=10,warmup=3", "one_cycle:total_steps=10",
                                      "step:step_size=1,gamma=0.5,warmup=2"])
def test_built_with_last_epoch_on_a_loaded_optimizer_it_continues(schedule):
    """torch's test_lr_scheduler_checkpoint compares get_last_lr only (its closed-form branch
    tests ``hasattr(self, ...)`` of the TestCase, never true); here both, and the run on."""
    model = torch.nn.Linear(3, 3)
    optim = torch.optim.AdamW(model.parameters())
    sch = ScheduleLR(optim, schedule)
    optim.step()
    sch.step()
    optim2 = torch.optim.AdamW(model.parameters())
    optim2.load_state_dict(optim.state_dict())
    sch2 = ScheduleLR(optim2, schedule, last_epoch=0)
    assert sch2.get_last_lr()[0] == optim2.param_groups[0]["lr"] == optim.param_groups[0]["lr"]
    assert sch2._get_closed_form_lr()[0] == optim.param_groups[0]["lr"]
    np.testing.assert_array_equal(run(sch2, 8), run(sch, 8))


def test_resuming_with_last_epoch_needs_initial_lr():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    with pytest.raises(KeyError, match="initial_lr"):
        ScheduleLR(opt, "constant", last_epoch=1)


def test_initial_lr_is_kept_and_never_aliased():
    """torch's test_constant_initial_lr: changing the Tensor LR in place after building
    leaves initial_lr and base_lrs alone."""
    lr = torch.as_tensor(0.1)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.randn(1))], lr=lr)
    sched = ScheduleLR(opt, "linear:total_steps=10")
    original = copy.deepcopy(opt.param_groups)
    for i in range(2):
        opt.step()
        with pytest.warns(UserWarning, match="epoch parameter"):
            sched.step(i)
        lr.multiply_(0.1)
        assert opt.param_groups[0]["initial_lr"] == original[0]["initial_lr"]
        assert sched.base_lrs == [0.1]
        assert sched.base_lrs[0] is not opt.param_groups[0]["initial_lr"]


def test_pickled_and_deep_copied_schedulers_continue_alike():
    def start():
        opt = torch_optimizer()
        sched = ScheduleLR(opt, "cosine:total_steps=30,warmup=5")
        run(sched, 7)
        return sched

    expected = run(start(), 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the copies' optimizer.step is no longer wrapped
        for twin in (pickle.loads(pickle.dumps(start())), copy.deepcopy(start())):
            np.testing.assert_array_equal(run(twin, 10), expected)


# -- warnings and references: test_old_pattern_warning, test_no_cyclic_references -----------------
@pytest.mark.filterwarnings("default")
def test_warns_when_stepped_before_the_optimizer_and_not_otherwise():
    opt = torch_optimizer()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched = ScheduleLR(opt, "step:step_size=3")
        for _ in range(5):
            opt.step()
            sched.step()
    late = ScheduleLR(torch_optimizer(), "step:step_size=3")
    with pytest.warns(UserWarning, match="how-to-adjust-learning-rate"):
        for _ in range(3):
            late.step()
            late.optimizer.step()


def test_no_cyclic_references():
    optim = torch.optim.SGD([torch.nn.Parameter(torch.empty(10))], lr=0.5)
    scheduler = ScheduleLR(optim, "cosine:total_steps=10")
    optim.step()
    scheduler.step()
    ref = weakref.ref(scheduler)
    gc.disable()
    try:
        del scheduler
        assert ref() is None and not gc.get_referrers(optim)
    finally:
        gc.enable()


# -- resume at any step, in every wrapper and load order (issue 12, item 7) ----------------------
WRAPPERS = {
    "alone": lambda o, s: ScheduleLR(o, s),
    "chained first": lambda o, s: ChainedScheduler([ScheduleLR(o, s), ExponentialLR(o, 0.995)]),
    "chained after LinearLR": lambda o, s: ChainedScheduler([LinearLR(o, 0.5, total_iters=30),
                                                             ScheduleLR(o, s)]),
    "chained with a ScheduleLR": lambda o, s: ChainedScheduler(
        [ScheduleLR(o, "step:step_size=40,gamma=0.5,warmup=7"), ScheduleLR(o, s)]),
    "sequential first": lambda o, s: SequentialLR(o, [ScheduleLR(o, s), ExponentialLR(o, 0.99)],
                                                  milestones=[90]),
    "sequential second": lambda o, s: SequentialLR(
        o, [LinearLR(o, 0.1, total_iters=20), ScheduleLR(o, s)], milestones=[20]),
}


@pytest.mark.parametrize("optimizer_first", [True, False],
                         ids=["optimizer first", "scheduler first"])
@pytest.mark.parametrize("wrapper", WRAPPERS)
@settings(max_examples=8, deadline=None)
@given(schedule=any_schedule, stop=st.integers(0, 150), more=st.integers(1, 40))
def test_resume_at_any_step_repeats_the_lrs(wrapper, optimizer_first, schedule, stop, more):
    build = WRAPPERS[wrapper]
    resumed, expected = resume(lambda o: build(o, schedule), stop, more, optimizer_first)
    np.testing.assert_array_equal(resumed, expected)


@pytest.mark.parametrize("wrapper", ["chained first", "sequential second"])
def test_resume_with_tensor_lrs(wrapper):
    build = WRAPPERS[wrapper]
    schedule = lrsched.cosine(total_steps=60, warmup=10)
    for stop in (0, 9, 10, 33):
        resumed, expected = resume(lambda o: build(o, schedule), stop, 20, tensor_lr=True)
        np.testing.assert_array_equal(resumed, expected)


class PlateauThenSWA:
    """ScheduleLR beside ReduceLROnPlateau (the metric stalls from step 19), then SWALR
    from step 30, as torch's compound and SWA tests use them; saved and loaded as one."""

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.parts = [ScheduleLR(optimizer, "cosine:total_steps=60,warmup=5"),
                      ReduceLROnPlateau(optimizer, patience=2),
                      SWALR(optimizer, swa_lr=0.01, anneal_epochs=5)]
        self.t = 0

    def step(self):
        self.t += 1
        schedule, plateau, swa = self.parts
        if self.t >= 30:
            swa.step()
        else:
            plateau.step(max(1.0, 20.0 - self.t))
            schedule.step()

    def state_dict(self):
        return {"t": self.t, "parts": [p.state_dict() for p in self.parts]}

    def load_state_dict(self, state):
        self.t = state["t"]
        for part, saved in zip(self.parts, state["parts"]):
            part.load_state_dict(saved)


@pytest.mark.parametrize("optimizer_first", [True, False])
def test_resume_beside_reduce_lr_on_plateau_and_before_swalr(optimizer_first):
    runs = {}
    for stop in (0, 12, 17, 29, 30, 33):
        runs[stop] = resume(PlateauThenSWA, stop, 45 - stop, optimizer_first)
        np.testing.assert_array_equal(*runs[stop], err_msg=f"resumed at {stop}")
    full = runs[0][1]
    alone = 0.3 * lrsched.cosine(total_steps=60, warmup=5)(np.arange(30))
    assert (full[:30, 0] < alone * (1 - 1e-9)).any()  # the plateau cut in
    assert full[-1].tolist() == pytest.approx([0.01, 0.01])  # and SWALR took over
