"""What every figure shares: a standalone Figure (no pyplot state), a grid of steps to
draw a curve at, error bars and step marks, and saving (atomically) or PNG bytes.

Each figure lives with its capability or above it, never below: a Schedule, a Forecast
and an AutoLRS search draw themselves; ``lrsched.plot`` draws fits, choices and
refinements. They all draw with these (matplotlib is imported only when one is drawn).
"""

from __future__ import annotations

import io
import os

import numpy as np

from lrsched.files import atomic_path


def figure(width: float, height: float):
    """A standalone Figure (no pyplot state) with constrained layout."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def grid(start: int, end: int, n: int = 400) -> np.ndarray:
    """At most ``n`` whole steps from ``start`` to ``end``, evenly spaced: where a predicted
    loss curve is drawn."""
    return np.unique(np.linspace(start, end, n).astype(np.int64))


def error_bar(ax, step: int, loss: float, interval: tuple[float, float], color) -> None:
    """A predicted final ``loss`` at ``step`` with its ``interval``."""
    below, above = max(loss - interval[0], 0.0), max(interval[1] - loss, 0.0)
    ax.errorbar(step, loss, yerr=[[below], [above]], fmt="o", ms=3, capsize=2, color=color)


def mark(ax, step: int, **line_kw) -> None:
    """A dotted grey line at ``step``: where a phase begins, or the step a forecast is made."""
    ax.axvline(step, color="0.6", lw=0.8, ls=":", **line_kw)


def save_figure(fig, path: str | os.PathLike, dpi: int = 120, **savefig_kw) -> None:
    """Save ``fig`` to ``path`` atomically: a failed save leaves no partial file."""
    fmt = os.path.splitext(os.fspath(path))[1].lstrip(".").lower() or "png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi, **savefig_kw)


def png(fig, dpi: int = 100) -> bytes:
    """``fig`` as PNG bytes (a notebook's inline picture)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def legend_marker(marker: str, color, label: str):
    """A legend entry of one marker."""
    from matplotlib.lines import Line2D

    return Line2D([], [], marker=marker, color=color, ls="", label=label)
