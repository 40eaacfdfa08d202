"""A fitted law, the result of ``laws.fitting``: ``Fit`` (predictions, intervals, scores,
the checks of a question, saving). Reading a saved fit back is ``laws.saved.load_fit``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from scipy.stats import norm

from lrsched.errors import InputError
from lrsched.files import atomic_path, json_ready
from lrsched.laws import predictive
from lrsched.laws.metrics import curve_metrics, decision_metrics
from lrsched.lr_arrays import as_lrs, as_steps, first_used_step

if TYPE_CHECKING:
    from lrsched.laws.base import Law

VERSION = 2  # of the saved-fit format (``Fit.save``); bump on incompatible change

LEVEL = 0.8  # the default coverage of ``Fit.interval``
LR_RANGE = 1.5  # a predicted peak LR more than this factor outside the fitted ones: a warning
STEP_RANGE = 4.0  # a run more than this many times the longest fitted one: a warning
LR_REFUSED = 10.0  # a peak LR further than this factor from the fitted ones: refused
# How far a fit across peak LRs extrapolates, as measured (decisions.md, "Several peak LRs")
EXTRAPOLATED = ("on the 124M runs its final losses were off by 1.4% 1.5x above the fitted "
                "peak LRs and 1.1% 4x below them, against 0.5% between them")
SAME_LENGTH = 0.01  # runs whose last loss points are this close (relatively) have one length
SAME_PEAK = 0.01  # peak LRs this close (relatively) are one
MAX_SPREAD = 1000.0  # peak LRs further apart than this: LRs mixed with multipliers (1.0)


class FitError(RuntimeError):
    """The fit did not converge; there are no parameters to report."""


class Comparison(NamedTuple):
    """``Fit.compare(a, b)``: the predicted difference of final losses (a - b), its
    interval at ``level``, and ``p_lower``, the probability that a ends lower than b."""

    difference: float
    interval: tuple[float, float]
    p_lower: float
    level: float
    same_length: bool

    @classmethod
    def of(cls, difference: float, variance: float, level: float, same_length: bool):
        sd = float(np.sqrt(max(variance, 0.0)))
        half = float(norm.ppf(0.5 + level / 2)) * sd
        p_lower = (float(norm.cdf(-difference / sd)) if sd > 0
                   else 0.5 if difference == 0 else float(difference < 0))
        return cls(float(difference), (float(difference - half), float(difference + half)),
                   p_lower, level, same_length)


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
    correlation_length: float | None = None  # how alike runs share it (``predictive``)

    def predict(self, lrs, steps=None) -> np.ndarray:
        """Predicted loss at ``steps`` for per-step LRs ``lrs``; by default at every step,
        NaN before the first step the law models (the warmup: ``first_step``, else the
        step after the LRs' warmup end). Asking for a step before any LR was applied, or
        a prediction that is not a finite, positive loss, is an InputError."""
        lrs = as_lrs(lrs)
        whole = steps is None
        if whole:
            start = first_used_step(lrs) if self.first_step is None else self.first_step
            steps = np.arange(start, lrs.size)
        steps = as_steps(steps, lrs.size)
        untrained = steps[np.cumsum(lrs)[steps] == 0]
        if untrained.size:
            raise InputError(f"step {untrained[0]} comes before any LR was applied (the LRs "
                             f"are 0 up to it), where no law predicts; ask for steps from "
                             f"{int(np.argmax(lrs > 0))} on")
        loss = self.law.predict(self.params, lrs, steps)
        if not np.all(np.isfinite(loss) & (loss > 0)):
            raise InputError(f"the {self.law.name} law predicts a non-finite or non-positive "
                             "loss for these LRs; check that they are absolute LRs in the "
                             "fitted range")
        if whole:
            loss = np.concatenate([np.full(lrs.size - steps.size, np.nan), loss])
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
        if not 0 < level < 1:
            raise InputError(f"level={level} must be a probability in (0, 1), e.g. 0.8")
        lrs = as_lrs(lrs)
        prepared = self.law.prepare(lrs, as_steps(steps, lrs.size))
        pred = self.law.evaluate(self.params, prepared)
        sd = np.hypot(self._param_sd(prepared, pred), predictive.relative_error(self) * pred)
        z = norm.ppf(0.5 + level / 2)
        return pred - z * sd, pred + z * sd

    def compare(self, a, b, level: float = LEVEL) -> Comparison:
        """How the final loss of a run with per-step LRs ``a`` compares with one with LRs
        ``b``: the predicted difference (a - b), its ``level`` interval and the
        probability that ``a`` ends lower, from the joint predictive distribution of both
        (``laws.predictive``: the error they share cancels). Runs of different lengths
        are compared at their own last steps (``same_length`` says so)."""
        if not 0 < level < 1:
            raise InputError(f"level={level} must be a probability in (0, 1), e.g. 0.8")
        runs = [as_lrs(a), as_lrs(b)]
        for lrs in runs:
            self.predict(lrs, [lrs.size - 1])  # refuses what no law predicts
        mean, cov = predictive.joint(self, runs)
        return Comparison.of(mean[0] - mean[1], cov[0, 0] + cov[1, 1] - 2 * cov[0, 1],
                             level, runs[0].size == runs[1].size)

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
        """For each peak LR and each run length that two or more of its ``curves`` share
        (to within ``SAME_LENGTH``: loggers end a few steps apart), ``decision_metrics`` of
        the predicted vs measured final losses, with ``peak_lr``, ``steps`` and the curve
        names; with curves at several peak LRs, also each length run at two or more of
        them, pooled (``peak_lr`` None: the choice of the peak LR and the schedule).
        ``beats_best``: each run's probability of ending lower than the run predicted
        best (``predictive.beat_best``; None for that run)."""
        by_peak = peak_lrs(curves)
        peak_of = {id(c): peak for peak, runs in by_peak.items() for c in runs}
        groups = [(peak, g) for peak, runs in by_peak.items() for g in _by_length(runs)]
        groups += [(None, g) for g in _by_length(curves)
                   if len({peak_of[id(c)] for c in g}) > 1]
        out = []
        for peak, group in groups:
            pred = [float(self.predict(c.lrs, c.steps[-1:])[0]) for c in group]
            actual = [float(c.loss[-1]) for c in group]
            _, beats = predictive.beat_best(self, [c.lrs[: _length(c)] for c in group])
            out.append({"peak_lr": peak, "steps": _length(group[0]),
                        "curves": [c.name for c in group], "predicted": pred,
                        "actual": actual, **decision_metrics(pred, actual),
                        "beats_best": [None if np.isnan(p) else float(p) for p in beats]})
        return out

    def check(self, lrs) -> list[str]:
        """Warnings about predicting a run with these LRs (``check_run``)."""
        lrs = as_lrs(lrs)
        return self.check_run(float(lrs.max()), lrs.size)

    def check_run(self, peak_lr: float, steps: int) -> list[str]:
        """Warnings about predicting a ``steps``-step run at ``peak_lr``: peak LRs outside
        the fitted ones, runs far longer than the fitted ones; a peak LR more than
        ``LR_REFUSED`` times outside them (multipliers given for LRs, say) is an
        InputError."""
        peaks = [d["lr"][1] for d in self.data if "lr" in d]
        lengths = [d["steps"][1] for d in self.data if "steps" in d]
        out = []
        if peaks:
            low, high = min(peaks), max(peaks)
            far = max(peak_lr / high, low / peak_lr)
            if far > LR_REFUSED:
                side = "above" if peak_lr > high else "below"
                hint = (" (are these LR multipliers? give absolute LRs)" if peak_lr > 100 * high
                        else "")
                raise InputError(f"peak LR {peak_lr:g} is {far:.0f}x {side} the fitted peak LRs "
                                 f"[{low:g}, {high:g}]{hint}: no law is trusted that far "
                                 f"(measured: {EXTRAPOLATED}); fit runs at peak LRs nearer "
                                 f"{peak_lr:g}")
            if high > low * (1 + SAME_PEAK) and not low <= peak_lr <= high:
                out.append(f"peak LR {peak_lr:g} is outside the fitted peak LRs "
                           f"[{low:g}, {high:g}]; the law extrapolates: {EXTRAPOLATED}")
            elif not low / LR_RANGE <= peak_lr <= high * LR_RANGE:
                out.append(f"peak LR {peak_lr:g} is outside the fitted peak LRs "
                           f"[{low:g}, {high:g}]; the law extrapolates, trust it less (fit "
                           "runs at two or more peak LRs to predict across them)")
        if lengths and steps > STEP_RANGE * max(lengths):
            out.append(f"a run of {steps:,} steps is {steps / max(lengths):.0f}x the "
                       f"longest fitted curve ({max(lengths):,} steps); the law extrapolates "
                       "far, trust it less")
        return out

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
            "correlation_length": self.correlation_length,
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


def _by_length(curves) -> list[list]:
    """The groups of two or more ``curves`` of one run length (within ``SAME_LENGTH``)."""
    groups: list[list] = []
    for curve in sorted(curves, key=_length):
        if groups and _length(curve) <= (1 + SAME_LENGTH) * _length(groups[-1][0]):
            groups[-1].append(curve)
        else:
            groups.append([curve])
    return [g for g in groups if len(g) >= 2]


def peak_lrs(curves) -> dict[float, list]:
    """The curves by peak LR (their largest LR; peaks within ``SAME_PEAK`` of each other
    are one: ``same_peaks``), smallest first. A run still in its warmup at its last step
    has no peak yet, and peaks more than ``MAX_SPREAD`` apart mix LRs with LR
    multipliers: both are InputErrors."""
    for curve in curves:
        lrs = curve.lrs[: int(curve.steps[-1]) + 1]
        if lrs.size > 1 and lrs[-1] > lrs[-2] and lrs[-1] == lrs.max():
            raise InputError(f"{curve.name}: the LR still rises at its last logged step "
                             f"({lrs[-1]:g}), so its peak LR is unknown; give runs past "
                             "their warmup")
    groups = same_peaks([float(c.lrs.max()) for c in curves])
    if groups and max(groups) > MAX_SPREAD * (1 + SAME_PEAK) * min(groups):
        raise InputError(f"peak LRs {min(groups):g} and {max(groups):g} differ "
                         f"{max(groups) / min(groups):.0f}-fold: is one an LR multiplier "
                         "column? give every curve's absolute LRs (--schedule with --peak-lr)")
    return {peak: [curves[i] for i in members] for peak, members in groups.items()}


def same_peaks(peaks: list[float]) -> dict[float, list[int]]:
    """The indices of ``peaks`` by peak LR, smallest first: a peak within ``SAME_PEAK``
    of a smaller one joins it."""
    groups: dict[float, list[int]] = {}
    for i in sorted(range(len(peaks)), key=peaks.__getitem__):
        home = next((g for g in groups if peaks[i] <= g * (1 + SAME_PEAK)), peaks[i])
        groups.setdefault(home, []).append(i)
    return groups
