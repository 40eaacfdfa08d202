"""``lrsched optimize``: the best schedule for a budget under a fitted law, at one peak
LR, or the best peak LR and schedule together over a set or range of them."""

from __future__ import annotations

import argparse
import json
import sys
import warnings

import numpy as np

from lrsched.choosing import candidates, fitted_peak_lrs, sweep
from lrsched.choosing.optimize import COMMON
from lrsched.cli.types import non_negative_int, positive_float, positive_int
from lrsched.errors import InputError
from lrsched.files import atomic_path, check_outputs, json_ready
from lrsched.laws import load_fit, predictive
from lrsched.plot import lr_sweep_figure, optimize_figure, save_figure

SHOWN = 60  # characters of a spec shown in the table
POINTS = 10  # peak LRs of a range LO:HI (log-spaced), unless LO:HI:N says
MAX_POINTS = 100  # the most peak LRs one call optimizes for
SWEPT = ("wsd", "cosine", "linear")  # the families of the sweep picture
NAMED = 5  # the most candidates tied with the best that the result names


def register(sub) -> None:
    p = sub.add_parser(
        "optimize", help="the schedule a fitted law predicts to end lowest, for a budget",
        description="Rank common schedules, WSD at 10-90%% cooldown in every shape and the "
                    "optimum of every family by the final loss a fit (`lrsched fit-curve "
                    "--json`) predicts for a run of N steps at peak LR X.")
    p.add_argument("fit", metavar="FIT.json")
    p.add_argument("--steps", required=True, type=positive_int, metavar="N",
                   help="run length in optimizer steps")
    p.add_argument("--peak-lr", required=True, type=_peak_lrs, metavar="X|LO:HI[:N]|LIST|auto",
                   help="the peak LR; or choose it too, over a range (N log-spaced LRs, "
                        f"default {POINTS}), a comma-separated list, or auto (the fitted "
                        "peak LRs' range): best for fits of runs at several peak LRs")
    p.add_argument("--warmup", type=non_negative_int, metavar="W",
                   help="warmup steps (default: the fitted runs')")
    p.add_argument("--family", choices=("free", "wsd", "cosine", "linear"),
                   help="family of the result written by --out (default free: any "
                        "non-increasing schedule after the warmup; over several peak LRs "
                        "wsd)")
    p.add_argument("--out", metavar="BEST.json",
                   help="write the result (schedule dict and spec) and the table as JSON")
    p.add_argument("--plot", metavar="BEST.png", help="draw the candidates' LR and loss curves")
    p.set_defaults(func=run)


def _peak_lrs(text: str):
    """X (a float), ``auto``, or a list of LRs from LO:HI[:N] or A,B,C."""
    if text == "auto":
        return text
    try:
        if ":" in text:
            low, high, *n = text.split(":")
            count = int(n[0]) if n else POINTS
            if len(n) > 1 or not 2 <= count <= MAX_POINTS:
                raise ValueError
            values = np.geomspace(positive_float(low), positive_float(high), count)
        elif "," in text:
            values = [positive_float(v) for v in text.split(",")]
            if len(values) > MAX_POINTS:
                raise ValueError
        else:
            return positive_float(text)
    except (ValueError, argparse.ArgumentTypeError):
        raise argparse.ArgumentTypeError(
            f"expected a peak LR (3e-4), a range LO:HI or LO:HI:N (N from 2 to {MAX_POINTS}), "
            f"a list A,B,C or auto; got {text!r}") from None
    if len(values) > 1 and values[0] >= values[-1] and ":" in text:
        raise argparse.ArgumentTypeError(f"the range {text!r} must run from low to high")
    return sorted({float(f"{v:.4g}") for v in values})


def run(args) -> int:
    check_outputs(inputs=[args.fit], files=[args.out], figures=[args.plot])
    fit = load_fit(args.fit)
    for message in fit.warnings:  # what fit-curve said of the fit: a choice is as good as it
        print(f"lrsched optimize: warning: the fit: {message}", file=sys.stderr)
    if args.peak_lr == "auto":
        low, high = fitted_peak_lrs(fit)
        if high <= low * 1.01:
            raise InputError(f"the fit's curves all ran at peak LR {low:g}: it cannot tell "
                             "how the LR moves the loss; give --peak-lr X, or fit runs at "
                             "two or more peak LRs (the cross-lr law)")
        args.peak_lr = _peak_lrs(f"{low:g}:{high:g}")
    if isinstance(args.peak_lr, list):
        return _run_sweep(args, fit)
    args.family = args.family or "free"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = candidates(fit, args.steps, args.peak_lr, args.warmup)
    for w in caught:
        print(f"lrsched optimize: warning: {w.message}", file=sys.stderr)
    result = next(c for c in table if c.family == args.family)
    source = "" if args.warmup is not None else " (the fitted runs')"
    print(f"{fit.law.name} law ({args.fit}): {args.steps} steps at peak LR {args.peak_lr:g}, "
          f"warmup {result.schedule.warmup}{source}; final losses with calibrated 80% "
          "intervals")
    print(_table(table))
    print(_comparison(table))
    print(_resolution(table, lambda c: c.name))
    chance = predictive.odds_text(result.beats_best, tie=False)
    versus = ("" if result is table[0] else f", {chance} chance of beating the best"
              f"{' (a tie)' * result.tied}")
    print(f"result (--family {args.family}): {result.name}, final loss {result.loss:.4f} "
          f"[{result.interval[0]:.4f}, {result.interval[1]:.4f}]{versus}")
    print(f"spec: {result.schedule.to_spec()}")
    if args.out:
        _write(args, fit, result, table)
        print(f"wrote {args.out}")
    if args.plot:
        save_figure(optimize_figure(fit, table, args.steps, args.peak_lr), args.plot)
        print(f"wrote {args.plot}")
    return 0


