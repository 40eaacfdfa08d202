"""The cross-LR protocols of bench_decisions.py (issue 17): the 124M runs at three peak
LRs, fitted jointly, judged by the decisions they support.

Training sets, per peak LR: "published" (its ``train/`` curves: the constant run and a
cosine to 0) and "practical" (those and the cheapest 20% WSD cooldown branch of that LR:
the shortest run length it has). Protocols, leaving one peak LR out of the three:

- unseen: fit the other two LRs' training curves, predict every curve of the LR left
  out (final_e over them; gap error, regret over its runs of equal length);
- joint: fit all three LRs' training curves, predict the left-out LR's ``test/``
  curves (its training curves join the candidates of equal length, as in fit-curve);
- lr-regret (unseen fits): per run length, pooled over every LR's runs, the measured
  loss of the run with the best predicted final loss minus the best measured one.

Calibrated (issue 18; the cross-LR law on the published set): every fit is calibrated on
its own training curves (``calibrate``), then scored by the 80% interval's coverage of
the final losses it predicts and by its calls between pairs of equal-length runs it was
not fitted to: joint, every such pair of the three LRs' test runs, pooled; unseen, every
pair with a run at the LR left out (its own runs and the other LRs' test runs).
"""

from __future__ import annotations

import math
import statistics
import time
import warnings
from itertools import combinations

import numpy as np
from public_curves import ALL_PEAKS, schaipp

from lrsched.choosing import sweep
from lrsched.laws import LAWS, CrossLRLaw, calibrate, curve_metrics, predictive
from lrsched.laws.fit import LEVEL, Comparison

Z80 = 1.2815515655446004  # the 80% interval's half-width in standard deviations
SPENT = {"calls": 0.0}  # seconds in ``calls``, for the benchmark's account of its time

BRANCH = "wsd_linear_0.2_T"  # the practical set's extra run: this, at the LR's shortest T
TARGETS = {  # issue 17: (final_e, gap error, regret, lr-regret); None: no target
    ("unseen", "published"): (0.003, 0.30, 0.002, 0.001),
    ("joint", "published"): (0.0015, 0.15, 0.0005, None),
    ("joint", "practical"): (0.0012, 0.12, 0.0005, None),
}


def runs() -> dict:
    """peak -> (training curves, test curves, practical training curves)."""
    out = {}
    for peak in ALL_PEAKS:
        train, test = schaipp(peak)
        shortest = min(int(c.name.rpartition("_T")[2]) for c in test if BRANCH in c.name)
        branch = next(c for c in test if c.name == f"{BRANCH}{shortest}")
        out[peak] = (train, test, [*train, branch])
    return out


def _length(curve) -> int:
    return int(curve.steps[-1]) + 1


def _groups(curves) -> list[list]:
    """Curves of equal run length (within 1%), two or more to a group."""
    by = {}
    for c in curves:
        by.setdefault(round(_length(c), -2), []).append(c)
    return [g for g in by.values() if len(g) >= 2]


def _final(fit, curve) -> float:
    return float(fit.predict(curve.lrs, curve.steps[-1:])[0])


def decisions(fit, candidates, scored) -> dict:
    """final_e over ``scored``; gap-error sums and regrets over the equal-length groups
    of ``candidates``."""
    final_e = [curve_metrics([_final(fit, c)], [c.loss[-1]])["final_e"] for c in scored]
    spread = miss = 0.0
    regrets = []
    for group in _groups(candidates):
        a = np.array([c.loss[-1] for c in group])
        p = np.array([_final(fit, c) for c in group])
        i, j = np.triu_indices(a.size, 1)
        spread += np.abs(a[i] - a[j]).sum()
        miss += np.abs((p[i] - p[j]) - (a[i] - a[j])).sum()
        regrets.append(float(a[np.argmin(p)] - a.min()))
    return {"final_e": final_e, "spread": spread, "miss": miss, "regrets": regrets}


def lr_regret(fit, every) -> float:
    """Mean over run lengths run at two or more peak LRs of the measured loss of the
    run predicted best minus the best measured (``every``: all runs of all LRs)."""
    out = []
    for group in _groups(every):
        if len({round(float(c.lrs.max()), 8) for c in group}) < 2:
            continue
        a = np.array([c.loss[-1] for c in group])
        p = np.array([_final(fit, c) for c in group])
        out.append(float(a[np.argmin(p)] - a.min()))
    return float(np.mean(out))


