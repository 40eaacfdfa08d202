"""Decision-grade loss prediction: the end of the run and the winner among schedules.

A law is fitted to choose a schedule, so it is judged by the numbers that decide one:
the final loss (final_e), the differences between candidate runs of equal length (gap
error), the cost of the run it would pick (regret), Kendall's tau; beside the
whole-curve PredE and WorstE, whether the calibrated 80% interval of each final loss
holds the measured one (coverage), and the fit time.

- data/curves/schaipp124m: per peak LR, fit on ``train/`` (constant and cosine to 0,
  25,000 steps), predict every curve in ``test/``; the targets pool both peak LRs.
- data/curves/mpl: per model size, the published split (fit on cosine_24000,
  constant_24000, wsdcon_9; predict the six others).

Candidates of one length are the curves (training ones included, as ``fit-curve``
scores them) whose runs end within 1% of each other. Gap error pools the pairs of every
such group of a data set; regret and tau are means over the groups.

    python benchmarks/bench_decisions.py   # tables; writes benchmarks/results/decisions.md
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # "on one core"

import time  # noqa: E402

import numpy as np  # noqa: E402
from public_curves import PEAKS, ROOT, SIZES, authors_fit, mpl, schaipp  # noqa: E402

from lrsched.laws import LAWS, MomentumLaw, calibrate, fit_auto  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "decisions.md"
PUBLISHED_MOMENTUM = "momentum, as published (lam=0.999, warmup at peak)"
AUTHORS = "multipower, the authors' parameters"
LAWS_RUN = {  # every law with its defaults, auto, and the laws as published
    **{name: cls for name, cls in LAWS.items()},
    "auto": None,
    PUBLISHED_MOMENTUM: lambda: MomentumLaw(lam=0.999, warmup="peak"),
}
TARGETS = {  # issue 10: (gap error, final_e, regret, PredE, WorstE); None: no target
    "schaipp124m": (0.15, 0.0012, 0.0005, 0.0012, 0.005),
    "mpl 25M": (0.12, 0.0010, None, 0.00099, None),
    "mpl 100M": (0.12, 0.0010, None, 0.00128, None),
    "mpl 400M": (0.12, 0.0010, None, 0.00151, None),
}
COLUMNS = ("gap_error", "final_e", "regret", "pred_e", "worst_e")


def fit(law_name: str, train, size: str | None):
    """(Fit, seconds) of one law on one training set (the authors' fit: no time)."""
    if law_name == AUTHORS:
        return authors_fit(size), float("nan")
    clock = time.perf_counter()
    fitted = fit_auto(train) if LAWS_RUN[law_name] is None else LAWS_RUN[law_name]().fit(train)
    seconds = time.perf_counter() - clock
    calibrate(fitted, train)
    return fitted, seconds


def score(fitted, train, test) -> dict:
    """Sums and lists for one training set, pooled later over sets."""
    metrics = [fitted.score(c) for c in test]
    spread = miss = 0.0
    regrets, taus = [], []
    for d in fitted.decisions(train + test):
        a, p = np.array(d["actual"]), np.array(d["predicted"])
        i, j = np.triu_indices(a.size, 1)
        spread += np.abs(a[i] - a[j]).sum()
        miss += np.abs((p[i] - p[j]) - (a[i] - a[j])).sum()
        regrets.append(d["regret"])
        taus.append(d["kendall_tau"])
    inside = []
    for c in test:
        low, high = fitted.interval(c.lrs, c.steps[-1:])
        inside.append(bool(low[0] <= c.loss[-1] <= high[0]))
    return {"metrics": metrics, "spread": spread, "miss": miss, "regrets": regrets,
            "taus": taus, "inside": inside}


def pooled(parts: list[dict]) -> dict:
    metrics = [m for p in parts for m in p["metrics"]]
    spread = sum(p["spread"] for p in parts)
    return {
        "gap_error": sum(p["miss"] for p in parts) / spread if spread else float("nan"),
        "final_e": float(np.mean([m["final_e"] for m in metrics])),
        "regret": float(np.mean([r for p in parts for r in p["regrets"]])),
        "tau": float(np.mean([t for p in parts for t in p["taus"]])),
        "pred_e": float(np.mean([m["pred_e"] for m in metrics])),
        "worst_e": float(np.mean([m["worst_e"] for m in metrics])),
        "coverage": float(np.mean([x for p in parts for x in p["inside"]])),
    }


def development() -> dict:
    """Held-out final-loss errors on the *training* curves only, per law: each mpl size
    leaves one of its three training curves out (fit two, predict the third) and fits
    the first 12,000 steps of all three (predicting cosine_24000 and constant_24000);
    each 124M peak LR fits the first 15,000 and 18,000 steps of its two curves and
    predicts their ends. Returns law -> list of relative final-loss errors."""
    from lrsched.curves import Curve

    def head(curves, cut):
        return [Curve(c.steps[c.steps <= cut], c.loss[c.steps <= cut], c.lrs, c.name)
                for c in curves]

    tasks = []
    for size in SIZES:
        train = mpl(size)[0]
        tasks += [(train[:i] + train[i + 1:], [c]) for i, c in enumerate(train)]
        tasks.append((head(train, 12_000), train[:2]))
    for peak in PEAKS:
        train = schaipp(peak)[0]
        tasks += [(head(train, cut), train) for cut in (15_000, 18_000)]
    errors = {}
    for name, cls in LAWS.items():
        errors[name] = [m["final_e"] for fit_on, held in tasks
                        for m in map(cls().fit(fit_on).score, held)]
    return errors


def main() -> None:
    sets = {"schaipp124m": [(schaipp(peak), None) for peak in PEAKS]}
    sets.update({f"mpl {size}": [(mpl(size), size)] for size in SIZES})
    header = ("| data | law | gap error | final_e | regret | tau | PredE | WorstE | "
              "80% coverage | fit s |")
    rows, results = [header, "|" + "---|" * 10], {}
    for data, parts in sets.items():
        names = [*LAWS_RUN, *([AUTHORS] if data.startswith("mpl") else [])]
        for name in names:
            scored, seconds = [], []
            for (train, test), size in parts:
                fitted, took = fit(name, train, size)
                scored.append(score(fitted, train, test))
                seconds.append(took)
            r = results[(data, name)] = {**pooled(scored), "seconds": float(np.mean(seconds))}
            rows.append(f"| {data} | {name} | {r['gap_error']:.3f} | {r['final_e']:.5f} | "
                        f"{r['regret']:.4f} | {r['tau']:.2f} | {r['pred_e']:.5f} | "
                        f"{r['worst_e']:.4f} | {r['coverage']:.0%} | "
                        + ("-" if np.isnan(r["seconds"]) else f"{r['seconds']:.2f}") + " |")
            print(rows[-1], flush=True)
    targets = ["| data | law | " + " | ".join(COLUMNS) + " |", "|" + "---|" * (2 + len(COLUMNS))]
    default = "auto"
    for data, goal in TARGETS.items():
        r = results[(data, default)]
        cells = [("-" if g is None else
                  f"{r[k]:.4g} / {g:g} {'met' if r[k] <= g else 'missed'}")
                 for k, g in zip(COLUMNS, goal)]
        targets.append(f"| {data} | {default} | " + " | ".join(cells) + " |")
    table, goals = "\n".join(rows), "\n".join(targets)
    print(goals)
    OUT.write_text(
        "# Decisions: the end of the run and the winner among schedules\n\n"
        "Written by `python benchmarks/bench_decisions.py` (see its docstring for the "
        "protocol). Fit seconds on one core include the choices a law makes by "
        "leave-one-curve-out (auto: the choice of law), not the calibration.\n\n"
        f"{table}\n\n## Targets (issue 10), law `{default}`: measured / target\n\n{goals}\n\n"
        f"{NOTES}\n")
    print(f"wrote {OUT.relative_to(ROOT)}")


NOTES = """## Notes

See docs/loss-curves.md, "Choosing a schedule from a fit"."""


if __name__ == "__main__":
    main()
