"""``lrsched fit-curve`` (fit a loss-curve law to logged runs) and ``lrsched predict``
(the loss curve a fitted law predicts for a schedule)."""

from __future__ import annotations

import csv
import io
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from lrsched.cli.types import non_negative_int, positive_float, positive_int
from lrsched.plot import save_figure


def register(sub) -> None:
    p = sub.add_parser(
        "fit-curve", help="fit a loss-curve law to training runs; score it on held-out runs",
        description="Fit the momentum or multi-power law jointly to the loss curves TRAIN "
                    "(CSV step,lr,loss; JSON; TensorBoard events) and score it on --test curves.")
    p.add_argument("train", nargs="+", metavar="TRAIN", help="curve files to fit")
    p.add_argument("--test", nargs="+", default=[], metavar="TEST", help="held-out curve files")
    p.add_argument("--law", choices=("multipower", "momentum"), default="multipower")
    p.add_argument("--lam", default="fit",
                   help="momentum law: 'fit' (default), 'grid', or a value in [0.99, 0.9995]")
    p.add_argument("--warmup", choices=("plain", "peak"), default="plain",
                   help="warmup LR as logged (default), or as the papers' equations: "
                        "counted at the peak LR in the annealing term")
    p.add_argument("--first-step", type=non_negative_int, metavar="N",
                   help="first step whose loss is used (default: each curve's warmup end)")
    p.add_argument("--starts", type=positive_int, default=3,
                   help="starting points refined by the optimizer (default 3)")
    p.add_argument("--schedule", action="append", default=[], metavar="FILE=SPEC",
                   help="per-step LR of FILE from a schedule spec (with --peak-lr); repeatable")
    p.add_argument("--peak-lr", type=positive_float, help="peak LR of the --schedule specs")
    _column_options(p)
    p.add_argument("--json", metavar="OUT.json", help="write the fit and metrics as JSON")
    p.add_argument("--plot", metavar="OUT.png", help="draw data, fit and prediction band")
    p.set_defaults(func=run_fit)

    q = sub.add_parser(
        "predict", help="predict the loss curve of a schedule from a saved fit",
        description="Predict the per-step loss of a run with schedule SPEC at peak LR X "
                    "from a fit written by `lrsched fit-curve --json`.")
    q.add_argument("fit", metavar="FIT.json")
    q.add_argument("--schedule", required=True, metavar="SPEC", help="schedule spec")
    q.add_argument("--peak-lr", required=True, type=positive_float)
    q.add_argument("--steps", type=positive_int, help="run length (default: the schedule's)")
    q.add_argument("--csv", metavar="OUT.csv", help="write step,lr,loss for every step")
    q.add_argument("--plot", metavar="OUT.png", help="draw the predicted curve and band")
    q.set_defaults(func=run_predict)


def _column_options(p) -> None:
    p.add_argument("--step-col", default="step", help="step column name (default: step)")
    p.add_argument("--lr-col", default="lr", help="LR column name (default: lr)")
    p.add_argument("--loss-col", default="loss", help="loss column name (default: loss)")


def _law(args):
    from lrsched.laws import MomentumLaw, MultiPowerLaw

    if args.law == "multipower":
        return MultiPowerLaw(warmup=args.warmup)
    lam = args.lam
    if lam not in ("fit", "grid"):
        try:
            lam = float(lam)
        except ValueError:
            raise ValueError(f"--lam {lam!r}: give 'fit', 'grid' or a number") from None
    return MomentumLaw(lam=lam, warmup=args.warmup)


def _schedules(args) -> dict:
    from lrsched.schedules import from_spec

    out = {}
    for item in args.schedule:
        path, sep, spec = item.partition("=")
        if not sep or not path or not spec:
            raise ValueError(f"--schedule {item!r}: write it as FILE=SPEC")
        out[Path(path)] = from_spec(spec)
    if out and args.peak_lr is None:
        raise ValueError("--schedule gives LR multipliers; add --peak-lr")
    known = {Path(f) for f in [*args.train, *args.test]}
    for path in out:
        if path not in known:
            raise ValueError(f"--schedule {path}: not one of the curve files given")
    return out


def _read(paths, args, schedules) -> list:
    from lrsched.curves import read_curve

    return [read_curve(path, step_col=args.step_col, lr_col=args.lr_col,
                       loss_col=args.loss_col, schedule=schedules.get(Path(path)),
                       peak_lr=args.peak_lr, name=path)
            for path in paths]


def _check_outputs(*paths) -> None:
    """Fail before the work, not after it, when an output folder is missing."""
    for path in filter(None, paths):
        if not Path(path).parent.is_dir():
            raise ValueError(f"cannot write {path}: folder {Path(path).parent} does not exist; "
                             "create it first")


