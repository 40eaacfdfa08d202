"""``lrsched fit-curve`` (fit a loss-curve law to logged runs) and ``lrsched predict``
(the loss curve a fitted law predicts for a schedule)."""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from lrsched.cli.types import load_schedule, non_negative_int, positive_float, positive_int
from lrsched.curves import read_curve
from lrsched.errors import InputError
from lrsched.files import atomic_path, check_outputs
from lrsched.laws import LAWS, FitError, calibrate, default_law, fit_auto, load_fit, predictive
from lrsched.lr_arrays import check_run_length, first_used_step
from lrsched.plot import fit_figure, prediction_figure, save_figure
from lrsched.schedules import from_spec

LAW_NAMES = ("auto", *LAWS)
DEFAULT_LAW = "blend"  # for curves of one peak LR; of several: cross-lr (``default_law``)
METRICS = ("r2", "mae", "rmse", "pred_e", "worst_e", "final_e", "n")


def register(sub) -> None:
    p = sub.add_parser(
        "fit-curve", help="fit a loss-curve law to training runs; score it on held-out runs",
        description="Fit a loss-curve law jointly to the curves TRAIN (CSV step,lr,loss; "
                    "JSON; TensorBoard events; W&B exports) and score it on --test curves: "
                    "the whole curve, its end, and the gaps between runs of equal length.")
    p.add_argument("train", nargs="+", metavar="TRAIN", help="curve files to fit")
    p.add_argument("--test", nargs="+", default=[], metavar="TEST", help="held-out curve files")
    p.add_argument("--law", choices=LAW_NAMES,
                   help=f"the law (default: {DEFAULT_LAW}, the momentum and relaxation laws "
                        "fitted alone and averaged, for curves of one peak LR; cross-lr, one "
                        "law across them, for curves of several); auto: the one that "
                        "predicts left-out training curves best")
    p.add_argument("--lam", help="momentum law only: 'fit' (default), 'grid', or a value "
                                 "in [0.99, 0.9995]")
    p.add_argument("--warmup", choices=("plain", "peak"),
                   help="momentum and multi-power laws: the warmup LR as logged (default), "
                        "or as the papers' equations: counted at the peak LR")
    p.add_argument("--first-step", type=non_negative_int, metavar="N",
                   help="first step whose loss is used (default: each curve's warmup end)")
    p.add_argument("--starts", type=positive_int, default=3,
                   help="starting points refined by the optimizer (default 3)")
    p.add_argument("--schedule", action="append", default=[], metavar="FILE=SPEC",
                   help="per-step LR of FILE from a schedule spec (with --peak-lr); repeatable")
    p.add_argument("--peak-lr", type=positive_float, help="peak LR of the --schedule specs")
    p.add_argument("--step-col", help="step column name (default: found by name)")
    p.add_argument("--lr-col", help="LR column name (default: found by name)")
    p.add_argument("--loss-col", help="loss column name (default: loss, else val_loss, ...)")
    p.add_argument("--json", metavar="OUT.json", help="write the fit and metrics as JSON")
    p.add_argument("--plot", metavar="OUT.png", help="draw data, fit and prediction interval")
    p.set_defaults(func=run_fit)

    q = sub.add_parser(
        "predict", help="predict the loss curve of a schedule from a saved fit",
        description="Predict the per-step loss of a run with schedule SPEC at peak LR X "
                    "from a fit written by `lrsched fit-curve --json`, with its interval.")
    q.add_argument("fit", metavar="FIT.json")
    q.add_argument("--schedule", required=True, action=_Once, metavar="SPEC",
                   help="schedule spec, or a schedule .json file")
    q.add_argument("--peak-lr", required=True, type=positive_float)
    q.add_argument("--steps", type=positive_int, help="run length (default: the schedule's)")
    q.add_argument("--level", type=_probability, default=0.8,
                   help="coverage of the interval (default 0.8)")
    q.add_argument("--csv", metavar="OUT.csv", help="write step,lr,loss,low,high for every step")
    q.add_argument("--plot", metavar="OUT.png", help="draw the predicted curve and interval")
    q.set_defaults(func=run_predict)


class _Once(argparse.Action):
    """An option that may be given once: a second one would silently replace the first."""

    def __call__(self, parser, namespace, values, option_string=None):
        if getattr(namespace, self.dest, None) is not None:
            parser.error(f"{option_string} given twice; give it once (predict one "
                         "schedule per call)")
        setattr(namespace, self.dest, values)


def _probability(text: str) -> float:
    value = positive_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"expected a probability in (0, 1), got {text!r}")
    return value


