"""Draw docs/img/lr_sweep.png: the LR sweep the cross-LR law predicts for 50,000-step runs
of the 124M model, fitted to the constant and cosine runs at three peak LRs, beside the
best measured run at each peak LR (the WSD, cosine and linear runs of 50,000 steps); and
save that fit as benchmarks/results/fit_124m_cross_lr.json (docs/choosing.md reads it).

    python docs/make_lr_sweep_png.py
"""

import sys
import warnings
from pathlib import Path

import numpy as np

import lrsched
from lrsched.plot import lr_sweep_figure, save_figure

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "curves" / "schaipp124m"
STEPS = 50_000

if __name__ == "__main__":
    with warnings.catch_warnings():  # the LR before the first logged row: step 0's
        warnings.simplefilter("ignore")
        runs = {p.name: {split: [lrsched.read_curve(f, name=f.stem)
                                 for f in sorted((p / split).glob("*.csv"))]
                         for split in ("train", "test")}
                for p in sorted(DATA.iterdir()) if p.is_dir()}
    fit = lrsched.CrossLRLaw().fit([c for r in runs.values() for c in r["train"]])
    lrsched.calibrate(fit, [c for r in runs.values() for c in r["train"]])
    fit.save(ROOT / "benchmarks" / "results" / "fit_124m_cross_lr.json")
    peaks = np.geomspace(3e-4, 5e-3, 12)
    curves = {family: sorted(lrsched.sweep(fit, STEPS, peaks, family), key=lambda c: c.peak_lr)
              for family in ("wsd", "cosine", "linear")}
    fig = lr_sweep_figure(curves, (5e-4, 3e-3), STEPS, fit.law.name)
    ax = fig.axes[0]
    measured = {float(peak): min(c.loss[-1] for c in [*r["train"], *r["test"]]
                                 if int(c.steps[-1]) + 1 >= 0.99 * STEPS)
                for peak, r in runs.items()}
    ax.plot(list(measured), list(measured.values()), "kD", ms=6,
            label="best measured run (50,000 steps)")
    ax.legend(fontsize=7, ncol=2, loc="upper center")
    save_figure(fig, ROOT / "docs" / "img" / "lr_sweep.png")
    for family, rows in curves.items():
        best = min(rows, key=lambda c: c.loss)
        print(f"{family}: best at peak LR {best.peak_lr:.3g}, {best.name}, {best.loss:.4f}")
    print("measured best:", {k: round(v, 4) for k, v in measured.items()})
    sys.exit(0)
