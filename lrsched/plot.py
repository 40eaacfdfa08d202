"""Pictures of schedules (matplotlib, imported only when a picture is asked for)."""

from __future__ import annotations

import io
import os

import numpy as np

from lrsched.files import atomic_path
from lrsched.schedules import Schedule


def plot_schedule(schedule: Schedule, ax=None, steps: int | None = None,
                  peak_lr: float | None = None, annotate: bool = True, **line_kw):
    """Draw ``schedule`` over ``steps`` steps on ``ax`` (a new figure if None).

    The y axis is the LR when ``peak_lr`` is given, else the multiplier; dotted lines
    mark where phases begin. ``annotate`` adds phase names and the spec as the title
    (turn it off to overlay several schedules). Returns the axes.
    """
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.subplots(figsize=(6, 3), layout="constrained")[1]
    n = steps or schedule.preview_steps()
    t = np.arange(n)
    ax.plot(t, schedule(t) * (peak_lr or 1.0), **line_kw)
    axis_px = ax.get_window_extent().width
    char_px = 0.65 * 7 * ax.figure.dpi / 72  # a fontsize-7 character, roughly
    for p in schedule.phases():
        if p.start >= n:
            break
        if p.start > 0:
            ax.axvline(p.start, color="0.6", lw=0.8, ls=":", zorder=0)
        width = min(n if p.end is None else p.end, n) - p.start
        if annotate and width / n * axis_px >= len(p.name) * char_px:  # the name fits
            ax.text(p.start + width / 2, 0.99, p.name, transform=ax.get_xaxis_transform(),
                    fontsize=7, color="0.4", ha="center", va="top")
    ax.set_xlim(0, max(n - 1, 1))
    ax.set_ylim(bottom=0)
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate" if peak_lr else "LR multiplier")
    if annotate:
        spec = schedule.to_spec()
        ax.set_title(spec if len(spec) <= 70 else spec[:67] + "...", fontsize=9)
    return ax


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


def save_figure(fig, path: str | os.PathLike, dpi: int = 120, **savefig_kw) -> None:
    """Save ``fig`` to ``path`` atomically: a failed save leaves no partial file."""
    fmt = os.path.splitext(os.fspath(path))[1].lstrip(".").lower() or "png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi, **savefig_kw)
