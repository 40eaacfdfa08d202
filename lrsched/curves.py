"""Loss curves in: ``Curve`` and ``read_curve`` (CSV, JSON, W&B history exports,
TensorBoard event files and log folders).

A curve is the measured loss at some steps plus the absolute LR of every step from 0,
which is what the loss-curve laws need. Logs often hold the LR only on logged rows;
the per-step LR is then interpolated from them, or taken from a schedule.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from lrsched.errors import InputError
from lrsched.files import as_number, check_regular, is_number, parse_json, read_text
from lrsched.lr_arrays import MAX_STEPS, as_lrs

MAX_LOSS = 1e6  # larger 'losses' are perplexities or mistakes: the laws model losses
PEAK_TOLERANCE = 0.1  # a logged peak LR this far from the schedule's: a warning
# Column (key, tag) names looked for, in order, when none is given: lrsched's own and the
# harness's, then what W&B, the HF Trainer and Lightning log. The trainers' optimizer step
# comes before W&B's own step (``_step``, the UI's ``Step``), which counts log calls.
STEP_NAMES = ("step", "global_step", "train/global_step", "trainer/global_step", "Step",
              "_step")
_LOG_CALLS = ("Step", "_step")
LR_NAMES = ("lr", "learning_rate", "train/learning_rate", "train/lr", "lr-AdamW", "lr-Adam")
LOSS_NAMES = ("loss", "val_loss", "eval/loss", "val/loss", "train/loss", "train_loss")


@dataclass(frozen=True)
class Curve:
    """Loss ``loss[i]`` measured at step ``steps[i]`` of a run whose optimizer step j
    used learning rate ``lrs[j]`` (absolute, every step from 0 to at least the last
    measured step). ``loss_col`` and ``step_col`` name the columns the losses and steps
    were read from (``step_col`` None: TensorBoard events, which carry their step)."""

    steps: np.ndarray
    loss: np.ndarray
    lrs: np.ndarray
    name: str = "curve"
    loss_col: str = "loss"
    step_col: str | None = "step"

    def __post_init__(self):
        steps = np.asarray(self.steps, dtype=np.int64)
        loss = np.asarray(self.loss, dtype=float)
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "loss", loss)
        object.__setattr__(self, "lrs", as_lrs(self.lrs))
        if steps.ndim != 1 or steps.shape != loss.shape or steps.size == 0:
            raise InputError(f"{self.name}: steps and loss must be equal, non-empty 1-D arrays")
        if np.any(np.diff(steps) <= 0) or steps[0] < 0:
            raise InputError(f"{self.name}: steps must be >= 0 and strictly increasing")
        if not np.all(np.isfinite(loss) & (loss > 0)):
            raise InputError(f"{self.name}: losses must be finite and > 0")
        if loss.max() > MAX_LOSS:
            raise InputError(f"{self.name}: a loss of {loss.max():g} is past the {MAX_LOSS:g} "
                             "the laws model; give the loss itself (in nats), not a scaled "
                             "or exponentiated one")
        if steps[-1] >= self.lrs.size:
            raise InputError(f"{self.name}: loss at step {steps[-1]} but LRs only for steps "
                             f"0..{self.lrs.size - 1}")


def read_curve(path, *, step_col=None, lr_col=None, loss_col=None,
               schedule=None, peak_lr=None, lrs=None, name=None) -> Curve:
    """Read a loss curve from a CSV, JSON or TensorBoard file, or a TensorBoard log folder.

    CSV: a header row naming the columns; rows may be sparse, with an empty loss on rows
    that only log the LR. JSON: a list of objects, an object of equal-length lists, or
    an object of ``{index: value}`` objects (pandas' ``to_json``); ``.jsonl`` one object
    a line. A W&B history export reads as it comes: the CSV of the W&B UI (``Step``,
    ``RUN - train/loss``; its ``__MIN``/``__MAX`` columns ignored) or the JSON of
    ``run.history()`` (``_step``). TensorBoard (needs the ``tensorboard`` package): an
    event file, or a log folder; see ``_read_tensorboard`` for restarts and several runs.

    Columns left as None are found by name: the step in ``STEP_NAMES`` (a trainer's
    ``train/global_step`` before W&B's ``_step``, with a warning when both are there), the
    LR in ``LR_NAMES``, the loss in ``LOSS_NAMES`` (``loss``, else ``val_loss``, ...); the
    curve's ``step_col`` and ``loss_col`` say which were used. A named column must exist,
    and the step, LR and loss are three different columns. Numbers are written as Python
    reads them, without ``_`` grouping digits.

    The per-step LR is ``lrs`` if given, else ``peak_lr * schedule(steps)`` (a Schedule
    of multipliers; its ``total_steps`` ends the run), else interpolated linearly from
    the LR column. Repeated steps are averaged; non-finite losses are dropped with a
    warning; loss rows past the end of the LR are dropped with a warning. Runs are at
    most ``MAX_STEPS`` steps. Unusable input raises InputError naming the file, row or
    column, and the fix (a missing file: FileNotFoundError; a named pipe or a device:
    InputError, as reading it could block).
    """
    path = Path(path)
    label = name or str(path)
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(path))
    check_regular(path)
    wanted = _Wanted(step_col, lr_col, loss_col, need_lr=lrs is None and schedule is None)
    if path.is_dir() or "tfevents" in path.name:
        columns, rows = _read_tensorboard(path, wanted)
    elif path.suffix.lower() in (".json", ".jsonl"):
        columns, rows = _read_json(path, wanted)
    else:
        columns, rows = _read_csv(path, wanted)
    noun = "key" if path.suffix.lower() in (".json", ".jsonl") else "column"
    steps, lr_values, loss = _parse(path, columns, rows, noun)
    if lrs is None:
        lrs = _lrs_from(path, steps, lr_values, loss, schedule, peak_lr, columns.lr)
    lrs = np.asarray(lrs, dtype=float)
    if np.any(lrs < 0):
        step = int(np.flatnonzero(lrs < 0)[0])
        raise InputError(f"{path}: negative learning rate {lrs[step]:g} at step {step}; "
                         "LRs must be >= 0 (check the lr column, schedule or --peak-lr)")

    has_loss = ~np.isnan(loss)
    bad = has_loss & ~np.isfinite(loss)
    if bad.any():
        warnings.warn(f"{path}: dropped {int(bad.sum())} non-finite loss value(s)", stacklevel=2)
    keep = has_loss & ~bad
    if not keep.any():
        raise InputError(f"{path}: column '{columns.loss}' has no finite loss value; "
                         "check the column name (--loss-col) and the file")
    steps, loss = _average_repeats(steps[keep], loss[keep])
    if np.any(loss <= 0):
        row = int(np.flatnonzero(loss <= 0)[0])
        raise InputError(f"{path}: loss {loss[row]:g} at step {steps[row]} is not > 0; "
                         "the laws model positive losses")
    past = steps >= lrs.size
    if past.any():
        warnings.warn(f"{path}: dropped {int(past.sum())} loss row(s) at step >= {lrs.size}, "
                      "past the end of the LR schedule", stacklevel=2)
        if past.all():
            raise InputError(f"{path}: every loss row is at step >= {lrs.size}, past the "
                             "schedule's end; give the right schedule or --steps")
        steps, loss = steps[~past], loss[~past]
    return Curve(steps, loss, lrs, label, columns.loss, columns.step)


# -- which columns ---------------------------------------------------------------------------


class _Wanted(NamedTuple):
    step: str | None
    lr: str | None
    loss: str | None
    need_lr: bool


class _Columns(NamedTuple):
    step: str | None  # None for TensorBoard, whose events carry their step
    lr: str | None  # None when the file has none and none is needed
    loss: str


def _columns(path, names: list[str], wanted: _Wanted, with_step: bool = True) -> _Columns:
    """The columns (keys, tags) of ``names`` to read: those named in ``wanted``, else the
    first of the usual names present."""
    step = _column(path, names, wanted.step, STEP_NAMES, "step") if with_step else None
    lr = _column(path, names, wanted.lr, LR_NAMES, "lr", required=wanted.need_lr)
    loss = _column(path, names, wanted.loss, LOSS_NAMES, "loss")
    roles = {"step": step, "lr": lr, "loss": loss}
    for role, other in (("loss", "lr"), ("loss", "step"), ("lr", "step")):
        if roles[role] is not None and roles[role] == roles[other]:
            raise InputError(f"{path}: column '{roles[role]}' would be read as both the "
                             f"{role} and the {other}; name the {role}'s own column with "
                             f"--{role}-col")
    if wanted.step is None and step is not None and step not in _LOG_CALLS:
        counts = [n for n in _LOG_CALLS if _named(path, names, n, "step")]
        if counts:
            warnings.warn(f"{path}: steps from column '{step}', the trainer's optimizer step, "
                          f"not '{counts[0]}', W&B's count of log calls; --step-col to read "
                          "another", stacklevel=4)
    return _Columns(step, lr, loss)


def _column(path, names: list[str], given: str | None, usual: tuple[str, ...], role: str,
            required: bool = True) -> str | None:
    option = f"--{role}-col"  # the fit-curve option; read_curve's argument is {role}_col=
    shown = ", ".join(_short(n) for n in names[:12]) + (
        f", ... ({len(names)} in all)" if len(names) > 12 else "")
    if given is not None:
        if given not in names:
            if not required:
                return None
            raise InputError(f"{path}: no column '{given}' in the header ({shown}); "
                             f"rename it or name the column with {option}")
        chosen = given
    else:
        chosen = next(filter(None, (_named(path, names, n, role) for n in usual)), None)
        if chosen is None:
            if not required:
                return None
            fix = (", or give a schedule for this file (--schedule FILE=SPEC --peak-lr X)"
                   if role == "lr" else "")
            raise InputError(f"{path}: no {role} column among {shown or 'none'} (looked for "
                             f"{', '.join(usual[:3])}, ...); name it with {option}{fix}")
    if names.count(chosen) > 1:
        raise InputError(f"{path}: column '{chosen}' appears {names.count(chosen)} times in "
                         "the header; rename or delete all but one")
    return chosen


def _named(path, names: list[str], metric: str, role: str) -> str | None:
    """The column of ``metric``: itself, or in a W&B UI export ``RUN - METRIC`` (beside
    its ``__MIN``/``__MAX`` companions, which are other metrics)."""
    if metric in names:
        return metric
    runs = [full for full in names if full.rpartition(" - ")[1:] == (" - ", metric)]
    if len(runs) > 1:
        raise InputError(f"{path}: '{metric}' of {len(runs)} runs ({', '.join(runs[:3])}); "
                         f"export one run, or name the column in full, e.g. --{role}-col "
                         f"'{runs[0]}'")
    return runs[0] if runs else None


# -- rows to arrays --------------------------------------------------------------------------

# A row: (where, for messages; step, lr, loss as read: str, number or None).
Row = tuple[str, object, object, object]


def _parse(path, columns: _Columns, rows: list[Row], noun: str = "column"):
    if not rows:
        raise InputError(f"{path}: a header but no data rows; add one row per logged step")
    steps, lrs, losses = [], [], []
    for where, step, lr, loss in rows:
        step = _number(path, where, f"{noun} '{columns.step}'", step)
        if np.isnan(step):
            raise InputError(f"{path}: {where}: the '{columns.step}' cell is empty; give "
                             "every row its step")
        steps.append(step)
        lrs.append(_number(path, where, f"{noun} '{columns.lr}'", lr))
        value = _number(path, where, f"{noun} '{columns.loss}'", loss)
        # missing: NaN (a row without loss); given but not finite: inf (dropped, warned)
        losses.append(value if loss is None or np.isfinite(value) else np.inf)
    return _check_steps(path, steps, [r[0] for r in rows]), np.array(lrs), np.array(losses)


def _number(path, where: str, col: str, value) -> float:
    """A value as read (a number, None when missing, anything else an error) as a float."""
    if value is None:
        return np.nan
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:  # an int past the floats, as JSON may hold
            return np.inf if value > 0 else -np.inf
    raise InputError(f"{path}: {where}, {col}: {_short(repr(value))} is not a number; "
                     "fix or delete that cell")


def _short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


def _check_steps(path, steps: list, where: list[str]) -> np.ndarray:
    out = np.asarray(steps, dtype=float)
    for i, s in enumerate(out):
        if np.isnan(s) or s < 0 or (np.isfinite(s) and s != int(s)):
            raise InputError(f"{path}: {where[i]}: step {s:g} is not a whole number >= 0; "
                             "fix the step column")
        if s >= MAX_STEPS:
            raise InputError(f"{path}: {where[i]}: step {s:.6g} is past the longest run "
                             f"read ({MAX_STEPS:,} steps); log the optimizer step, not "
                             "tokens or samples")
        if i and s < out[i - 1]:
            raise InputError(f"{path}: {where[i]}: step {int(s)} comes after step "
                             f"{int(out[i - 1])}; sort the rows by step (repeats are averaged)")
    return out.astype(np.int64)


def _average_repeats(steps: np.ndarray, values: np.ndarray):
    unique, inverse = np.unique(steps, return_inverse=True)
    sums = np.bincount(inverse, weights=values)
    return unique, sums / np.bincount(inverse)


def _lrs_from(path, steps, lr_values, loss, schedule, peak_lr, lr_col) -> np.ndarray:
    last = int(steps[~np.isnan(loss)].max()) if (~np.isnan(loss)).any() else int(steps.max())
    if schedule is not None:
        if peak_lr is None:
            raise InputError(f"{path}: a schedule gives LR multipliers; give the peak LR "
                             "too (--peak-lr)")
        total = getattr(schedule, "total_steps", None)
        n = int(total) if total else last + 1
        if n > MAX_STEPS:
            raise InputError(f"{path}: the schedule is {n:,} steps long, past the longest "
                             f"run read ({MAX_STEPS:,} steps); give the run's own length")
        lrs = float(peak_lr) * np.asarray(schedule(np.arange(n)), dtype=float)
        logged = np.nanmax(lr_values, initial=-np.inf)
        if logged > 0 and not np.isclose(logged, lrs.max(), rtol=PEAK_TOLERANCE):
            warnings.warn(f"{path}: column '{lr_col}' logs a peak LR of {logged:g}, but the "
                          f"peak LR times the schedule peaks at {lrs.max():g}; the schedule's "
                          "LRs are used: check --peak-lr and --schedule", stacklevel=3)
        return lrs
    known = ~np.isnan(lr_values)
    if not known.any():
        raise InputError(f"{path}: column '{lr_col}' has no values; log the LR or give "
                         "a schedule for this file (--schedule FILE=SPEC --peak-lr X)")
    lr_steps, lr = _average_repeats(steps[known], lr_values[known])
    if lr_steps[0] > 0:
        warnings.warn(f"{path}: LR before step {lr_steps[0]} (the first logged) taken as "
                      f"{lr[0]:g}; give a schedule for the exact warmup", stacklevel=3)
    return np.interp(np.arange(last + 1), lr_steps, lr)


# -- formats ---------------------------------------------------------------------------------


def _read_csv(path, wanted: _Wanted) -> tuple[_Columns, list[Row]]:
    reader = csv.reader(io.StringIO(read_text(path), newline=""), strict=True)
    table, line = [], 1  # the line the row being read starts on
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                table.append((line, row))
            line = reader.line_num + 1
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise InputError(f"{path}: row {line}: a quote (\") opened there is never "
                             "closed; close it or delete it") from None
        raise InputError(f"{path}: row {line}: {exc}; this is not a CSV file of "
                         "numbers") from None
    if not table:
        raise InputError(f"{path}: empty file; expected a header such as 'step,lr,loss' "
                         "and one row per logged step")
    header = [h.strip() for h in table[0][1]]
    if all(is_number(h) for h in header):
        raise InputError(f"{path}: row 1 is data, not a header; add a header line naming "
                         "the columns, e.g. 'step,lr,loss'")
    columns = _columns(path, header, wanted)
    index = [None if c is None else header.index(c) for c in columns]
    rows = [(f"row {line}", *(_cell(row[i]) if i is not None and i < len(row) else None
                              for i in index))
            for line, row in table[1:]]
    return columns, rows


def _cell(text: str) -> float | str | None:
    """A CSV cell: None when empty, else its number (the text when it is none)."""
    text = text.strip()
    if not text:
        return None
    number = as_number(text)
    return text if number is None else number


def _read_json(path, wanted: _Wanted) -> tuple[_Columns, list[Row]]:
    text = read_text(path)
    what, hint = "a loss curve", "give a list of objects or an object of lists"
    if path.suffix.lower() == ".jsonl":
        raw = [parse_json(line, path, what, hint) for line in text.splitlines() if line.strip()]
    else:
        raw = parse_json(text, path, what, hint)
    if isinstance(raw, dict):
        columns = _columns(path, list(raw), wanted)
        return columns, _records_from_object(path, raw, columns)
    if not isinstance(raw, list) or not raw or not all(isinstance(r, dict) for r in raw):
        raise InputError(f"{path}: expected a non-empty list of objects with keys "
                         "'step', 'loss' (and 'lr'), or an object of lists")
    keys = list(dict.fromkeys(k for record in raw for k in record))
    columns = _columns(path, keys, wanted)
    for i, record in enumerate(raw, start=1):
        if record.get(columns.step) is None:
            raise InputError(f"{path}: record {i} has no '{columns.step}'; give every "
                             "record its step")
    return columns, [(f"record {i}", *(r.get(c) if c else None for c in columns))
                     for i, r in enumerate(raw, start=1)]


def _records_from_object(path, raw: dict, columns: _Columns) -> list[Row]:
    """An object of equal-length lists (``{"step": [...], "loss": [...]}``), or of
    ``{index: value}`` objects (pandas ``DataFrame.to_json()``), as rows."""
    series = {}
    for col in filter(None, columns):
        values = raw[col]
        if isinstance(values, dict):  # pandas: rows by index label
            values = [values.get(k) for k in _index(raw, columns)]
        if not isinstance(values, list):
            raise InputError(f"{path}: key '{col}' holds {json.dumps(values)[:40]}, not a "
                             f"list; give one value per logged step, e.g. \"{col}\": [...]")
        series[col] = values
    n = len(series[columns.step])
    for col, values in series.items():
        if len(values) != n:
            raise InputError(f"{path}: key '{col}' has {len(values)} values but "
                             f"'{columns.step}' has {n}; give the lists equal lengths (null "
                             "for a missing value)")
    return [(f"record {i + 1}", *(series[c][i] if c else None for c in columns))
            for i in range(n)]


def _index(raw: dict, columns: _Columns) -> list[str]:
    """The row labels of a pandas-style object, in order (numerically when they are)."""
    labels = dict.fromkeys(k for c in filter(None, columns) if isinstance(raw[c], dict)
                           for k in raw[c])
    return sorted(labels, key=lambda k: (0, float(k), "") if is_number(k) else (1, 0.0, k))


def _read_tensorboard(path: Path, wanted: _Wanted) -> tuple[_Columns, list[Row]]:
    """Scalars of TensorBoard event files: one file, or a log folder.

    A folder's event files are grouped into runs by the folder holding them (as
    TensorBoard does). Of several runs the newest (the latest written) is read, with a
    warning naming the others. Within a run the files are read oldest first, and each
    file's steps replace what older files logged from its first step on: a run
    restarted from a checkpoint continues, and a second run written into the same
    folder replaces the first (a warning says so when steps overlap)."""
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError:
        raise InputError(f"{path}: reading TensorBoard logs needs the tensorboard package: "
                         "pip install 'lrsched-toolkit[tensorboard]' (or tensorboard)") from None
    files = [path] if path.is_file() else sorted(
        p for p in path.rglob("*") if "tfevents" in p.name and p.is_file())
    if not files:
        raise InputError(f"{path}: a folder without TensorBoard event files "
                         "(events.out.tfevents.*); give a log folder or an event file")
    runs: dict[Path, list[Path]] = {}
    for f in files:
        runs.setdefault(f.parent, []).append(f)
    newest = max(runs, key=lambda run: max(os.path.getmtime(f) for f in runs[run]))
    if len(runs) > 1:
        others = ", ".join(str(r) for r in runs if r != newest)
        warnings.warn(f"{path}: {len(runs)} TensorBoard runs; read the newest, {newest} "
                      f"(not {others}); give a run's folder to read another", stacklevel=3)
    series: dict[str, dict[int, float]] = {}
    stuck: dict[str, int] = {}  # tags whose events in a file all have one step
    overlap = False
    for f in sorted(runs[newest], key=_event_file_order):
        check_regular(f)
        if _cut_short(f):
            warnings.warn(f"{f}: the event file ends inside a record (a run still writing, "
                          "or a copy cut short); read what comes before it", stacklevel=3)
        events = EventAccumulator(str(f), size_guidance={"scalars": 0})
        events.Reload()
        for tag in events.Tags().get("scalars", []):
            scalars = events.Scalars(tag)
            if not scalars:
                continue
            if len(scalars) > 1 and len({e.step for e in scalars}) == 1:
                stuck[tag] = scalars[0].step
            old = series.setdefault(tag, {})
            first = min(e.step for e in scalars)
            overlap |= any(step >= first for step in old)
            for step in [s for s in old if s >= first]:
                del old[step]
            old.update((e.step, e.value) for e in scalars)
    if overlap:
        warnings.warn(f"{newest}: event files whose steps overlap (a restart, or several "
                      "runs written to one folder); from each file's first step on, its "
                      "values replace older files'", stacklevel=3)
    if not series:
        raise InputError(f"{path}: no scalars in the TensorBoard event file(s); log the "
                         "loss with add_scalar, or give another file")
    columns = _columns(path, sorted(series), wanted, with_step=False)
    tag = next((t for t in (columns.lr, columns.loss) if t in stuck), None)
    if tag is not None:
        raise InputError(f"{newest}: every '{tag}' event of a file is at step {stuck[tag]}; "
                         "log each value with its step: add_scalar(tag, value, global_step)")
    chosen = [series[c] if c else {} for c in (columns.lr, columns.loss)]
    steps = sorted(set().union(*(s.keys() for s in chosen)))
    return columns, [(f"step {s}", s, chosen[0].get(s), chosen[1].get(s)) for s in steps]


def _cut_short(path: Path) -> bool:
    """Whether an event file ends inside a record (after at least one whole record). Its
    records are framed as TFRecords: an 8-byte little-endian length, a 4-byte checksum,
    the data, a 4-byte checksum."""
    size, end = path.stat().st_size, 0
    with open(path, "rb") as f:
        while end + 12 <= size:
            f.seek(end)
            (length,) = struct.unpack("<Q", f.read(8))
            if end + 16 + length > size:
                break
            end += 16 + length
    return 0 < end < size


def _event_file_order(path: Path) -> tuple:
    """Event files in the order written: by the time in ``events.out.tfevents.TIME.HOST...``
    (whole seconds), then by the time of the last write."""
    stamp = next((int(p) for p in path.name.split(".") if p.isdigit()), 0)
    return stamp, os.path.getmtime(path), path.name
