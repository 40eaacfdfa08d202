"""Which run to make next: the cheap runs that would sharpen a decision most per step.

The decision is the best schedule of ``candidates`` against its *rival*, the candidate
most likely to end lower than it (``predictive.beat_best``). Its uncertainty is the sd U
of the margin D = L_best - L_rival under the joint predictive distribution
(``laws.predictive``), a parameter part and a model part:

    U^2 = g C g^T + a^T K a,    g = J_best - J_rival,  a = (1, -1)

(C the parameter covariance, J a run's final-loss Jacobian, K = sigma^2 m m^T R the
law's calibrated error, shared by alike schedules). A proposed run r shrinks both,
whatever it measures, so the width after it is exact under the model:

- its logged points, log-losses each with noise s^2 (``noise``) and Jacobian J_r
  (d log prediction / d parameters), update the parameters as one Kalman step, which is
  C' = (C^+ + J_r^T J_r / s^2)^+ without inverting C:

      g C' g^T = g C g^T - h^T (J_r C J_r^T + s^2 I)^-1 h,    h = J_r C g^T

- its loss at a logged step t is the final loss of the run cut at t, so its curve
  observes the model error e of every such cut r_t (up to ``CUTS`` of them, each with
  the point noise s m_t), which shares the margin's as the kernel says (Gaussian-process
  conditioning on the vector e_r of the cuts):

      a^T K' a = a^T K a - k^T (K_rr + diag(s m_r)^2)^-1 k,    k = cov(e_r, D)

U_r = sqrt(g C' g^T + a^T K' a); a run's ``value`` is U - U_r per 1,000 steps of cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.stats import norm

from lrsched.choosing.families import wsd_schedule
from lrsched.choosing.optimize import Candidate, candidates, fitted_peak_lrs
from lrsched.choosing.prediction import LEVEL, fitted_start
from lrsched.errors import InputError
from lrsched.laws.fit import same_peaks
from lrsched.laws.predictive import (
    beat_best,
    final_jacobian,
    final_losses,
    model_covariance,
    parameter_covariance,
)
from lrsched.lr_arrays import as_lrs, as_steps
from lrsched.schedules import constant

BRANCH_STARTS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)  # fractions of the decision's steps
BRANCH_LENGTHS = (0.05, 0.1, 0.2, 0.4)  # linear cooldowns to 0, fractions of its steps
SHORT = 0.25  # a fresh run (a candidate, another peak LR) is this fraction of the steps
OTHER_LRS = (0.5, 2.0)  # peak LRs of the constant runs proposed to a fit across peak LRs
MIN_POINTS = 20  # the fewest points a proposed run is taken to log
CUTS = 20  # the most logged steps of a run whose loss conditions the model error
PER = 1000  # value: the sd reduction per this many steps of cost


class Proposal(NamedTuple):
    """A run one could make next: its per-step ``lrs``, the ``steps`` it would log (new
    data only: a branch logs from its checkpoint on), and its ``cost`` in steps."""

    name: str
    lrs: np.ndarray
    steps: np.ndarray
    cost: int


class PlannedRun(NamedTuple):
    """A proposal scored: ``width`` the margin's sd after it (U_r), ``reduction`` U - U_r,
    ``value`` the reduction per 1,000 steps of ``cost``."""

    name: str
    lrs: np.ndarray
    steps: np.ndarray
    cost: int
    width: float
    reduction: float
    value: float


@dataclass(frozen=True)
class Plan:
    """The decision (``best`` against ``rival``: predicted ``margin`` = L_best - L_rival,
    its sd ``width`` U, ``p_best_lower``) and the proposed ``runs``, best value first."""

    total_steps: int
    peak_lr: float
    best: Candidate
    rival: Candidate
    margin: float
    width: float
    p_best_lower: float
    runs: list[PlannedRun]

    @property
    def interval(self) -> tuple[float, float]:
        """The margin's 80% interval."""
        half = float(norm.ppf(0.5 + LEVEL / 2)) * self.width
        return self.margin - half, self.margin + half


