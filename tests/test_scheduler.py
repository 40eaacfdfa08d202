"""ScheduleLR as a drop-in torch scheduler: closed form, composition, momentum, state, resume.

The ``test_issue_N`` tests are the defects of issue 12's "Found" list, one each (item 7,
resume inside every wrapper over every family, is a property in test_torch_contract.py).
"""

import math
import sys
import warnings
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from lr_runs import make_optimizer, resume, run, save_and_load
from strategies import any_schedule
from torch.optim.lr_scheduler import (
    ChainedScheduler,
    ConstantLR,
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    LRScheduler,
    MultiStepLR,
    OneCycleLR,
    SequentialLR,
    StepLR,
)

import lrsched
from lrsched import ScheduleLR
from lrsched.errors import InputError
from lrsched.schedules import MAX_STEPS, Schedule


@pytest.fixture(scope="module")
def Triangle():
    """A test family that cycles the momentum, registered only while this module runs
    (the schedules' own tests go through every registered family)."""

    @dataclass(frozen=True, kw_only=True, repr=False)
    class Triangle(Schedule):
        """torch's CyclicLR ``triangular`` as multipliers of the peak (``low`` to 1 over
        ``half`` steps and back), the momentum going the other way, from
        ``max_momentum`` to ``base_momentum``."""

        name = "test_triangle"
        half: int = 4
        low: float = 0.2
        base_momentum: float = 0.8
        max_momentum: float = 0.9

        def _height(self, s):
            return 1.0 - np.abs(np.asarray(s) % (2 * self.half) / self.half - 1.0)

        def _body(self, s):
            return self.low + (1.0 - self.low) * self._height(s)

        def momentum(self, steps):
            m = self.max_momentum - (self.max_momentum - self.base_momentum) * self._height(steps)
            return float(m) if np.ndim(steps) == 0 else m

    yield Triangle
    del sys.modules[Schedule.__module__]._REGISTRY[Triangle.name]


