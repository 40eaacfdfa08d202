"""The pictures of fits, the choices made with them and refinements: a fitted law on its
curves, a prediction, a decision among runs, ``optimize``'s table, an anneal plan and a
refined schedule, each drawn from what it is handed, for the CLI and the docs.

A figure lives with its capability or above it, never below: what lives below these
draws itself (a schedule: ``schedules.preview``, shown here too; ``Forecast.figure``;
``AutoLRS.plot``), and the shared pieces are in ``lrsched.drawing``.
"""

from __future__ import annotations

import os

import numpy as np

from lrsched import drawing
from lrsched.choosing.optimize import COMMON
from lrsched.choosing.prediction import fitted_start
from lrsched.drawing import save_figure
from lrsched.laws import predictive
from lrsched.laws.fitting import used_points
from lrsched.refinement import check_norms, check_steps, on_every_step, refine, smooth
from lrsched.schedules.preview import plot_schedule, schedule_figure

__all__ = ["anneal_plan_figure", "decision_figure", "fit_figure", "lr_sweep_figure",
           "odds_figure", "optimize_figure", "plot_schedule", "prediction_figure", "refine_figure",
           "save_figure", "schedule_figure"]


def fit_figure(fit, train, test, level: float = 0.8):
    """Data (dots), the fit (solid) and predictions of held-out curves (dashed), each with
    its calibrated ``level`` interval (``Fit.interval``)."""
    fig = drawing.figure(8, 4.5)
    ax = fig.add_subplot()
    shown = []
    roles = [(c, "fit") for c in train] + [(c, "held out") for c in test]
    for i, (curve, role) in enumerate(roles):
        color = f"C{i % 10}"
        steps, loss, start = used_points(curve, fit.first_step)
        grid = drawing.grid(start, curve.steps[-1])
        pred = fit.predict(curve.lrs, grid)
        low, high = fit.interval(curve.lrs, grid, level)
        ax.plot(steps, loss, ".", ms=2.5, color=color)
        ax.plot(grid, pred, "-" if role == "fit" else "--", color=color, lw=1.2,
                label=f"{os.path.basename(curve.name)} ({role})")
        ax.fill_between(grid, low, high, color=color, alpha=0.2, lw=0)
        shown += [loss, pred]
    shown = np.concatenate(shown)  # clip the steep first points so the tails are visible
    ax.set_ylim(shown.min() - 0.01 * np.ptp(shown), np.quantile(shown, 0.97))
    ax.set(xlabel="step", ylabel="loss", title=f"{fit.law.name} law: data (dots), fit (solid), "
           f"prediction (dashed), {level:.0%} interval")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7)
    return fig


def prediction_figure(fit, lrs, steps, title: str, level: float = 0.8):
    """The loss a fit predicts at ``steps`` for per-step LRs ``lrs``, with its interval."""
    fig = drawing.figure(7, 4)
    ax = fig.add_subplot()
    few = drawing.grid(steps[0], steps[-1])
    low, high = fit.interval(lrs, few, level)
    ax.plot(few, fit.predict(lrs, few), color="C0", lw=1.2, label="predicted loss")
    ax.fill_between(few, low, high, color="C0", alpha=0.2, lw=0, label=f"{level:.0%} interval")
    ax.set(xlabel="step", ylabel="loss")
    ax.set_title(f"{fit.law.name} law: {title}", fontsize=9)
    ax.legend()
    return fig


