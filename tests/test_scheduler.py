"""ScheduleLR as a drop-in torch scheduler: closed form, composition, state, resume."""

import io
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import any_schedule
from torch.optim.lr_scheduler import (
    ChainedScheduler,
    ExponentialLR,
    LinearLR,
    LRScheduler,
    MultiStepLR,
    OneCycleLR,
    SequentialLR,
    StepLR,
)

import lrsched
from lrsched import ScheduleLR


def make_optimizer(lrs=(0.1,), tensor_lr=False, cls=torch.optim.SGD):
    groups = [{"params": [torch.nn.Parameter(torch.zeros(2))],
               "lr": torch.tensor(lr) if tensor_lr else lr} for lr in lrs]
    kwargs = {"capturable": True} if tensor_lr else {}
    return cls(groups, **kwargs)


def run(scheduler, steps):
    """The LRs of every group at each of ``steps`` optimizer steps."""
    out = []
    for _ in range(steps):
        out.append([float(g["lr"]) for g in scheduler.optimizer.param_groups])
        scheduler.optimizer.step()
        scheduler.step()
    return np.array(out)


def test_is_a_true_lr_scheduler_with_per_group_peaks():
    opt = make_optimizer((0.1, 0.02))
    sched = ScheduleLR(opt, lrsched.cosine(total_steps=100, warmup=10))
    assert isinstance(sched, LRScheduler)
    lrs = run(sched, 120)
    expected = lrsched.cosine(total_steps=100, warmup=10)(np.arange(120))
    np.testing.assert_allclose(lrs[:, 0], 0.1 * expected, rtol=1e-15)
    np.testing.assert_allclose(lrs[:, 1], 0.02 * expected, rtol=1e-15)
    assert sched.get_last_lr() == [0.1 * lrsched.cosine(total_steps=100, warmup=10)(120),
                                   0.02 * lrsched.cosine(total_steps=100, warmup=10)(120)]


def test_accepts_spec_strings_and_dicts():
    spec = "wsd:total_steps=50,warmup=5,decay_steps=10"
    a = run(ScheduleLR(make_optimizer(), spec), 60)
    b = run(ScheduleLR(make_optimizer(), lrsched.from_spec(spec).to_dict()), 60)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("ours,theirs", [
    (lrsched.step(step_size=7, gamma=0.5), lambda o: StepLR(o, step_size=7, gamma=0.5)),
    (lrsched.multistep(milestones=[10, 25], gamma=0.3),
     lambda o: MultiStepLR(o, milestones=[10, 25], gamma=0.3)),
    (lrsched.exponential(gamma=0.97), lambda o: ExponentialLR(o, gamma=0.97)),
    (lrsched.one_cycle(total_steps=100),
     lambda o: OneCycleLR(o, max_lr=0.1, total_steps=100, cycle_momentum=False)),
    (lrsched.one_cycle(total_steps=97, pct_start=0.25, shape="linear", three_phase=True,
                       div_factor=10, final_div_factor=100),
     lambda o: OneCycleLR(o, max_lr=0.1, total_steps=97, pct_start=0.25, anneal_strategy="linear",
                          three_phase=True, div_factor=10, final_div_factor=100,
                          cycle_momentum=False)),
])
def test_matches_torch_own_schedulers(ours, theirs):
    steps = ours.total_steps or 60
    np.testing.assert_allclose(run(ScheduleLR(make_optimizer(), ours), steps),
                               run(theirs(make_optimizer()), steps), rtol=1e-12, atol=1e-15)


def test_inside_sequential_lr_with_closed_form_jumps():
    opt = make_optimizer()
    warm = LinearLR(opt, start_factor=0.1, total_iters=5)
    body = ScheduleLR(opt, lrsched.linear(total_steps=20))
    seq = SequentialLR(opt, [warm, body], milestones=[5])
    lrs = run(seq, 30)[:, 0]
    np.testing.assert_allclose(lrs[5:], 0.1 * lrsched.linear(total_steps=20)(np.arange(25)),
                               rtol=1e-14)


@pytest.mark.parametrize("ours_first", [True, False])
def test_inside_chained_scheduler_the_factors_multiply(ours_first):
    opt = make_optimizer()
    schedules = [ScheduleLR(opt, lrsched.linear(total_steps=20, final=0.5)),
                 ExponentialLR(opt, 0.9)]
    chain = ChainedScheduler(schedules if ours_first else schedules[::-1])
    t = np.arange(25)
    expected = 0.1 * lrsched.linear(total_steps=20, final=0.5)(t) * 0.9**t
    np.testing.assert_allclose(run(chain, 25)[:, 0], expected, rtol=1e-12)


def test_step_with_an_epoch_jumps_in_closed_form():
    sched = ScheduleLR(make_optimizer(), lrsched.cosine(total_steps=100))
    with pytest.warns(UserWarning):
        sched.step(40)
    assert sched.optimizer.param_groups[0]["lr"] == 0.1 * lrsched.cosine(total_steps=100)(40)


