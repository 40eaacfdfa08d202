"""``lrsched refine NORMS``: a schedule refined from a run's recorded gradient norms."""

from __future__ import annotations

import argparse
import json
import math

import numpy as np

from lrsched.cli.types import positive_int
from lrsched.files import atomic_path, check_outputs
from lrsched.plot import refine_figure, save_figure
from lrsched.refinement import filter_width, read_norms, refine

_FRACTIONS = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction of the run in [0, 1], got {text!r}")
    return value


def register(sub) -> None:
    p = sub.add_parser("refine", help="refine a schedule from recorded gradient norms",
                       description="Refine a schedule from the gradient norms of a run "
                                   "(Defazio et al. 2023): eta_t ~ w_t * sum_{p>t} w_p, "
                                   "w = norm^-1 (adam, l1 norms) or norm^-2 (sgd, l2 norms).")
    p.add_argument("norms", help="norms file: .npy, or .csv (GradNormRecorder.save's "
                                 "step,norm; a harness curve.csv reads its grad norm)")
    p.add_argument("--kind", required=True, choices=["adam", "sgd"],
                   help="adam: l1 norms of an Adam-type optimizer; sgd: l2 norms")
    p.add_argument("--norm-col", metavar="NAME",
                   help="CSV column of the norms (default: 'norm', else a harness curve's "
                        "grad_norm_l1 for adam, grad_norm_l2 for sgd)")
    p.add_argument("--steps", type=positive_int,
                   help="steps of the refined run (default: those the norms span)")
    p.add_argument("--smoothing", type=fraction, default=0.1,
                   help="median filter width as a fraction of the run (default 0.1)")
    p.add_argument("--out", help="write the schedule here as JSON (Schedule.from_dict reads it)")
    p.add_argument("--plot", help="write a picture of norms -> schedule here (.png, .svg, .pdf)")
    p.set_defaults(func=run)


def run(args) -> int:
    check_outputs(inputs=[args.norms], files=[args.out], figures=[args.plot])
    record = read_norms(args.norms, args.norm_col, args.kind)
    schedule = refine(record.norms, args.kind, args.steps, args.smoothing, record.steps)
    source = f"column {record.column} of {args.norms}" if record.column else args.norms
    span = int(record.steps[-1] - record.steps[0]) + 1  # the steps the filter runs over
    print(summary(schedule, len(record.norms), span, args.kind, args.smoothing, source))
    if args.out:
        with atomic_path(args.out) as tmp:
            tmp.write_text(json.dumps(schedule.to_dict()) + "\n")
        print(f"wrote {args.out}")
    if args.plot:
        save_figure(refine_figure(record.norms, args.kind, args.steps, args.smoothing,
                                  title=f"refined from {args.norms}", steps=record.steps),
                    args.plot)
        print(f"wrote {args.plot}")
    return 0


def summary(schedule, n_norms: int, span: int, kind: str, smoothing: float,
            source: str) -> str:
    """What came out: the run, where the peak is, and the multiplier across the run
    next to linear decay's."""
    n = schedule.total_steps
    values = schedule(np.arange(n))
    peak = int(np.argmax(values))
    at = [round(f * (n - 1)) for f in _FRACTIONS]
    rows = [["step", *map(str, at)],
            ["refined", *(f"{values[t]:.3f}" for t in at)],
            ["linear", *(f"{1 - t / (n - 1):.3f}" for t in at)]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    table = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join([
        f"refined {kind} schedule for {n} steps from {n_norms} norms in {source} "
        f"(median filter over {filter_width(span, smoothing)} steps)",
        f"peak at step {peak} ({peak / (n - 1):.0%} of the run); "
        f"mean multiplier {values.mean():.3f} (linear decay: 0.500)",
        *table,
    ])
