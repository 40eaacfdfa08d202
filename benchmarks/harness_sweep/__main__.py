"""``python -m benchmarks.harness_sweep``: run the sweep (or reuse its runs) and write
DIR/report.md. With every run already in DIR/runs the report is rebuilt from them
without training; a stopped sweep continues where it was."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks.harness_sweep import analysis, report
from benchmarks.harness_sweep.runner import (
    CORPORA,
    HEAD_TO_HEAD,
    Runner,
    continual_specs,
    head_to_head_spec,
    refined_spec,
    run_name,
    search_autolrs,
    warmup_steps,
)
from lrsched.files import atomic_path
from lrsched.harness.presets import parse_overrides, preset


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.harness_sweep",
                                description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="tiny", help="preset of every run (default tiny)")
    p.add_argument("--out", required=True, metavar="DIR", help="report and run folders")
    p.add_argument("--lrs", type=float, nargs="+", metavar="LR",
                   help="peak-LR grid (default: the preset's LR x 0.5, 1, 2)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1], metavar="S",
                   help="seeds (default 0 1); the grid runs on the first")
    p.add_argument("--jobs", type=int, default=1,
                   help="runs trained at once, one thread each (default 1)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="set a config field of every run; repeatable")
    return p.parse_args(argv)


def command(args) -> str:
    """The command line that runs this sweep."""
    words = ["python -m benchmarks.harness_sweep --preset", args.preset, "--out", args.out]
    if args.lrs:
        words += ["--lrs", *(f"{x:g}" for x in args.lrs)]
    if list(args.seeds) != [0, 1]:
        words += ["--seeds", *map(str, args.seeds)]
    if args.jobs > 1:
        words += ["--jobs", str(args.jobs)]
    words += [f"--set {item}" for item in args.set]
    return " ".join(words)


def main(argv=None) -> int:
    from lrsched.curves import read_curve

    args = parse(argv)
    base = preset(args.preset, **parse_overrides(args.set))
    out, seeds = Path(args.out), args.seeds
    lrs = sorted(args.lrs or [base.peak_lr * f for f in (0.5, 1.0, 2.0)])
    first, warmup, n = seeds[0], warmup_steps(base), base.steps
    runner = Runner(out / "runs", args.jobs)

    def config(spec, lr, seed, **changes):
        return base.replace(schedule=spec, peak_lr=lr, seed=seed, **changes)

    # 1. schedules head to head: the grid on the first seed, then the best LR on the rest
    specs = {k: head_to_head_spec(k, base) for k in HEAD_TO_HEAD}
    runner.train({run_name(k, lr, first): config(specs[k], lr, first)
                  for k in HEAD_TO_HEAD for lr in lrs})
    best = analysis.best_lrs(runner.results, HEAD_TO_HEAD, lrs, first, run_name)
    runner.train({run_name(k, best[k], s): config(specs[k], best[k], s)
                  for k in HEAD_TO_HEAD for s in seeds[1:]})
    head = analysis.head_to_head(runner.results, list(HEAD_TO_HEAD), lrs, seeds, run_name)
    curves = {k: runner.curve(run_name(k, best[k], first)) for k in HEAD_TO_HEAD}
    report.plot_head_to_head(curves, best, first, out / "head_to_head.png")
    parts = [report.head_to_head(head, {k: v[0] for k, v in HEAD_TO_HEAD.items()},
                                 analysis.late_drop(curves["constant"]))]

    # 2. the schedule refined from linear's norms, against linear
    lr = best["linear"]
    norms = curves["linear"]["grad_norm_l1"][warmup:]
    spec = refined_spec(norms, base)
    runner.train({run_name("refined", lr, s): config(spec, lr, s) for s in seeds})
    pair = {k: [run_name(k, lr, s) for s in seeds] for k in ("linear", "refined")}
    refined = analysis.compare(runner.results, pair, head["spread"])
    report.plot_refined(norms, warmup, {k: runner.curve(v[0]) for k, v in pair.items()},
                        first, out / "refined.png")
    parts.append(report.refined(refined, seeds, warmup, lr))

    # 3. the laws fitted to constant and cosine, predicting every other run of part 1-2
    def val_curve(name):
        return read_curve(out / "runs" / name / "curve.csv", loss_col="val_loss", name=name)

    fitted = [run_name(k, best[k], first) for k in ("constant", "cosine")]
    others = [name for name, s in runner.results.items()
              if s["finished"] and name not in fitted and not s["config"]["switch_at"]]
    fits = analysis.fit_laws({name: val_curve(name) for name in fitted})
    for law, fit in fits.items():
        if not isinstance(fit, str):
            fit.save(out / f"fit_{law}.json")
    peak = {name: runner.results[name]["config"]["peak_lr"] for name in runner.results}
    scores = analysis.law_scores(fits, {name: val_curve(name) for name in others}, peak,
                                 {peak[name] for name in fitted})
    shown = [run_name("linear", lr, first), run_name("wsd", best["wsd"], first),
             run_name("refined", lr, first)]
    report.plot_laws(fits, {name: val_curve(name) for name in shown}, out / "laws.png")
    parts.append(report.laws(scores, fitted))

    # 4. continual pre-training at cosine's best LR, Shakespeare then Python
    lr = best["cosine"]
    continual = continual_specs(base)
    names = {k: run_name(k.split()[-1] + "-continual", lr, first) for k in continual}
    runner.train({names[k]: config(spec, lr, first, data=",".join(CORPORA), switch_at=(n,),
                                   steps=2 * n, eval_every=n // 10)
                  for k, (_, spec) in continual.items()})
    curves = {k: runner.curve(name) for k, name in names.items()}
    report.plot_continual(curves, n, CORPORA, out / "continual.png")
    parts.append(report.continual(
        analysis.continual(curves, n, CORPORA), {k: v[0] for k, v in continual.items()}, n,
        lr, round(0.2 * n), float(curves["re-warmed cosine"]["val_shakespeare"][n - 1]),
        runner.results[run_name("cosine", lr, first)]["final_val_loss"]))

    # 5. AutoLRS on the same step budget, against the best hand-tuned schedule
    hand = min(HEAD_TO_HEAD, key=lambda k: analysis.final(
        runner.results[run_name(k, best[k], first)]))
    searched = config("constant", max(lrs), first)
    lr_range = (min(lrs) / 10, 2 * max(lrs))
    path = out / "autolrs.json"
    result = json.loads(path.read_text()) if path.is_file() else None
    if not result or result["config"] != searched.to_dict():
        result = runner.map(search_autolrs, {"autolrs": (searched.to_dict(), lr_range,
                                                         str(out))})["autolrs"]
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(result, indent=2) + "\n")
    parts.append(report.autolrs(
        result, lr_range, n, hand, best[hand],
        analysis.final(runner.results[run_name(hand, best[hand], first)]), head["spread"]))

    with atomic_path(out / "report.md") as tmp:
        tmp.write_text(report.header(base, runner.results, warmup, command(args), args.jobs)
                       + "\n\n".join(parts) + "\n")
    print(f"wrote {out / 'report.md'}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as exc:
        print(f"sweep interrupted: {exc}", file=sys.stderr)
        sys.exit(130)
