"""The public training curves the benchmarks use, with the per-step LR of every file.

- ``data/curves/mpl`` (Luo et al. 2025): 25M, 100M and 400M models, nine schedules; the
  per-step LR of each file follows its README (``lr_schedule``), checked against the
  README's formulas written out (``check_schedules``).
- ``data/curves/schaipp124m`` (Schaipp, Hägele et al. 2025): a 124M model at three peak
  LRs; the per-step LR is the logged LR column, interpolated (its README). ``PEAKS``
  are the two the per-LR tables use (runs of 15,000-50,000 steps); ``ALL_PEAKS`` adds
  3e-3 (50,000-step runs only) for the cross-LR protocols.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np

import lrsched

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "curves" / "mpl"
SCHAIPP = ROOT / "data" / "curves" / "schaipp124m"
SIZES = ("25M", "100M", "400M")
PEAKS = ("0.0005", "0.002")
ALL_PEAKS = (*PEAKS, "0.003")
TRAIN = ["cosine_24000", "constant_24000", "wsdcon_9"]
TEST = ["constant_72000", "cosine_72000", "wsd_20000_24000", "wsdld_20000_24000",
        "wsdcon_3", "wsdcon_18"]
PEAK, FINAL, WARMUP = 3e-4, 3e-5, 2160


def schedule(name: str) -> tuple[int, lrsched.Schedule]:
    """(total steps T, LR multiplier schedule) of a data file, as data/curves/mpl/README.md
    gives it. The README's warmup, linspace(0, peak, W), is a table: lrsched's own
    warmup ramps as (t + 1) / W, one step ahead of it."""
    family, *numbers = name.split("_")
    total = 16000 if family == "wsdcon" else int(numbers[-1])
    body = total - WARMUP  # the schedules after the warmup count from its end
    final = FINAL / PEAK
    if family == "constant":
        after = lrsched.constant()
    elif family == "cosine":
        after = lrsched.cosine(total_steps=body, final=final)
    elif family in ("wsd", "wsdld"):  # geometric (wsd) or linear (wsdld) decay from 20000
        shape = "exponential" if family == "wsd" else "linear"
        after = lrsched.wsd(total_steps=body, decay_steps=total - 20000, shape=shape,
                            final=final)
    elif family == "wsdcon":  # constant, then a step down at 8000
        after = lrsched.multistep(milestones=[8000 - WARMUP],
                                  gamma=int(numbers[0]) * 1e-5 / PEAK)
    else:
        raise ValueError(f"unknown data file {name}")
    ramp = lrsched.tabulated(values=np.linspace(0.0, 1.0, WARMUP).tolist())
    return total, lrsched.join([ramp, after], [WARMUP])


def lr_schedule(name: str) -> np.ndarray:
    """Per-step absolute LR of a data file."""
    total, sched = schedule(name)
    return PEAK * sched(np.arange(total))


def readme_lrs(name: str) -> np.ndarray:
    """The per-step LR written out from the README's formulas: the check of ``schedule``."""
    family, *numbers = name.split("_")
    total = 16000 if family == "wsdcon" else int(numbers[-1])
    t = np.arange(total, dtype=float)
    q = np.clip((t - 20000) / (total - 20000), 0, 1)
    lr = {"constant": lambda: np.full(total, PEAK),
          "cosine": lambda: FINAL + 0.5 * (PEAK - FINAL) * (
              1 + np.cos(np.pi * (t - WARMUP) / (total - WARMUP))),
          "wsd": lambda: PEAK ** (1 - q) * FINAL**q,
          "wsdld": lambda: PEAK + (FINAL - PEAK) * q,
          "wsdcon": lambda: np.where(t < 8000, PEAK, int(numbers[0]) * 1e-5)}[family]()
    lr[:WARMUP] = np.linspace(0, PEAK, WARMUP)
    return lr


def check_schedules() -> None:
    """The lrsched schedules give the README's per-step LRs (to rounding: 2e-15 measured)."""
    for name in TRAIN + TEST:
        np.testing.assert_allclose(lr_schedule(name), readme_lrs(name), rtol=4e-15, atol=0,
                                   err_msg=name)


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



def mpl(size: str) -> tuple[list, list]:
    """(training, test) curves of one model size, the published split."""
    return curves(size, TRAIN), curves(size, TEST)


def schaipp(peak: str) -> tuple[list, list]:
    """(training, test) curves at one peak LR: its ``train/`` and ``test/`` folders."""
    def read(split):
        with warnings.catch_warnings():  # the LR before the first logged row: step 0's
            warnings.simplefilter("ignore")
            return [lrsched.read_curve(p, name=p.stem)
                    for p in sorted((SCHAIPP / peak / split).glob("*.csv"))]
    return read("train"), read("test")
