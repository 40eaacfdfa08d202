"""Does ``plan_runs`` recommend the run that sharpens a decision most? (issue 18, part 3)

Protocol, per peak LR of the 124M runs (data/curves/schaipp124m: 5e-4, 2e-3, 3e-3):

- fit the default law (the blend) to ``train/`` (the constant run, 25,000 steps, and a
  cosine to 0) and calibrate it on them; the decision is the best schedule (``candidates``)
  against its rival for a run as long as the cosine (25,000 steps; 50,000 at 3e-3) at
  that peak LR;
- the proposals are the WSD linear runs of ``test/`` that are branches of the constant
  run already made: ``wsd_linear_F_TN`` with N no longer than the decision's run and its
  cooldown starting, at step (1 - F) N, within the constant run's 25,000 steps (at 5e-4
  and 2e-3: N = 15,000 and 25,000, F = 0.1-0.9; at 3e-3: N = 50,000, F = 0.6-0.9); each
  costs its cooldown, F N steps, and logs its own points from its start on;
  ``plan_runs(..., runs=...)`` ranks them and recommends the first;
- the recommended branch (its points from its start on: what the constant run does not
  already hold) joins the training curves and the law is refitted; so, one at a time,
  does each *random* branch of similar cost: every other proposal costing within 1.5x of
  the recommended one (the one nearest in cost where none is);
- every fit is scored on the same curves: the test curves left when the recommended and
  the random branches are taken out (so neither side is scored on a run it was fitted
  to), with the training curves as candidates of their length (``cross_lr.decisions``):
  gap error pooled over the groups of equal run length, regret their mean. The refits
  are not calibrated: the calibration changes no predicted final loss, so no score;
- improvement = score before - score after (the random branches': the mean of theirs);
  ratio = the recommended run's improvement of gap error / the random branches'. Target
  (issue 18): the mean ratio over the peak LRs >= 1.5.

    python benchmarks/plan_runs.py   # the tables; bench_decisions.py writes them into decisions.md
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # "on one core"

import math  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
from cross_lr import decisions, summary  # noqa: E402
from public_curves import ALL_PEAKS, schaipp  # noqa: E402

from lrsched.choosing import Proposal, plan_runs  # noqa: E402
from lrsched.curves import Curve  # noqa: E402
from lrsched.laws import calibrate, default_law  # noqa: E402

BRANCH = re.compile(r"wsd_linear_(0\.\d+)_T(\d+)$")
SIMILAR = 1.5  # a random branch costs within this factor of the recommended one
TARGET = 1.5  # issue 18: the recommended run improves gap error this many times as much


def _total(curve) -> int:
    """A run's planned length, from its name (``..._T25000``)."""
    return int(curve.name.rpartition("_T")[2])


def branches(train, test) -> dict[str, tuple[Curve, Proposal]]:
    """The proposals of the protocol: name -> (the branch's own points as a curve, its
    ``Proposal``)."""
    decision = max(_total(c) for c in train)
    made = next(_total(c) for c in train if c.name.startswith("stable"))
    out = {}
    for c in test:
        match = BRANCH.match(c.name)
        if not match:
            continue
        fraction, total = float(match[1]), int(match[2])
        start = round((1 - fraction) * total)
        if total <= decision and start <= made:
            own = c.steps >= start
            out[c.name] = (Curve(c.steps[own], c.loss[own], c.lrs, c.name),
                           Proposal(c.name, c.lrs[: int(c.steps[-1]) + 1], c.steps[own],
                                    round(fraction * total)))
    return out


def similar(chosen, others) -> list:
    """The runs of ``others`` costing within ``SIMILAR`` x ``chosen``'s cost (at least
    the one nearest in cost)."""
    within = [r for r in others if chosen.cost / SIMILAR <= r.cost <= SIMILAR * chosen.cost]
    return within or [min(others, key=lambda r: abs(math.log(r.cost / chosen.cost)))]


def _scores(fit, train, held) -> dict:
    return summary(decisions(fit, [*train, *held], held))


def _refit(train, branch):
    curves = [*train, branch]
    return default_law(curves).fit(curves)


