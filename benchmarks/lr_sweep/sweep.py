"""The sweep's plan (the grid of peak LRs, the runs, their schedules) and its data: the
curves as a dataset, the final val losses, the choices compared."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.harness_sweep.analysis import final
from lrsched.choosing import Candidate
from lrsched.files import atomic_path
from lrsched.harness.presets import Config
from lrsched.schedules import Schedule

FRACTIONS = (0.2, 0.5, 0.8)  # WSD cooldowns, as fractions of the run
WARMUP = 0.05  # of the pilots' steps, the same in every run
PILOTS = ("stable", "cos0")
TESTS = (*(f"wsd_linear_{f}" for f in FRACTIONS), "cos10")
LAW = "(c) cross-LR law fitted on the pilots"  # the label of its way


def significant(lr: float) -> float:
    """``lr`` to three significant digits, as the folders are named."""
    return float(f"{lr:.3g}")


def grid(suggestion: float, count: int) -> list[float]:
    """``count`` peak LRs, log-spaced from ``suggestion`` / 10 to ``suggestion`` x 10."""
    return [significant(suggestion * 10 ** e) for e in np.linspace(-1, 1, count)]


@dataclass(frozen=True)
class Run:
    """One run of the sweep: its peak LR, dataset split, schedule kind (a name of
    PILOTS or TESTS, or another one with its schedule as a ``spec``), steps and seed."""

    lr: float
    split: str
    kind: str
    steps: int
    seed: int
    spec: str = ""

    @property
    def name(self) -> str:
        return f"{self.kind}_T{self.steps}_s{self.seed}"

    @property
    def folder(self) -> str:
        """Its run folder's name."""
        return f"lr{self.lr:g}-{self.name}"

    @property
    def csv(self) -> Path:
        """Its curve's path in the dataset."""
        return Path(f"{self.lr:g}", self.split, f"{self.name}.csv")

    def config(self, base: Config, pilot_steps: int) -> Config:
        w, t = round(WARMUP * pilot_steps), self.steps
        if self.spec:
            spec = self.spec
        elif self.kind == "stable":
            spec = f"constant:warmup={w}"
        elif self.kind in ("cos0", "cos10"):
            spec = f"cosine:total_steps={t},warmup={w},final={0 if self.kind == 'cos0' else 0.1}"
        else:
            spec = (f"wsd:total_steps={t},warmup={w},decay_steps="
                    f"{round(float(self.kind.rsplit('_', 1)[1]) * t)},shape=linear")
        return base.replace(schedule=spec, peak_lr=self.lr, seed=self.seed, steps=t)


def pilots(lrs: list[float], n: int) -> list[Run]:
    return [Run(lr, "train", kind, n, 0) for lr in lrs for kind in PILOTS]


def tests(lrs: list[float], n: int, seeds: list[int]) -> list[Run]:
    return [Run(lr, "test", kind, t, s) for t in (2 * n, n) for lr in lrs for kind in TESTS
            for s in seeds]


def law_kind(schedule: Schedule) -> str:
    """The run kind of a schedule the law chose: ``law_``, its family and the options of
    its spec past the run's length and warmup (law_cosine_final=0.8654)."""
    family, _, options = schedule.to_spec().partition(":")
    kept = [o for o in options.split(",") if not o.startswith(("total_steps=", "warmup="))]
    return "_".join(["law", family, *kept])


def choices(suggestion: float, best_pilot: float, law: Candidate | None, n: int,
            seeds: list[int]) -> dict:
    """{label: the runs of a way to pick the peak LR}, at 2N steps on every seed: (a) and
    (b) cosine to 10%, (c) the cross-LR law's choice (``law``: its peak LR and schedule
    for 2N steps; None, no answer: no runs)."""
    law_runs = [] if law is None else [Run(law.peak_lr, "test", law_kind(law.schedule),
                                           2 * n, s, law.schedule.to_spec()) for s in seeds]
    return {"(a) range test (steepest)": [Run(suggestion, "test", "cos10", 2 * n, s)
                                          for s in seeds],
            "(b) best pilot": [Run(best_pilot, "test", "cos10", 2 * n, s) for s in seeds],
            LAW: law_runs}


def write_curve(run_folder: Path, path: Path) -> None:
    """A run's curve.csv as step,lr,loss: every step with its LR, the val loss on the
    evaluation rows (after the step's update), blank elsewhere."""
    with open(run_folder / "curve.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["step", "lr", "loss"])
        writer.writerows((r["step"], r["lr"], r["val_loss"]) for r in rows)


def finals(results: dict, runs: list[Run]) -> dict[tuple, list[float]]:
    """{(lr, kind, steps): final val losses per seed} (inf: diverged)."""
    out: dict[tuple, list[float]] = {}
    for run in runs:
        out.setdefault((run.lr, run.kind, run.steps), []).append(final(results[run.folder]))
    return out


def spread(table: dict[tuple, list[float]]) -> float:
    """The seed spread: the mean over finished runs of several seeds of their range."""
    ranges = [np.ptp(v) for v in table.values() if len(v) > 1 and all(map(math.isfinite, v))]
    return float(np.mean(ranges)) if ranges else math.nan


def best_pilot(results: dict, runs: list[Run]) -> float:
    """The peak LR of the pilot with the lowest final val loss."""
    return min(runs, key=lambda run: final(results[run.folder])).lr
