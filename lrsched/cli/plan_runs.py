"""``lrsched plan-runs``: the cheap run that would sharpen a fit's choice of schedule most
per step of compute."""

from __future__ import annotations

import json
import sys
import warnings

from lrsched.choosing import plan_runs
from lrsched.cli.types import positive_float, positive_int
from lrsched.files import atomic_path, check_outputs, json_ready
from lrsched.laws import load_fit

TOP = 10  # rows of the table unless --top says


def register(sub) -> None:
    p = sub.add_parser(
        "plan-runs", help="the cheap run that would sharpen the choice of schedule most",
        description="Rank the cheap runs one could make next (cooldowns branched from "
                    "checkpoints of the constant run, short runs of the best schedule and its "
                    "rival, constant runs at other peak LRs for a fit across peak LRs) by how "
                    "much each would narrow the uncertainty of the best schedule's margin "
                    "over its rival, per step of compute, under a calibrated fit "
                    "(`lrsched fit-curve --json`).")
    p.add_argument("fit", metavar="FIT.json")
    p.add_argument("--steps", type=positive_int, metavar="N",
                   help="run length of the decision (default: the longest fitted run)")
    p.add_argument("--peak-lr", type=positive_float, metavar="X",
                   help="peak LR of the decision (default: the largest fitted one)")
    p.add_argument("--budget", type=positive_int, metavar="STEPS",
                   help="leave out runs that cost more steps")
    p.add_argument("--top", type=positive_int, default=TOP, metavar="K",
                   help=f"rows of the table (default {TOP})")
    p.add_argument("--out", metavar="PLAN.json", help="write the decision and every run as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    check_outputs(inputs=[args.fit], files=[args.out])
    fit = load_fit(args.fit)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plan = plan_runs(fit, args.steps, args.peak_lr, budget=args.budget)
    for message in [*fit.warnings, *(str(w.message) for w in caught)]:
        print(f"lrsched plan-runs: warning: {message}", file=sys.stderr)
    low, high = plan.interval
    print(f"{fit.law.name} law ({args.fit}): the decision for {plan.total_steps:,} steps at "
          f"peak LR {plan.peak_lr:g}, warmup {plan.best.schedule.warmup}")
    print(f"best: {plan.best.name}, final loss {plan.best.loss:.4f}; its rival (the likeliest "
          f"to end lower): {plan.rival.name}, {plan.rival.loss:.4f}")
    print(f"P(best ends lower) {plan.p_best_lower:.2f}; margin {plan.margin:+.4f}, 80% "
          f"interval [{low:+.4f}, {high:+.4f}] (sd {plan.width:.4f})")
    print("runs that would narrow it, most per step first (a cooldown branches from a "
          "checkpoint of the constant run already made, and costs its cooldown):")
    print(_table(plan, args.top))
    first = plan.runs[0]
    print(f"make next: {first.name}: {first.cost:,} steps, the margin's sd {plan.width:.4f} "
          f"-> {first.width:.4f} ({first.reduction / plan.width:.1%} narrower)")
    if args.out:
        _write(args, fit, plan)
        print(f"wrote {args.out}")
    return 0


def _table(plan, top: int) -> str:
    width = max(len(r.name) for r in plan.runs[:top]) + 2
    lines = [f"{'rank':>4}  {'run':<{width}}{'cost':>7}  {'sd after':>8}  {'reduction':>9}  "
             f"{'per 1k steps':>12}"]
    for rank, r in enumerate(plan.runs[:top], 1):
        lines.append(f"{rank:>4}  {r.name:<{width}}{r.cost:>7,}  {r.width:>8.4f}  "
                     f"{r.reduction / plan.width:>9.1%}  {r.value / plan.width:>12.2%}")
    if len(plan.runs) > top:
        lines.append(f" ... {len(plan.runs) - top} more (--top)")
    return "\n".join(lines)


def _write(args, fit, plan) -> None:
    def candidate(c):
        return {"name": c.name, "spec": c.schedule.to_spec(), "final_loss": c.loss}

    doc = {"fit": str(args.fit), "law": fit.law.name, "steps": plan.total_steps,
           "peak_lr": plan.peak_lr, "budget": args.budget, "best": candidate(plan.best),
           "rival": candidate(plan.rival), "p_best_lower": plan.p_best_lower,
           "margin": plan.margin, "interval": list(plan.interval), "width": plan.width,
           "runs": [{"name": r.name, "cost": r.cost, "width": r.width,
                     "reduction": r.reduction, "value": r.value,
                     "logged": [int(r.steps[0]), int(r.steps[-1]), int(r.steps.size)]}
                    for r in plan.runs]}
    with atomic_path(args.out) as tmp:
        tmp.write_text(json.dumps(json_ready(doc), indent=2) + "\n")