def plan_runs(fit, total_steps: int | None = None, peak_lr: float | None = None, *,
              budget: int | None = None, warmup: int | None = None,
              runs: list[Proposal] | None = None) -> Plan:
    """The decision for a run of ``total_steps`` (default: the longest fitted run's last
    logged step) at ``peak_lr`` (default: the largest fitted one), and the proposed
    ``runs`` (default ``proposals``) ranked by how much each narrows it per step; runs
    costing more than ``budget`` steps are left out. The fit needs its calibration."""
    if fit.calibration is None:
        raise InputError("the fit has no calibration (the law's error on a schedule it was "
                         "not fitted to), which plans the runs: refit with `lrsched "
                         "fit-curve --json`, which calibrates it")
    if total_steps is None:
        total_steps = max((int(d["steps"][1]) for d in fit.data if "steps" in d), default=0)
        if not total_steps:
            raise InputError("the fit records no run lengths; give the run's total steps")
    peak_lr = fitted_peak_lrs(fit)[1] if peak_lr is None else peak_lr
    table = candidates(fit, total_steps, peak_lr, warmup)
    full = [peak_lr * c.schedule(np.arange(total_steps)) for c in table]
    best, p = beat_best(fit, full)
    rival = int(np.nanargmax(p))
    if runs is None:
        runs = proposals(fit, total_steps, peak_lr, table[0].schedule.warmup,
                         {table[best].name: full[best], table[rival].name: full[rival]})
    runs = [_checked(r) for r in runs]
    if budget is not None:
        if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
            raise InputError(f"budget must be a whole number of steps >= 1, not {budget!r}")
        cheapest = min(r.cost for r in runs)
        runs = [r for r in runs if r.cost <= budget]
        if not runs:
            raise InputError(f"a budget of {budget:,} steps is less than any proposed run "
                             f"costs (the cheapest, {cheapest:,} steps); give a budget of "
                             f"{cheapest:,} steps or more")
    margin, width, after = widths(fit, full[best], full[rival], runs)
    planned = [PlannedRun(*r, w, width - w, PER * (width - w) / r.cost)
               for r, w in zip(runs, after)]
    return Plan(total_steps, float(peak_lr), table[best], table[rival], margin, width,
                float(1 - p[rival]), sorted(planned, key=lambda r: -r.value))


def proposals(fit, total_steps: int, peak_lr: float, warmup: int,
              runs: dict[str, np.ndarray]) -> list[Proposal]:
    """The cheap runs to choose from: cooldowns branched from checkpoints of the constant
    run at ``peak_lr`` (start x length over ``BRANCH_STARTS`` x ``BRANCH_LENGTHS``, ending
    by ``total_steps``; cost: the cooldown, the constant run being made), constant runs
    at ``OTHER_LRS`` x ``peak_lr`` for a fit across peak LRs, and each of ``runs`` (name
    -> per-step LRs: the decision's schedules) shortened to ``SHORT`` of its steps
    (cost: its length)."""
    out = []
    for s in sorted({round(f * total_steps) for f in BRANCH_STARTS}):
        for length in sorted({round(f * total_steps) for f in BRANCH_LENGTHS}):
            if s >= warmup and length and s + length <= total_steps:
                schedule = wsd_schedule(s + length, warmup, length / (s + length), "linear", 0.0)
                out.append(Proposal(f"cooldown {length:,} steps from step {s:,} of the constant "
                                    "run", peak_lr * schedule(np.arange(s + length)),
                                    _logged(fit, s, s + length), length))
    short = round(SHORT * total_steps)
    if short <= max(warmup, fitted_start(fit)):
        return out
    if len(same_peaks([d["lr"][1] for d in fit.data if "lr" in d])) > 1:
        for factor in OTHER_LRS:
            lr = factor * peak_lr
            out.append(Proposal(f"constant at peak LR {lr:.3g}, {short:,} steps",
                                lr * constant(warmup=warmup)(np.arange(short)),
                                _logged(fit, fitted_start(fit), short), short))
    for name, lrs in runs.items():
        out.append(Proposal(f"{name}, {short:,} steps", shortened(lrs, warmup, short),
                            _logged(fit, fitted_start(fit), short), short))
    return out


def shortened(lrs: np.ndarray, warmup: int, steps: int) -> np.ndarray:
    """Per-step ``lrs`` on a run of ``steps`` steps: the same warmup, then the rest of the
    schedule at the same fraction of the steps after it (to its last LR)."""
    after = np.linspace(warmup, lrs.size - 1, steps - warmup).round().astype(np.int64)
    return np.concatenate([lrs[:warmup], lrs[after]])


