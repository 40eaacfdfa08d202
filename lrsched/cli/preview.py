"""``lrsched preview SPEC``: a schedule's phases as a table, or its picture."""

from __future__ import annotations

import numpy as np

from lrsched.cli.types import load_schedule, positive_float, whole_number
from lrsched.drawing import save_figure
from lrsched.files import check_outputs
from lrsched.schedules import MAX_PREVIEW_STEPS, Schedule
from lrsched.schedules.preview import preview_length, schedule_figure


def register(sub) -> None:
    p = sub.add_parser("preview", help="show a schedule: phase table, or a picture with --out",
                       description="Show a schedule given by a spec string, e.g. "
                                   "'wsd:total_steps=10000,warmup=500,decay_steps=2000'.")
    p.add_argument("spec", help="schedule spec (NAME or NAME:key=value,...), or a .json file "
                                "holding a schedule dict (as `lrsched refine --out` writes)")
    p.add_argument("--steps", type=whole_number(1, MAX_PREVIEW_STEPS),
                   help="steps to show (default: the run, or enough to show the schedule's "
                        "shape)")
    p.add_argument("--peak-lr", type=positive_float, help="peak LR, to show LRs")
    p.add_argument("--out", help="write a picture here (.png, .svg, .pdf) instead of a table")
    p.set_defaults(func=run)


def run(args) -> int:
    check_outputs(inputs=[args.spec], figures=[args.out])
    schedule = load_schedule(args.spec)
    if args.out:
        save_figure(schedule_figure(schedule, args.steps, args.peak_lr), args.out)
        print(f"wrote {args.out}")
    else:
        print(phase_table(schedule, args.steps, args.peak_lr))
    return 0


def phase_table(schedule: Schedule, steps: int | None = None,
                peak_lr: float | None = None) -> str:
    """One row per phase: its steps and the multiplier (and LR) at its first and last step,
    under the spec (long lists cut)."""
    n = preview_length(schedule, steps)
    rows = [("phase", "steps", "multiplier", *(["lr"] if peak_lr else []))]
    for phase in schedule.phases():
        if phase.start >= n:
            break
        last = n - 1 if phase.end is None else min(phase.end, n) - 1
        a, b = schedule(phase.start), schedule(last)
        span = f"{phase.start}-{last}" + ("..." if phase.end is None else "")
        row = [phase.name, span, f"{a:.4g} -> {b:.4g}"]
        if peak_lr:
            row.append(f"{a * peak_lr:.4g} -> {b * peak_lr:.4g}")
        rows.append(tuple(row))
    if schedule.total_steps is not None and schedule.total_steps < n:
        final = schedule(schedule.total_steps)
        rows.append(("after the run", f"{schedule.total_steps}-", f"{final:.4g}",
                     *([f"{final * peak_lr:.4g}"] if peak_lr else [])))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    mean = float(np.mean(schedule(np.arange(n))))
    return "\n".join([schedule.short_spec(), *lines,
                      f"{n} steps shown; mean multiplier {mean:.4g}"])
