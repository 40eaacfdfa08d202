"""Infinite and continual schedules, annealing on demand, and annealed branches."""

import numpy as np
import pytest
import torch
from hypothesis import given
from lr_runs import save_and_load
from strategies import continual, infinite

import lrsched
from lrsched import ScheduleLR, anneal_branch, from_spec
from lrsched.errors import InputError

T = np.arange(0, 100_000, 3)


@given(infinite() | continual())
def test_never_above_the_peak_nan_or_negative(s):
    v = s(T)
    assert np.all(np.isfinite(v)) and np.all(v >= 0) and np.all(v <= 1 + 1e-12)


@given(infinite())
def test_infinite_is_non_increasing_after_warmup(s):
    v = s(np.arange(s.warmup, 120_000))
    assert np.all(np.diff(v) <= 1e-12)


@given(continual())
def test_continual_decreases_except_when_rewarming(s):
    t = np.arange(s.warmup, s.total_steps + 10)
    rises = t[1:][np.diff(s(t)) > 1e-12]
    rewarms = [(p.start, p.end) for p in s.phases() if "re-warm" in p.name]
    starts = np.cumsum(s.segments)[:-1]
    allowed = lambda x: any(a <= x < b for a, b in rewarms) or x in starts  # noqa: E731
    assert all(allowed(x) for x in rises)


@given(infinite())
def test_cooldown_and_anneal_are_continuous(s):
    t = np.arange(s.warmup, s.warmup + 60_000)
    jumps = np.abs(np.diff(s(t)))
    longest = max(1, min(s.cooldown_steps or 10**9, s.anneal_steps or 10**9))
    bound = 10.0 / longest ** (0.5 if s.shape == "1-sqrt" else 1.0)
    if s.cooldown_shape == "inverse_sqrt" and s.cooldown_steps:  # steepest at its start:
        tau = s.timescale or s.cooldown_steps / 10  # |h'(0)| / |h(C)| = 1 / (2 tau |h(C)|)
        bound = max(bound, 1.0 / (2 * tau * (1 - 1 / np.sqrt(1 + s.cooldown_steps / tau))))
    assert jumps.max() <= bound


def test_exact_values_at_phase_boundaries():
    s = lrsched.infinite(warmup=100, cooldown_steps=400, const=0.4, final=0.04,
                         anneal_at=2000, anneal_steps=500)
    assert s(0) == 0.01 and s(99) == 1.0 and s(100) == 1.0
    assert s(300) == pytest.approx(0.7) and s(500) == pytest.approx(0.4)
    assert s(1999) == s(2000) == pytest.approx(0.4)
    assert s(2250) == pytest.approx(0.4 * (0.1 ** 0.5))
    assert s(2500) == pytest.approx(0.04) and s(10**7) == pytest.approx(0.04)
    assert [(p.name, p.start, p.end) for p in s.phases()] == [
        ("warmup", 0, 100), ("cooldown", 100, 500), ("constant", 500, 2000),
        ("anneal", 2000, 2500), ("final", 2500, None)]


@pytest.mark.parametrize("timescale,tau", [(None, 100), (40, 40)])
def test_inverse_sqrt_cooldown_formula(timescale, tau):
    """timescale is in steps, as inverse_sqrt's: h(s) = 1/sqrt(1 + s/tau) - 1, the decay of
    inverse_sqrt less one; by default tau = cooldown_steps / 10."""
    s = lrsched.infinite(cooldown_steps=1000, const=0.25, cooldown_shape="inverse_sqrt",
                         timescale=timescale)
    t = np.arange(1001)
    h = lrsched.inverse_sqrt(timescale=tau)(t) - 1
    np.testing.assert_allclose(s(t), 1 + (0.25 - 1) * h / h[1000], rtol=1e-14)
    assert s(5000) == pytest.approx(0.25)


def test_anneal_during_cooldown_starts_from_the_current_value():
    s = lrsched.infinite(cooldown_steps=1000, const=0.5).anneal_at(200, 100, shape="linear",
                                                                    final=0.0)
    start = lrsched.infinite(cooldown_steps=1000, const=0.5)(200)
    assert s(200) == pytest.approx(start) and s(250) == pytest.approx(start / 2)
    assert s(300) == 0.0


def test_constant_anneals_like_wsd():
    s = lrsched.constant(warmup=100).anneal_at(800, 200, shape="1-sqrt", final=0.0)
    t = np.arange(1200)
    np.testing.assert_allclose(s(t), lrsched.wsd(total_steps=1000, warmup=100, decay_steps=200,
                                                 shape="1-sqrt")(t), atol=1e-15)


def test_spec_strings_and_lengths_as_shares_of_the_run():
    s = from_spec("infinite:total_steps=10000,warmup=1%,cooldown_steps=10%,const=0.3,"
                  "final=0.03,anneal_at=90%,anneal_steps=10%")
    assert (s.warmup, s.cooldown_steps, s.anneal_start, s.anneal_steps) == (100, 1000, 9000, 1000)
    assert from_spec(s.to_spec()) == s
    assert "anneal_at=9000" in s.to_spec()
    assert s(10_000) == s(20_000) == pytest.approx(0.03)  # held from total_steps on


