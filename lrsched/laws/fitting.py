"""The one fitting path shared by both laws, the ``Fit`` it returns, and saved fits.

Objective (both papers): the Huber loss, delta = 1e-3, of log(predicted) - log(measured)
loss, summed over every point of every training curve; all curves share the parameters.
Each parameter is bounded (``Law.bounds``; L0 also by the smallest measured loss).
A law may hold parameters fixed (``Law.fixed`` or ``fixed=``) and put a weak prior on
others (``Law.prior``: name -> (centre, width)): one extra residual per parameter,
HUBER_DELTA * log(value / centre) / width, under the same Huber loss (quadratic within
a factor e^width of the centre, linear beyond).
Starting points: for each combination in ``Law.shape_grid`` the free linear parameters
(L0, A, K) are solved by bounded least squares; the best few combinations start lmfit's
bounded trust-region least squares, and the lowest (penalised) objective wins.
Choices a fit cannot make from its own objective (a prior's width, a fixed lambda) are
made by ``loo_choice``: leave-one-curve-out prediction error on the training curves.
"""

from __future__ import annotations

import itertools
import json
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import lsq_linear

from lrsched.files import atomic_path, json_ready
from lrsched.laws.base import VERSION, Law, as_lrs, as_steps, first_used_step
from lrsched.laws.metrics import curve_metrics

HUBER_DELTA = 1e-3
LOO_STARTS = 1  # starting points of each fit inside ``loo_choice`` (the final fit: ``starts``)


class FitError(RuntimeError):
    """The fit did not converge; there are no parameters to report."""


def huber(r: np.ndarray, delta: float = HUBER_DELTA) -> float:
    a = np.abs(r)
    return float(np.sum(np.where(a <= delta, 0.5 * r**2, delta * (a - 0.5 * delta))))


def used_points(curve, first_step: int | None):
    """The (steps, losses) of ``curve`` the laws model: from ``first_step`` on."""
    start = first_used_step(curve.lrs) if first_step is None else first_step
    keep = curve.steps >= start
    return curve.steps[keep], curve.loss[keep], start


@dataclass
class _Data:
    """One training curve, prepared for repeated evaluation."""

    name: str
    y: np.ndarray
    prepared: object
    summary: dict


def _prepare(law: Law, curves, first_step) -> list[_Data]:
    data = []
    for curve in curves:
        steps, y, start = used_points(curve, first_step)
        if y.size == 0:
            raise ValueError(
                f"{curve.name}: no loss points at or after step {start}; "
                "lower the first step used (--first-step)"
            )
        summary = {
            "name": curve.name,
            "n": int(y.size),
            "first_step": int(start),
            "steps": [int(steps[0]), int(steps[-1])],
            "lr": [float(curve.lrs.min()), float(curve.lrs.max())],
            "loss": [float(y.min()), float(y.max())],
        }
        prepared = law.prepare(curve.lrs, steps)
        if np.any(law.power_sum(prepared) <= 0):
            raise ValueError(f"{curve.name}: no LR has been applied yet at step {steps[0]}; "
                             "start later (--first-step)")
        data.append(_Data(curve.name, y, prepared, summary))
    return data


def _predict_all(law: Law, params: dict, data: list[_Data]) -> np.ndarray:
    return np.concatenate([law.evaluate(params, d.prepared) for d in data])


def _log_residual(pred: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(pred, 1e-12)) - np.log(y)


def _bounds(law: Law, y: np.ndarray) -> dict:
    bounds = dict(law.bounds)
    bounds["L0"] = (0.0, float(y.min()))
    return bounds


def _starts(law: Law, data, fixed: dict, bounds: dict, count: int) -> list[dict]:
    """The ``count`` best shape-grid points, each with its best free linear parameters."""
    y = np.concatenate([d.y for d in data])
    names = list(law.shape_grid)
    grid = [(fixed[name],) if name in fixed else law.shape_grid[name] for name in names]
    free = [n for n in law.linear if n not in fixed]
    low = [bounds[n][0] for n in free]
    high = [bounds[n][1] for n in free]
    scored = []
    for values in itertools.product(*grid):
        shape = {**fixed, **dict(zip(names, values))}
        power = np.concatenate([law.power_sum(d.prepared) for d in data]) ** -shape["alpha"]
        decay = np.concatenate([law.decay(shape, d.prepared) for d in data])
        columns = dict(zip(law.linear, (np.ones_like(y), power, -decay)))
        known = sum(fixed[n] * columns[n] for n in law.linear if n in fixed)
        design = np.column_stack([columns[n] for n in free]) / y[:, None]
        coef = lsq_linear(design, 1 - known / y, bounds=(low, high)).x
        params = {**shape, **dict(zip(free, coef))}
        pred = known + design @ coef * y
        scored.append((huber(_log_residual(pred, y)), params))
    scored.sort(key=lambda s: s[0])
    return [params for _, params in scored[:count]]


