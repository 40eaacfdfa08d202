"""Loss curves in: ``Curve`` and ``read_curve`` (CSV, JSON, TensorBoard event files).

A curve is the measured loss at some steps plus the absolute LR of every step from 0,
which is what the loss-curve laws need. Logs often hold the LR only on logged rows;
the per-step LR is then interpolated from them, or taken from a schedule.
"""

from __future__ import annotations

import csv
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lrsched.files import is_number


@dataclass(frozen=True)
class Curve:
    """Loss ``loss[i]`` measured at step ``steps[i]`` of a run whose optimizer step j
    used learning rate ``lrs[j]`` (absolute, every step from 0 to at least the last
    measured step)."""

    steps: np.ndarray
    loss: np.ndarray
    lrs: np.ndarray
    name: str = "curve"

    def __post_init__(self):
        from lrsched.laws.base import as_lrs

        steps = np.asarray(self.steps, dtype=np.int64)
        loss = np.asarray(self.loss, dtype=float)
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "loss", loss)
        object.__setattr__(self, "lrs", as_lrs(self.lrs))
        if steps.ndim != 1 or steps.shape != loss.shape or steps.size == 0:
            raise ValueError(f"{self.name}: steps and loss must be equal, non-empty 1-D arrays")
        if np.any(np.diff(steps) <= 0) or steps[0] < 0:
            raise ValueError(f"{self.name}: steps must be >= 0 and strictly increasing")
        if not np.all(np.isfinite(loss) & (loss > 0)):
            raise ValueError(f"{self.name}: losses must be finite and > 0")
        if steps[-1] >= self.lrs.size:
            raise ValueError(f"{self.name}: loss at step {steps[-1]} but LRs only for steps "
                             f"0..{self.lrs.size - 1}")


def read_curve(path, *, step_col="step", lr_col="lr", loss_col="loss",
               schedule=None, peak_lr=None, lrs=None, name=None) -> Curve:
    """Read a loss curve from a CSV, JSON or TensorBoard event file.

    CSV: a header row naming the columns (default ``step,lr,loss``); rows may be
    sparse, with an empty ``loss`` on rows that only log the LR. JSON: a list of
    objects, or an object of equal-length lists, with the same names. TensorBoard: the
    scalar tags named like the columns (needs the ``tensorboard`` package).

    The per-step LR is ``lrs`` if given, else ``peak_lr * schedule(steps)`` (a Schedule
    of multipliers; its ``total_steps`` ends the run), else interpolated linearly from
    the LR column. Repeated steps are averaged; non-finite losses are dropped with a
    warning; loss rows past the end of the LR are dropped with a warning.
    Unusable input raises ValueError naming the file, row or column, and the fix.
    """
    path = Path(path)
    label = name or str(path)
    if "tfevents" in path.name:
        rows = _read_tensorboard(path, step_col, lr_col, loss_col)
    elif path.suffix.lower() == ".json":
        rows = _read_json(path, step_col, lr_col, loss_col)
    else:
        rows = _read_csv(path, step_col, lr_col, loss_col, need_lr=lrs is None and schedule is None)
    steps, lr_col_values, loss = rows
    if lrs is None:
        lrs = _lrs_from(path, steps, lr_col_values, loss, schedule, peak_lr, lr_col)
    lrs = np.asarray(lrs, dtype=float)
    if np.any(lrs < 0):
        step = int(np.flatnonzero(lrs < 0)[0])
        raise ValueError(f"{path}: negative learning rate {lrs[step]:g} at step {step}; "
                         "LRs must be >= 0 (check the lr column, schedule or --peak-lr)")

    has_loss = ~np.isnan(loss)
    bad = has_loss & ~np.isfinite(loss)
    if bad.any():
        warnings.warn(f"{path}: dropped {int(bad.sum())} non-finite loss value(s)", stacklevel=2)
    keep = has_loss & ~bad
    if not keep.any():
        raise ValueError(f"{path}: column '{loss_col}' has no finite loss value; "
                         "check the column name (--loss-col) and the file")
    steps, loss = _average_repeats(steps[keep], loss[keep])
    if np.any(loss <= 0):
        row = int(np.flatnonzero(loss <= 0)[0])
        raise ValueError(f"{path}: loss {loss[row]:g} at step {steps[row]} is not > 0; "
                         "the laws model positive losses")
    past = steps >= lrs.size
    if past.any():
        warnings.warn(f"{path}: dropped {int(past.sum())} loss row(s) at step >= {lrs.size}, "
                      "past the end of the LR schedule", stacklevel=2)
        if past.all():
            raise ValueError(f"{path}: every loss row is at step >= {lrs.size}, past the "
                             "schedule's end; give the right schedule or --steps")
        steps, loss = steps[~past], loss[~past]
    return Curve(steps, loss, lrs, label)