def test_continual_segments():
    s = lrsched.continual(segments=[1000, 1000], warmup=10, rewarm=10, final=0.1, peak=0.8)
    assert s(9) == 1.0 and s(999) == pytest.approx(0.1, abs=1e-5)
    assert s(1000) == pytest.approx(0.1 + 0.7 / 10) and s(1009) == pytest.approx(0.8)
    assert s(1999) == pytest.approx(0.1, abs=1e-5) and s(5000) == pytest.approx(0.1)
    longer = s.add_segment(500)
    assert longer.segments == (1000, 1000, 500) and longer.total_steps == 2500
    np.testing.assert_array_equal(longer(np.arange(2000)), s(np.arange(2000)))


@pytest.mark.parametrize("make,match", [
    (lambda: lrsched.infinite(cooldown_steps=10, const=1.5), "const"),
    (lambda: lrsched.infinite(cooldown_steps=10, const=0.3, final=0.5), r"final.*\[0, const"),
    (lambda: lrsched.infinite(cooldown_steps=-10), "whole number of steps >= 0"),
    (lambda: lrsched.infinite(warmup=100, cooldown_steps=10, anneal_at=50, anneal_steps=10),
     "after the warmup"),
    (lambda: lrsched.infinite(cooldown_steps=10, anneal_at=50), "anneal_steps"),
    (lambda: lrsched.infinite(cooldown_steps=10, final=0.0), "exponential"),
    (lambda: lrsched.infinite(cooldown_steps=10, anneal_steps=5), "unless anneal_at is set"),
    (lambda: lrsched.infinite(cooldown_steps=10, timescale=5), "unless cooldown_shape"),
    (lambda: lrsched.infinite(total_steps=100, cooldown_steps=10).anneal_at(90, 20),
     "ends by total_steps=100"),
    (lambda: lrsched.continual(segments=[100, 50], rewarm=50), "rewarm"),
    (lambda: lrsched.cosine(total_steps=100).anneal_at(10, 10), "cannot anneal"),
])
def test_bad_parameters_are_clear_errors(make, match):
    with pytest.raises(InputError, match=match) as info:
        make()
    assert "\n" not in str(info.value)


def _lrs(opt, sched, n):
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_scheduler_anneal_starts_at_the_current_step_and_resumes_from_a_checkpoint():
    """The anneal lives in the scheduler's state: a checkpoint loaded into a fresh
    optimizer and a ScheduleLR built with another schedule goes on annealing."""
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=1.0)
    sched = ScheduleLR(opt, "infinite:warmup=10,cooldown_steps=50,const=0.5,final=0.05")
    _lrs(opt, sched, 100)
    sched.anneal(steps=40, shape="linear")
    assert sched.schedule.anneal_start == 100 and opt.param_groups[0]["lr"] == 0.5
    _lrs(opt, sched, 15)
    state = save_and_load({"opt": opt.state_dict(), "sched": sched.state_dict()})
    expected = _lrs(opt, sched, 40)
    assert expected[-1] == pytest.approx(0.05)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = ScheduleLR(opt, "constant")
    opt.load_state_dict(state["opt"])
    sched.load_state_dict(state["sched"])
    assert _lrs(opt, sched, 40) == expected


def _train(model, opt, sched, steps, gen):
    for _ in range(steps):
        x = torch.randn(8, 4, generator=gen)
        loss = (model(x) - x.sum(1, keepdim=True)).pow(2).mean() + 0.01 * torch.randn(())
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()


def test_anneal_branch_restores_the_main_run_exactly():
    def setup():
        torch.manual_seed(0)
        model = torch.nn.Linear(4, 1)
        opt = torch.optim.AdamW(model.parameters(), lr=0.01)
        return model, opt, ScheduleLR(opt, "infinite:warmup=5,cooldown_steps=20,const=0.5")

    model, opt, sched = setup()
    gen = torch.Generator().manual_seed(1)
    _train(model, opt, sched, 30, gen)
    with anneal_branch(model, opt, sched, steps=10, final=0.01):
        _train(model, opt, sched, 10, torch.Generator().manual_seed(2))
        assert opt.param_groups[0]["lr"] == pytest.approx(0.01 * 0.01)
        annealed = [p.detach().clone() for p in model.parameters()]
    _train(model, opt, sched, 20, gen)

    ref_model, ref_opt, ref_sched = setup()
    ref_gen = torch.Generator().manual_seed(1)
    _train(ref_model, ref_opt, ref_sched, 50, ref_gen)
    for a, b, c in zip(model.parameters(), ref_model.parameters(), annealed):
        assert torch.equal(a, b) and not torch.equal(a, c)
    assert sched.schedule.anneal_start is None and sched.last_epoch == ref_sched.last_epoch


def test_anneal_branch_can_keep_the_annealed_weights():
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = ScheduleLR(opt, "constant")
    with anneal_branch(model, opt, sched, steps=5, shape="linear", final=0.0, keep=True):
        _train(model, opt, sched, 5, torch.Generator().manual_seed(0))
    assert sched.schedule.anneal_start == 0 and opt.param_groups[0]["lr"] == 0.0