def inside(fit, curves) -> tuple[list[bool], list[float]]:
    """Whether the fit's calibrated 80% interval of each curve's final loss holds it, and
    the error in the interval's standard deviations, z (|z| <= 1.28 inside)."""
    held, z = [], []
    for c in curves:
        low, high = fit.interval(c.lrs, c.steps[-1:], LEVEL)
        held.append(bool(low[0] <= c.loss[-1] <= high[0]))
        z.append(float((c.loss[-1] - (low[0] + high[0]) / 2) / ((high[0] - low[0]) / 2) * Z80))
    return held, z


def calls(fit, group, counted=lambda a, b: True) -> list[tuple[float, bool, bool]]:
    """(confidence, right, across) of the fit's call on each pair (a, b) of ``group``
    (curves of one run length) that ``counted`` keeps: P = P(a ends lower) as
    ``Fit.compare`` of their LRs up to their last step gives it; the call is "a lower" if
    P >= 0.5, its confidence max(P, 1 - P), right if the measured final losses are so
    ordered; across: a and b have different peak LRs.
    ``Fit.compare`` per pair recomputes both runs' predictions and gradients (0.05-0.08 s
    a pair measured; the benchmark's ~2,000 pairs, 378 in one cross-LR group of 28 runs of
    50,000 steps, took about 2.5 minutes that way, 6 s this way), so the pairs come from
    one ``predictive.joint`` of the group, the same
    maths (var = S_aa + S_bb - 2 S_ab through ``Comparison.of``); the first pair of
    every group is checked against ``Fit.compare``."""
    pairs = [(i, j) for i, j in combinations(range(len(group)), 2)
             if counted(group[i], group[j])]
    if not pairs:
        return []
    clock = time.perf_counter()
    runs = [c.lrs[: _length(c)] for c in group]
    mean, cov = predictive.joint(fit, runs)
    out = []
    for k, (i, j) in enumerate(pairs):
        p = Comparison.of(mean[i] - mean[j], cov[i, i] + cov[j, j] - 2 * cov[i, j], LEVEL,
                          True).p_lower
        if k == 0:
            check = fit.compare(runs[i], runs[j]).p_lower
            assert math.isclose(p, check, rel_tol=1e-9, abs_tol=1e-9), (p, check)
        lower = group[i].loss[-1] < group[j].loss[-1]
        across = not math.isclose(runs[i].max(), runs[j].max(), rel_tol=0.01)
        out.append((max(p, 1 - p), bool(lower if p >= 0.5 else not lower), across))
    SPENT["calls"] += time.perf_counter() - clock
    return out


def evaluate(law_name: str, data: dict, which: str, calibrated: bool = False) -> dict:
    """Per left-out peak LR, both protocols, for one law and one training set
    (``which``: "published" or "practical"). ``calibrated``: calibrate every fit on its
    training curves; add per left-out LR and protocol ``inside`` and ``z`` of the scored
    curves (``inside``), the unseen fit's ``calls`` and ``calibration`` (sigma,
    correlation length, training curves), and under "joint" the joint fit's."""
    pick = 0 if which == "published" else 2
    every = [c for train, test, _ in data.values() for c in (*train, *test)]
    fitted = {id(c) for d in data.values() for c in d[pick]}
    out, seconds, calibrating = {}, [], 0.0

    def calibrated_on(fit, curves):
        nonlocal calibrating
        clock = time.perf_counter()
        calibrate(fit, curves)
        calibrating += time.perf_counter() - clock
        return (fit.calibration, fit.correlation_length, len(curves))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clock = time.perf_counter()
        joint = LAWS[law_name]().fit([c for d in data.values() for c in d[pick]])
        seconds.append(time.perf_counter() - clock)
        if calibrated:
            out["joint"] = {"calibration": calibrated_on(
                joint, [c for d in data.values() for c in d[pick]])}
            held = [c for _, test, _ in data.values() for c in test if id(c) not in fitted]
            out["joint"]["calls"] = [x for g in _groups(held) for x in calls(joint, g)]
        for peak, (train, test, practical) in data.items():
            fitted_on = practical if which == "practical" else train
            others = [c for p, d in data.items() if p != peak for c in d[pick]]
            clock = time.perf_counter()
            unseen = LAWS[law_name]().fit(others)
            seconds.append(time.perf_counter() - clock)
            held = [c for c in test if all(c is not f for f in fitted_on)]
            out[peak] = {
                "unseen": {**decisions(unseen, [*train, *test], [*train, *test]),
                           "lr_regret": lr_regret(unseen, every)},
                "joint": decisions(joint, [*fitted_on, *held], held),
            }
            if calibrated:
                here = {id(c) for c in (*train, *test)}
                unfitted = [*train, *test, *(c for p, (_, t, _) in data.items() if p != peak
                                             for c in t if id(c) not in fitted)]
                calibration = calibrated_on(unseen, others)
                held_in, z = inside(unseen, [*train, *test])
                out[peak]["unseen"].update(
                    calibration=calibration, inside=held_in, z=z,
                    calls=[x for g in _groups(unfitted) for x in calls(
                        unseen, g, lambda a, b, here=here: id(a) in here or id(b) in here)])
                out[peak]["joint"]["inside"], out[peak]["joint"]["z"] = inside(joint, held)
    out["seconds"] = float(np.median(seconds))
    out["calibration_seconds"] = calibrating
    return out


