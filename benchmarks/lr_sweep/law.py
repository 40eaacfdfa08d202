"""(c), the cross-LR law's way: ``lrsched.CrossLRLaw`` fitted on the pilots, its choice of
peak LR and schedule for the longer budget (``lrsched.sweep`` over a log grid spanning
the fitted peak LRs, the best of several families), and its scores on the test runs with
benchmarks/cross_lr.py's measures: gap error per peak LR, lr-regret per run length."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

import lrsched
from benchmarks.lr_sweep.sweep import Run, significant
from lrsched.choosing import Candidate, fitted_peak_lrs
from lrsched.errors import InputError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # cross_lr imports public_curves
from benchmarks.cross_lr import decisions, lr_regret  # noqa: E402

GRID = 15  # peak LRs the law is asked about, log-spaced over the fitted ones
FAMILIES = ("wsd", "cosine", "linear")


def read(out: Path, runs: list[Run]) -> dict[Run, lrsched.Curve]:
    """The runs' curves, as the dataset in ``out`` holds them."""
    with warnings.catch_warnings():  # the LR before the first logged loss: step 0's
        warnings.simplefilter("ignore")
        return {run: lrsched.read_curve(out / run.csv, name=f"{run.lr:g}/{run.name}")
                for run in runs}


def fit(curves) -> lrsched.Fit:
    """The cross-LR law fitted jointly on ``curves``."""
    return lrsched.CrossLRLaw().fit(list(curves))


def choose(law_fit, steps: int) -> tuple[Candidate | None, dict]:
    """The law's best schedule of ``FAMILIES`` at the best of ``GRID`` peak LRs (to three
    significant digits) for a run of ``steps`` steps, as a Candidate (None: it answered
    none); and {(peak LR, family): why} for those the law cannot answer. ``lrsched.sweep``'s
    loop, one ``optimize`` per peak LR and family, so that one it cannot answer (its
    interval leaves the possible losses: an InputError) does not stop the others."""
    low, high = fitted_peak_lrs(law_fit)
    found, refused = [], {}
    for lr in sorted({significant(lr) for lr in np.geomspace(low, high, GRID)}):
        for family in FAMILIES:
            try:
                found.append(lrsched.optimize(law_fit, steps, lr, family))
            except InputError as exc:
                refused[(lr, family)] = str(exc)
    return min(found, key=lambda c: c.loss, default=None), refused


def scores(law_fit, curves: dict[Run, lrsched.Curve]) -> dict:
    """The law's gap error per peak LR (the runs of each seed ranked apart, pooled) and
    lr-regret per run length (every peak LR's runs of one seed together; mean over the
    seeds), and its mean final-loss error, on ``curves``."""
    seeds = sorted({run.seed for run in curves})

    def of(**match):
        return [c for r, c in curves.items() if all(getattr(r, k) == v for k, v in match.items())]

    gap, final_e = {}, []
    for lr in sorted({run.lr for run in curves}):
        parts = [decisions(law_fit, of(lr=lr, seed=s), of(lr=lr, seed=s)) for s in seeds]
        gap[lr] = sum(p["miss"] for p in parts) / sum(p["spread"] for p in parts)
        final_e += [e for p in parts for e in p["final_e"]]
    regret = {t: float(np.mean([lr_regret(law_fit, of(steps=t, seed=s)) for s in seeds]))
              for t in sorted({run.steps for run in curves})}
    return {"gap_error": gap, "lr_regret": regret, "final_e": float(np.mean(final_e))}
