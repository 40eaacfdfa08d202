"""Reproduce Table 1 of the multi-power-law paper (Luo et al. 2025, arXiv 2503.12811).

For each model size (25M, 100M, 400M) fit both laws on the three training curves of
data/curves/mpl (cosine_24000, constant_24000, wsdcon_9), predict the six held-out
curves, and report the mean R2, PredE and WorstE beside the published numbers, and the
fit time on one core. The per-step LR of each file follows data/curves/mpl/README.md.

    python benchmarks/bench_laws.py     # prints the table, writes benchmarks/results/laws_table.md
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # "on one core"

import time  # noqa: E402

import numpy as np  # noqa: E402
from public_curves import (  # noqa: E402
    ROOT,
    TEST,
    TRAIN,
    authors_fit,
    check_schedules,
    curves,
)

import lrsched  # noqa: E402
from lrsched.laws.fitting import huber, used_points  # noqa: E402  (objective, for the notes)
from lrsched.lr_arrays import first_used_step  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "laws_table.md"

# Published means over the six held-out curves: (R2, PredE, WorstE); for the
# multi-power law the repository README's refit, which the targets use.
PUBLISHED = {
    ("25M", "momentum"): (0.9904, 0.0014, 0.0047),
    ("25M", "multipower"): (0.9988, 0.00110, 0.0040),
    ("100M", "momentum"): (0.9959, 0.0022, 0.0094),
    ("100M", "multipower"): (0.9983, 0.0013, 0.0058),
    ("400M", "momentum"): (0.9962, 0.0025, 0.0100),
    ("400M", "multipower"): (0.9978, 0.00168, 0.0070),
}
NOTES = """How the multi-power law is fitted (docs/loss-curves.md): in two stages, as the
authors' code starts its fit. The instant-drop law (the multi-power law with G = 1)
fixes B, the loss gained per unit of LR drop once a drop has taken full effect; then
L0, A, alpha, C, beta, gamma are fitted with B held, under a weak log-space prior
holding C, beta, gamma near the authors' starting values 1, 0.5, 0.5.
Why, from the training curves alone: a free fit trades a larger B against a slower G
(B 640-770, beta 0.11-0.27 here); three curves cannot tell them apart, and a free fit
takes the extreme. The instant-drop B is what the training curves show once drops have
settled; with B held the rest can still drift along a flat valley (C -> 1e-4,
gamma -> 1.3), which the prior can hold.
Prior width, a rule on the training curves only (MultiPowerLaw(prior_width="loo"), the
default): each width of {none, 1, 0.3, 0.1} is scored by leave-one-training-curve-out
error (fit to two training curves, mean PredE on the third, averaged over the three);
the lowest wins and the law is refitted with it on all three. It picks 0.3, none and
0.1 at 25M, 100M and 400M (a wider grid, adding 3, 0.03 and 0.01, picks the same). The
held-out curves play no part in the choice; the numbers above are what the rule gives.
Left: the 400M multi-power PredE, and the 25M momentum-law WorstE.
- 400M multi-power: the fitted power law (L0 2.364, alpha 0.425) extrapolates the
  72,000-step runs too low (their PredE 0.0018 and 0.0036 against 0.0010-0.0021 for the
  other four; a joint fit of all nine curves, a diagnostic only, has L0 2.405, alpha
  0.457). The prior width barely moves them (0.3 instead of 0.1: L0 2.365, alpha 0.425).
  A time-split check on the training curves (fit steps < 12,000, predict the rest)
  prefers starting the fit at step 4,000 rather than at the warmup end at every size.
  Tried as a rule (fit from the chosen start, still scoring every point after the
  warmup) and not adopted: it moved the 400M multi-power PredE to 0.00172 (still 2%
  over) but broke five met targets (25M multi-power PredE 0.00142, WorstE 0.0118; 400M
  multi-power WorstE 0.0075; 25M momentum PredE 0.00187) - a forward split cannot see
  what a late start costs in the early steps the metrics score. Our 400M PredE is
  below the paper's Table 1 value (0.0019) and 10% above the authors' refit (0.00168), the target.
