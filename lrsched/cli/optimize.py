"""``lrsched optimize``: the best schedule for a budget under a fitted law."""

from __future__ import annotations

import json
import sys
import warnings

from lrsched.choosing import candidates
from lrsched.choosing.optimize import COMMON
from lrsched.cli.types import non_negative_int, positive_float, positive_int
from lrsched.files import atomic_path, check_outputs, json_ready
from lrsched.laws import load_fit
from lrsched.plot import optimize_figure, save_figure

SHOWN = 60  # characters of a spec shown in the table


def register(sub) -> None:
    p = sub.add_parser(
        "optimize", help="the schedule a fitted law predicts to end lowest, for a budget",
        description="Rank common schedules, WSD at 10-90%% cooldown in every shape and the "
                    "optimum of every family by the final loss a fit (`lrsched fit-curve "
                    "--json`) predicts for a run of N steps at peak LR X.")
    p.add_argument("fit", metavar="FIT.json")
    p.add_argument("--steps", required=True, type=positive_int, metavar="N",
                   help="run length in optimizer steps")
    p.add_argument("--peak-lr", required=True, type=positive_float, metavar="X")
    p.add_argument("--warmup", type=non_negative_int, metavar="W",
                   help="warmup steps (default: the fitted runs')")
    p.add_argument("--family", choices=("free", "wsd", "cosine", "linear"), default="free",
                   help="family of the result written by --out (default free: any "
                        "non-increasing schedule after the warmup)")
    p.add_argument("--out", metavar="BEST.json",
                   help="write the result (schedule dict and spec) and the table as JSON")
    p.add_argument("--plot", metavar="BEST.png", help="draw the candidates' LR and loss curves")
    p.set_defaults(func=run)


def run(args) -> int:

    check_outputs(inputs=[args.fit], files=[args.out], figures=[args.plot])
    fit = load_fit(args.fit)
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
    print(f"result (--family {args.family}): {result.name}, final loss {result.loss:.4f} "
          f"[{result.interval[0]:.4f}, {result.interval[1]:.4f}]")
    print(f"spec: {result.schedule.to_spec()}")
    if args.out:
        _write(args, fit, result, table)
        print(f"wrote {args.out}")
    if args.plot:

        save_figure(optimize_figure(fit, table, args.steps, args.peak_lr), args.plot)
        print(f"wrote {args.plot}")
    return 0


def _table(table) -> str:
    best = table[0].loss
    width = max(len(c.name) for c in table) + 2
    lines = [f"{'rank':>4}  {'schedule':<{width}}{'final loss':>10}  {'80% interval':<17}"
             f"{'vs best':>8}  spec"]
    for rank, c in enumerate(table, 1):
        spec = c.schedule.to_spec()
        spec = spec if len(spec) <= SHOWN else spec[:SHOWN - 3] + "..."
        lines.append(f"{rank:>4}  {c.name:<{width}}{c.loss:>10.4f}  "
                     f"{c.interval[0]:.4f}-{c.interval[1]:.4f}  {c.loss - best:>+8.4f}  {spec}")
    return "\n".join(lines)


def _comparison(table) -> str:

    best = table[0]
    common = [c for c in table if c.name in COMMON]
    gains = ", ".join(f"{c.loss - best.loss:.4f} below {c.name}" for c in common)
    return f"best: {best.name}, predicted {gains}"


def _write(args, fit, result, table) -> None:

    def row(c):
        return {"name": c.name, "spec": c.schedule.to_spec(), "final_loss": c.loss,
                "interval": list(c.interval)}

    doc = {"fit": str(args.fit), "law": fit.law.name, "steps": args.steps,
           "peak_lr": args.peak_lr, "family": args.family, **row(result),
           "schedule": result.schedule.to_dict(), "candidates": [row(c) for c in table]}
    with atomic_path(args.out) as tmp:
        tmp.write_text(json.dumps(json_ready(doc), indent=2) + "\n")
