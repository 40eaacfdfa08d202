"""Schedules refined from observed gradient norms (Defazio et al. 2023, arXiv 2310.07831).

Given the gradient norms ``g_1..g_T`` of a run, the schedule that minimises the paper's
last-iterate bound for the same run is (their Theorem 8 and Algorithms 1 and 2)::

    eta_t  ∝  w_t * sum_{p=t+1}^{T} w_p,   w_t = g_t^-2 (SGD, l2 norms)  or  g_t^-1 (Adam, l1 norms)

so ``eta_T = 0``. ``g`` is first smoothed by a median filter about a tenth of the run
wide. numpy and scipy only: recording the norms (``lrsched.GradNormRecorder``) is the
torch side.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
from scipy.ndimage import median_filter

from lrsched.errors import InputError
from lrsched.files import atomic_path, is_number
from lrsched.lr_arrays import MAX_STEPS
from lrsched.schedules import Tabulated, tabulated

Kind = Literal["adam", "sgd"]
POWER = {"sgd": 2, "adam": 1}  # w_t = g_t^-POWER[kind]
MIN_NORMS = 10  # shorter records say too little about the run to shape a schedule


def refine(norms: Sequence[float] | np.ndarray, kind: Kind = "adam",
           total_steps: int | None = None, smoothing: float = 0.1,
           steps: Sequence[int] | np.ndarray | None = None) -> Tabulated:
    """The refined schedule for a run of ``total_steps`` steps (default: as many as the
    record spans).

    ``eta_t ∝ w_t * sum_{p>t} w_p`` with ``w_t = ĝ_t^-2`` for ``kind="sgd"`` (l2 norms) or
    ``ĝ_t^-1`` for ``kind="adam"`` (l1 norms), normalised to a maximum of 1 and exactly 0
    at the last step. ``ĝ`` is ``norms`` median-filtered over ``smoothing`` of the run
    (reflected at the ends), then stretched to ``total_steps`` in relative time, so the
    norms of a short run refine a long one. ``steps`` gives the step of each norm
    (default 0, 1, ...): steps the record skips (GradScaler's) are filled in linearly
    first. Returns a tabulated schedule, one value per step.
    """
    if kind not in POWER:
        raise InputError(f"kind={kind!r} is invalid; use 'adam' (l1 norms, Adam-type "
                         f"optimizers) or 'sgd' (l2 norms)")
    g = smooth(on_every_step(check_norms(norms), steps), smoothing)
    n = len(g) if total_steps is None else total_steps
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise InputError(f"total_steps={total_steps!r} is invalid; give a whole number >= 2")
    if n > MAX_STEPS:
        raise InputError(f"total_steps={n} is more than a schedule table holds "
                         f"({MAX_STEPS:,} steps); give the run's own length")
    # Between two norms of very different size, rounding can put an interpolated value
    # below both (even at 0): it is held within the norms' range.
    g = np.clip(np.interp(np.linspace(0.0, 1.0, n), np.linspace(0.0, 1.0, len(g)), g),
                g.min(), g.max())
    # w scaled to max 1, floored at e^-700 so that norms spanning any range stay finite.
    log_w = -POWER[kind] * np.log(g)
    w = np.exp(np.maximum(log_w - log_w.max(), -700.0))
    tail = np.cumsum(w[::-1])[::-1]  # sum_{p>=t} w_p
    eta = np.append(w[:-1] * tail[1:], 0.0)
    return tabulated(values=eta / eta.max())


def on_every_step(g: np.ndarray, steps) -> np.ndarray:
    """Norms ``g`` recorded at ``steps``, linearly filled in on every step between the
    first and the last."""
    if steps is None:
        return g
    steps = check_steps(steps, len(g))
    return np.interp(np.arange(steps[0], steps[-1] + 1), steps, g)


def smooth(norms: Sequence[float] | np.ndarray, smoothing: float = 0.1) -> np.ndarray:
    """``norms`` median-filtered with an odd window of ``smoothing`` of their length,
    reflected at both ends (so the last steps are not pulled towards earlier ones)."""
    g = check_norms(norms)
    return median_filter(g, size=filter_width(len(g), smoothing), mode="reflect")


def filter_width(n: int, smoothing: float) -> int:
    """The median filter's window for ``n`` norms: odd, about ``smoothing * n``, at most ``n``."""
    if not 0.0 <= smoothing <= 1.0:
        raise InputError(f"smoothing={smoothing!r} is invalid; give the filter width as a "
                         f"fraction of the run in [0, 1] (the paper used about 0.1)")
    return min(2 * round(smoothing * n / 2) + 1, n - 1 + n % 2)


def check_norms(norms: Sequence[float] | np.ndarray) -> np.ndarray:
    """``norms`` as a float64 array, or a one-line InputError saying what is wrong."""
    g = as_norms(norms)
    if len(g) < MIN_NORMS:
        raise InputError(f"only {len(g)} norms; refining needs at least {MIN_NORMS} "
                         f"(one per optimizer step of a run)")
    bad = np.flatnonzero(~(np.isfinite(g) & (g > 0)))
    if bad.size:
        i = int(bad[0])
        raise InputError(f"norms[{i}] = {float(g[i])!r} ({bad.size} bad in all); every norm "
                         f"must be finite and > 0: cut the record before a divergence or "
                         f"drop the steps that were skipped")
    return g


def as_norms(norms: Sequence[float] | np.ndarray) -> np.ndarray:
    """``norms`` as a 1-D float64 array: real numbers (not bool, not complex)."""
    try:
        raw = np.asarray(norms)
    except (TypeError, ValueError) as exc:
        raise InputError(f"norms must be a list of numbers: {exc}") from None
    if raw.dtype.kind in "bc":
        raise InputError(f"norms must be real numbers, got {raw.dtype} values; record the "
                         "gradient norms themselves (GradNormRecorder)")
    try:
        g = raw.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"norms must be a list of numbers: {exc}") from None
    if g.ndim != 1:
        raise InputError(f"norms must be one number per step (1-D), got shape {g.shape}")
    return g


