"""``python -m benchmarks.lr_sweep``: run the sweep (or reuse its runs) and write the
dataset DIR/, the report DIR.md and the run folders DIR_runs/. A stopped sweep
continues where it was."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.harness_sweep.runner import Runner
from benchmarks.lr_sweep import law, report, sweep
from lrsched.cli.harness import range_test as harness_range_test
from lrsched.files import atomic_path
from lrsched.harness.presets import parse_overrides, preset
from lrsched.range_test import RangeTest

RANGE_TEST = {"start_lr": 1e-6, "end_lr": 1.0, "steps": 100}


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.lr_sweep",
                                description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="tiny", help="preset of every run (default tiny)")
    p.add_argument("--out", required=True, metavar="DIR", help="the dataset folder")
    p.add_argument("--steps", type=int, default=250, help="the pilots' steps N (default 250)")
    p.add_argument("--lrs", type=int, default=5, help="peak LRs in the grid (default 5)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1], metavar="S",
                   help="seeds of the test runs (default 0 1); the pilots run on the first")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="set a config field of every run; repeatable")
    p.add_argument("--figure", metavar="PNG", help="also draw the range test there (the "
                                                   "docs' picture)")
    return p.parse_args(argv)


def command(args) -> str:
    words = ["python -m benchmarks.lr_sweep --preset", args.preset, "--out", args.out,
             "--steps", str(args.steps)]
    words += ["--lrs", str(args.lrs)] if args.lrs != 5 else []
    words += ["--seeds", *map(str, args.seeds)] if list(args.seeds) != [0, 1] else []
    words += [f"--set {item}" for item in args.set]
    return " ".join(words + (["--figure", args.figure] if args.figure else []))


def range_test(base, path: Path, figures: list[Path]) -> dict:
    """The range test's suggestions, cached in ``path`` (JSON, with the config it ran
    on) and its curve beside it (CSV); its picture drawn from the curve to ``figures``."""
    saved = json.loads(path.read_text()) if path.is_file() else None
    if not saved or saved["config"] != base.to_dict() or saved["options"] != RANGE_TEST:
        torch.set_num_threads(1)
        tick = time.perf_counter()
        result = harness_range_test(base, **RANGE_TEST)
        saved = {"config": base.to_dict(), "options": RANGE_TEST,
                 "seconds": time.perf_counter() - tick, "stopped": result.stopped,
                 "skip": result.skip, "suggestions": result.suggestions}
        result.write_csv(path.with_suffix(".csv"))
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(saved, indent=2) + "\n")
    lrs, losses, smoothed = np.loadtxt(path.with_suffix(".csv"), delimiter=",", skiprows=1).T
    curve = RangeTest("exp", lrs, losses, smoothed, saved["stopped"], tuple(saved["skip"]))
    for figure in figures:
        curve.plot(figure)
    return {**saved, "steps_done": int(lrs.size)}


def main(argv=None) -> int:
    args = parse(argv)
    try:
        build(args)
    except KeyboardInterrupt as exc:  # Ctrl-C, or the runner's "stopped with a checkpoint"
        print(f"sweep interrupted: {exc}", file=sys.stderr)
        return 130
    return 0


def build(args) -> None:
    """Train what is missing, then write the dataset, its README and the report."""
    overrides = {"eval_every": max(1, args.steps // 25), **parse_overrides(args.set)}
    base = preset(args.preset, **overrides)
    out, n, seeds = Path(args.out), args.steps, args.seeds
    runs_dir = out.parent / f"{out.name}_runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    runner = Runner(runs_dir)

    def train(runs):
        runner.train({run.folder: run.config(base, n) for run in runs})

    def write(runs):
        for run in runs:
            sweep.write_curve(runs_dir / run.folder, out / run.csv)

    found = range_test(base, runs_dir / "range_test.json",
                       [runs_dir / "range_test.png", *([args.figure] if args.figure else [])])
    suggestion = sweep.significant(found["suggestions"]["steepest"])
    lrs = sweep.grid(suggestion, args.lrs)
    pilots, tests = sweep.pilots(lrs, n), sweep.tests(lrs, n, seeds)
    train(pilots)
    write(pilots)
    law_fit = law.fit(law.read(out, pilots).values())
    choice, refused = law.choose(law_fit, 2 * n)
    ways = sweep.choices(suggestion, sweep.best_pilot(runner.results, pilots), choice, n,
                         seeds)
    for runs in ways.values():  # the choices first, then the rest of the test runs
        train(runs)
    train(tests)
    write(tests)
    by_law = {"fit": law_fit, "choice": choice, "refused": refused,
              **law.scores(law_fit, law.read(out, tests))}
    table = sweep.finals(runner.results, pilots + tests)
    compared = {label: sweep.finals(runner.results, runs) for label, runs in ways.items()}
    with atomic_path(out / "README.md") as tmp:
        tmp.write_text(report.dataset_readme(base, n, lrs, seeds, pilots + tests,
                                             runner.results, command(args)))
    with atomic_path(out.parent / f"{out.name}.md") as tmp:
        tmp.write_text(report.report(base, n, lrs, seeds, found, table, compared, by_law,
                                     runner.results, command(args)))
    print(f"wrote {out.parent / f'{out.name}.md'} and the curves in {out}")


if __name__ == "__main__":
    sys.exit(main())