def run_fit(args) -> int:
    from lrsched.laws import FitError

    clock = time.perf_counter()
    _check_outputs(args.json, args.plot)
    law = _law(args)
    schedules = _schedules(args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train = _read(args.train, args, schedules)
        test = _read(args.test, args, schedules)
    for w in caught:
        print(f"lrsched fit-curve: warning: {w.message}", file=sys.stderr)
    try:
        fit = law.fit(train, first_step=args.first_step, starts=args.starts)
    except FitError as exc:
        print(f"lrsched fit-curve: error: {exc}; no parameters reported (try --starts 10, "
              "or check the curves)", file=sys.stderr)
        return 1
    scores = {c.name: fit.score(c) for c in test}
    keys = ("r2", "mae", "rmse", "pred_e", "worst_e", "n")
    mean = ({k: float(np.mean([s[k] for s in scores.values()])) for k in keys}
            if scores else None)
    seconds = time.perf_counter() - clock
    print(_report(fit, train, test, scores, mean, seconds))
    if args.json:
        fit.save(args.json, extra={"test": scores, "test_mean": mean, "seconds": seconds})
        print(f"wrote {args.json}")
    if args.plot:
        save_figure(_fit_figure(fit, train, test), args.plot)
        print(f"wrote {args.plot}")
    return 0


def _report(fit, train, test, scores, mean, seconds) -> str:
    out = io.StringIO()
    first = ("each curve's warmup end" if fit.first_step is None else f"step {fit.first_step}")
    print(f"{fit.law!r} fitted to {len(train)} curve(s) in {seconds:.2f} s "
          f"(loss points before {first} ignored)", file=out)
    print(f"\n{'param':<8}{'value':>14}  {'stderr':>12}", file=out)
    for name, value in fit.params.items():
        err = fit.stderr[name]
        err_text = "n/a" if not np.isfinite(err) else ("fixed" if err == 0 else f"{err:.4g}")
        print(f"{name:<8}{value:>14.6g}  ± {err_text:<12}", file=out)
    rows = [(c.name, "train", fit.train[c.name], d["first_step"])
            for c, d in zip(train, fit.data)]
    rows += [(c.name, "test", scores[c.name], _first(fit, c)) for c in test]
    if mean:
        rows.append(("mean of test", "", mean, None))
    width = max(len(r[0]) for r in rows) + 2
    print(f"\n{'file':<{width}}{'role':<6}{'from':>7}{'n':>6}{'r2':>9}{'mae':>9}{'rmse':>9}"
          f"{'pred_e':>9}{'worst_e':>9}", file=out)
    for name, role, m, start in rows:
        print(f"{name:<{width}}{role:<6}{'' if start is None else start:>7}{m['n']:>6.0f}"
              f"{m['r2']:>9.4f}{m['mae']:>9.4f}{m['rmse']:>9.4f}{m['pred_e']:>9.5f}"
              f"{m['worst_e']:>9.5f}", file=out)
    return out.getvalue().rstrip()


def _first(fit, curve) -> int:
    from lrsched.laws.fitting import used_points

    return used_points(curve, fit.first_step)[2]


def _fit_figure(fit, train, test):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.add_subplot()
    shown = []
    roles = [(c, "fit") for c in train] + [(c, "held out") for c in test]
    for i, (curve, role) in enumerate(roles):
        color = f"C{i % 10}"
        start = _first(fit, curve)
        steps = np.unique(np.linspace(start, curve.steps[-1], 400).astype(np.int64))
        low, high = fit.band(curve.lrs, steps)
        used = curve.steps >= start
        ax.plot(curve.steps[used], curve.loss[used], ".", ms=2.5, color=color)
        shown.append(curve.loss[used])
        pred = fit.predict(curve.lrs, steps)
        shown.append(pred)
        ax.plot(steps, pred, "-" if role == "fit" else "--",
                color=color, lw=1.2, label=f"{Path(curve.name).name} ({role})")
        ax.fill_between(steps, low, high, color=color, alpha=0.2, lw=0)
    shown = np.concatenate(shown)  # clip the steep first points so the tails are visible
    ax.set_ylim(shown.min() - 0.01 * np.ptp(shown), np.quantile(shown, 0.97))
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(f"{fit.law.name} law: data (dots), fit (solid), prediction (dashed), 95% band")
    ax.legend(fontsize=7)
    return fig


def run_predict(args) -> int:
    from lrsched.files import atomic_path
    from lrsched.laws import load_fit
    from lrsched.laws.base import first_used_step
    from lrsched.schedules import from_spec

    _check_outputs(args.csv, args.plot)
    fit = load_fit(args.fit)
    schedule = from_spec(args.schedule)
    n = args.steps or schedule.total_steps
    if n is None:
        raise ValueError(f"schedule {args.schedule!r} has no end; give the run length with --steps")
    lrs = args.peak_lr * np.asarray(schedule(np.arange(n)), dtype=float)
    start = first_used_step(lrs) if fit.first_step is None else fit.first_step
    if start >= n:
        raise ValueError(f"the run ends at step {n - 1}, before the first modelled step "
                         f"{start}; give more --steps")
    steps = np.arange(start, n)
    loss = fit.predict(lrs, steps)
    print(f"{fit.law.name} law prediction for {args.schedule} at peak LR {args.peak_lr:g} "
          f"(steps before {start}, the warmup, are not modelled)")
    print(f"{'step':>9}{'lr':>12}{'loss':>10}")
    for i in np.unique(np.linspace(0, steps.size - 1, 11).astype(int)):
        print(f"{steps[i]:>9}{lrs[steps[i]]:>12.4g}{loss[i]:>10.4f}")
    if args.csv:
        with atomic_path(args.csv) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["step", "lr", "loss"])
            writer.writerows(zip(steps.tolist(), lrs[steps].tolist(), loss.tolist()))
        print(f"wrote {args.csv}")
    if args.plot:
        save_figure(_predict_figure(fit, lrs, steps, loss, args.schedule), args.plot)
        print(f"wrote {args.plot}")
    return 0


def _predict_figure(fit, lrs, steps, loss, title):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.add_subplot()
    few = np.unique(np.linspace(steps[0], steps[-1], 400).astype(np.int64))
    low, high = fit.band(lrs, few)
    ax.plot(steps, loss, color="C0", lw=1.2, label="predicted loss")
    ax.fill_between(few, low, high, color="C0", alpha=0.2, lw=0, label="95% band")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(f"{fit.law.name} law: {title}", fontsize=9)
    ax.legend()
    return fig
