"""Every picture lrsched draws: schedules, fitted laws and their predictions, the choices
made with them (optimize, plan-anneal, forecasts), refinement and AutoLRS searches
(matplotlib, imported only when a picture is asked for)."""

from __future__ import annotations

import io
import os

import numpy as np

from lrsched.errors import InputError
from lrsched.files import atomic_path
from lrsched.schedules import MAX_PREVIEW_STEPS, Schedule

_POINTS = 20_000  # steps drawn at most; a longer preview is sampled evenly (and at phase edges)
_LINE, _MARK = "lrsched.schedule", "lrsched.annotation"  # gids of what plot_schedule draws


def preview_length(schedule: Schedule, steps: int | None = None) -> int:
    """The steps a preview of ``schedule`` shows: ``steps``, else the schedule's own
    choice; a one-line InputError beyond MAX_PREVIEW_STEPS."""
    n = steps or schedule.preview_steps()
    if n > MAX_PREVIEW_STEPS:
        raise InputError(f"{schedule.name} runs {n:,} steps, more than a preview shows "
                         f"(at most {MAX_PREVIEW_STEPS:,}); give steps=N (--steps N) to show "
                         "its first N steps")
    return n


def plot_schedule(schedule: Schedule, ax=None, steps: int | None = None,
                  peak_lr: float | None = None, annotate: bool = True, **line_kw):
    """Draw ``schedule`` over ``steps`` steps on ``ax`` (a new figure if None).

    The y axis is the LR when ``peak_lr`` is given, else the multiplier; dotted lines
    mark where phases begin. With ``annotate`` (the default) one schedule on an axes gets
    its spec as the title and its phase names; a second one drawn on the same axes turns
    that into an overlay: titles and phase marks go, and a legend names each line (by its
    ``label``, else its spec). ``annotate=False`` draws the line and its phase lines only,
    for figures that label themselves. Returns the axes.
    """
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.subplots(figsize=(6, 3), layout="constrained")[1]
    n = preview_length(schedule, steps)
    overlay = annotate and any(line.get_gid() == _LINE for line in ax.lines)
    t = _sample(schedule, n)
    line_kw.setdefault("label", schedule.short_spec() if annotate else None)
    ax.plot(t, schedule(t) * (peak_lr or 1.0), gid=_LINE, **line_kw)
    if overlay:
        for artist in [*ax.lines, *ax.texts]:
            if artist.get_gid() == _MARK:
                artist.remove()
        ax.set_title("")
        ax.legend(fontsize=8)
    else:
        _mark_phases(ax, schedule, n, annotate)
    ax.set_xlim(0, max(n - 1, 1))
    ax.set_ylim(bottom=0)
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate" if peak_lr else "LR multiplier")
    return ax


def _sample(schedule: Schedule, n: int) -> np.ndarray:
    """Every step up to ``n``, or at most ``_POINTS`` of them and the phase edges."""
    if n <= _POINTS:
        return np.arange(n)
    edges = [e for p in schedule.phases() for e in (p.start - 1, p.start) if 0 < e < n]
    return np.unique(np.concatenate([np.linspace(0, n - 1, _POINTS).round(), edges])
                     ).astype(np.int64)


def _mark_phases(ax, schedule: Schedule, n: int, annotate: bool) -> None:
    """Dotted lines where phases begin; with ``annotate``, phase names and the spec."""
    axis_px = ax.get_window_extent().width
    char_px = 0.65 * 7 * ax.figure.dpi / 72  # a fontsize-7 character, roughly
    for p in schedule.phases():
        if p.start >= n:
            break
        if p.start > 0:
            _mark(ax, p.start, zorder=0, gid=_MARK)
        width = min(n if p.end is None else p.end, n) - p.start
        if annotate and width / n * axis_px >= len(p.name) * char_px:  # the name fits
            ax.text(p.start + width / 2, 0.99, p.name, transform=ax.get_xaxis_transform(),
                    fontsize=7, color="0.4", ha="center", va="top", gid=_MARK)
    if annotate:
        spec = schedule.short_spec()
        ax.set_title(spec if len(spec) <= 70 else spec[:67] + "...", fontsize=9)


def schedule_figure(schedule: Schedule, steps: int | None = None, peak_lr: float | None = None):
    """A standalone matplotlib Figure of the schedule (no pyplot state)."""
    fig = _figure(6, 3)
    plot_schedule(schedule, ax=fig.subplots(), steps=steps, peak_lr=peak_lr)
    return fig


def schedule_png(schedule: Schedule, steps: int | None = None,
                 peak_lr: float | None = None) -> bytes:
    buf = io.BytesIO()
    schedule_figure(schedule, steps, peak_lr).savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def fit_figure(fit, train, test, level: float = 0.8):
    """Data (dots), the fit (solid) and predictions of held-out curves (dashed), each with
    its calibrated ``level`` interval (``Fit.interval``)."""
    from lrsched.laws.fitting import used_points

    fig = _figure(8, 4.5)
    ax = fig.add_subplot()
    shown = []
    roles = [(c, "fit") for c in train] + [(c, "held out") for c in test]
    for i, (curve, role) in enumerate(roles):
        color = f"C{i % 10}"
        steps, loss, start = used_points(curve, fit.first_step)
        grid = _grid(start, curve.steps[-1])
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
    fig = _figure(7, 4)
    ax = fig.add_subplot()
    few = _grid(steps[0], steps[-1])
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
    fig = _figure(4.2 * max(len(groups), 1), 3.6)
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