def _law(args):
    """The law the options name (``None`` for auto, and when none is named: then it is
    ``default_law`` of the curves), refusing options it does not take."""
    given = {k: v for k, v in (("lam", args.lam), ("warmup", args.warmup)) if v is not None}
    if args.law is None and not given:
        return None
    if args.law == "auto":
        if given:
            raise InputError(f"--{next(iter(given))} needs a named law; --law auto tries "
                             "each law with its defaults")
        return None
    takes = {"lam": ("momentum",), "warmup": ("momentum", "multipower")}
    for option in given:
        if args.law is None:
            raise InputError(f"--{option} applies to the {' and '.join(takes[option])} "
                             f"law{'s' * (len(takes[option]) > 1)}: add --law "
                             f"{takes[option][0]}")
        if args.law not in takes[option]:
            raise InputError(f"--{option} applies to the {' and '.join(takes[option])} "
                             f"law{'s' * (len(takes[option]) > 1)}, not --law {args.law}")
    if "lam" in given:
        if given["lam"] not in ("fit", "grid"):
            try:
                given["lam"] = float(given["lam"])
            except ValueError:
                raise InputError(f"--lam {given['lam']!r}: give 'fit', 'grid' or a "
                                 "number") from None
    return LAWS[args.law](**given)


def _schedules(args) -> dict:
    out = {}
    for item in args.schedule:
        path, sep, spec = item.partition("=")
        if not sep or not path or not spec:
            raise InputError(f"--schedule {item!r}: write it as FILE=SPEC")
        if Path(path) in out:
            raise InputError(f"--schedule {path}: given twice; give each file one schedule")
        out[Path(path)] = from_spec(spec)
    if out and args.peak_lr is None:
        raise InputError("--schedule gives LR multipliers; add --peak-lr")
    if args.peak_lr is not None and not out:
        raise InputError("--peak-lr scales the --schedule specs; give --schedule FILE=SPEC "
                         "too, or leave --peak-lr out (the LRs then come from the files)")
    known = {Path(f) for f in [*args.train, *args.test]}
    for path in out:
        if path not in known:
            raise InputError(f"--schedule {path}: not one of the curve files given")
    return out


def _distinct_files(paths) -> None:
    """Refuse a file given twice (as two training curves, or as train and test)."""
    seen = {}
    for path in paths:
        key = os.path.realpath(path)
        if key in seen:
            raise InputError(f"{path} is given twice (also as {seen[key]}); give each curve "
                             "once, as training or as test")
        seen[key] = path


def _read(paths, args, schedules) -> list:
    return [read_curve(path, step_col=args.step_col, lr_col=args.lr_col,
                       loss_col=args.loss_col, schedule=schedules.get(Path(path)),
                       peak_lr=args.peak_lr, name=path)
            for path in paths]


def _warn(command: str, message) -> None:
    print(f"lrsched {command}: warning: {message}", file=sys.stderr)


