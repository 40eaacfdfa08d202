"""What the sweep's runs say, as plain data (numbers, names, verdicts) for the report."""

from __future__ import annotations

import math
import warnings

import numpy as np


def final(summary: dict) -> float:
    """A run's final val loss; inf when it did not finish (diverged)."""
    return summary["final_val_loss"] if summary["finished"] else math.inf


def verdict(diff: float, spread: float) -> str:
    """Whether ``diff`` (claimed-better minus the reference) supports a claim, given the
    seed spread: "holds", "within noise" or "does not reproduce"."""
    if diff < -spread:
        return "holds"
    return "within noise" if diff <= spread else "does not reproduce"


def best_lrs(results: dict, schedules, lrs: list, seed: int, name) -> dict[str, float]:
    """The peak LR of the grid ``lrs`` with the lowest final val loss, per schedule, on
    ``seed``; ``name(schedule, lr, seed)`` is a run's name in ``results``."""
    return {k: min(lrs, key=lambda lr: final(results[name(k, lr, seed)])) for k in schedules}


def head_to_head(results: dict, schedules, lrs: list, seeds: list, name) -> dict:
    """Part 1: the grid of final val losses on the first seed, the best LR per schedule,
    the finals at it per seed, their means, the seed spread (the mean over schedules of
    the range over seeds), and each schedule against cosine."""
    best = best_lrs(results, schedules, lrs, seeds[0], name)
    grid = {k: [final(results[name(k, lr, seeds[0])]) for lr in lrs] for k in schedules}
    finals = {k: [final(results[name(k, best[k], s)]) for s in seeds] for k in schedules}
    mean = {k: float(np.mean(v)) for k, v in finals.items()}
    spread = float(np.mean([np.ptp(v) for v in finals.values()]))
    vs_cosine = {k: {"diff": mean[k] - mean["cosine"],
                     "verdict": verdict(mean[k] - mean["cosine"], spread)} for k in schedules}
    return {"lrs": lrs, "seeds": seeds, "grid": grid, "best": best, "finals": finals,
            "mean": mean, "spread": spread, "vs_cosine": vs_cosine}


def late_drop(curve: dict) -> float:
    """How much a run's val loss fell over its last 10% of steps."""
    seen = ~np.isnan(curve["val_loss"])
    steps, val = curve["step"][seen], curve["val_loss"][seen]
    return float(np.interp(0.9 * steps[-1], steps, val) - val[-1])


def compare(results: dict, runs: dict[str, list[str]], spread: float) -> dict:
    """Finals and means of schedules run on several seeds (``runs``: schedule -> run
    names), and the verdict on the second against the first."""
    finals = {k: [final(results[n]) for n in names] for k, names in runs.items()}
    mean = {k: float(np.mean(v)) for k, v in finals.items()}
    a, b = list(runs)
    return {"finals": finals, "mean": mean, "diff": mean[b] - mean[a],
            "verdict": verdict(mean[b] - mean[a], spread)}


def fit_laws(curves: dict):
    """The published laws and the default blend fitted to ``curves`` (name -> Curve):
    {law name: Fit, or the error}."""
    from lrsched.laws import BlendLaw, FitError, MomentumLaw, MultiPowerLaw

    fits = {}
    for law in (MomentumLaw(), MultiPowerLaw(), BlendLaw()):
        try:
            with warnings.catch_warnings():  # lmfit's stderr of a degenerate covariance
                warnings.simplefilter("ignore", RuntimeWarning)
                fits[law.name] = law.fit(list(curves.values()))
        except FitError as exc:
            fits[law.name] = f"fit failed: {exc}"
    return fits


def law_scores(fits: dict, curves: dict, peak_lrs: dict, fitted_lrs: set) -> dict:
    """PredE and WorstE of each fitted law on each of ``curves`` (the runs not fitted),
    and their means: over all, at the fitted peak LRs, at others."""
    good = [k for k, f in fits.items() if not isinstance(f, str)]
    scores = {k: {n: fits[k].score(c) for n, c in curves.items()} for k in good}
    same = [n for n in curves if peak_lrs[n] in fitted_lrs]
    groups = {"**mean**": list(curves), "mean, runs at the fitted peak LR": same,
              "mean, runs at other peak LRs": [n for n in curves if n not in same]}
    means = {label: {k: {m: float(np.mean([scores[k][n][m] for n in names]))
                         for m in ("pred_e", "worst_e")} for k in good}
             for label, names in groups.items() if names}
    return {"failed": {k: f for k, f in fits.items() if isinstance(f, str)},
            "scores": {k: {n: {m: s[m] for m in ("pred_e", "worst_e")} for n, s in v.items()}
                       for k, v in scores.items()}, "means": means}


def continual(curves: dict[str, dict], steps: int, corpora: tuple[str, str]) -> dict:
    """Val loss on both corpora after each segment, forgetting and adaptation."""
    rows = {}
    for k, c in curves.items():
        s1, p1, s2, p2 = (float(c[f"val_{corpus}"][step]) for step in (steps - 1, 2 * steps - 1)
                          for corpus in corpora)
        rows[k] = {"after_1": [s1, p1], "after_2": [s2, p2], "forgetting": s2 - s1,
                   "adaptation": p2 - p1}
    return rows
