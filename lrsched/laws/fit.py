"""A fitted law: ``Fit`` (predictions, intervals, scores, warnings) and saved fits."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

from lrsched.errors import InputError
from lrsched.files import atomic_path, json_ready, parse_json, read_text
from lrsched.laws.base import VERSION, Law, as_lrs, as_steps, first_used_step
from lrsched.laws.metrics import curve_metrics, decision_metrics

LEVEL = 0.8  # the default coverage of ``Fit.interval``
LR_RANGE = 1.5  # a predicted peak LR more than this factor outside the fitted ones: a warning
STEP_RANGE = 4.0  # a run more than this many times the longest fitted one: a warning
SAME_LENGTH = 0.01  # runs whose last loss points are this close (relatively) have one length


class FitError(RuntimeError):
    """The fit did not converge; there are no parameters to report."""


@dataclass
class Fit:
    """A fitted law: ``params``, ``stderr`` (standard errors; a parameter estimated by a
    pilot law carries the pilot's, see ``estimated``), training metrics ``train`` per
    curve, the ``data`` summary, ``warnings`` about the fit, and ``predict``, ``band``
    and ``interval`` for any per-step LR array."""

    law: Law
    params: dict
    stderr: dict
    covariance: np.ndarray | None = None
    covariance_names: list = field(default_factory=list)
    first_step: int | None = None
    objective: float = float("nan")
    data: list = field(default_factory=list)
    train: dict = field(default_factory=dict)
    seconds: float = 0.0
    bounds: dict = field(default_factory=dict)
    estimated: dict = field(default_factory=dict)  # parameter -> the pilot law that gave it
    warnings: list = field(default_factory=list)
    calibration: float | None = None  # relative error of a new schedule's final loss

    def predict(self, lrs, steps=None) -> np.ndarray:
        """Predicted loss at ``steps`` (default: every step) for per-step LRs ``lrs``.
        A prediction that is not a finite, positive loss is an InputError."""
        loss = self.law.predict(self.params, lrs, steps)
        if not np.all(np.isfinite(loss) & (loss > 0)):
            raise InputError(f"the {self.law.name} law predicts a non-finite or non-positive "
                             "loss for these LRs; check that they are absolute LRs in the "
                             "fitted range")
        return loss

    def band(self, lrs, steps=None, z: float = 1.96) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) = prediction -/+ z standard deviations from the parameter
        covariance (delta method). It reflects parameter uncertainty only, so it
        understates the error of predicting a new schedule: see ``interval``."""
        lrs = as_lrs(lrs)
        prepared = self.law.prepare(lrs, as_steps(steps, lrs.size))
        pred = self.law.evaluate(self.params, prepared)
        sd = self._param_sd(prepared, pred)
        return pred - z * sd, pred + z * sd

    def interval(self, lrs, steps=None, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
        """A calibrated (low, high) interval meant to hold the measured loss with
        probability ``level``: the parameter uncertainty (``band``) and the fit's
        ``calibration``, the relative error with which it predicted held-out training
        data (``fitting.calibrate``; uncalibrated, the law's ``heldout_error``), added in
        quadrature, as a normal interval."""
        from scipy.stats import norm

        if not 0 < level < 1:
            raise InputError(f"level={level} must be a probability in (0, 1), e.g. 0.8")
        lrs = as_lrs(lrs)
        prepared = self.law.prepare(lrs, as_steps(steps, lrs.size))
        pred = self.law.evaluate(self.params, prepared)
        relative = self.law.heldout_error if self.calibration is None else self.calibration
        sd = np.hypot(self._param_sd(prepared, pred), relative * pred)
        z = norm.ppf(0.5 + level / 2)
        return pred - z * sd, pred + z * sd

    def _param_sd(self, prepared, pred) -> np.ndarray:
        if self.covariance is None:
            return np.zeros_like(pred)
        gradient = self.law.gradient(self.params, prepared)
        jac = np.array([np.broadcast_to(gradient[n], pred.shape) for n in self.covariance_names])
        return np.sqrt(np.maximum(np.einsum("it,ij,jt->t", jac, self.covariance, jac), 0.0))

    def score(self, curve) -> dict:
        """``curve_metrics`` of the prediction at the curve's modelled points."""
        start = first_used_step(curve.lrs) if self.first_step is None else self.first_step
        keep = curve.steps >= start
        return curve_metrics(self.predict(curve.lrs, curve.steps[keep]), curve.loss[keep])

    def decisions(self, curves) -> list[dict]:
        """For each run length that two or more of ``curves`` share (to within
        ``SAME_LENGTH``: loggers end a few steps apart), ``decision_metrics`` of the
        predicted vs measured final losses, with ``steps`` and the curve names."""
        groups: list[list] = []
        for curve in sorted(curves, key=_length):
            if groups and _length(curve) <= (1 + SAME_LENGTH) * _length(groups[-1][0]):
                groups[-1].append(curve)
            else:
                groups.append([curve])
        out = []
        for group in (g for g in groups if len(g) >= 2):
            pred = [float(self.predict(c.lrs, c.steps[-1:])[0]) for c in group]
            actual = [float(c.loss[-1]) for c in group]
            out.append({"steps": _length(group[0]), "curves": [c.name for c in group],
                        "predicted": pred, "actual": actual, **decision_metrics(pred, actual)})
        return out

    def check(self, lrs) -> list[str]:
        """Warnings about predicting a run with these LRs (``check_run``)."""
        lrs = as_lrs(lrs)
        return self.check_run(float(lrs.max()), lrs.size)

    def check_run(self, peak_lr: float, steps: int) -> list[str]:
        """Warnings about predicting a ``steps``-step run at ``peak_lr``: peak LRs outside
        the fitted ones (or multipliers given instead of LRs), runs far longer than the
        fitted ones."""
        peaks = [d["lr"][1] for d in self.data if "lr" in d]
        lengths = [d["steps"][1] for d in self.data if "steps" in d]
        out = []
        if peaks:
            low, high = min(peaks), max(peaks)
            if peak_lr > 100 * high:
                out.append(f"peak LR {peak_lr:g} is {peak_lr / high:.0f}x the fitted peak LR "
                           f"{high:g}: are these LR multipliers? give absolute LRs (--peak-lr)")
            elif not low / LR_RANGE <= peak_lr <= high * LR_RANGE:
                out.append(f"peak LR {peak_lr:g} is outside the fitted peak LRs "
                           f"[{low:g}, {high:g}]; the law extrapolates, trust it less")
        if lengths and steps > STEP_RANGE * max(lengths):
            out.append(f"a run of {steps:,} steps is {steps / max(lengths):.0f}x the "
                       f"longest fitted curve ({max(lengths):,} steps); the law extrapolates "
                       "far, trust it less")
        return out

    def optimize(self, total_steps: int, peak_lr: float, family: str = "free",
                 warmup: int | None = None, **options):
        """The schedule of ``family`` with the lowest predicted final loss for a run of
        ``total_steps`` at ``peak_lr``: ``(schedule, loss, interval, ...)``; see
        ``lrsched.choosing.optimize``."""
        from lrsched.choosing import optimize

        return optimize(self, total_steps, peak_lr, family, warmup, **options)

    def anneal_plan(self, lrs_so_far, starts=None, lengths=None, shape: str = "linear",
                    **options):
        """The predicted final loss of every cooldown start and length for a run in
        progress; see ``lrsched.choosing.anneal_plan``."""
        from lrsched.choosing import anneal_plan

        return anneal_plan(self, lrs_so_far, starts, lengths, shape, **options)

    def to_dict(self) -> dict:
        cov = None if self.covariance is None else self.covariance.tolist()
        return {
            "law": self.law.name,
            "version": VERSION,
            "options": self.law.options(),
            "params": self.params,
            "stderr": self.stderr,
            "estimated": self.estimated,
            "covariance": {"names": self.covariance_names, "matrix": cov},
            "calibration": self.calibration,
            "first_step": self.first_step,
            "objective": self.objective,
            "data": self.data,
            "train": self.train,
            "warnings": self.warnings,
            "seconds": self.seconds,
        }

    def save(self, path, extra: dict | None = None) -> None:
        """Write the fit (plus ``extra`` keys) as JSON, atomically."""
        text = json.dumps(json_ready({**self.to_dict(), **(extra or {})}), indent=2)
        with atomic_path(path) as tmp:
            tmp.write_text(text + "\n")


def _length(curve) -> int:
    """A curve's run length, as its last measured step + 1."""
    return int(curve.steps[-1]) + 1


def fit_warnings(fit: Fit) -> list[str]:
    """What makes a fit hard to trust: a parameter at its bound, a standard error larger
    than its value, too few points for the parameters fitted."""
    out = []
    free = [p for p in fit.law.params if p.name in fit.covariance_names]
    for p in free:
        value, (low, high) = fit.params[p.name], fit.bounds.get(p.name, (p.low, p.high))
        if any(math.isfinite(b) and math.isclose(value, b, rel_tol=1e-6, abs_tol=1e-12)
               for b in (low, high)):
            out.append(f"{p.name} = {value:.4g} is at its bound ({low:g}, {high:g}): the "
                       "curves do not determine it; add a curve with another schedule")
        err = fit.stderr.get(p.name, float("nan"))
        if math.isfinite(err) and err > abs(value):
            out.append(f"{p.name} = {value:.4g} has a standard error of {err:.3g}, larger "
                       "than its value: the curves hardly determine it")
    points = sum(d["n"] for d in fit.data)
    if points < 5 * max(len(free), 1):
        out.append(f"{points} loss points for {len(free)} fitted parameters: too few to "
                   "trust; log the loss more often or give more curves")
    return out


# -- saved fits ---------------------------------------------------------------------------
_REFIT = "refit with `lrsched fit-curve --json`, or mend the file"


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _get(path, raw: dict, key: str, kind: type, default):
    """``raw[key]`` (``default`` when missing or null), checked to be a ``kind``."""
    value = raw.get(key)
    if value is None:
        return default
    if not isinstance(value, kind):
        raise InputError(f"{path}: '{key}' is {json.dumps(value)[:60]}, not a JSON "
                         f"{'object' if kind is dict else 'list'}; {_REFIT}")
    return value


def _number_or_nan(path, where: str, value) -> float:
    if value is None:
        return float("nan")
    if not _is_number(value):
        raise InputError(f"{path}: {where} is {json.dumps(value)[:60]}, not a number or "
                         f"null; {_REFIT}")
    return float(value)


def _law_from(path, cls, options: dict) -> Law:
    """The law the fit file names, built from its ``options``."""
    try:
        return cls(**options)
    except (TypeError, KeyError, ValueError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: 'options' {json.dumps(options)[:80]} do not make a "
                         f"{cls.name} law ({why}); {_REFIT}") from None


def _params(path, raw: dict, law: Law) -> dict:
    """The fitted parameters, each a finite number within the law's bounds."""
    params = _get(path, raw, "params", dict, {})
    missing = [n for n in law.param_names if not _is_number(params.get(n))]
    if missing:
        raise InputError(f"{path}: parameter(s) {', '.join(missing)} missing or not numbers; "
                         f"{_REFIT}")
    for p in law.params:
        value = float(params[p.name])
        if not (math.isfinite(value) and p.low <= value <= p.high):
            raise InputError(f"{path}: parameter {p.name} = {value:g} is outside the "
                             f"{law.name} law's range [{p.low:g}, {p.high:g}]; {_REFIT}")
    return {n: float(params[n]) for n in law.param_names}


def _covariance(path, raw: dict, law: Law):
    """(matrix or None, names) from a fit file's ``covariance``, shapes checked."""
    cov = _get(path, raw, "covariance", dict, {})
    names = _get(path, cov, "names", list, [])
    unknown = [n for n in names if n not in law.param_names]
    if unknown or len(set(names)) != len(names):
        raise InputError(f"{path}: covariance names {names} must be distinct parameters of "
                         f"the {law.name} law ({', '.join(law.param_names)}); {_REFIT}")
    matrix = cov.get("matrix")
    if matrix is None:
        return None, names
    try:
        matrix = np.array(matrix, dtype=float)
    except (TypeError, ValueError):
        matrix = None
    if matrix is None or matrix.shape != (len(names), len(names)):
        shape = "not a numeric matrix" if matrix is None else f"of shape {matrix.shape}"
        raise InputError(f"{path}: covariance matrix is {shape}, but there are {len(names)} "
                         f"covariance names; it must be {len(names)} x {len(names)}; {_REFIT}")
    if not np.all(np.isfinite(matrix)):
        raise InputError(f"{path}: the covariance matrix holds a non-finite number; {_REFIT}")
    return matrix, names


def load_fit(path) -> Fit:
    """Read a fit written by ``Fit.save`` (or ``lrsched fit-curve --json``).

    A file that cannot be used (not JSON, an unknown law or version, missing, mistyped or
    out-of-range fields, a covariance that does not match its names) raises a one-line
    InputError naming the file and the field."""
    from lrsched.laws import LAWS

    raw = parse_json(read_text(path), path, "a fit file",
                     "give a file written by `lrsched fit-curve --json`")
    if not isinstance(raw, dict) or raw.get("law") not in LAWS:
        law = raw.get("law") if isinstance(raw, dict) else None
        raise InputError(f"{path}: law {json.dumps(law)[:40]} is not one of {sorted(LAWS)}; "
                         "give a file written by `lrsched fit-curve --json`")
    version = raw.get("version")
    if not (_is_number(version) and version == VERSION):
        raise InputError(f"{path}: fit format version {json.dumps(version)[:20]}, this "
                         f"lrsched reads version {VERSION}; refit with `lrsched fit-curve`")
    law = _law_from(path, LAWS[raw["law"]], _get(path, raw, "options", dict, {}))
    stderr = _get(path, raw, "stderr", dict, {})
    covariance, names = _covariance(path, raw, law)
    first_step = raw.get("first_step")
    if first_step is not None and not (isinstance(first_step, int)
                                       and not isinstance(first_step, bool) and first_step >= 0):
        raise InputError(f"{path}: 'first_step' is {json.dumps(first_step)[:60]}, not a whole "
                         f"number >= 0 or null; {_REFIT}")
    calibration = _number_or_nan(path, "'calibration'", raw.get("calibration"))
    if not (math.isnan(calibration) or 0 <= calibration < 1):
        raise InputError(f"{path}: 'calibration' {calibration:g} is not a relative error in "
                         f"[0, 1); {_REFIT}")
    return Fit(
        law=law,
        params=_params(path, raw, law),
        stderr={n: _number_or_nan(path, f"stderr of {n}", stderr.get(n))
                for n in law.param_names},
        covariance=covariance,
        covariance_names=names,
        first_step=first_step,
        objective=_number_or_nan(path, "'objective'", raw.get("objective")),
        data=_get(path, raw, "data", list, []),
        train=_get(path, raw, "train", dict, {}),
        seconds=_number_or_nan(path, "'seconds'", raw.get("seconds", 0.0)),
        estimated=_get(path, raw, "estimated", dict, {}),
        warnings=[str(w) for w in _get(path, raw, "warnings", list, [])],
        calibration=None if math.isnan(calibration) else calibration,
    )
