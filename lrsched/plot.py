"""Every picture lrsched draws: schedules, fitted laws and their predictions (matplotlib,
imported only when a picture is asked for)."""

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
            ax.axvline(p.start, color="0.6", lw=0.8, ls=":", zorder=0, gid=_MARK)
        width = min(n if p.end is None else p.end, n) - p.start
        if annotate and width / n * axis_px >= len(p.name) * char_px:  # the name fits
            ax.text(p.start + width / 2, 0.99, p.name, transform=ax.get_xaxis_transform(),
                    fontsize=7, color="0.4", ha="center", va="top", gid=_MARK)
    if annotate:
        spec = schedule.short_spec()
        ax.set_title(spec if len(spec) <= 70 else spec[:67] + "...", fontsize=9)


def schedule_figure(schedule: Schedule, steps: int | None = None, peak_lr: float | None = None):
    """A standalone matplotlib Figure of the schedule (no pyplot state)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3), layout="constrained")
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
    from matplotlib.figure import Figure

    from lrsched.laws.fitting import used_points

    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.add_subplot()
    shown = []
    roles = [(c, "fit") for c in train] + [(c, "held out") for c in test]
    for i, (curve, role) in enumerate(roles):
        color = f"C{i % 10}"
        steps, loss, start = used_points(curve, fit.first_step)
        grid = np.unique(np.linspace(start, curve.steps[-1], 400).astype(np.int64))
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
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.add_subplot()
    few = np.unique(np.linspace(steps[0], steps[-1], 400).astype(np.int64))
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
    from matplotlib.figure import Figure

    groups = fit.decisions(curves)
    by_name = {c.name: c for c in curves}
    fig = Figure(figsize=(4.2 * max(len(groups), 1), 3.6), layout="constrained")
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


def save_figure(fig, path: str | os.PathLike, dpi: int = 120, **savefig_kw) -> None:
    """Save ``fig`` to ``path`` atomically: a failed save leaves no partial file."""
    fmt = os.path.splitext(os.fspath(path))[1].lstrip(".").lower() or "png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi, **savefig_kw)