def fit(law: Law, curves, first_step: int | None = None, starts: int = 3,
        fixed: dict | None = None) -> Fit:
    """Fit ``law`` jointly to ``curves`` (``Curve`` objects), holding ``law.fixed()`` and
    ``fixed`` at their values; raises FitError if no starting point converges,
    ValueError if the data cannot determine the parameters."""
    import lmfit  # imports matplotlib too: only when fitting

    clock = time.perf_counter()
    curves = list(curves)
    if not curves:
        raise ValueError("no training curves given")
    data = _prepare(law, curves, first_step)
    y = np.concatenate([d.y for d in data])
    fixed = {**law.fixed(), **(fixed or {})}
    n_free = len(law.param_names) - len(fixed)
    if y.size <= n_free:
        names = ", ".join(c.name for c in curves)
        raise ValueError(
            f"{names}: {y.size} loss points cannot determine {n_free} parameters; "
            "give more points or more curves"
        )
    bounds = _bounds(law, y)

    prior = {n: c for n, c in law.prior().items() if n not in fixed}

    def residual(params) -> np.ndarray:
        values = params.valuesdict()
        penalty = [HUBER_DELTA * np.log(values[n] / centre) / width
                   for n, (centre, width) in prior.items()]
        return np.concatenate([_log_residual(_predict_all(law, values, data), y), penalty])

    best = None
    for start in _starts(law, data, fixed, bounds, starts):
        params = lmfit.Parameters()
        for name in law.param_names:
            lo, hi = bounds[name]
            value = float(np.clip(start[name], lo, hi))
            params.add(name, value=value, min=lo, max=hi, vary=name not in fixed)
        with warnings.catch_warnings():  # a degenerate covariance: its stderr show as n/a
            warnings.filterwarnings("ignore", "invalid value encountered in sqrt",
                                    RuntimeWarning)
            result = lmfit.minimize(residual, params, method="least_squares",
                                    loss="huber", f_scale=HUBER_DELTA, x_scale="jac")
        objective = huber(result.residual)
        if result.success and np.isfinite(objective) and (best is None or objective < best[0]):
            best = (objective, result)
    if best is None:
        raise FitError(f"the {law.name} law fit did not converge from any starting point")
    result = best[1]
    params = {n: float(p.value) for n, p in result.params.items()}
    objective = huber(_log_residual(_predict_all(law, params, data), y))
    stderr = {n: float(p.stderr) if p.stderr is not None else float("nan")
              for n, p in result.params.items()}
    for name in fixed:
        stderr[name] = 0.0
    fitted = Fit(
        law=law,
        params=params,
        stderr=stderr,
        covariance=None if result.covar is None else np.asarray(result.covar),
        covariance_names=list(result.var_names),
        first_step=first_step,
        objective=objective,
        data=[d.summary for d in data],
    )
    fitted.train = {c.name: fitted.score(c) for c in curves}
    fitted.seconds = time.perf_counter() - clock
    return fitted


def loo_choice(fitters: dict, curves):
    """The key of ``fitters`` (callables: list of curves -> ``Fit``) whose fits to all
    training curves but one predict the left-out one best:

        argmin_key  mean_i PredE(fitters[key](curves without i), curve i)
    """
    def error(fitter) -> float:
        return float(np.mean([fitter(curves[:i] + curves[i + 1:]).score(curve)["pred_e"]
                              for i, curve in enumerate(curves)]))

    curves = list(curves)
    scores = {key: error(fitter) for key, fitter in fitters.items()}
    return min(scores, key=scores.get)


@dataclass
class Fit:
    """A fitted law: ``params``, ``stderr``, training ``train`` metrics per curve, the
    ``data`` summary, and ``predict``/``band`` for any per-step LR array."""

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

    def predict(self, lrs, steps=None) -> np.ndarray:
        """Predicted loss at ``steps`` (default: every step) for per-step LRs ``lrs``."""
        return self.law.predict(self.params, lrs, steps)

    def band(self, lrs, steps=None, z: float = 1.96) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) = prediction -/+ z standard deviations from the parameter
        covariance (delta method). It reflects parameter uncertainty only, so it
        understates the error of extrapolating to a new schedule."""
        lrs = as_lrs(lrs)
        prepared = self.law.prepare(lrs, as_steps(steps, lrs.size))
        pred = self.law.evaluate(self.params, prepared)
        if self.covariance is None:
            return pred.copy(), pred.copy()
        jac = []
        for name in self.covariance_names:
            h = 1e-6 * max(abs(self.params[name]), 1e-3)
            shifted = {**self.params, name: self.params[name] + h}
            jac.append((self.law.evaluate(shifted, prepared) - pred) / h)
        jac = np.array(jac)
        sd = np.sqrt(np.maximum(np.einsum("it,ij,jt->t", jac, self.covariance, jac), 0.0))
        return pred - z * sd, pred + z * sd

    def score(self, curve) -> dict:
        """``curve_metrics`` of the prediction at the curve's modelled points."""
        steps, y, _ = used_points(curve, self.first_step)
        return curve_metrics(self.predict(curve.lrs, steps), y)

    def to_dict(self) -> dict:
        cov = None if self.covariance is None else self.covariance.tolist()
        return {
            "law": self.law.name,
            "version": VERSION,
            "options": self.law.options(),
            "params": self.params,
            "stderr": self.stderr,
            "covariance": {"names": self.covariance_names, "matrix": cov},
            "first_step": self.first_step,
            "objective": self.objective,
            "data": self.data,
            "train": self.train,
            "seconds": self.seconds,
        }

    def save(self, path, extra: dict | None = None) -> None:
        """Write the fit (plus ``extra`` keys) as JSON, atomically."""
        text = json.dumps(json_ready({**self.to_dict(), **(extra or {})}), indent=2)
        with atomic_path(path) as tmp:
            tmp.write_text(text + "\n")