def timing(data: dict, repeats: int = 3) -> str:
    """Median seconds (one core) of the joint fit of the three peak LRs' training curves,
    and of ``sweep`` over 10 peak LRs x the WSD family for a 25,000-step run."""
    train = [c for d in data.values() for c in d[0]]
    fits, sweeps = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(repeats):
            clock = time.perf_counter()
            fit = CrossLRLaw().fit(train)
            fits.append(time.perf_counter() - clock)
            clock = time.perf_counter()
            sweep(fit, 25_000, np.geomspace(5e-4, 3e-3, 10), "wsd")
            sweeps.append(time.perf_counter() - clock)
    return (f"- joint fit of the three peak LRs' training curves (6 curves): "
            f"{statistics.median(fits):.1f} s (target <= 5 s)\n"
            f"- `sweep` over 10 peak LRs x the WSD family, 25,000 steps: "
            f"{statistics.median(sweeps):.1f} s (target <= 10 s)")


def summary(part: dict) -> dict:
    """The scores of one (LR, protocol) cell."""
    return {"final_e": float(np.mean(part["final_e"])),
            "gap_error": part["miss"] / part["spread"] if part["spread"] else float("nan"),
            "regret": float(np.mean(part["regrets"])) if part["regrets"] else float("nan"),
            "lr_regret": part.get("lr_regret", float("nan"))}


def table(results: dict) -> tuple[str, str]:
    """The per-LR table and the targets table (means over the three left-out LRs)."""
    rows = ["| law | training set | protocol | left out | final_e | gap error | regret | "
            "lr-regret |", "|---|---|---|---|---|---|---|---|"]
    means = {}
    for (law, which), res in results.items():
        for protocol in ("unseen", "joint"):
            cells = []
            for peak in ALL_PEAKS:
                s = summary(res[peak][protocol])
                cells.append(s)
                rows.append(f"| {law} | {which} | {protocol} | {float(peak):g} | "
                            f"{s['final_e']:.4f} | {s['gap_error']:.2f} | {s['regret']:.4f} | "
                            + ("-" if protocol == "joint" else f"{s['lr_regret']:.4f}") + " |")
            means[(law, which, protocol)] = {k: float(np.mean([c[k] for c in cells]))
                                             for k in cells[0]}
    goals = ["| law | protocol | training set | final_e | gap error | regret | lr-regret |",
             "|---|---|---|---|---|---|---|"]
    for (law, which, protocol), m in means.items():
        goal = TARGETS.get((protocol, which))
        if goal is None:
            continue
        cells = [("-" if g is None else f"{m[k]:.4g} / {g:g} {'met' if m[k] <= g else 'missed'}")
                 for k, g in zip(("final_e", "gap_error", "regret", "lr_regret"), goal)]
        goals.append(f"| {law} | {protocol} | {which} | " + " | ".join(cells) + " |")
    return "\n".join(rows), "\n".join(goals)