- 25M momentum WorstE: tried, judged on the training curves by leave-one-curve-out
  error: warmup "peak" (worse at every size), C fixed from the instant-drop B as
  C = B (1 - lam) (the momentum law's long-run drop; no better), and lam chosen from
  {0.99, 0.995, 0.998, 0.999, 0.9995} by leave-one-curve-out (lam='grid'; lower
  leave-one-out error than the fitted lam at every size: it picks 0.995 / 0.999 /
  0.998). The default stays lam='fit' (the CLI's default too), decided before the
  held-out numbers of lam='grid' were computed; they are shown above and are no better.
Before the two-stage procedure (one free fit) the multi-power PredE was 0.00137 /
0.00165 / 0.00216."""
AUTHORS = "multipower, authors' parameters"
LAWS = {  # default settings, and the momentum law's leave-one-curve-out lam for comparison
    "momentum": lrsched.MomentumLaw,
    "momentum, lam='grid'": lambda: lrsched.MomentumLaw(lam="grid"),
    "multipower": lrsched.MultiPowerLaw,
    "relaxation": lrsched.RelaxationLaw,
    "blend": lrsched.BlendLaw,
}
REPEATS = 3  # fit seconds: the median of this many fits (the machine may be shared)
PREDICT_REPEATS = 5


def evaluate(size: str, law_name: str) -> dict:
    train, test = curves(size, TRAIN), curves(size, TEST)
    if law_name == AUTHORS:
        fit, seconds = authors_fit(size), (float("nan"), float("nan"))
    else:
        times = []
        for _ in range(REPEATS):
            wall, cpu = time.perf_counter(), time.process_time()
            fit = LAWS[law_name]().fit(train)
            times.append((time.perf_counter() - wall, time.process_time() - cpu))
        seconds = tuple(np.median(times, axis=0))
    scores = [fit.score(c) for c in test]
    mean = {k: float(np.mean([s[k] for s in scores])) for k in ("r2", "pred_e", "worst_e")}
    points = [used_points(c, None)[:2] for c in train]
    objective = huber(np.concatenate([np.log(fit.predict(c.lrs, steps)) - np.log(y)
                                      for c, (steps, y) in zip(train, points)]))
    return {**mean, "seconds": seconds, "law": fit.law, "params": fit.params, "per_curve": scores,
            "objective": objective}


def prediction_seconds() -> list[str]:
    """Rows timing a full per-step prediction of a 100,000-step cosine run (with 2,000
    warmup steps, peak 3e-4) by each law fitted at 25M: median of PREDICT_REPEATS. The
    warmup, which the laws do not model, is NaN (``Fit.predict``)."""
    lrs = 3e-4 * lrsched.cosine(total_steps=100_000, warmup=2000, final=0.1)(np.arange(100_000))
    train = curves("25M", TRAIN)
    rows = []
    for name in ("momentum", "multipower", "relaxation", "blend"):
        target = 0.5
        fit = LAWS[name]().fit(train)
        times = []
        for _ in range(PREDICT_REPEATS):
            start = time.perf_counter()
            loss = fit.predict(lrs)
            times.append(time.perf_counter() - start)
        start = first_used_step(lrs)
        assert loss.shape == lrs.shape and np.isfinite(loss[start:]).all()
        assert np.isnan(loss[:start]).all()
        rows.append(f"| {name} | {1e3 * np.median(times):.1f} | {1e3 * target:.0f} |")
    return rows


def main() -> None:
    check_schedules()
    header = ("| size | law | R2 | PredE | WorstE | fit s, wall / CPU "
              "| published R2 / PredE / WorstE | PredE, WorstE targets met |")
    lines = [header, "|" + "---|" * 8]
    details, misses = [], []
    for size in ("25M", "100M", "400M"):
        for law_name in (*LAWS, AUTHORS):
            r = evaluate(size, law_name)
            pub = PUBLISHED.get((size, law_name.split(",")[0]))
            reference = law_name == AUTHORS
            met = "(reference)" if reference else "(lrsched's own)" if pub is None else (
                ", ".join("yes" if r[k] <= target else "no"
                          for k, target in (("pred_e", pub[1]), ("worst_e", pub[2]))))
            seconds = "-" if reference else "{:.2f} / {:.2f}".format(*r["seconds"])
            lines.append(f"| {size} | {law_name} | {r['r2']:.4f} | {r['pred_e']:.5f} | "
                         f"{r['worst_e']:.4f} | {seconds} | "
                         + ("- | " if pub is None else f"{pub[0]} / {pub[1]} / {pub[2]} | ")
                         + f"{met} |")
            print(lines[-1], flush=True)
            for key, label, target in (() if pub is None else (("pred_e", "PredE", pub[1]),
                                                                ("worst_e", "WorstE", pub[2]))):
                if not reference and r[key] > target:
                    misses.append(f"- {size} {law_name}: {label} {r[key]:.5f} is "
                                  f"{100 * (r[key] / target - 1):.0f}% above the target {target}")
            params = ", ".join(f"{k}={v:.4g}" for k, v in r["params"].items())
            per = ", ".join(f"{n} {s['pred_e']:.5f}" for n, s in zip(TEST, r["per_curve"]))
            details.append(f"- {size} {law_name}: {r['law']!r}: {params}\n"
                           "  - training objective (Huber "
                           f"of log loss): {r['objective']:.3g}\n"
                           f"  - PredE per held-out curve: {per}")
    table = "\n".join(lines)
    print(table)
    speed = "\n".join(["| law | ms, median | target ms |", "|---|---|---|",
                       *prediction_seconds()])
    print(speed)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        "# Loss-curve laws on the multi-power-law data (paper Table 1)\n\n"
        "Written by `python benchmarks/bench_laws.py`. Fit on cosine_24000, constant_24000, "
        "wsdcon_9; scored on the six held-out curves (means); fit seconds on one core, the "
        f"median of {REPEATS} fits, wall clock and CPU time (the machine may be shared). "
        "Default law settings, and the momentum law with lam='grid' for comparison. The "
        "last row of each size is a reference check, not a fit: this implementation "
        "evaluated at the parameters the authors' code fitted "
        "(data/curves/mpl/official/NN.log); it reproduces their published refit numbers.\n\n"
        f"{table}\n\n## Prediction speed\n\nA full per-step prediction of a 100,000-step "
        f"cosine run (2,000 warmup steps), median of {PREDICT_REPEATS}:\n\n{speed}\n\n"
        "## Targets missed\n\n" + ("\n".join(misses) or "none") + "\n\n"
        f"{NOTES}\n\n## Fitted parameters\n\n" + "\n".join(details) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