def test_tensor_lr_is_updated_in_place():
    opt = make_optimizer(tensor_lr=True, cls=torch.optim.Adam)
    lr_tensor = opt.param_groups[0]["lr"]
    sched = ScheduleLR(opt, lrsched.linear(total_steps=10))
    run(sched, 3)
    assert opt.param_groups[0]["lr"] is lr_tensor
    assert float(lr_tensor) == pytest.approx(0.1 * 0.7)


def save_and_load(state):
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


@settings(max_examples=25, deadline=None)
@given(any_schedule, st.integers(0, 3000), st.integers(1, 1500))
def test_resume_from_state_dict_repeats_the_exact_lrs(schedule, stop, more):
    """A run saved at ``stop`` and resumed in a fresh scheduler equals one that never stopped."""
    full = run(ScheduleLR(make_optimizer((0.3, 0.01)), schedule), stop + more)
    opt = make_optimizer((0.3, 0.01))
    first = ScheduleLR(opt, schedule)
    run(first, stop)
    state = save_and_load({"opt": opt.state_dict(), "sched": first.state_dict()})
    opt2 = make_optimizer((0.3, 0.01))
    resumed = ScheduleLR(opt2, "constant")  # any schedule: the state brings the real one
    opt2.load_state_dict(state["opt"])
    resumed.load_state_dict(state["sched"])
    assert resumed.schedule == schedule
    np.testing.assert_array_equal(run(resumed, more), full[stop:])


def test_swapping_the_schedule_mid_run_survives_resume():
    first, second = lrsched.constant(), lrsched.linear(total_steps=100)
    opt = make_optimizer()
    sched = ScheduleLR(opt, first)
    run(sched, 30)
    sched.set_schedule(second)
    assert opt.param_groups[0]["lr"] == 0.1 * second(30) == sched.get_last_lr()[0]
    state = save_and_load(sched.state_dict())
    reference = run(sched, 50)
    opt2 = make_optimizer()
    resumed = ScheduleLR(opt2, first)
    resumed.load_state_dict(state)
    opt2.param_groups[0]["lr"] = 0.1 * second(30)  # as the optimizer's own state_dict would
    np.testing.assert_array_equal(run(resumed, 50), reference)
    np.testing.assert_allclose(reference[:, 0], 0.1 * second(np.arange(30, 80)), rtol=1e-15)


def test_swap_updates_tensor_lr_in_place():
    opt = make_optimizer(tensor_lr=True, cls=torch.optim.Adam)
    sched = ScheduleLR(opt, "constant")
    lr = opt.param_groups[0]["lr"]
    sched.set_schedule("exponential:gamma=0.5")
    assert opt.param_groups[0]["lr"] is lr and math.isclose(float(lr), 0.1, rel_tol=1e-7)
    run(sched, 2)
    assert math.isclose(float(lr), 0.1 * 0.25, rel_tol=1e-7)


def test_state_dict_is_plain_data():
    state = ScheduleLR(make_optimizer(), lrsched.cosine(total_steps=10)).state_dict()
    assert state["schedule"] == {"name": "cosine", "total_steps": 10, "warmup": 0,
                                 "warmup_init": None, "final": 0.0}
    assert state["last_epoch"] == 0 and "optimizer" not in state


def test_resume_in_either_load_order_restores_the_lr():
    """Optimizer state loaded before the scheduler is built (its constructor resets the LR)."""
    schedule = lrsched.cosine(total_steps=100)
    reference = make_optimizer()
    sched = ScheduleLR(reference, schedule)
    run(sched, 40)
    state = save_and_load({"opt": reference.state_dict(), "sched": sched.state_dict()})
    expected = run(sched, 20)
    opt = make_optimizer()
    opt.load_state_dict(state["opt"])
    resumed = ScheduleLR(opt, schedule)
    resumed.load_state_dict(state["sched"])
    np.testing.assert_array_equal(run(resumed, 20), expected)


def test_a_new_scheduler_starts_from_initial_lr_whatever_the_lr_is():
    """Built again on the same optimizer, or after another run, it ignores the current LR."""
    opt = make_optimizer((1.0,))
    run(ScheduleLR(opt, "cosine:total_steps=100,warmup=10,final=0.1"), 150)
    again = ScheduleLR(opt, "cosine:total_steps=100,warmup=10")
    np.testing.assert_allclose(run(again, 30)[:, 0],
                               lrsched.cosine(total_steps=100, warmup=10)(np.arange(30)))
    fresh = ScheduleLR(opt, "constant")
    assert run(fresh, 3)[:, 0].tolist() == [1.0, 1.0, 1.0]


def test_assigning_the_schedule_swaps_it_at_once():
    opt = make_optimizer((1.0,))
    sched = ScheduleLR(opt, "constant")
    run(sched, 10)
    sched.schedule = "linear:total_steps=50"
    assert opt.param_groups[0]["lr"] == pytest.approx(0.8)
    assert run(sched, 2)[:, 0].tolist() == pytest.approx([0.8, 0.78])
