"""Draw docs/img/decisions.png: predicted vs measured final loss of every 124M run at peak
LR 2e-3, by `lrsched fit-curve`'s default law fitted to the constant and cosine runs.

    python docs/make_decisions_png.py
"""

import sys
import warnings
from pathlib import Path

import lrsched
from lrsched.cli.fit_curve import DEFAULT_LAW
from lrsched.laws import LAWS
from lrsched.plot import decision_figure, save_figure

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "curves" / "schaipp124m" / "0.002"

if __name__ == "__main__":
    with warnings.catch_warnings():  # the LR before the first logged row: step 0's
        warnings.simplefilter("ignore")
        train = [lrsched.read_curve(p, name=p.stem) for p in sorted(DATA.glob("train/*.csv"))]
        test = [lrsched.read_curve(p, name=p.stem) for p in sorted(DATA.glob("test/*.csv"))]
    fit = LAWS[DEFAULT_LAW]().fit(train)
    lrsched.calibrate(fit, train)
    title = (f"124M runs at peak LR 2e-3: the {fit.law.name} law fitted to the constant and "
             "cosine runs (25,000 steps) predicts the end of every other run")
    save_figure(decision_figure(fit, train + test, title=title),
                ROOT / "docs" / "img" / "decisions.png")
    sys.exit(0)