def optimize_figure(fit, table, total_steps: int, peak_lr: float):
    """LR (left) and predicted loss (right) of the common choices, the best WSD of the
    10-90% rows and every optimum (``lrsched optimize``'s ranked ``table``)."""
    from lrsched.choosing.optimize import COMMON
    from lrsched.choosing.prediction import fitted_start

    grid = [c for c in table if c.name.startswith("wsd ") and c.name not in COMMON][:1]
    shown = [c for c in table if c.name in COMMON or c.family] + grid
    shown.sort(key=lambda c: c.loss)
    fig = _figure(11, 4.2)
    lr_ax, loss_ax = fig.subplots(1, 2)
    t = np.arange(total_steps)
    steps = _grid(min(fitted_start(fit), total_steps - 1), total_steps - 1)
    ends = []
    for i, c in enumerate(shown):
        lrs = peak_lr * c.schedule(t)
        style = {"color": f"C{i % 10}", "lw": 2.0 if i == 0 else 1.1}
        lr_ax.plot(t, lrs, **style, label=f"{c.name}: {c.loss:.4f}")
        loss = fit.predict(lrs, steps)
        loss_ax.plot(steps, loss, **style)
        _error_bar(loss_ax, total_steps - 1, c.loss, c.interval, style["color"])
        ends.append(loss[steps.size // 2])
    lr_ax.set(xlabel="step", ylabel="learning rate", title="schedules (best first)")
    lr_ax.legend(fontsize=7)
    finals = [c.loss for c in shown]
    loss_ax.set_xlim(steps[steps.size // 2], total_steps)
    loss_ax.set_ylim(min(finals) - 0.2 * (max(ends) - min(finals)), max(ends))
    loss_ax.set(xlabel="step", ylabel="predicted loss",
                title=f"{fit.law.name} law: predicted loss, final 80% interval")
    return fig


def anneal_plan_figure(plan, law_name: str):
    """An ``AnnealPlan`` as a heatmap: start (rows) by length (columns), the best marked."""
    fig = _figure(7, 4.5)
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


def forecast_figure(forecast):
    """A ``Forecast``: the logged loss, the fitted law, and its two predictions (the
    planned schedule, a cooldown now) with their intervals."""
    from lrsched.laws.base import first_used_step

    fig = _figure(7, 4)
    ax = fig.subplots()
    c, curve = forecast.cooldown, forecast.curve
    ax.plot(curve.steps, curve.loss, ".", ms=3, color="0.4", label="logged loss")
    for lrs, loss, interval, label, color in (
            (forecast.lrs, forecast.final_loss, forecast.interval, "planned schedule", "C0"),
            (forecast.cooldown_lrs, c.loss, c.interval, f"cooldown now over {c.length}", "C1")):
        steps = _grid(min(first_used_step(lrs), lrs.size - 1), lrs.size - 1, 300)
        ax.plot(steps, forecast.fit.predict(lrs, steps), color=color,
                label=f"{label}: {loss:.4f}")
        _error_bar(ax, lrs.size - 1, loss, interval, color)
    _mark(ax, forecast.step)
    low = min(forecast.interval[0], c.interval[0])
    ax.set_ylim(low - 0.05 * (curve.loss.max() - low), np.quantile(curve.loss, 0.9))
    ax.set(xlabel="step", ylabel="loss", title=f"forecast at step {forecast.step} "
           f"({forecast.fit.law.name} law, 80% intervals)")
    ax.legend(fontsize=8)
    return fig


def refine_figure(norms, kind: str = "adam", total_steps: int | None = None,
                  smoothing: float = 0.1, title: str = "", steps=None):
    """The norms and their median filter ĝ above, the refined schedule (with linear decay
    for reference) below; the arguments are ``lrsched.refine``'s."""
    from lrsched.refinement import check_norms, check_steps, on_every_step, refine, smooth

    g = check_norms(norms)
    recorded = np.arange(len(g)) if steps is None else check_steps(steps, len(g))
    every = on_every_step(g, steps)
    schedule = refine(g, kind, total_steps, smoothing, steps)
    fig = _figure(6.4, 4.6)
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


def autolrs_figure(state: dict):
    """An AutoLRS search: loss (top) and LR (bottom) against optimizer steps taken, trials
    included.

    ``state`` is ``AutoLRS.state_dict()`` or a saved history. Trials are coloured by
    their LR (darker = lower), the kept exploitation steps are black; a dotted line from
    each trial's end marks its forecast of the loss after τ steps (the BO objective).
    """
    from matplotlib import colormaps, colors
    from matplotlib.cm import ScalarMappable

    fig = _figure(8, 5)
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


# -- drawing helpers -------------------------------------------------------------------------


def _figure(width: float, height: float):
    """A standalone Figure (no pyplot state) with constrained layout."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _grid(start: int, end: int, n: int = 400) -> np.ndarray:
    """At most ``n`` whole steps from ``start`` to ``end``, evenly spaced: where a predicted
    loss curve is drawn."""
    return np.unique(np.linspace(start, end, n).astype(np.int64))


def _error_bar(ax, step: int, loss: float, interval: tuple[float, float], color) -> None:
    """A predicted final ``loss`` at ``step`` with its ``interval``."""
    below, above = max(loss - interval[0], 0.0), max(interval[1] - loss, 0.0)
    ax.errorbar(step, loss, yerr=[[below], [above]], fmt="o", ms=3, capsize=2, color=color)


def _mark(ax, step: int, **line_kw) -> None:
    """A dotted grey line at ``step``: where a phase begins, or the step a forecast is made."""
    ax.axvline(step, color="0.6", lw=0.8, ls=":", **line_kw)


def save_figure(fig, path: str | os.PathLike, dpi: int = 120, **savefig_kw) -> None:
    """Save ``fig`` to ``path`` atomically: a failed save leaves no partial file."""
    fmt = os.path.splitext(os.fspath(path))[1].lstrip(".").lower() or "png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi, **savefig_kw)
