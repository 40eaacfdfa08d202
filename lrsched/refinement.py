"""Schedules refined from observed gradient norms (Defazio et al. 2023, arXiv 2310.07831).

Given the gradient norms ``g_1..g_T`` of a run, the schedule that minimises the paper's
last-iterate bound for the same run is (their Theorem 8 and Algorithms 1 and 2)::

    eta_t  ∝  w_t * sum_{p=t+1}^{T} w_p,   w_t = g_t^-2 (SGD, l2 norms)  or  g_t^-1 (Adam, l1 norms)

so ``eta_T = 0``. ``g`` is first smoothed by a median filter about a tenth of the run
wide. numpy and scipy only: recording the norms (``lrsched.GradNormRecorder``) is the
torch side.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Literal

import numpy as np
from scipy.ndimage import median_filter

from lrsched.files import atomic_path, is_number
from lrsched.schedules import Tabulated, tabulated

Kind = Literal["adam", "sgd"]
POWER = {"sgd": 2, "adam": 1}  # w_t = g_t^-POWER[kind]
MIN_NORMS = 10  # shorter records say too little about the run to shape a schedule


def refine(norms: Sequence[float] | np.ndarray, kind: Kind = "adam",
           total_steps: int | None = None, smoothing: float = 0.1) -> Tabulated:
    """The refined schedule for a run of ``total_steps`` steps (default: as many as norms).

    ``eta_t ∝ w_t * sum_{p>t} w_p`` with ``w_t = ĝ_t^-2`` for ``kind="sgd"`` (l2 norms) or
    ``ĝ_t^-1`` for ``kind="adam"`` (l1 norms), normalised to a maximum of 1 and exactly 0
    at the last step. ``ĝ`` is ``norms`` median-filtered over ``smoothing`` of the run
    (reflected at the ends), then stretched to ``total_steps`` in relative time, so the
    norms of a short run refine a long one. Returns a tabulated schedule, one value per step.
    """
    if kind not in POWER:
        raise ValueError(f"kind={kind!r} is invalid; use 'adam' (l1 norms, Adam-type "
                         f"optimizers) or 'sgd' (l2 norms)")
    g = smooth(norms, smoothing)
    steps = len(g) if total_steps is None else total_steps
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 2:
        raise ValueError(f"total_steps={total_steps!r} is invalid; give a whole number >= 2")
    g = np.interp(np.linspace(0.0, 1.0, steps), np.linspace(0.0, 1.0, len(g)), g)
    # w scaled to max 1, floored at e^-700 so that norms spanning any range stay finite.
    log_w = -POWER[kind] * np.log(g)
    w = np.exp(np.maximum(log_w - log_w.max(), -700.0))
    tail = np.cumsum(w[::-1])[::-1]  # sum_{p>=t} w_p
    eta = np.append(w[:-1] * tail[1:], 0.0)
    return tabulated(values=eta / eta.max())


def smooth(norms: Sequence[float] | np.ndarray, smoothing: float = 0.1) -> np.ndarray:
    """``norms`` median-filtered with an odd window of ``smoothing`` of their length,
    reflected at both ends (so the last steps are not pulled towards earlier ones)."""
    g = check_norms(norms)
    return median_filter(g, size=filter_width(len(g), smoothing), mode="reflect")


def filter_width(n: int, smoothing: float) -> int:
    """The median filter's window for ``n`` norms: odd, about ``smoothing * n``, at most ``n``."""
    if not 0.0 <= smoothing <= 1.0:
        raise ValueError(f"smoothing={smoothing!r} is invalid; give the filter width as a "
                         f"fraction of the run in [0, 1] (the paper used about 0.1)")
    return min(2 * round(smoothing * n / 2) + 1, n - 1 + n % 2)


