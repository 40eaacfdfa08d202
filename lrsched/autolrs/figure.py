"""The picture of an AutoLRS search (``AutoLRS.plot``)."""

from __future__ import annotations

import numpy as np

from lrsched import drawing


def search_figure(state: dict):
    """An AutoLRS search: loss (top) and LR (bottom) against optimizer steps taken, trials
    included.

    ``state`` is ``AutoLRS.state_dict()`` or a saved history. Trials are coloured by
    their LR (darker = lower), the kept exploitation steps are black; a dotted line from
    each trial's end marks its forecast of the loss after τ steps (the BO objective).
    """
    from matplotlib import colormaps, colors
    from matplotlib.cm import ScalarMappable

    fig = drawing.figure(8, 5)
    loss_ax, lr_ax = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    lo, hi = state["config"]["lr_range"]
    norm = colors.LogNorm(lo, hi)
    cmap = colormaps["viridis"]
    start = 0
    for stage in state["stages"]:
        if start:
            for ax in (loss_ax, lr_ax):
                ax.axvline(start, color="0.75", lw=0.6, zorder=0)
        for trial in (t for t in state["history"] if t["stage"] == stage["stage"]):
            color = cmap(norm(trial["lr"]))
            steps = start + np.arange(trial["steps"])
            losses = np.array(trial["losses"], dtype=float)  # None (diverged) -> NaN
            loss_ax.plot(steps, losses, color=color, lw=0.7)
            lr_ax.plot(steps[[0, -1]], [trial["lr"]] * 2, color=color, lw=2)
            if trial["forecast"] is not None:  # where the trial was heading
                loss_ax.plot([steps[-1], steps[-1]], [losses[-1], trial["forecast"]], ":",
                             color=color, lw=0.8)
                loss_ax.plot(steps[-1], trial["forecast"], "_", color=color, ms=6)
            start += trial["steps"]
        start += stage["exploit_steps"] - stage["tau"]  # failed exploitation attempts
        steps = start + np.arange(stage["tau"])
        loss_ax.plot(steps, stage["losses"], color="k", lw=0.8)
        lr_ax.plot(steps[[0, -1]], [stage["lr"]] * 2, color="k", lw=2)
        start += stage["tau"]
    loss_ax.set_ylabel("training loss")
    loss_ax.set_title(f"AutoLRS: {len(state['stages'])} stages, {state['steps_used']} steps "
                      "(trials in colour, the kept run in black)", fontsize=9)
    lr_ax.set_yscale("log")
    lr_ax.set_ylim(lo, hi)
    lr_ax.set_ylabel("learning rate")
    lr_ax.set_xlabel("optimizer steps taken (trials included)")
    fig.colorbar(ScalarMappable(norm, cmap), ax=[loss_ax, lr_ax], label="trial LR", pad=0.01)
    return fig