def _average_repeats(steps: np.ndarray, values: np.ndarray):
    unique, inverse = np.unique(steps, return_inverse=True)
    sums = np.bincount(inverse, weights=values)
    return unique, sums / np.bincount(inverse)


def _lrs_from(path, steps, lr_values, loss, schedule, peak_lr, lr_col) -> np.ndarray:
    last = int(steps[~np.isnan(loss)].max()) if (~np.isnan(loss)).any() else int(steps.max())
    if schedule is not None:
        if peak_lr is None:
            raise ValueError(f"{path}: a schedule gives LR multipliers; give the peak LR "
                             "too (--peak-lr)")
        total = getattr(schedule, "total_steps", None)
        n = int(total) if total else last + 1
        return float(peak_lr) * np.asarray(schedule(np.arange(n)), dtype=float)
    known = ~np.isnan(lr_values)
    if not known.any():
        raise ValueError(f"{path}: column '{lr_col}' has no values; log the LR or give "
                         "a schedule for this file (--schedule FILE=SPEC --peak-lr X)")
    lr_steps, lr = _average_repeats(steps[known], lr_values[known])
    if lr_steps[0] > 0:
        warnings.warn(f"{path}: LR before step {lr_steps[0]} (the first logged) taken as "
                      f"{lr[0]:g}; give a schedule for the exact warmup", stacklevel=3)
    return np.interp(np.arange(last + 1), lr_steps, lr)


def _number(path, row, col, text) -> float:
    text = text.strip()
    if text == "":
        return np.nan
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{path}: row {row}, column '{col}': {text!r} is not a number; "
                         "fix or delete that cell") from None


def _check_steps(path, steps: list, rows: list) -> np.ndarray:
    out = np.asarray(steps, dtype=float)
    for i, s in enumerate(out):
        if not np.isfinite(s) or s != int(s) or s < 0:
            raise ValueError(f"{path}: row {rows[i]}: step {s:g} is not a whole number >= 0; "
                             "fix the step column")
        if i and s < out[i - 1]:
            raise ValueError(f"{path}: row {rows[i]}: step {int(s)} comes after step "
                             f"{int(out[i - 1])}; sort the rows by step (repeats are averaged)")
    return out.astype(np.int64)


def _not_utf8(path, exc: UnicodeDecodeError) -> ValueError:
    return ValueError(f"{path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset "
                      f"{exc.start}); save the file as UTF-8 (or plain ASCII)")


def _read_csv(path, step_col, lr_col, loss_col, need_lr):
    try:
        with open(path, newline="", encoding="utf-8") as f:
            table = [r for r in csv.reader(f) if any(cell.strip() for cell in r)]
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc) from None
    if not table:
        raise ValueError(f"{path}: empty file; expected a header '{step_col},{lr_col},{loss_col}' "
                         "and one row per logged step")
    header = [h.strip() for h in table[0]]
    if all(is_number(h) for h in header):
        raise ValueError(f"{path}: row 1 is data, not a header; add a header line naming "
                         f"the columns, e.g. '{step_col},{lr_col},{loss_col}'")
    wanted = [step_col, loss_col] + ([lr_col] if need_lr or lr_col in header else [])
    for col in wanted:
        if col not in header:
            raise ValueError(f"{path}: no column '{col}' in the header ({', '.join(header)}); "
                             "rename it or name the column with --step-col/--lr-col/--loss-col")
    index = {col: header.index(col) for col in wanted}
    steps, lrs, losses, rows = [], [], [], []
    for row_number, row in enumerate(table[1:], start=2):
        cells = {col: row[i] if i < len(row) else "" for col, i in index.items()}
        step = _number(path, row_number, step_col, cells[step_col])
        if np.isnan(step):
            raise ValueError(f"{path}: row {row_number}: the '{step_col}' cell is empty; "
                             "give every row its step")
        steps.append(step)
        rows.append(row_number)
        lrs.append(_number(path, row_number, lr_col, cells[lr_col]) if lr_col in index else np.nan)
        loss = _number(path, row_number, loss_col, cells[loss_col])
        losses.append(_loss_value(loss, cells[loss_col].strip() != ""))
    if not steps:
        raise ValueError(f"{path}: a header but no data rows; add one row per logged step")
    return _check_steps(path, steps, rows), np.array(lrs), np.array(losses)


