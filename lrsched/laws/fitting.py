"""Fitting a law to training curves: the one procedure every law goes through.

Objective (both papers): the Huber loss, delta = 1e-3, of log(predicted) - log(measured)
loss, summed over every point of every training curve; all curves share the parameters.
Each parameter is bounded (``Param.low``/``high``; L0 also by the smallest measured loss).
A parameter may be fixed, and a weak prior ``(centre, width)`` adds one residual,
HUBER_DELTA * log(value / centre) / width, under the same Huber loss (quadratic within a
factor e^width of the centre, linear beyond).

Starting points: for each combination of the shape parameters' grids, the free linear
parameters are solved by bounded least squares; the best few combinations start lmfit's
bounded trust-region least squares, and the lowest (penalised) objective wins.

Stages and choices, as scikit-learn keeps model selection outside its estimators:
- a law's ``pilot`` (a simpler law) is fitted first, and the parameters it names are
  held at its values (their standard errors are the pilot's: estimated, not exact);
- options a law leaves open (``Law.choices``) are chosen by ``select``:
  leave-one-curve-out prediction error on the training curves;
- a blend (a law with ``members``) fits each of its member laws alone and averages them;
- ``calibrate`` measures how well the fitted law predicts held-out training data, which
  ``Fit.interval`` turns into an interval;
- ``fit_warnings`` says what makes a fit hard to trust.

The procedures take any law by its interface (``laws.base.Law``) and return a ``Fit``
(``laws.fit``, the result); ``Law.fit`` and ``laws.catalogue.fit_auto`` call them.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import time
import warnings
from typing import TYPE_CHECKING

import numpy as np
from scipy.linalg import block_diag
from scipy.optimize import lsq_linear

from lrsched.curves import Curve, read_curve
from lrsched.errors import InputError
from lrsched.laws import predictive
from lrsched.laws.fit import Fit, FitError, same_peaks
from lrsched.lr_arrays import first_used_step

if TYPE_CHECKING:
    from lrsched.laws.base import Law

HUBER_DELTA = 1e-3
MAX_TRAIN_ERROR = 1.0  # a fit off its own curves by more (mean relative error) is no fit
LOO_STARTS = 1  # starting points of each fit inside ``select`` (the final fit: ``starts``)
SPLIT = 0.6  # with two curves, ``select`` fits the first 60% of each and scores the rest
_FLOOR = 1e-12  # a predicted loss below this counts as this in the log residual
PRIOR_CURVES = 4  # the weight of a law's heldout_error in a fit's calibration, in curves
MIN_LOSS = 1e-12  # smaller losses leave lmfit no room to bound L0 (it needs min < max)


def huber(r: np.ndarray, delta: float = HUBER_DELTA) -> float:
    a = np.abs(r)
    return float(np.sum(np.where(a <= delta, 0.5 * r**2, delta * (a - 0.5 * delta))))


def used_points(curve, first_step: int | None):
    """The (steps, losses, first step) of ``curve`` the laws model: from ``first_step`` on
    (default: just after the curve's warmup)."""
    start = first_used_step(curve.lrs) if first_step is None else first_step
    keep = curve.steps >= start
    return curve.steps[keep], curve.loss[keep], start


def fit(law: Law, curves, first_step: int | None = None, starts: int = 3,
        fixed: dict | None = None, pilots: dict | None = None) -> Fit:
    """Fit ``law`` jointly to ``curves`` (``Curve`` objects): its open choices first
    (``select``), then its pilot, then the law itself. Raises FitError if no starting
    point converges, InputError if the data cannot determine the parameters.
    ``pilots`` caches pilot and fold fits by their curves (the choices refit the same
    subsets)."""
    clock = time.perf_counter()
    curves = distinct(curves)
    law = law.for_curves(curves)
    pilots = {} if pilots is None else pilots
    if law.members:
        fitted = _blend(law, [_cached_fit(m, curves, first_step, starts, law.own(fixed or {}, m),
                                          pilots) for m in law.members], curves)
    else:
        fitted = _fit_law(law, curves, first_step, starts, dict(fixed or {}), pilots)
    fitted.warnings = fit_warnings(fitted)
    fitted.seconds = time.perf_counter() - clock
    return fitted


def _fit_law(law: Law, curves, first_step, starts: int, fixed: dict, pilots: dict) -> Fit:
    """One law: its open choices, its pilot, then the law with the pilot's values held."""
    for option, (candidates, fallback) in law.choices().items():
        variants = {value: law.with_options(**{option: value}) for value in candidates}
        law = variants[select(variants, curves, first_step, fallback, pilots)]
    estimated = {}
    if law.pilot is not None and not set(law.pilot[1]) <= set(fixed):
        pilot_law, names = law.pilot
        pilot = _cached(pilots, ("pilot", pilot_law.name, first_step), curves,
                        lambda: _fit_once(pilot_law, curves, first_step, starts, {}, pilots))
        fixed.update({n: pilot.params[n] for n in names})
        estimated = {n: {"by": pilot_law.name, "stderr": pilot.stderr[n]} for n in names}
    fitted = _fit_once(law, curves, first_step, starts, fixed, pilots)
    for name, how in estimated.items():
        fitted.stderr[name] = how["stderr"]
    fitted.estimated = {n: how["by"] for n, how in estimated.items()}
    return fitted


def _cached(cache: dict, key: tuple, curves, make):
    """``make()``, made once per ``key`` and set of curves. The entry holds the curves, so
    the ids that name them in the cache stay theirs while it lives."""
    key = (*key, *map(id, curves))
    if key not in cache:
        cache[key] = (list(curves), make())
    return cache[key][1]


def _cached_fit(law: Law, curves, first_step, starts: int, fixed: dict, cache: dict) -> Fit:
    """``fit``, cached with the pilots: ``select`` fits every law alone on each fold, and
    a blend of them fits the same members on the same folds."""
    return _cached(cache, ("fit", repr(law), first_step, starts, repr(fixed)), curves,
                   lambda: fit(law, curves, first_step, starts, fixed, cache))


def _blend(blend: Law, fits: list[Fit], curves) -> Fit:
    """The blend of the members' fits (their options as chosen): each member's parameters,
    standard errors, bounds and covariance (one block each), named ``member.param``."""
    law = blend.with_options(laws=[[f.law.name, f.law.options()] for f in fits])

    def named(f: Fit, values: dict) -> dict:
        return {f"{f.law.name}.{k}": v for k, v in values.items()}

    covariances = [f.covariance for f in fits]
    first_step = fits[0].first_step
    data = _prepare(law, curves, first_step)
    y = np.concatenate([d["y"] for d in data])
    params = {k: v for f in fits for k, v in named(f, f.params).items()}
    fitted = Fit(
        law=law,
        params=params,
        stderr={k: v for f in fits for k, v in named(f, f.stderr).items()},
        covariance=None if any(c is None for c in covariances) else block_diag(*covariances),
        covariance_names=[f"{f.law.name}.{n}" for f in fits for n in f.covariance_names],
        first_step=first_step,
        objective=huber(_log_residual(_predict_all(law, params, data), y)),
        data=[d["summary"] for d in data],
        bounds={k: v for f in fits for k, v in named(f, f.bounds).items()},
        estimated={k: v for f in fits for k, v in named(f, f.estimated).items()},
    )
    fitted.train = {c.name: fitted.score(c) for c in curves}
    return fitted


def distinct(curves) -> list:
    """The curves (a path is read with ``read_curve``), refusing one given twice (its
    points would count double) and anything that is not a curve."""
    if isinstance(curves, (str, os.PathLike, Curve)):
        curves = [curves]
    curves = [read_curve(c) if isinstance(c, (str, os.PathLike)) else c for c in curves]
    if not curves:
        raise InputError("no training curves given")
    for curve in curves:
        if not isinstance(curve, Curve):
            raise InputError(f"a training curve is a Curve or the path of a curve file, not "
                             f"{type(curve).__name__} (lrsched.read_curve(path) reads one)")
    seen = {}
    for curve in curves:
        key = (curve.steps.tobytes(), curve.loss.tobytes(), curve.lrs.tobytes())
        if key in seen:
            raise InputError(f"{curve.name} and {seen[key]} are the same curve; give each "
                             "run once (a repeat would count its points twice)")
        seen[key] = curve.name
    return curves


def select(candidates: dict, curves, first_step=None, fallback=None, pilots=None):
    """The key of ``candidates`` (key -> Law) whose fits predict held-out training data best.

    Three or more curves: leave one curve out, fit the others, score the left-out one
    (``holdout_error``, averaged over the curves). Fewer: ``fallback``, which may name a
    rule: ``"split"`` fits the first ``SPLIT`` of every curve and scores the rest;
    ``"best-fit"`` takes the candidate whose fit to all curves has the lowest objective.
    """
    curves = list(curves)
    if len(curves) < 3 and fallback not in ("split", "best-fit"):
        return fallback
    if len(curves) < 3 and fallback == "best-fit":
        fits = {key: _fit_once(law, curves, first_step, LOO_STARTS, {})
                for key, law in candidates.items()}
        return min(fits, key=lambda key: fits[key].objective)
    folds = _folds(curves)
    pilots = {} if pilots is None else pilots
    scores = {key: float(np.mean([_holdout(law, train, test, first_step, pilots)
                                  for train, test in folds]))
              for key, law in candidates.items()}
    return min(scores, key=scores.get)


def _folds(curves) -> list[tuple[list, list]]:
    """(fit on, score on) pairs: leave one curve out with three or more curves, else the
    time split (the first ``SPLIT`` of every curve; scored on all of every curve)."""
    if len(curves) >= 3:
        return [(curves[:i] + curves[i + 1:], [c]) for i, c in enumerate(curves)]
    return [([_head(c) for c in curves], curves)]


def _head(curve):
    """The first ``SPLIT`` of a curve's loss points (its LRs whole)."""
    cut = curve.steps[0] + SPLIT * (curve.steps[-1] - curve.steps[0])
    keep = curve.steps <= cut
    return Curve(curve.steps[keep], curve.loss[keep], curve.lrs, curve.name)


def _holdout(law: Law, train, test, first_step, pilots) -> float:
    try:
        fitted = _cached_fit(law, train, first_step, LOO_STARTS, {}, pilots)
    except FitError:
        return float("inf")
    return float(np.mean([holdout_error(fitted, c) for c in test]))


def calibrate(fitted: Fit, curves) -> float:
    """Set ``fitted.calibration`` and ``fitted.correlation_length`` (``laws.predictive``)
    and return the calibration: the final loss of each training curve is predicted by the
    same law (its choices as made) fitted to the other curves (three or more), or to the
    first ``SPLIT`` of every curve. The calibration is the RMS of these relative errors,
    pooled with the law's ``heldout_error`` as ``PRIOR_CURVES`` more of them (a few
    curves measure it poorly, and understate how far a new schedule's end can be off);
    the correlation length is what the differences between the errors say
    (``predictive.measure_length``)."""
    errors, runs = [], []
    for train, test in _folds(distinct(curves)):
        try:
            held = fit(fitted.law, train, fitted.first_step, LOO_STARTS)
        except FitError:
            continue
        for c in test:
            errors.append(float(held.predict(c.lrs, c.steps[-1:])[0] / c.loss[-1] - 1))
            runs.append(c.lrs[: int(c.steps[-1]) + 1])
    prior = fitted.law.heldout_error
    own = float(np.sum(np.square(errors)))
    fitted.calibration = math.sqrt((own + PRIOR_CURVES * prior**2) / (len(errors) + PRIOR_CURVES))
    fitted.correlation_length = predictive.measure_length(np.array(errors), runs)
    return fitted.calibration


def fit_warnings(fit: Fit) -> list[str]:
    """What makes a fit hard to trust: a parameter at its bound, a standard error larger
    than its value, too few points for the parameters fitted."""
    out = []
    free = [p for p in fit.law.params if p.name in fit.covariance_names]
    for p in (p for p in free if not p.may_vanish):
        value, (low, high) = fit.params[p.name], fit.bounds.get(p.name, (p.low, p.high))
        if any(math.isfinite(b) and math.isclose(value, b, rel_tol=1e-6, abs_tol=1e-12)
               for b in (low, high)):
            out.append(f"{p.name} = {value:.4g} is at its bound ({low:g}, {high:g}): the "
                       "curves do not determine it; add a curve with another schedule")
        err = fit.stderr.get(p.name, float("nan"))
        if math.isfinite(err) and err > abs(value):
            out.append(f"{p.name} = {value:.4g} has a standard error of {err:.3g}, larger "
                       "than its value: the curves hardly determine it")
    peaks = same_peaks([d["lr"][1] for d in fit.data])
    if len(peaks) > 1:
        out += [f"peak LR {peak:g} has a single curve ({fit.data[runs[0]]['name']}): its "
                "level and cooldown rest on one run; add a second run at that LR (constant "
                "or cosine)" for peak, runs in peaks.items() if len(runs) == 1]
    points = sum(d["n"] for d in fit.data)
    if points < 5 * max(len(free), 1):
        out.append(f"{points} loss points for {len(free)} fitted parameters: too few to "
                   "trust; log the loss more often or give more curves")
    return out


def holdout_error(fitted: Fit, curve) -> float:
    """How well ``fitted`` predicts a curve it was not fitted to: the mean of PredE (the
    whole curve) and final_e (its end, which decides a schedule)."""
    m = fitted.score(curve)
    return 0.5 * (m["pred_e"] + m["final_e"])


def _fit_once(law: Law, curves, first_step, starts: int, fixed: dict,
              cache: dict | None = None) -> Fit:
    """One least-squares fit of ``law`` with ``fixed`` held (no choices, no pilot). The
    starting points are scored without the priors, so laws that differ only in them (the
    candidates of a prior width) share them through ``cache``."""
    import lmfit  # imports matplotlib too: only when fitting

    data = _prepare(law, curves, first_step)
    y = np.concatenate([d["y"] for d in data])
    fixed = {**{p.name: p.fixed for p in law.params if p.fixed is not None}, **fixed}
    n_free = len(law.params) - len(fixed)
    if y.size <= n_free:
        names = ", ".join(c.name for c in curves)
        raise InputError(f"{names}: {y.size} loss points cannot determine {n_free} "
                         "parameters; give more points or more curves")
    if y.min() < MIN_LOSS:
        raise InputError(f"the losses go down to {y.min():.3g}: the laws fit losses from "
                         f"{MIN_LOSS:g} up, in nats; is this column scaled or a log?")
    bounds = {p.name: (p.low, p.high) for p in law.params}
    bounds["L0"] = (0.0, float(y.min()))
    prior = {p.name: p.prior for p in law.params if p.prior and p.name not in fixed}

    free = [n for n in law.param_names if n not in fixed]  # lmfit's order of the columns
    linear = [p.name for p in law.params if p.linear]

    def residual(params) -> np.ndarray:
        values = params.valuesdict()
        penalty = [HUBER_DELTA * np.log(values[n] / centre) / width
                   for n, (centre, width) in prior.items()]
        return np.concatenate([_log_residual(_predict_all(law, values, data), y), penalty])

    def jacobian(params) -> np.ndarray:
        """d residual / d free parameter: the law's gradient over its prediction, and the
        priors' d/dv HUBER_DELTA log(v / centre) / width."""
        values = params.valuesdict()
        rows = []
        for d in data:
            gradient = law.gradient(values, d["prepared"])
            pred = sum(values[n] * gradient[n] for n in linear)  # linear: its basis column
            scale = np.where(pred > _FLOOR, 1.0 / np.maximum(pred, _FLOOR), 0.0)
            rows.append(np.column_stack([gradient[n] * scale for n in free]))
        penalty = np.zeros((len(prior), len(free)))
        for row, (n, (_, width)) in enumerate(prior.items()):
            penalty[row, free.index(n)] = HUBER_DELTA / (width * values[n])
        return np.vstack([*rows, penalty])

    key = ("starts", type(law).__name__, repr(law.formula()),
           tuple(dataclasses.replace(p, prior=None) for p in law.params), repr(fixed),
           first_step)
    points = _cached({} if cache is None else cache, key, curves,
                     lambda: _starts(law, data, y, fixed, bounds))
    best = None
    for start in points[:starts]:
        params = lmfit.Parameters()
        for name in law.param_names:
            lo, hi = bounds[name]
            params.add(name, value=float(np.clip(start[name], lo, hi)), min=lo, max=hi,
                       vary=name not in fixed)
        with warnings.catch_warnings():  # a degenerate covariance: its stderr show as n/a
            warnings.filterwarnings("ignore", "invalid value encountered in sqrt",
                                    RuntimeWarning)
            result = lmfit.minimize(residual, params, method="least_squares", Dfun=jacobian,
                                    loss="huber", f_scale=HUBER_DELTA, x_scale="jac")
        objective = huber(result.residual)
        if result.success and np.isfinite(objective) and (best is None or objective < best[0]):
            best = (objective, result)
    if best is None:
        raise FitError(f"the {law.name} law fit did not converge from any starting point")
    result = best[1]
    params = {n: float(p.value) for n, p in result.params.items()}
    stderr = {n: 0.0 if n in fixed else float(p.stderr) if p.stderr is not None
              else float("nan") for n, p in result.params.items()}
    fitted = Fit(
        law=law,
        params=params,
        stderr=stderr,
        covariance=None if result.covar is None else np.asarray(result.covar),
        covariance_names=list(result.var_names),
        first_step=first_step,
        objective=huber(_log_residual(_predict_all(law, params, data), y)),
        data=[d["summary"] for d in data],
        bounds=bounds,
    )
    fitted.train = {c.name: fitted.score(c) for c in curves}
    error = float(np.mean([m["pred_e"] for m in fitted.train.values()]))
    if not error <= MAX_TRAIN_ERROR:
        raise FitError(f"the {law.name} law misses its own training curves by "
                       f"{100 * error:.0f}% on average: it cannot describe them (are the "
                       "losses and LRs the right columns?)")
    return fitted


def _prepare(law: Law, curves, first_step) -> list[dict]:
    data = []
    for curve in curves:
        steps, y, start = used_points(curve, first_step)
        if y.size == 0:
            raise InputError(f"{curve.name}: no loss points at or after step {start}; "
                             "lower the first step used (--first-step)")
        if not np.any(curve.lrs[: start + 1] > 0):
            raise InputError(f"{curve.name}: no LR has been applied yet at step {start}; "
                             "start later (--first-step)")
        summary = {
            "name": curve.name,
            "n": int(y.size),
            "first_step": int(start),
            "steps": [int(steps[0]), int(steps[-1])],
            "lr": [float(curve.lrs.min()), float(curve.lrs.max())],
            "loss": [float(y.min()), float(y.max())],
        }
        data.append({"y": y, "prepared": law.prepare(curve.lrs, steps), "summary": summary})
    return data


def _predict_all(law: Law, values: dict, data) -> np.ndarray:
    return np.concatenate([law.evaluate(values, d["prepared"]) for d in data])


def _log_residual(pred: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(pred, _FLOOR)) - np.log(y)


def _starts(law: Law, data, y, fixed: dict, bounds: dict) -> list[dict]:
    """The shape-grid points, each with its best free linear parameters, best first."""
    shape = [p for p in law.params if not p.linear]
    grid = [(fixed[p.name],) if p.name in fixed else p.grid for p in shape]
    linear = [p.name for p in law.params if p.linear]
    free = [n for n in linear if n not in fixed]
    low, high = [bounds[n][0] for n in free], [bounds[n][1] for n in free]
    scored = []
    for values in itertools.product(*grid):
        point = {**fixed, **{p.name: v for p, v in zip(shape, values)}}
        columns = [law.basis(point, d["prepared"]) for d in data]
        column = {n: np.concatenate([np.broadcast_to(c[n], d["y"].shape)
                                     for c, d in zip(columns, data)]) for n in linear}
        known = sum(fixed[n] * column[n] for n in linear if n in fixed)
        design = np.column_stack([column[n] for n in free]) / y[:, None]
        coef = lsq_linear(design, 1 - known / y, bounds=(low, high)).x
        point.update(zip(free, coef))
        pred = known + design @ coef * y
        scored.append((huber(_log_residual(pred, y)), point))
    scored.sort(key=lambda s: s[0])
    return [point for _, point in scored]