def check_norms(norms: Sequence[float] | np.ndarray) -> np.ndarray:
    """``norms`` as a float64 array, or a one-line ValueError saying what is wrong."""
    try:
        g = np.asarray(norms, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"norms must be a list of numbers: {exc}") from None
    if g.ndim != 1:
        raise ValueError(f"norms must be one number per step (1-D), got shape {g.shape}")
    if len(g) < MIN_NORMS:
        raise ValueError(f"only {len(g)} norms; refining needs at least {MIN_NORMS} "
                         f"(one per optimizer step of a run)")
    bad = np.flatnonzero(~(np.isfinite(g) & (g > 0)))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"norms[{i}] = {float(g[i])!r} ({bad.size} bad in all); every norm must "
                         f"be finite and > 0: cut the record before a divergence or drop "
                         f"the steps that were skipped")
    return g


# -- files: .npy, or .csv with a header "step,norm" (one norm per line also reads) --------


def save_norms(path: str | os.PathLike, norms: Sequence[float] | np.ndarray) -> None:
    """Write ``norms`` to ``path`` (.npy or .csv by extension), atomically."""
    norms = np.asarray(norms, dtype=np.float64)
    suffix = _suffix(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        if suffix == ".npy":
            np.save(f, norms)
        else:
            rows = np.column_stack([np.arange(len(norms)), norms])
            np.savetxt(f, rows, fmt=["%d", "%.17g"], delimiter=",", header="step,norm",
                       comments="")


def load_norms(path: str | os.PathLike) -> np.ndarray:
    """Norms from a .npy file, or a .csv file: the ``norm`` column if the header names
    one, else the last column (a header is optional)."""
    suffix = _suffix(path)
    try:
        if suffix == ".npy":
            return np.load(path, allow_pickle=False)
        with open(path) as f:
            first = f.readline()
        fields = [s.strip().lower() for s in first.split(",")]
        header = not is_number(fields[-1])
        column = fields.index("norm") if header and "norm" in fields else len(fields) - 1
        return np.loadtxt(path, delimiter=",", skiprows=int(header), usecols=column,
                          ndmin=1, dtype=np.float64)
    except (ValueError, IndexError, EOFError) as exc:
        raise ValueError(f"cannot read norms from {os.fspath(path)}: {exc}") from None


def _suffix(path: str | os.PathLike) -> str:
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix not in (".npy", ".csv"):
        raise ValueError(f"{os.fspath(path)}: norms files are .npy or .csv, got {suffix!r}")
    return suffix


# -- the picture: norms -> schedule ----------------------------------------------------------


def refine_figure(norms: Sequence[float] | np.ndarray, kind: Kind = "adam",
                  total_steps: int | None = None, smoothing: float = 0.1, title: str = ""):
    """A matplotlib Figure: the norms and their median filter ĝ above, the refined
    schedule (with linear decay for reference) below."""
    from matplotlib.figure import Figure

    g = check_norms(norms)
    schedule = refine(g, kind, total_steps, smoothing)
    fig = Figure(figsize=(6.4, 4.6), layout="constrained")
    top, bottom = fig.subplots(2, 1)
    top.plot(g, color="0.7", lw=0.8, label="recorded norm")
    top.plot(smooth(g, smoothing), color="C0", lw=1.8,
             label=f"median filter ({smoothing:g} of the run)")
    top.set(xlim=(0, len(g) - 1), xlabel="step of the recorded run",
            ylabel=f"{'l1' if kind == 'adam' else 'l2'} gradient norm")
    top.legend(fontsize=8, frameon=False)
    steps = np.arange(schedule.total_steps)
    bottom.plot(steps, schedule(steps), color="C3", lw=1.8, label=f"refined ({kind})")
    bottom.plot(steps, 1 - steps / steps[-1], color="0.5", ls="--", lw=1, label="linear decay")
    bottom.set(xlim=(0, steps[-1]), ylim=(0, 1.05), xlabel="step of the refined run",
               ylabel="LR multiplier")
    bottom.legend(fontsize=8, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