def _loss_value(value: float, given: bool) -> float:
    """A loss cell: NaN when missing; inf when given but not finite (dropped, warned)."""
    if not given:
        return np.nan
    return value if np.isfinite(value) else np.inf


def _read_json(path, step_col, lr_col, loss_col):
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno}); "
                         "fix the file") from None
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc) from None
    if isinstance(raw, dict):
        raw = _records(path, raw, step_col, lr_col, loss_col)
    if not isinstance(raw, list) or not raw or not all(isinstance(r, dict) for r in raw):
        raise ValueError(f"{path}: expected a non-empty list of objects with keys "
                         f"'{step_col}', '{loss_col}' (and '{lr_col}'), or an object of lists")
    steps, lrs, losses = [], [], []
    for i, rec in enumerate(raw, start=1):
        if rec.get(step_col) is None:
            raise ValueError(f"{path}: record {i} has no '{step_col}'; give every record its step")
        values = []
        for col in (step_col, lr_col, loss_col):
            v = rec.get(col)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise ValueError(f"{path}: record {i}, key '{col}': {v!r} is not a number; "
                                 "fix that value")
            values.append(np.nan if v is None else float(v))
        steps.append(values[0])
        lrs.append(values[1])
        losses.append(_loss_value(values[2], rec.get(loss_col) is not None))
    return _check_steps(path, steps, list(range(1, len(raw) + 1))), np.array(lrs), np.array(losses)


def _records(path, raw: dict, step_col, lr_col, loss_col) -> list[dict]:
    """A JSON object of equal-length lists (``{"step": [...], "loss": [...]}``) as records."""
    columns = {}
    for col in (step_col, lr_col, loss_col):
        values = raw.get(col)
        if values is None:
            continue
        if not isinstance(values, list):
            raise ValueError(f"{path}: key '{col}' holds {json.dumps(values)[:40]}, not a list; "
                             f"give one value per logged step, e.g. \"{col}\": [...]")
        columns[col] = values
    if step_col not in columns:
        raise ValueError(f"{path}: the object has no list '{step_col}'; give the steps as "
                         f"\"{step_col}\": [...] (or name the key with --step-col)")
    n = len(columns[step_col])
    for col, values in columns.items():
        if len(values) != n:
            raise ValueError(f"{path}: key '{col}' has {len(values)} values but '{step_col}' "
                             f"has {n}; give the lists equal lengths (null for a missing value)")
    return [{col: values[i] for col, values in columns.items()} for i in range(n)]


def _read_tensorboard(path, step_col, lr_col, loss_col):
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError:
        raise ValueError(f"{path}: reading TensorBoard event files needs the tensorboard "
                         "package; pip install 'lrsched[tensorboard]' (or tensorboard)") from None
    events = EventAccumulator(str(path), size_guidance={"scalars": 0})
    events.Reload()
    tags = events.Tags().get("scalars", [])
    if loss_col not in tags:
        raise ValueError(f"{path}: no scalar tag '{loss_col}' (tags: {', '.join(tags)}); "
                         "name it with --loss-col")
    series = {tag: {e.step: e.value for e in events.Scalars(tag)}
              for tag in (loss_col, lr_col) if tag in tags}
    steps = sorted(set().union(*(s.keys() for s in series.values())))
    lr = series.get(lr_col, {})
    return (np.array(steps, dtype=np.int64),
            np.array([lr.get(s, np.nan) for s in steps], dtype=float),
            np.array([series[loss_col].get(s, np.nan) for s in steps], dtype=float))