def _laws() -> dict:
    from lrsched.laws.momentum import MomentumLaw
    from lrsched.laws.multipower import MultiPowerLaw

    return {law.name: law for law in (MomentumLaw, MultiPowerLaw)}


_REFIT = "refit with `lrsched fit-curve --json`, or mend the file"


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _get(path, raw: dict, key: str, kind: type, default):
    """``raw[key]`` (``default`` when missing or null), checked to be a ``kind``."""
    value = raw.get(key)
    if value is None:
        return default
    if not isinstance(value, kind):
        raise ValueError(f"{path}: '{key}' is {json.dumps(value)[:60]}, not a JSON "
                         f"{'object' if kind is dict else 'list'}; {_REFIT}")
    return value


def _number_or_nan(path, where: str, value) -> float:
    if value is None:
        return float("nan")
    if not _is_number(value):
        raise ValueError(f"{path}: {where} is {json.dumps(value)[:60]}, not a number or null; "
                         f"{_REFIT}")
    return float(value)


def _law_from(path, cls, options: dict) -> Law:
    """The law the fit file names, built from its ``options``."""
    try:
        return cls(**options)
    except (TypeError, KeyError, ValueError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"{path}: 'options' {json.dumps(options)[:80]} do not make a "
                         f"{cls.name} law ({why}); {_REFIT}") from None


def _covariance(path, raw: dict, law: Law):
    """(matrix or None, names) from a fit file's ``covariance``, shapes checked."""
    cov = _get(path, raw, "covariance", dict, {})
    names = _get(path, cov, "names", list, [])
    unknown = [n for n in names if n not in law.param_names]
    if unknown or len(set(names)) != len(names):
        raise ValueError(f"{path}: covariance names {names} must be distinct parameters of "
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
        raise ValueError(f"{path}: covariance matrix is {shape}, but there are {len(names)} "
                         f"covariance names; it must be {len(names)} x {len(names)}; {_REFIT}")
    return matrix, names


def load_fit(path) -> Fit:
    """Read a fit written by ``Fit.save`` (or ``lrsched fit-curve --json``).

    A file that cannot be used (not JSON, an unknown law or version, missing or mistyped
    fields, a covariance that does not match its names) raises a one-line ValueError
    naming the file and the field."""
    try:
        with open(path) as f:
            raw = json.load(f)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON ({exc.msg} at line {exc.lineno}); "
                         "give a file written by `lrsched fit-curve --json`") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a UTF-8 text file; "
                         "give a file written by `lrsched fit-curve --json`") from None
    laws = _laws()
    if not isinstance(raw, dict) or raw.get("law") not in laws:
        law = raw.get("law") if isinstance(raw, dict) else None
        raise ValueError(f"{path}: law {law!r} is not one of {sorted(laws)}; "
                         "give a file written by `lrsched fit-curve --json`")
    if raw.get("version") != VERSION:
        raise ValueError(f"{path}: fit format version {raw.get('version')!r}, this lrsched "
                         f"reads version {VERSION}; refit with `lrsched fit-curve`")
    law = _law_from(path, laws[raw["law"]], _get(path, raw, "options", dict, {}))
    params = _get(path, raw, "params", dict, {})
    missing = [n for n in law.param_names if not _is_number(params.get(n))]
    if missing:
        raise ValueError(f"{path}: parameter(s) {', '.join(missing)} missing or not numbers; "
                         "refit with `lrsched fit-curve`")
    stderr = _get(path, raw, "stderr", dict, {})
    covariance, names = _covariance(path, raw, law)
    first_step = raw.get("first_step")
    if first_step is not None and not (isinstance(first_step, int)
                                       and not isinstance(first_step, bool) and first_step >= 0):
        raise ValueError(f"{path}: 'first_step' is {json.dumps(first_step)[:60]}, not a whole "
                         f"number >= 0 or null; {_REFIT}")
    return Fit(
        law=law,
        params={n: float(params[n]) for n in law.param_names},
        stderr={n: _number_or_nan(path, f"stderr of {n}", stderr.get(n))
                for n in law.param_names},
        covariance=covariance,
        covariance_names=names,
        first_step=first_step,
        objective=_number_or_nan(path, "'objective'", raw.get("objective")),
        data=_get(path, raw, "data", list, []),
        train=_get(path, raw, "train", dict, {}),
        seconds=_number_or_nan(path, "'seconds'", raw.get("seconds", 0.0)),
    )