def test_is_a_true_lr_scheduler_with_per_group_peaks():
    opt = make_optimizer((0.1, 0.02))
    schedule = lrsched.cosine(total_steps=100, warmup=10)
    sched = ScheduleLR(opt, schedule)
    assert isinstance(sched, LRScheduler)
    lrs = run(sched, 120)
    expected = schedule(np.arange(120))
    np.testing.assert_allclose(lrs[:, 0], 0.1 * expected, rtol=1e-15)
    np.testing.assert_allclose(lrs[:, 1], 0.02 * expected, rtol=1e-15)
    assert sched.get_last_lr() == [0.1 * schedule(120), 0.02 * schedule(120)]


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
    (lrsched.one_cycle(total_steps=100),  # both cycle the momentum by default
     lambda o: OneCycleLR(o, max_lr=0.1, total_steps=100)),
    (lrsched.one_cycle(total_steps=97, pct_start=0.25, shape="linear", three_phase=True,
                       div_factor=10, final_div_factor=100, cycle_momentum=False),
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


# -- issue 12's "Found" list, one test per item -----------------------------------------------
def test_issue_1_sequential_lr_parts_start_at_their_own_first_value():
    opt = make_optimizer((1e-3,))
    warm, body = lrsched.constant(warmup=100), lrsched.cosine(total_steps=1000)
    seq = SequentialLR(opt, [ScheduleLR(opt, warm), ScheduleLR(opt, body)], milestones=[100])
    lrs = run(seq, 1100)[:, 0]
    assert lrs[0] == 1e-5 and lrs.max() == 1e-3
    np.testing.assert_allclose(lrs[:100], 1e-3 * warm(np.arange(100)), rtol=1e-15)
    np.testing.assert_allclose(lrs[100:], 1e-3 * body(np.arange(1000)), rtol=1e-15)


@pytest.mark.parametrize("first", ["warmup", "step", "LinearLR", "ConstantLR"])
def test_issue_2_schedulers_in_a_chained_scheduler_multiply_in_any_order(first):
    """Two ScheduleLRs, or one built after LinearLR/ConstantLR: the product of the factors."""
    t = np.arange(600)
    warm = lrsched.constant(warmup=100)
    decay = lrsched.step(step_size=150, gamma=0.5)
    factors = {"warmup": warm(t), "step": decay(t),
               "LinearLR": 0.25 + 0.75 * np.minimum(t, 40) / 40,
               "ConstantLR": 0.5 + 0.5 * (t >= 30)}
    builders = {"warmup": lambda o: ScheduleLR(o, warm), "step": lambda o: ScheduleLR(o, decay),
                "LinearLR": lambda o: LinearLR(o, 0.25, total_iters=40),
                "ConstantLR": lambda o: ConstantLR(o, 0.5, total_iters=30)}
    second = "step" if first == "warmup" else "warmup"
    opt = make_optimizer((1e-3,))
    chain = ChainedScheduler([builders[first](opt), builders[second](opt)])
    lrs = run(chain, 600)[:, 0]
    np.testing.assert_allclose(lrs, 1e-3 * factors[first] * factors[second], rtol=1e-12)
    assert lrs.max() <= 1e-3 * (1 + 1e-12)


@pytest.mark.parametrize("optimizer_first", [True, False])
def test_issue_3_chained_resume_keeps_every_factor(optimizer_first):
    def build(opt):
        return ChainedScheduler([ScheduleLR(opt, "cosine:total_steps=200,warmup=20"),
                                 ExponentialLR(opt, gamma=0.99)])

    resumed, expected = resume(build, 70, 60, optimizer_first)
    np.testing.assert_array_equal(resumed, expected)


@pytest.mark.parametrize("optimizer_first", [True, False])
@pytest.mark.parametrize("build,stops", [
    (lambda o: SequentialLR(o, [LinearLR(o, start_factor=0.1, total_iters=5),
                                ScheduleLR(o, "cosine:total_steps=10")], milestones=[5]),
     range(15)),
    (lambda o: SequentialLR(o, [ScheduleLR(o, "exponential:gamma=0.97"),
                                CosineAnnealingLR(o, T_max=50)], milestones=[40]),
     [20, 39, 40, 41, 60]),
])
def test_issue_4_sequential_resume_with_an_inactive_schedule_lr(build, stops, optimizer_first):
    for stop in stops:
        resumed, expected = resume(build, stop, 30, optimizer_first)
        np.testing.assert_array_equal(resumed, expected, err_msg=f"resumed at {stop}")


def test_issue_5_a_schedule_touching_zero_is_exact_alone_and_defined_in_a_chain():
    dip = lrsched.tabulated(values=[1.0, 0.0, 1.0], steps=[0, 10, 20])  # 0 at step 10
    t = np.arange(40)
    np.testing.assert_array_equal(run(ScheduleLR(make_optimizer(), dip), 40)[:, 0],
                                  0.1 * dip(t))
    # In a chain the zero LR keeps no record of the other factors: ScheduleLR restarts from
    # its closed form there, and ExponentialLR multiplies on from that point (documented).
    opt = make_optimizer()
    lrs = run(ChainedScheduler([ScheduleLR(opt, dip), ExponentialLR(opt, 0.9)]), 40)[:, 0]
    expected = 0.1 * dip(t) * 0.9 ** np.where(t <= 10, t, t - 10)
    np.testing.assert_allclose(lrs, expected, rtol=1e-12, atol=0)


def test_issue_5_step_with_a_fractional_epoch_warns_and_interpolates():
    schedule = lrsched.linear(total_steps=10)
    sched = ScheduleLR(make_optimizer((1.0,)), schedule)
    sched.optimizer.step()
    with pytest.warns(UserWarning, match="epoch parameter"):
        sched.step(0.5)
    assert sched.last_epoch == 0.5
    assert sched.get_last_lr() == pytest.approx([(schedule(0) + schedule(1)) / 2])
    sched.step()  # from 0.5 to 1.5: still consistent
    assert sched.last_epoch == 1.5
    assert sched.get_last_lr() == pytest.approx([(schedule(1) + schedule(2)) / 2])
    with pytest.warns(UserWarning, match="epoch parameter"):
        sched.step(4.0)
    assert sched.get_last_lr() == [schedule(4)]


@pytest.mark.parametrize("epoch", [-1, -0.5, math.nan, math.inf, "3", True, 10**13])
def test_step_rejects_an_epoch_that_is_no_step_and_changes_nothing(epoch):
    sched = ScheduleLR(make_optimizer(), "linear:total_steps=10")
    with pytest.raises(InputError, match="must be a step >= 0"):
        sched.step(epoch)
    assert sched.last_epoch == 0 and sched.optimizer.param_groups[0]["lr"] == 0.1


def test_seek_past_what_a_schedule_evaluates_changes_nothing(Triangle):
    """Issue 20, item 9: a refused seek leaves the step, the LRs and the state as they
    were; the last step a schedule evaluates is still reachable."""
    sched = ScheduleLR(make_optimizer(), Triangle())
    run(sched, 3)
    before = sched.state_dict()
    with pytest.raises(InputError, match=f"at most {MAX_STEPS:,}"):
        sched.seek(10**13)
    assert sched.state_dict() == before
    run(sched, 1)
    assert sched.last_epoch == 4
    sched.seek(MAX_STEPS)
    assert sched.get_last_lr() == [0.1 * Triangle()(MAX_STEPS)]
    state = sched.state_dict()
    state["last_epoch"] = 10**13
    with pytest.raises(InputError, match="'last_epoch'=10000000000000 must be a step >= -1"):
        ScheduleLR(make_optimizer(), Triangle()).load_state_dict(state)


def test_issue_5_get_lr_outside_step_warns_and_changes_nothing():
    opt = make_optimizer()
    chain = ChainedScheduler([ScheduleLR(opt, "linear:total_steps=20"), ExponentialLR(opt, 0.9)])
    reference = make_optimizer()
    ref_chain = ChainedScheduler([ScheduleLR(reference, "linear:total_steps=20"),
                                  ExponentialLR(reference, 0.9)])
    run(chain, 5)
    run(ref_chain, 5)
    with pytest.warns(UserWarning, match="get_last_lr"):
        chain._schedulers[0].get_lr()
    np.testing.assert_array_equal(run(chain, 10), run(ref_chain, 10))


@pytest.mark.parametrize("cls,key", [(torch.optim.SGD, "momentum"), (torch.optim.AdamW, "betas")])
def test_issue_6_momentum_cycles_as_torch_cyclic_lr(cls, key, Triangle):
    """torch's own test_cycle_lr_triangular_mode_one_lr targets (peak 5: LR 1 to 5 and back;
    momentum 5 to 1), set in SGD's ``momentum`` or Adam's ``betas[0]`` at every step."""
    opt = make_optimizer((5.0, 5.0), cls=cls)
    sched = ScheduleLR(opt, Triangle(base_momentum=1.0, max_momentum=5.0))
    lrs, momenta = [], []
    for _ in range(11):
        lrs.append([g["lr"] for g in opt.param_groups])
        momenta.append([g["betas"][0] if key == "betas" else g[key] for g in opt.param_groups])
        opt.step()
        sched.step()
    lr_target = [1, 2, 3, 4, 5, 4, 3, 2, 1, 2, 3]
    np.testing.assert_allclose(lrs, np.transpose([lr_target] * 2), atol=1e-12)
    np.testing.assert_allclose(momenta, np.transpose([[6 - x for x in lr_target]] * 2), atol=1e-12)
    if key == "betas":
        assert all(g["betas"][1] == 0.999 for g in opt.param_groups)


def test_momentum_is_saved_with_the_optimizer_and_resumes(Triangle):
    def build(opt):
        return ScheduleLR(opt, [Triangle(half=7), "constant"])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt = make_optimizer((0.3, 0.01))
        sched = build(opt)
        run(sched, 12)
        state = save_and_load({"opt": opt.state_dict(), "sched": sched.state_dict()})
        opt2 = make_optimizer((0.3, 0.01))
        sched2 = build(opt2)
        sched2.load_state_dict(state["sched"])
        opt2.load_state_dict(state["opt"])
    assert opt2.param_groups[0]["momentum"] == Triangle(half=7).momentum(12)
    assert opt2.param_groups[1]["momentum"] == 0  # a schedule without momentum leaves it
    run(sched2, 5)
    assert opt2.param_groups[0]["momentum"] == Triangle(half=7).momentum(17)


def test_momentum_needs_an_optimizer_that_has_one(Triangle):
    with pytest.raises(InputError, match="param group 0 has neither 'momentum'"):
        ScheduleLR(make_optimizer(cls=torch.optim.Rprop), Triangle())
    sched = ScheduleLR(make_optimizer(cls=torch.optim.Rprop), "constant")
    with pytest.raises(InputError, match="cycles the momentum"):
        sched.set_schedule(Triangle())
    assert sched.schedule == lrsched.constant()


def test_step_with_an_epoch_jumps_in_closed_form():
    sched = ScheduleLR(make_optimizer(), lrsched.cosine(total_steps=100))
    sched.optimizer.step()
    with pytest.warns(UserWarning, match="epoch parameter"):
        sched.step(40)
    assert sched.optimizer.param_groups[0]["lr"] == 0.1 * lrsched.cosine(total_steps=100)(40)


def test_seek_jumps_in_closed_form_without_warnings(Triangle):
    sched = ScheduleLR(make_optimizer(), Triangle())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.seek(6)
    group = sched.optimizer.param_groups[0]
    assert sched.last_epoch == 6 and sched._step_count == 1
    assert group["lr"] == 0.1 * Triangle()(6) and group["momentum"] == Triangle().momentum(6)
    assert sched.get_last_lr() == [group["lr"]]


def test_tensor_lr_is_updated_in_place():
    opt = make_optimizer(tensor_lr=True, cls=torch.optim.Adam, capturable=True)
    lr_tensor = opt.param_groups[0]["lr"]
    sched = ScheduleLR(opt, lrsched.linear(total_steps=10))
    run(sched, 3)
    assert opt.param_groups[0]["lr"] is lr_tensor
    assert float(lr_tensor) == pytest.approx(0.1 * 0.7)


@settings(max_examples=25, deadline=None)
@given(any_schedule, st.integers(0, 2100), st.integers(1, 300), st.booleans())
def test_resume_from_state_dict_repeats_the_exact_lrs(schedule, stop, more, optimizer_first):
    """A run saved at ``stop`` and resumed in fresh objects equals one that never stopped
    (across the 1024-step evaluation chunks too)."""
    resumed, expected = resume(lambda o: ScheduleLR(o, schedule), stop, more, optimizer_first)
    np.testing.assert_array_equal(resumed, expected)


def test_swapping_the_schedule_mid_run_survives_resume():
    first, second = lrsched.constant(), lrsched.linear(total_steps=100)
    opt = make_optimizer()
    sched = ScheduleLR(opt, first)
    run(sched, 30)
    sched.set_schedule(second)
    assert opt.param_groups[0]["lr"] == 0.1 * second(30) == sched.get_last_lr()[0]
    state = save_and_load({"opt": opt.state_dict(), "sched": sched.state_dict()})
    reference = run(sched, 50)
    opt2 = make_optimizer()
    resumed = ScheduleLR(opt2, first)
    opt2.load_state_dict(state["opt"])
    resumed.load_state_dict(state["sched"])
    assert resumed.schedule == second
    np.testing.assert_array_equal(run(resumed, 50), reference)
    np.testing.assert_allclose(reference[:, 0], 0.1 * second(np.arange(30, 80)), rtol=1e-15)


def test_swapping_inside_a_chain_keeps_the_other_factors():
    opt = make_optimizer()
    ours = ScheduleLR(opt, "constant")
    chain = ChainedScheduler([ours, ExponentialLR(opt, 0.9)])
    run(chain, 10)
    ours.anneal(20, shape="linear", final=0.0)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.9**10)
    lrs = run(chain, 20)[:, 0]
    np.testing.assert_allclose(lrs, 0.1 * 0.9 ** np.arange(10, 30) * (1 - np.arange(20) / 20),
                               rtol=1e-12)


