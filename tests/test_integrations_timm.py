"""timm's scheduler contract, driven by a loop written as timm's train.py calls it (timm
itself is not imported: its torchvision dependency would pull another torch build)."""

import numpy as np
import pytest
import torch
from lr_runs import save_and_load

import lrsched
from lrsched.integrations.timm import TimmScheduler

UPDATES_PER_EPOCH, EPOCHS = 5, 6


def timm_train(optimizer, lr_scheduler, start_epoch=0, sched_on_updates=True, stop_epoch=EPOCHS):
    """timm's main()/train_one_epoch() scheduler calls, from ``start_epoch``; returns the
    LR each optimizer update used and the last epoch's metric."""
    used, latest_metric = [], None
    if lr_scheduler is not None and start_epoch > 0:
        if sched_on_updates:
            lr_scheduler.step_update(start_epoch * UPDATES_PER_EPOCH)
        else:
            lr_scheduler.step(start_epoch)
    for epoch in range(start_epoch, stop_epoch):
        num_updates = epoch * UPDATES_PER_EPOCH
        losses = []
        for _ in range(UPDATES_PER_EPOCH):
            used.append(optimizer.param_groups[0]["lr"])
            optimizer.zero_grad()
            loss = optimizer.param_groups[0]["params"][0].square().sum() + 1.0
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            num_updates += 1
            lr_scheduler.step_update(num_updates=num_updates, metric=np.mean(losses))
        latest_metric = np.mean(losses)
        lr_scheduler.step(epoch + 1, latest_metric)
    return used, latest_metric


def optimizer():
    return torch.optim.SGD([torch.nn.Parameter(torch.ones(3))], lr=0.5, momentum=0.9)


SCHEDULE = lrsched.cosine(total_steps=UPDATES_PER_EPOCH * EPOCHS, warmup=4, final=0.1)


def test_per_update_schedule_sets_the_lr_of_every_update():
    opt = optimizer()
    sched = TimmScheduler(opt, SCHEDULE)
    used, metric = timm_train(opt, sched)
    np.testing.assert_array_equal(used, 0.5 * SCHEDULE(np.arange(EPOCHS * UPDATES_PER_EPOCH)))
    assert sched.t_in_epochs is False and sched.metric == metric


def test_per_epoch_schedule_sets_the_lr_of_every_epoch():
    schedule = lrsched.step(step_size=2, gamma=0.5)
    opt = optimizer()
    used, _ = timm_train(opt, TimmScheduler(opt, schedule, t_in_epochs=True),
                         sched_on_updates=False)
    np.testing.assert_array_equal(used, np.repeat(0.5 * schedule(np.arange(EPOCHS)),
                                                  UPDATES_PER_EPOCH))


@pytest.mark.parametrize("t_in_epochs", [False, True])
def test_resumed_as_timm_resumes_repeats_the_lrs(t_in_epochs):
    """timm saves the optimizer, not the scheduler: a new one is built and set to the start."""
    schedule = SCHEDULE if not t_in_epochs else lrsched.cosine(total_steps=EPOCHS)
    opt = optimizer()
    full, _ = timm_train(opt, TimmScheduler(opt, schedule, t_in_epochs),
                         sched_on_updates=not t_in_epochs)
    opt = optimizer()
    timm_train(opt, TimmScheduler(opt, schedule, t_in_epochs), stop_epoch=2,
               sched_on_updates=not t_in_epochs)
    checkpoint = save_and_load(opt.state_dict())
    opt = optimizer()
    opt.load_state_dict(checkpoint)
    sched = TimmScheduler(opt, schedule, t_in_epochs)
    resumed, _ = timm_train(opt, sched, start_epoch=2, sched_on_updates=not t_in_epochs)
    assert resumed == full[2 * UPDATES_PER_EPOCH:]
    again = TimmScheduler(optimizer(), "constant")
    again.load_state_dict(save_and_load(sched.state_dict()))
    assert again.scheduler.schedule == schedule