def widths(fit, best: np.ndarray, rival: np.ndarray, runs) -> tuple[float, float, np.ndarray]:
    """(margin, U, U_r for each of ``runs``): the predicted L_best - L_rival, its sd, and
    its sd after each run (module docstring)."""
    mean = final_losses(fit, [best, rival])
    cov = model_covariance(fit, [best, rival], mean)  # K
    a = np.array([1.0, -1.0])
    c = parameter_covariance(fit)
    param, explained = 0.0, np.zeros(len(runs))
    s2 = noise(fit) ** 2
    if c is not None:
        g = a @ final_jacobian(fit, [best, rival])
        param = float(g @ c @ g)
        for i, run in enumerate(runs):
            j = log_jacobian(fit, run.lrs, run.steps)
            h = j @ c @ g
            explained[i] = h @ np.linalg.solve(j @ c @ j.T + s2 * np.eye(h.size), h)
    model = float(a @ cov[:2, :2] @ a)
    conditioned = np.array([_observed(fit, [best, rival], mean, run, s2) for run in runs])
    after = np.sqrt(np.maximum(param - explained + model - conditioned, 0.0))
    return float(mean[0] - mean[1]), float(np.sqrt(max(param + model, 0.0))), after


def _observed(fit, pair: list, pair_mean: np.ndarray, run: Proposal, s2: float) -> float:
    """k^T (K_rr + diag(s m_r)^2)^-1 k: how much of the model variance of the margin of
    ``pair`` (best, rival; their final losses ``pair_mean``) the run's curve explains,
    observed at up to ``CUTS`` of its logged steps (the run cut there)."""
    at = run.steps[np.unique(np.linspace(0, run.steps.size - 1, CUTS).round().astype(int))]
    seen = fit.law.predict(fit.params, run.lrs, at)
    mean = np.concatenate([pair_mean, seen])
    cov = model_covariance(fit, [*pair, *(run.lrs[: t + 1] for t in at)], mean)
    k = np.array([1.0, -1.0]) @ cov[:2, 2:]
    return float(k @ np.linalg.solve(cov[2:, 2:] + np.diag(s2 * seen**2), k))


def log_jacobian(fit, lrs: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """d log(prediction) / d (each parameter of ``fit.covariance_names``) at ``steps``,
    one row per step: the residuals' Jacobian of a fit to a run logged there. A blend's
    members are fitted alone, so each member's own (not the blend's average)."""
    columns = _log_gradient(fit.law, fit.params, lrs, steps)
    return np.column_stack([np.broadcast_to(columns[n], steps.shape)
                            for n in fit.covariance_names])


def _log_gradient(law, params: dict, lrs: np.ndarray, steps: np.ndarray) -> dict:
    if law.members:
        return {f"{m.name}.{k}": v for m in law.members
                for k, v in _log_gradient(m, law.own(params, m), lrs, steps).items()}
    prepared = law.prepare(lrs, steps)
    prediction = law.evaluate(params, prepared)
    return {k: v / prediction for k, v in law.gradient(params, prepared).items()}


def noise(fit) -> float:
    """The sd s of a logged point's log residual: the fitted curves' mean relative error
    (PredE, pooled over their points) times sqrt(pi / 2), the ratio of a normal error's
    sd to its mean absolute value; without training scores, the calibration."""
    scores = list(fit.train.values())
    if not scores:
        return float(fit.calibration)
    pred_e = sum(m["pred_e"] * m["n"] for m in scores) / sum(m["n"] for m in scores)
    return float(np.sqrt(np.pi / 2) * pred_e)


def _logged(fit, start: int, end: int) -> np.ndarray:
    """The steps a run logs from ``start`` to its last step, ``end - 1``: as densely as
    the fitted curves were, and at least ``MIN_POINTS``."""
    spans = [(d["n"], d["steps"][1] - d["steps"][0] + 1) for d in fit.data
             if "n" in d and "steps" in d]
    density = sum(n for n, _ in spans) / max(sum(s for _, s in spans), 1)
    count = max(MIN_POINTS, round(density * (end - start)))
    return np.unique(np.linspace(start, end - 1, count).round().astype(np.int64))


def _checked(run) -> Proposal:
    name, lrs, steps, cost = run
    lrs = as_lrs(lrs)
    if isinstance(cost, bool) or not isinstance(cost, (int, np.integer)) or cost < 1:
        raise InputError(f"{name}: a run's cost is a whole number of steps >= 1, not {cost!r}")
    return Proposal(str(name), lrs, as_steps(steps, lrs.size), int(cost))