def test_swap_updates_tensor_lr_in_place():
    opt = make_optimizer(tensor_lr=True, cls=torch.optim.Adam, capturable=True)
    sched = ScheduleLR(opt, "constant")
    lr = opt.param_groups[0]["lr"]
    sched.set_schedule("exponential:gamma=0.5")
    assert opt.param_groups[0]["lr"] is lr and math.isclose(float(lr), 0.1, rel_tol=1e-7)
    run(sched, 2)
    assert math.isclose(float(lr), 0.1 * 0.25, rel_tol=1e-7)


def test_assigning_the_schedule_swaps_it_at_once():
    opt = make_optimizer((1.0,))
    sched = ScheduleLR(opt, "constant")
    run(sched, 10)
    sched.schedule = "linear:total_steps=50"
    assert opt.param_groups[0]["lr"] == pytest.approx(0.8)
    assert run(sched, 2)[:, 0].tolist() == pytest.approx([0.8, 0.78])


def test_a_new_scheduler_multiplies_the_lr_it_finds_as_torch_chainable_schedulers_do():
    opt = make_optimizer((1.0,))
    run(ScheduleLR(opt, "constant"), 3)
    opt.param_groups[0]["lr"] = 0.5  # left by an earlier run, or another scheduler
    ours = run(ScheduleLR(opt, "linear:total_steps=10,final=0.1"), 12)[:, 0]
    opt.param_groups[0]["lr"] = 0.5
    theirs = run(LinearLR(opt, start_factor=1.0, end_factor=0.1, total_iters=10), 12)[:, 0]
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    np.testing.assert_allclose(ours, 0.5 * lrsched.linear(total_steps=10, final=0.1)(
        np.arange(12)), rtol=1e-12)
    opt.param_groups[0]["lr"] = opt.param_groups[0]["initial_lr"]  # a fresh run at the peak
    assert run(ScheduleLR(opt, "constant"), 2)[:, 0].tolist() == [1.0, 1.0]