def run_fit(args) -> int:
    clock = time.perf_counter()
    check_outputs(inputs=[*args.train, *args.test], files=[args.json], figures=[args.plot])
    _distinct_files([*args.train, *args.test])
    law = _law(args)
    schedules = _schedules(args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train = _read(args.train, args, schedules)
        test = _read(args.test, args, schedules)
    for w in caught:
        _warn("fit-curve", w.message)
    if args.law is None:
        law = default_law(train)
    if args.loss_col is None:
        for curve in train + test:
            if curve.loss_col != "loss":
                print(f"{curve.name}: loss from column '{curve.loss_col}' (--loss-col to "
                      "choose another)")
    try:
        fit = (fit_auto(train, args.first_step, args.starts) if law is None
               else law.fit(train, first_step=args.first_step, starts=args.starts))
        calibrate(fit, train)
    except FitError as exc:
        print(f"lrsched fit-curve: error: {exc}; no parameters reported (try --starts 10, "
              "or check the curves)", file=sys.stderr)
        return 1
    scores = {c.name: fit.score(c) for c in test}
    mean = ({k: float(np.mean([s[k] for s in scores.values()])) for k in METRICS}
            if scores else None)
    decisions = fit.decisions(train + test)
    seconds = time.perf_counter() - clock
    print(_report(fit, train, test, scores, mean, decisions, seconds))
    for message in fit.warnings:
        _warn("fit-curve", message)
    if args.json:
        fit.save(args.json, extra={"test": scores, "test_mean": mean, "decisions": decisions,
                                   "seconds": seconds})
        print(f"wrote {args.json}")
    if args.plot:
        save_figure(fit_figure(fit, train, test), args.plot)
        print(f"wrote {args.plot}")
    return 0


def _report(fit, train, test, scores, mean, decisions, seconds) -> str:
    out = io.StringIO()
    first = ("each curve's warmup end" if fit.first_step is None else f"step {fit.first_step}")
    print(f"{fit.law!r} fitted to {len(train)} curve(s) in {seconds:.2f} s "
          f"(loss points before {first} ignored)", file=out)
    pad = max(8, *(len(name) + 2 for name in fit.params))
    print(f"\n{'param':<{pad}}{'value':>14}  {'stderr':>12}", file=out)
    for name, value in fit.params.items():
        err = fit.stderr[name]
        if name in fit.estimated:
            err_text = f"{err:.4g} (from the {fit.estimated[name]} law)"
        else:
            err_text = ("n/a" if not np.isfinite(err) else "fixed" if err == 0
                        else f"{err:.4g}")
        print(f"{name:<{pad}}{value:>14.6g}  ± {err_text}", file=out)
    rows = [(c.name, "train", fit.train[c.name], d["first_step"])
            for c, d in zip(train, fit.data)]
    rows += [(c.name, "test", scores[c.name], None) for c in test]
    if mean:
        rows.append(("mean of test", "", mean, None))
    width = max(len(r[0]) for r in rows) + 2
    print(f"\n{'file':<{width}}{'role':<6}{'from':>7}{'n':>6}{'r2':>9}{'rmse':>9}"
          f"{'pred_e':>9}{'worst_e':>9}{'final_e':>9}", file=out)
    for name, role, m, start in rows:
        print(f"{name:<{width}}{role:<6}{'' if start is None else start:>7}{m['n']:>6.0f}"
              f"{m['r2']:>9.4f}{m['rmse']:>9.4f}{m['pred_e']:>9.5f}{m['worst_e']:>9.5f}"
              f"{m['final_e']:>9.5f}", file=out)
    if fit.calibration is not None:
        print(f"\nheld-out final-loss error on the training curves: "
              f"{100 * fit.calibration:.2f}% (sets the width of `predict`'s interval)", file=out)
    if decisions:
        print("\nruns of equal length: predicted vs measured final loss, best first", file=out)
        print(f"  {predictive.ODDS_LEGEND}", file=out)
        several = any(d["peak_lr"] is None for d in decisions)
        for d in decisions:
            where = ("" if not several else " across peak LRs" if d["peak_lr"] is None
                     else f" at peak LR {d['peak_lr']:g}")
            print(f"  {d['steps']:,} steps{where}: gap error {d['gap_error']:.3f}, regret "
                  f"{d['regret']:.4f}, Kendall tau {d['kendall_tau']:.2f}", file=out)
            for i in np.argsort(d["predicted"]):
                print(f"    {d['curves'][i]:<{width}}predicted {d['predicted'][i]:.4f}  "
                      f"measured {d['actual'][i]:.4f}  P(beats best) "
                      f"{predictive.odds_text(d['beats_best'][i])}", file=out)
    return out.getvalue().rstrip()


def run_predict(args) -> int:
    check_outputs(inputs=[args.fit], files=[args.csv], figures=[args.plot])
    fit = load_fit(args.fit)
    schedule = load_schedule(args.schedule)
    n = args.steps or schedule.total_steps
    if n is None:
        raise InputError(f"schedule {args.schedule!r} has no end; give the run length with "
                         "--steps")
    check_run_length(n)
    lrs = args.peak_lr * np.asarray(schedule(np.arange(n)), dtype=float)
    start = first_used_step(lrs) if fit.first_step is None else fit.first_step
    if start >= n:
        raise InputError(f"the run ends at step {n - 1}, before the first modelled step "
                         f"{start}; give more --steps")
    for message in fit.check(lrs):
        _warn("predict", message)
    steps = np.arange(start, n)
    loss = fit.predict(lrs, steps)
    low, high = fit.interval(lrs, steps, level=args.level)
    label = f"{args.level:.0%} interval"
    print(f"{fit.law.name} law prediction for {schedule.short_spec()} at peak LR "
          f"{args.peak_lr:g} (steps before {start}, the warmup, are not modelled)")
    print(f"{'step':>9}{'lr':>12}{'loss':>10}   {label}")
    for i in np.unique(np.linspace(0, steps.size - 1, 11).astype(int)):
        print(f"{steps[i]:>9}{lrs[steps[i]]:>12.4g}{loss[i]:>10.4f}   "
              f"{low[i]:.4f} - {high[i]:.4f}")
    print(f"final loss {loss[-1]:.4f}, {label} {low[-1]:.4f} - {high[-1]:.4f}")
    if args.csv:
        with atomic_path(args.csv) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["step", "lr", "loss", "low", "high"])
            writer.writerows(zip(steps.tolist(), lrs[steps].tolist(), loss.tolist(),
                                 low.tolist(), high.tolist()))
        print(f"wrote {args.csv}")
    if args.plot:
        save_figure(prediction_figure(fit, lrs, steps, schedule.short_spec(), args.level),
                    args.plot)
        print(f"wrote {args.plot}")
    return 0
