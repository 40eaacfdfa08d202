"""A schedule's picture: ``Schedule.plot`` and the notebook preview, for any schedule
(by its interface: calling it, ``phases``, ``preview_steps``, ``short_spec``)."""

from __future__ import annotations

import numpy as np

from lrsched import drawing
from lrsched.errors import InputError

MAX_PREVIEW_STEPS = 10**7  # 80 MB of float64: a preview needs far fewer
_POINTS = 20_000  # steps drawn at most; a longer preview is sampled evenly (and at phase edges)
_LINE, _MARK = "lrsched.schedule", "lrsched.annotation"  # gids of what plot_schedule draws


def preview_length(schedule, steps: int | None = None) -> int:
    """The steps a preview of ``schedule`` shows: ``steps``, else the schedule's own
    choice; a one-line InputError beyond MAX_PREVIEW_STEPS."""
    n = steps or schedule.preview_steps()
    if n > MAX_PREVIEW_STEPS:
        raise InputError(f"{schedule.name} runs {n:,} steps, more than a preview shows "
                         f"(at most {MAX_PREVIEW_STEPS:,}); give steps=N (--steps N) to show "
                         "its first N steps")
    return n


def plot_schedule(schedule, ax=None, steps: int | None = None,
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


def _sample(schedule, n: int) -> np.ndarray:
    """Every step up to ``n``, or at most ``_POINTS`` of them and the phase edges."""
    if n <= _POINTS:
        return np.arange(n)
    edges = [e for p in schedule.phases() for e in (p.start - 1, p.start) if 0 < e < n]
    return np.unique(np.concatenate([np.linspace(0, n - 1, _POINTS).round(), edges])
                     ).astype(np.int64)


def _mark_phases(ax, schedule, n: int, annotate: bool) -> None:
    """Dotted lines where phases begin; with ``annotate``, phase names and the spec."""
    axis_px = ax.get_window_extent().width
    char_px = 0.65 * 7 * ax.figure.dpi / 72  # a fontsize-7 character, roughly
    for p in schedule.phases():
        if p.start >= n:
            break
        if p.start > 0:
            drawing.mark(ax, p.start, zorder=0, gid=_MARK)
        width = min(n if p.end is None else p.end, n) - p.start
        if annotate and width / n * axis_px >= len(p.name) * char_px:  # the name fits
            ax.text(p.start + width / 2, 0.99, p.name, transform=ax.get_xaxis_transform(),
                    fontsize=7, color="0.4", ha="center", va="top", gid=_MARK)
    if annotate:
        spec = schedule.short_spec()
        ax.set_title(spec if len(spec) <= 70 else spec[:67] + "...", fontsize=9)


def schedule_figure(schedule, steps: int | None = None, peak_lr: float | None = None):
    """A standalone matplotlib Figure of the schedule (no pyplot state)."""
    fig = drawing.figure(6, 3)
    plot_schedule(schedule, ax=fig.subplots(), steps=steps, peak_lr=peak_lr)
    return fig


def schedule_png(schedule, steps: int | None = None,
                 peak_lr: float | None = None) -> bytes:
    """The schedule as PNG bytes: its notebook preview."""
    return drawing.png(schedule_figure(schedule, steps, peak_lr))