# -- a schedule per param group -----------------------------------------------------------------
def test_a_schedule_per_param_group_equals_lambda_lr_with_a_list():
    a, b = lrsched.cosine(total_steps=40, warmup=5), lrsched.exponential(gamma=0.9)
    ours = run(ScheduleLR(make_optimizer((0.1, 0.02)), [a, "exponential:gamma=0.9"]), 50)
    theirs = run(LambdaLR(make_optimizer((0.1, 0.02)), [lambda t: a(t), lambda t: b(t)]), 50)
    np.testing.assert_allclose(ours, theirs, rtol=1e-15)
    with pytest.raises(InputError, match="got 3 schedules for 2 param groups"):
        ScheduleLR(make_optimizer((0.1, 0.02)), [a, a, a])


def test_per_group_schedules_are_saved_swapped_annealed_and_resumed():
    opt = make_optimizer((0.1, 0.02))
    sched = ScheduleLR(opt, ["constant", "constant:warmup=10"])
    assert sched.schedule == [lrsched.constant(), lrsched.constant(warmup=10)]
    run(sched, 20)
    sched.anneal(10, shape="linear", final=0.0)
    assert [s.anneal_start for s in sched.schedules] == [20, 20]
    state = save_and_load({"opt": opt.state_dict(), "sched": sched.state_dict()})
    assert isinstance(state["sched"]["schedule"], list) and len(state["sched"]["schedule"]) == 2
    expected = run(sched, 15)
    opt2 = make_optimizer((0.1, 0.02))
    resumed = ScheduleLR(opt2, "constant")
    opt2.load_state_dict(state["opt"])
    resumed.load_state_dict(state["sched"])
    assert resumed.schedules == sched.schedules
    np.testing.assert_array_equal(run(resumed, 15), expected)
    assert expected[-1].tolist() == [0.0, 0.0]
    sched.set_schedule("constant")
    assert sched.schedule == lrsched.constant()
    assert sched.state_dict()["schedule"] == lrsched.constant().to_dict()