def decision_figure(fit, curves, level: float = 0.8, title: str = ""):
    """Predicted (with the calibrated ``level`` interval) against measured final loss of
    candidate runs of equal length, one panel per run length (``Fit.decisions``)."""
    groups = fit.decisions(curves)
    by_name = {c.name: c for c in curves}
    fig = drawing.figure(4.2 * max(len(groups), 1), 3.6)
    for ax, d in zip(np.atleast_1d(fig.subplots(1, max(len(groups), 1))), groups):
        order = np.argsort(d["actual"])
        names = [os.path.basename(str(d["curves"][i])) for i in order]
        y = np.arange(len(order))
        bounds = [fit.interval(by_name[d["curves"][i]].lrs,
                               by_name[d["curves"][i]].steps[-1:], level) for i in order]
        low = np.array([b[0][0] for b in bounds])
        high = np.array([b[1][0] for b in bounds])
        pred = np.array(d["predicted"])[order]
        ax.errorbar(pred, y, xerr=[pred - low, high - pred], fmt="o", color="C0", ms=4,
                    capsize=2, label=f"predicted, {level:.0%} interval")
        ax.plot(np.array(d["actual"])[order], y, "kx", label="measured")
        ax.set_yticks(y, names, fontsize=7)
        ax.set_xlabel("final loss")
        ax.set_title(f"{d['steps']:,} steps: gap error {d['gap_error']:.2f}, "
                     f"regret {d['regret']:.3f}", fontsize=8)
    if groups:
        fig.axes[0].legend(fontsize=7, loc="lower right")
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def optimize_figure(fit, table, total_steps: int, peak_lr: float, odds: int = 12):
    """LR (left) and predicted loss (middle) of the common choices, the best WSD of the
    10-90% rows and every optimum (``lrsched optimize``'s ranked ``table``); right, the
    first ``odds`` rows' final losses with their chance of beating the best (as
    ``odds_figure``)."""
    grid = [c for c in table if c.name.startswith("wsd ") and c.name not in COMMON][:1]
    shown = [c for c in table if c.name in COMMON or c.family] + grid
    shown.sort(key=lambda c: c.loss)
    fig = drawing.figure(16, 4.2)
    lr_ax, loss_ax, odds_ax = fig.subplots(1, 3, width_ratios=(1, 1, 0.9))
    _odds(odds_ax, table[:odds], {})
    t = np.arange(total_steps)
    steps = drawing.grid(min(fitted_start(fit), total_steps - 1), total_steps - 1)
    ends = []
    for i, c in enumerate(shown):
        lrs = peak_lr * c.schedule(t)
        style = {"color": f"C{i % 10}", "lw": 2.0 if i == 0 else 1.1}
        lr_ax.plot(t, lrs, **style, label=f"{c.name}: {c.loss:.4f}")
        loss = fit.predict(lrs, steps)
        loss_ax.plot(steps, loss, **style)
        drawing.error_bar(loss_ax, total_steps - 1, c.loss, c.interval, style["color"])
        ends.append(loss[steps.size // 2])
    lr_ax.set(xlabel="step", ylabel="learning rate", title="schedules (best first)")
    lr_ax.legend(fontsize=7)
    finals = [c.loss for c in shown]
    loss_ax.set_xlim(steps[steps.size // 2], total_steps)
    loss_ax.set_ylim(min(finals) - 0.2 * (max(ends) - min(finals)), max(ends))
    loss_ax.set(xlabel="step", ylabel="predicted loss",
                title=f"{fit.law.name} law: predicted loss, final 80% interval")
    return fig


def odds_figure(table, measured: dict | None = None, shown: int = 16, title: str = ""):
    """The first ``shown`` rows of a table with odds (``candidates``, best first): each
    predicted final loss with its 80% interval, the rows within the fit's resolution of
    the best marked, and each row's chance of beating the best written beside it;
    ``measured`` (name -> final loss of a run made) adds the measured ends."""
    rows = table[:shown]
    fig = drawing.figure(7.2, 1.2 + 0.28 * len(rows))
    _odds(fig.subplots(), rows, measured or {})
    handles = [drawing.legend_marker("*", "C2", "predicted best"),
               drawing.legend_marker("o", "C1", "within the fit's resolution of it"),
               drawing.legend_marker("o", "C0", "resolved: worse")]
    if measured:
        handles.append(drawing.legend_marker("x", "k", "measured"))
    fig.legend(handles=handles, fontsize=7, loc="outside lower center", ncol=len(handles))
    fig.suptitle(title, fontsize=9)
    return fig


def _odds(ax, rows, measured: dict) -> None:
    """``odds_figure``'s panel: the best green, the rows tied with it orange."""
    y = -np.arange(len(rows))
    for i, c in enumerate(rows):
        color = "C2" if i == 0 else "C1" if c.tied else "C0"
        ax.errorbar(c.loss, y[i], xerr=[[c.loss - c.interval[0]], [c.interval[1] - c.loss]],
                    fmt="*" if i == 0 else "o", ms=9 if i == 0 else 4, color=color, capsize=2)
        ax.annotate(predictive.odds_text(c.beats_best, tie=False), (1.01, y[i]),
                    xycoords=("axes fraction", "data"), va="center", fontsize=7, color=color)
        if c.name in measured:
            ax.plot(measured[c.name], y[i], "kx", ms=6)
    ax.set_yticks(y, [c.name for c in rows], fontsize=7)
    ax.set_xlabel("final loss (predicted, 80% interval)")
    ax.annotate("chance of\nbeating it", (1.01, 1.0), xycoords="axes fraction", fontsize=7,
                va="bottom")


def lr_sweep_figure(curves: dict, fitted: tuple[float, float], total_steps: int,
                    law_name: str):
    """Predicted final loss against peak LR for each family (``curves``: family -> the
    ``sweep`` of it, by peak LR), with 80% intervals, the fitted peak LRs shaded and the
    best point of each family marked: the LR sweep users draw by hand."""
    fig = drawing.figure(6.4, 4.2)
    ax = fig.subplots()
    ax.axvspan(*fitted, color="0.92", zorder=0, label="fitted peak LRs")
    for (family, rows), color in zip(curves.items(), ("C0", "C1", "C2", "C3")):
        lrs = [c.peak_lr for c in rows]
        loss = np.array([c.loss for c in rows])
        low, high = (np.array([c.interval[i] for c in rows]) for i in (0, 1))
        ax.plot(lrs, loss, "o-", ms=3, color=color, label=f"best {family}")
        ax.fill_between(lrs, low, high, color=color, alpha=0.12, lw=0)
        best = int(np.argmin(loss))
        ax.plot(lrs[best], loss[best], "*", ms=12, color=color, mec="black", mew=0.6)
    ax.set_xscale("log")
    ax.set(xlabel="peak LR", ylabel=f"predicted final loss at step {total_steps:,}",
           title=f"LR sweep predicted by the {law_name} law (80% intervals; * best)")
    low, high = ax.get_ylim()
    ax.set_ylim(low, high + 0.3 * (high - low))  # room for the legend
    ax.legend(fontsize=7, ncol=2, loc="upper center")
    return fig


def anneal_plan_figure(plan, law_name: str):
    """An ``AnnealPlan`` as a heatmap: start (rows) by length (columns), the best marked."""
    fig = drawing.figure(7, 4.5)
    ax = fig.subplots()
    image = ax.imshow(plan.losses, origin="lower", aspect="auto", cmap="viridis_r")
    fig.colorbar(image, ax=ax, label="predicted final loss")
    ax.set_xticks(range(plan.lengths.size), [str(d) for d in plan.lengths], fontsize=7)
    ax.set_yticks(range(plan.starts.size), [str(s) for s in plan.starts], fontsize=7)
    ax.set(xlabel="cooldown length (steps)", ylabel="cooldown start (step)",
           title=f"{law_name} law: final loss of a {plan.shape} cooldown")
    for cooldown, marker, label in ((plan.best, "*", "best"), (plan.now_best, "o", "best now")):
        if cooldown is not None:
            i = int(np.flatnonzero(plan.starts == cooldown.start)[0])
            j = int(np.flatnonzero(plan.lengths == cooldown.length)[0])
            ax.plot(j, i, marker, color="white", mec="black", ms=11, label=label)
    ax.legend(fontsize=8, loc="upper right")
    return fig


def refine_figure(norms, kind: str = "adam", total_steps: int | None = None,
                  smoothing: float = 0.1, title: str = "", steps=None):
    """The norms and their median filter ĝ above, the refined schedule (with linear decay
    for reference) below; the arguments are ``lrsched.refine``'s."""
    g = check_norms(norms)
    recorded = np.arange(len(g)) if steps is None else check_steps(steps, len(g))
    every = on_every_step(g, steps)
    schedule = refine(g, kind, total_steps, smoothing, steps)
    fig = drawing.figure(6.4, 4.6)
    top, bottom = fig.subplots(2, 1)
    top.plot(recorded, g, color="0.7", lw=0.8, label="recorded norm")
    top.plot(np.arange(recorded[0], recorded[-1] + 1), smooth(every, smoothing), color="C0",
             lw=1.8, label=f"median filter ({smoothing:g} of the run)")
    top.set(xlim=(recorded[0], recorded[-1]), xlabel="step of the recorded run",
            ylabel=f"{'l1' if kind == 'adam' else 'l2'} gradient norm")
    top.legend(fontsize=8, frameon=False)
    t = np.arange(schedule.total_steps)
    bottom.plot(t, schedule(t), color="C3", lw=1.8, label=f"refined ({kind})")
    bottom.plot(t, 1 - t / t[-1], color="0.5", ls="--", lw=1, label="linear decay")
    bottom.set(xlim=(0, t[-1]), ylim=(0, 1.05), xlabel="step of the refined run",
               ylabel="LR multiplier")
    bottom.legend(fontsize=8, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