def _run_sweep(args, fit) -> int:
    """The best schedule of ``--family`` at each peak LR; the best of them is the result."""
    family = args.family or "wsd"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        swept = {f: sweep(fit, args.steps, args.peak_lr, f, args.warmup)
                 for f in dict.fromkeys([family, *(SWEPT if args.plot else ())])}
    table = swept[family]
    curves = ({f: sorted(swept[f], key=lambda c: c.peak_lr) for f in SWEPT}
              if args.plot else None)
    for message in dict.fromkeys(str(w.message) for w in caught):
        print(f"lrsched optimize: warning: {message}", file=sys.stderr)
    best = table[0]
    lrs = ", ".join(f"{lr:g}" for lr in args.peak_lr)
    print(f"{fit.law.name} law ({args.fit}): {args.steps} steps, the best {family} schedule "
          f"at each peak LR ({lrs}); final losses with calibrated 80% intervals")
    print(_table(table, by_peak_lr=True))
    print(f"result: peak LR {best.peak_lr:g} with {best.name}, final loss {best.loss:.4f} "
          f"[{best.interval[0]:.4f}, {best.interval[1]:.4f}]")
    print(_resolution(table, lambda c: f"peak LR {c.peak_lr:g}"))
    print(f"spec: {best.schedule.to_spec()}")
    if args.out:
        args.family = family
        _write(args, fit, best, table)
        print(f"wrote {args.out}")
    if args.plot:
        save_figure(lr_sweep_figure(curves, fitted_peak_lrs(fit), args.steps, fit.law.name),
                    args.plot)
        print(f"wrote {args.plot}")
    return 0


def _table(table, by_peak_lr: bool = False) -> str:
    """``table`` (best first) ranked, or by peak LR, then what its odds column means."""
    rows = sorted(table, key=lambda c: c.peak_lr) if by_peak_lr else table
    keys = ([f"{c.peak_lr:.4g}" for c in rows] if by_peak_lr
            else [str(rank) for rank in range(1, len(rows) + 1)])
    head = "peak LR" if by_peak_lr else "rank"
    pad = max(len(head), *map(len, keys))
    width = max(len(c.name) for c in table) + 2
    lines = [f"{head:>{pad}}  {'schedule':<{width}}{'final loss':>10}  {'80% interval':<17}"
             f"{'vs best':>8}  {'P(beats best)':>13}  spec"]
    for key, c in zip(keys, rows):
        spec = c.schedule.to_spec()
        spec = spec if len(spec) <= SHOWN else spec[:SHOWN - 3] + "..."
        lines.append(f"{key:>{pad}}  {c.name:<{width}}{c.loss:>10.4f}  "
                     f"{c.interval[0]:.4f}-{c.interval[1]:.4f}  {c.loss - table[0].loss:>+8.4f}"
                     f"  {predictive.odds_text(c.beats_best):>13}  {spec}")
    return "\n".join([*lines, predictive.ODDS_LEGEND])


def _resolution(table, label) -> str:
    """Whether the best's margin is resolved, naming the rows (``label``) tied with it."""
    ties = [c for c in table if c.tied]
    if not ties:
        return (f"resolved: every other candidate has < {1 - predictive.RESOLVED:.0%} "
                f"chance of beating {label(table[0])}")
    named = ", ".join(f"{label(c)} ({predictive.odds_text(c.beats_best, tie=False)})"
                      for c in ties[:NAMED])
    more = f" and {len(ties) - NAMED} more (tie in the table)" if len(ties) > NAMED else ""
    return (f"not resolved: {len(ties)} candidate{'s' * (len(ties) > 1)} within the fit's "
            f"resolution of {label(table[0])}: {named}{more}")


def _comparison(table) -> str:
    best = table[0]
    common = [c for c in table if c.name in COMMON]
    gains = ", ".join(f"{c.loss - best.loss:.4f} below {c.name}" for c in common)
    return f"best: {best.name}, predicted {gains}"


def _write(args, fit, result, table) -> None:
    def row(c):
        return {"name": c.name, "peak_lr": c.peak_lr, "spec": c.schedule.to_spec(),
                "final_loss": c.loss, "interval": list(c.interval),
                "beats_best": c.beats_best, "tied": c.tied}

    doc = {"fit": str(args.fit), "law": fit.law.name, "steps": args.steps,
           "family": args.family, **row(result),
           "schedule": result.schedule.to_dict(), "candidates": [row(c) for c in table]}
    with atomic_path(args.out) as tmp:
        tmp.write_text(json.dumps(json_ready(doc), indent=2) + "\n")