# -- state -----------------------------------------------------------------------------------------
def test_state_dict_is_the_step_and_the_schedule():
    sched = ScheduleLR(make_optimizer(), lrsched.cosine(total_steps=10))
    run(sched, 3)
    assert sched.state_dict() == {
        "last_epoch": 3, "base_lrs": [0.1], "_step_count": 4,
        "_last_lr": [0.1 * lrsched.cosine(total_steps=10)(3)],
        "schedule": lrsched.cosine(total_steps=10).to_dict()}


def _state():
    sched = ScheduleLR(make_optimizer((0.1, 0.02)), "cosine:total_steps=10")
    run(sched, 3)
    return sched.state_dict()


@pytest.mark.parametrize("edit,says", [
    (lambda s: s.update(_chunk=(0, [50.0] * 1024)), "key '_chunk' that ScheduleLR never writes"),
    (lambda s: s.update(optimizer=None), "key 'optimizer' that ScheduleLR never writes"),
    (lambda s: s.update(_scale=[2.0, 2.0]), "key '_scale'"),
    (lambda s: s.pop("last_epoch"), "lacks 'last_epoch'"),
    (lambda s: s.pop("schedule"), "lacks 'schedule'"),
    (lambda s: s.update(_last_lr=[1.0]), "'_last_lr' has 1 values for 2 param groups"),
    (lambda s: s.update(base_lrs=0.1), "'base_lrs' has 0.1 for 2 param groups"),
    (lambda s: s.update(base_lrs=["0.1", 0.02]), "'base_lrs' must hold one LR"),
    (lambda s: s.update(last_epoch=-2), "'last_epoch'=-2 must be a step >= -1"),
    (lambda s: s.update(last_epoch="3"), "'last_epoch'='3'"),
    (lambda s: s.update(_step_count=1.5), "'_step_count'=1.5"),
    (lambda s: s.update(schedule={"name": "cosine"}), "'schedule' is not a schedule dict"),
    (lambda s: s.update(schedule="cosine:total_steps=10"), "'schedule' is not a schedule dict"),
    (lambda s: s.update(schedule=[{"name": "constant"}] * 3), "3 schedules for 2 param groups"),
])
def test_load_state_dict_takes_only_states_that_schedule_lr_wrote(edit, says):
    state = _state()
    edit(state)
    opt = make_optimizer((0.3, 0.3))
    sched = ScheduleLR(opt, "constant")
    before = sched.state_dict()
    with pytest.raises(InputError, match=says) as caught:
        sched.load_state_dict(state)
    assert "\n" not in str(caught.value)
    assert sched.state_dict() == before and opt.param_groups[0]["lr"] == 0.3
    with pytest.raises(InputError, match="the dict state_dict"):
        sched.load_state_dict([("last_epoch", 3)])


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("make_torch, schedule", [
    (lambda o: torch.optim.lr_scheduler.OneCycleLR(
        o, max_lr=0.02, total_steps=97, pct_start=0.25, base_momentum=0.8, max_momentum=0.93),
     lrsched.one_cycle(total_steps=97, pct_start=0.25, shape="cosine", cycle_momentum=True,
                       base_momentum=0.8, max_momentum=0.93)),
    (lambda o: torch.optim.lr_scheduler.CyclicLR(
        o, base_lr=0.002, max_lr=0.02, step_size_up=7, mode="triangular2",
        base_momentum=0.8, max_momentum=0.9),
     lrsched.cyclic(base=0.1, step_size_up=7, mode="triangular2", cycle_momentum=True)),
])
def test_schedule_lr_cycles_lr_and_momentum_as_torch(optimizer, make_torch, schedule):
    """End to end: ScheduleLR with a momentum-cycling schedule sets the same LR and
    momentum (SGD) or beta1 (Adam) as torch's own scheduler, step for step."""
    def run(make):
        p = [torch.nn.Parameter(torch.zeros(1))]
        opt = (torch.optim.SGD(p, lr=0.02, momentum=0.9) if optimizer == "sgd"
               else torch.optim.Adam(p, lr=0.02))
        sched, seen = make(opt), []
        for _ in range(97):
            g = opt.param_groups[0]
            seen.append((g["lr"], g["betas"][0] if "betas" in g else g["momentum"]))
            opt.step()
            sched.step()
        return np.array(seen)

    ours, theirs = run(lambda o: ScheduleLR(o, schedule)), run(make_torch)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-18)
