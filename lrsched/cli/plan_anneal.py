"""``lrsched plan-anneal``: when to cool down a run in progress, under a fitted law."""

from __future__ import annotations

import sys
import warnings

import numpy as np

from lrsched.choosing import anneal_plan
from lrsched.cli.fit_curve import LAW_NAMES
from lrsched.cli.types import non_negative_int, positive_float, positive_int
from lrsched.curves import read_curve
from lrsched.errors import InputError
from lrsched.files import check_outputs
from lrsched.forecast import fit_run
from lrsched.laws import LAWS, load_fit
from lrsched.plot import anneal_plan_figure, save_figure
from lrsched.schedules import from_spec


def register(sub) -> None:
    p = sub.add_parser(
        "plan-anneal", help="when to cool down a run in progress, and over how many steps",
        description="Predict the final loss of a run in progress (constant or infinite "
                    "schedule) if its cooldown starts at step s and lasts d steps, for a grid "
                    "of s and d, and recommend one. The law is FIT.json (fitted to other "
                    "runs), or, without it, fitted to the run's own loss so far.")
    p.add_argument("fit", nargs="?", metavar="FIT.json",
                   help="a fit of other runs (default: fit the run itself)")
    p.add_argument("--curve", required=True, metavar="RUN.csv",
                   help="the run so far (step, lr, loss; as fit-curve reads)")
    p.add_argument("--budget", type=positive_int, metavar="N",
                   help="the most steps the run may take (default: none; plan to 2x now)")
    p.add_argument("--starts", type=non_negative_int, nargs="+", metavar="S",
                   help="cooldown start steps to try (default: 12 from now on)")
    p.add_argument("--lengths", type=positive_int, nargs="+", metavar="D",
                   help="cooldown lengths to try (default: 5-40%% of the horizon)")
    p.add_argument("--shape", choices=("linear", "1-sqrt", "cosine", "exponential"),
                   default="linear", help="cooldown shape (default linear)")
    p.add_argument("--final", type=float, default=0.0, metavar="F",
                   help="LR at the cooldown's end: a multiplier of --schedule, or without "
                        "one a fraction of the current LR (default 0)")
    p.add_argument("--schedule", metavar="SPEC",
                   help="the run's schedule (constant or infinite): the plan follows it and "
                        "prints it annealed; with --peak-lr it also gives the run's LRs")
    p.add_argument("--peak-lr", type=positive_float, metavar="X",
                   help="peak LR of --schedule: the run's per-step LR is X x the schedule")
    p.add_argument("--law", choices=[n for n in LAW_NAMES if n != "auto"], default="momentum",
                   help="the law fitted to the run when no FIT.json is given")
    p.add_argument("--loss-col", help="loss column (default: loss, else val_loss, ...)")
    p.add_argument("--lr-col", help="LR column (default: found by name)")
    p.add_argument("--step-col", help="step column (default: found by name)")
    p.add_argument("--plot", metavar="OUT.png", help="draw the plan as a heatmap")
    p.set_defaults(func=run)


def run(args) -> int:
    check_outputs(inputs=[args.curve, args.fit], figures=[args.plot])
    schedule = from_spec(args.schedule) if args.schedule else None
    if args.peak_lr is not None and schedule is None:
        raise InputError("--peak-lr is the peak LR of --schedule; give the run's schedule too")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        curve = read_curve(args.curve, step_col=args.step_col, lr_col=args.lr_col,
                           loss_col=args.loss_col, peak_lr=args.peak_lr,
                           schedule=schedule if args.peak_lr is not None else None)
        fit, source = _law(args, curve)
        for message in fit.check(curve.lrs):  # as predict warns
            warnings.warn(message, stacklevel=1)
        plan = anneal_plan(fit, curve.lrs, args.starts, args.lengths, args.shape, args.final,
                           args.budget, schedule)
    for w in caught:
        print(f"lrsched plan-anneal: warning: {w.message}", file=sys.stderr)
    print(source)
    print(f"{args.curve}: {plan.now} steps done, LR now {curve.lrs[-1]:.4g}; cooldown "
          f"{plan.shape} to {plan.final:g}"
          + ("" if schedule is not None else " x the current LR")
          + (f"; budget {plan.budget} steps" if plan.budget else "; no budget"))
    print(_table(plan))
    print(_recommendation(plan, schedule is not None))
    if args.plot:
        save_figure(anneal_plan_figure(plan, fit.law.name), args.plot)
        print(f"wrote {args.plot}")
    return 0


def _law(args, curve):
    """The fit to plan with, and a line saying which it is."""

    if args.fit:
        fit = load_fit(args.fit)
        names = ", ".join(str(d.get("name", "?")) for d in fit.data) or "runs not recorded"
        return fit, f"law: the {fit.law.name} fit in {args.fit} (fitted to {names})"
    law = LAWS[args.law]()
    fit = fit_run(curve, law)
    n = fit.data[0]["n"]
    return fit, (f"law: no FIT.json, so the {law.name} law fitted to {args.curve}'s own loss "
                 f"({n} points from step {fit.data[0]['first_step']}); a fit of other runs "
                 "with cooldowns predicts cooldowns better")


def _table(plan) -> str:
    head = f"{'start / length':>14}" + "".join(f"{d:>9}" for d in plan.lengths)
    rows = [head]
    for s, losses in zip(plan.starts, plan.losses):
        rows.append(f"{s:>14}" + "".join(f"{'':>9}" if np.isnan(v) else f"{v:>9.4f}"
                                          for v in losses))
    return "final loss (at step start + length - 1) of a cooldown from start over length " \
           "steps:\n" + "\n".join(rows)


def _recommendation(plan, has_schedule: bool) -> str:
    lines = []
    if plan.now_best is not None:
        lines.append(f"cool down now over {plan.now_best.length} steps: "
                     f"{_loss(plan.now_best)}")
    best = plan.best
    lines.append(f"train to step {best.start}, then cool down over {best.length} steps: "
                 f"{_loss(best)}")
    if plan.budget is None:
        lines.append("(without --budget the longest run in the plan predicts lowest)")
    lines.append(f"at step {best.start}: scheduler.anneal({best.length}, shape="
                 f"{plan.shape!r}, final={plan.final:g})   # ScheduleLR")
    where = "" if has_schedule else "  (multipliers of the current LR)"
    lines.append(f"schedule: {plan.schedule_for(best).to_spec()}{where}")
    return "\n".join(lines)


def _loss(cooldown) -> str:
    low, high = cooldown.interval
    return (f"final loss {cooldown.loss:.4f} [80%: {low:.4f}, {high:.4f}] at step "
            f"{cooldown.start + cooldown.length - 1}")