def check_steps(steps, count: int) -> np.ndarray:
    """The step of each of ``count`` norms: whole, >= 0, increasing, bounded."""
    raw = np.asarray(steps)
    if raw.shape != (count,) or raw.dtype.kind not in "iuf":
        raise InputError(f"steps must be {count} numbers, one per norm; got "
                         f"{raw.dtype} values of shape {raw.shape}")
    s = raw.astype(np.float64)
    if not np.all(np.isfinite(s) & (s >= 0) & (s == np.round(s))):
        raise InputError("steps must be whole numbers >= 0")
    if np.any(np.diff(s) <= 0):
        i = int(np.flatnonzero(np.diff(s) <= 0)[0]) + 1
        raise InputError(f"steps[{i}] = {s[i]:.0f} does not come after steps[{i - 1}] = "
                         f"{s[i - 1]:.0f}; give each norm its own, increasing step")
    if s[-1] >= MAX_STEPS:
        raise InputError(f"step {s[-1]:.6g} is past the longest run read ({MAX_STEPS:,} "
                         "steps); number the norms by optimizer step")
    return s.astype(np.int64)


# -- files: .npy, or .csv with a header "step,norm" (a harness curve.csv reads too) ---------


class NormRecord(NamedTuple):
    """Norms read from a file: the step of each, the norms, and the column read."""

    steps: np.ndarray
    norms: np.ndarray
    column: str | None