def one_peak(peak: str) -> dict:
    """The protocol at one peak LR."""
    train, test = schaipp(peak)
    fit = default_law(train).fit(train)
    calibrate(fit, train)
    found = branches(train, test)
    plan = plan_runs(fit, max(_total(c) for c in train), float(peak),
                     runs=[proposal for _, proposal in found.values()])
    chosen, *rest = plan.runs
    random = similar(chosen, rest)
    out = {chosen.name, *(r.name for r in random)}
    held = [c for c in test if c.name not in out]
    after = [_scores(_refit(train, found[r.name][0]), train, held) for r in [chosen, *random]]
    return {"plan": plan, "chosen": chosen, "random": random, "held": held,
            "before": _scores(fit, train, held), "after": after[0],
            "random_after": {k: float(np.mean([s[k] for s in after[1:]]))
                             for k in ("gap_error", "regret")}}


def section() -> str:
    """The protocol and the tables, as markdown (a section of decisions.md)."""
    clock = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = {peak: one_peak(peak) for peak in ALL_PEAKS}
    seconds = time.perf_counter() - clock
    runs = ["| peak LR | decision (steps): best vs rival, margin sd | recommended (cost; "
            "predicted sd reduction) | random branches (cost) | scored curves |",
            "|---|---|---|---|---|"]
    scores = ["| peak LR | gap error before | after recommended | after random (mean) | "
              "improvement: recommended / random | ratio | regret before | after "
              "recommended | after random (mean) |", "|---|---|---|---|---|---|---|---|---|"]
    gains, baselines, ratios = [], [], []
    for peak, r in results.items():
        plan, chosen = r["plan"], r["chosen"]
        random = ", ".join(f"{b.name} ({b.cost:,})" for b in r["random"])
        runs.append(f"| {float(peak):g} | {plan.total_steps:,}: {plan.best.name} vs "
                    f"{plan.rival.name}, {plan.width:.4f} | {chosen.name} ({chosen.cost:,}; "
                    f"{chosen.reduction / plan.width:.1%}) | {random} | {len(r['held'])} |")
        before, after, baseline = r["before"], r["after"], r["random_after"]
        gain = before["gap_error"] - after["gap_error"]
        base = before["gap_error"] - baseline["gap_error"]
        gains.append(gain)
        baselines.append(base)
        if base > 0:
            ratios.append(gain / base)
        scores.append(f"| {float(peak):g} | {before['gap_error']:.3f} | {after['gap_error']:.3f} "
                      f"| {baseline['gap_error']:.3f} | {gain:+.3f} / {base:+.3f} | "
                      + (f"{gain / base:.2f}" if base > 0 else "- (random: none)")
                      + f" | {before['regret']:.4f} | {after['regret']:.4f} | "
                      f"{baseline['regret']:.4f} |")
    mean_ratio = float(np.mean(ratios))
    pooled = float(np.mean(gains) / np.mean(baselines))
    return (
        "## Which run to make next (`plan_runs`, issue 18)\n\n"
        "Written by `python benchmarks/plan_runs.py`; protocol in its docstring, in short: "
        "per peak LR, the default law fitted to the constant and cosine runs ranks the "
        "WSD linear branches of the constant run in the data (cost: the cooldown) by how "
        "much each narrows the sd of the best schedule's margin over its rival per step; "
        "the recommended branch, and each other branch within 1.5x of its cost (the "
        "random baseline), is added alone to the training curves, the law refitted, and "
        "every fit scored on the same held-out curves (the test curves less the "
        "recommended and random branches). Improvement = before - after (the random "
        "branches' mean); ratio = recommended / random improvement of gap error, none "
        "where the random branches improve nothing.\n\n"
        + "\n".join(runs) + "\n\n" + "\n".join(scores) + "\n\n"
        f"Target (issue 18): ratio >= {TARGET:g}, averaged over the peak LRs. The mean of "
        f"the {len(ratios)} ratios there are: {mean_ratio:.2f} ({_verdict(mean_ratio)}); the "
        f"ratio of the mean improvements, {np.mean(gains):+.3f} / {np.mean(baselines):+.3f}: "
        f"{pooled:.2f} ({_verdict(pooled)}). Time: {seconds:.0f} s on one core, every fit "
        "included.\n")


def _verdict(ratio: float) -> str:
    return "met" if ratio >= TARGET else "missed"


if __name__ == "__main__":
    print(section())
