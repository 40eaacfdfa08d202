"""Draw docs/img/odds.png: the rows of `lrsched optimize`'s table for a 25,000-step run
at peak LR 2e-3 that were also run, with their odds against the best of them, by the
default law fitted to the 124M constant and cosine runs, and their measured ends.

    python docs/make_odds_png.py
"""

import sys
import warnings
from pathlib import Path

import lrsched
from lrsched.laws import default_law
from lrsched.plot import odds_figure, save_figure

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "curves" / "schaipp124m" / "0.002"
STEPS, PEAK = 25_000, 2e-3
RUNS = {"cosine to 0": "cos0", "cosine to 10%": "cos10",  # table row -> file of the run
        **{f"wsd {f:.0%} linear": f"wsd_linear_{f}" for f in (0.1, 0.2, 0.4, 0.6, 0.8, 0.9)}}

if __name__ == "__main__":
    with warnings.catch_warnings():  # the LR before the first logged row: step 0's
        warnings.simplefilter("ignore")
        curves = {p.stem: lrsched.read_curve(p, name=p.stem) for p in DATA.glob("*/*.csv")}
    train = [curves["stable_T25000"], curves["cos0_T25000"]]
    fit = default_law(train).fit(train)
    lrsched.calibrate(fit, train)
    table = lrsched.candidates(fit, STEPS, PEAK)
    measured = {row: float(curves[f"{run}_T{STEPS}"].loss[-1]) for row, run in RUNS.items()}
    shown = lrsched.with_odds(fit, [c for c in table if c.name in measured])
    title = (f"124M, {STEPS:,} steps at 2e-3, the {fit.law.name} law fitted to the constant "
             "and cosine runs:\nthe choice among the schedules that were run, with its odds")
    save_figure(odds_figure(shown, measured, title=title), ROOT / "docs" / "img" / "odds.png")
    sys.exit(0)