def save_norms(path: str | os.PathLike, norms: Sequence[float] | np.ndarray,
               steps: Sequence[int] | np.ndarray | None = None) -> None:
    """Write ``norms`` and the step of each (default 0, 1, ...) to ``path``, atomically:
    .csv with columns ``step,norm``, or .npy holding a structured array of the two."""
    norms = np.asarray(norms, dtype=np.float64)
    steps = np.arange(len(norms)) if steps is None else check_steps(steps, len(norms))
    suffix = _suffix(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        if suffix == ".npy":
            table = np.empty(len(norms), dtype=[("step", np.int64), ("norm", np.float64)])
            table["step"], table["norm"] = steps, norms
            np.save(f, table)
        else:
            np.savetxt(f, np.column_stack([steps, norms]), fmt=["%d", "%.17g"],
                       delimiter=",", header="step,norm", comments="")


def load_norms(path: str | os.PathLike, column: str | None = None,
               kind: Kind | None = None) -> np.ndarray:
    """The norms of a file (see ``read_norms``)."""
    return read_norms(path, column, kind).norms


def read_norms(path: str | os.PathLike, column: str | None = None,
               kind: Kind | None = None) -> NormRecord:
    """Norms and their steps from a .npy file (a 1-D array, or ``save_norms``' table of
    step and norm) or a .csv file.

    A CSV file with one column needs no header; otherwise the header names the column
    read: ``column``, else ``norm``, else the gradient norm of a harness curve.csv that
    matches ``kind`` (``grad_norm_l1`` for adam, ``grad_norm_l2`` for sgd), else the
    only column but ``step``. Steps come from a ``step`` column (else 0, 1, ...).
    """
    suffix = _suffix(path)
    if suffix == ".npy":
        try:
            table = np.load(path, allow_pickle=False)
        except (ValueError, EOFError) as exc:
            raise InputError(f"cannot read norms from {os.fspath(path)}: {exc}") from None
        if table.dtype.names == ("step", "norm"):
            return NormRecord(check_steps(table["step"], len(table)),
                              _checked(path, table["norm"]), None)
        norms = _checked(path, table)
        return NormRecord(np.arange(len(norms)), norms, None)
    header, rows = _csv_table(path)
    index = _norm_column(path, header, max(len(r) for _, r in rows), column, kind)
    name = None if header is None else header[index]
    values = _csv_values(path, rows, index, name or "norm")
    norms = _checked(path, values)
    if header is not None and "step" in header:
        steps = _csv_values(path, rows, header.index("step"), "step")
        try:
            return NormRecord(check_steps(steps, len(norms)), norms, name)
        except InputError as exc:
            raise InputError(f"{os.fspath(path)}: {exc}") from None
    return NormRecord(np.arange(len(norms)), norms, name)


def _checked(path, norms) -> np.ndarray:
    try:
        return as_norms(norms)
    except InputError as exc:
        raise InputError(f"{os.fspath(path)}: {exc}") from None


def _csv_table(path) -> tuple[list[str] | None, list[tuple[int, list[str]]]]:
    """(header or None, [(line, cells)]) of a CSV file of numbers."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{os.fspath(path)}: not UTF-8 text; save it as UTF-8") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        rows = [(reader.line_num, r) for r in reader if any(c.strip() for c in r)]
    except csv.Error as exc:
        raise InputError(f"{os.fspath(path)}: row {reader.line_num}: {exc}") from None
    if not rows:
        raise InputError(f"{os.fspath(path)}: empty file; expected a header 'step,norm' "
                         "and one row per step")
    first = [c.strip() for c in rows[0][1]]
    if all(is_number(c) for c in first):
        return None, rows
    if len(rows) == 1:
        raise InputError(f"{os.fspath(path)}: a header but no data rows; add one row per step")
    return first, rows[1:]


def _norm_column(path, header: list[str] | None, width: int, column, kind) -> int:
    """The index of the column of norms in a CSV file whose rows are ``width`` wide."""
    if header is None:
        if column is not None or width > 1:
            raise InputError(f"{os.fspath(path)}: no header line to say which column holds "
                             "the norms; add one naming the columns, e.g. 'step,norm'")
        return 0
    harness = {"adam": "grad_norm_l1", "sgd": "grad_norm_l2"}.get(kind)
    others = [c for c in header if c != "step"]
    if column is not None:
        chosen = column
    elif "norm" in header:
        chosen = "norm"
    elif harness in header:
        chosen = harness
    elif len(others) == 1:
        chosen = others[0]
    else:
        raise InputError(f"{os.fspath(path)}: which column holds the norms? none is "
                         f"named 'norm' ({', '.join(header)}); name it with --norm-col")
    if chosen not in header:
        raise InputError(f"{os.fspath(path)}: no column {chosen!r} in the header "
                         f"({', '.join(header)}); name it with --norm-col")
    if header.count(chosen) > 1:
        raise InputError(f"{os.fspath(path)}: column {chosen!r} appears "
                         f"{header.count(chosen)} times in the header; keep one")
    return header.index(chosen)


def _csv_values(path, rows, index: int, name: str) -> np.ndarray:
    values = []
    for line, cells in rows:
        cell = cells[index].strip() if index < len(cells) else ""
        try:
            values.append(float(cell))
        except ValueError:
            raise InputError(f"{os.fspath(path)}: row {line}, column {name!r}: "
                             f"{cell[:40]!r} is not a number; fix or delete that row") from None
    return np.array(values)


def _suffix(path: str | os.PathLike) -> str:
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix not in (".npy", ".csv"):
        raise InputError(f"{os.fspath(path)}: norms files are .npy or .csv, got {suffix!r}")
    return suffix
