"""The sweep's markdown: the report (DIR.md) and the dataset's README.md."""

from __future__ import annotations

import math

import numpy as np

from benchmarks.harness_sweep.analysis import final, verdict
from benchmarks.lr_sweep.sweep import FRACTIONS, WARMUP, spread

# verdict() on (b) minus (a), in words
OUTCOME = {"holds": "(b) is lower, beyond the seed spread",
           "within noise": "a tie, within the seed spread",
           "does not reproduce": "(a) is lower, beyond the seed spread"}


def _loss(value: float) -> str:
    return "diverged" if not math.isfinite(value) else f"{value:.4f}"


def _setup(base, n: int, results: dict, command: str) -> str:
    timed = [s for s in results.values() if s["tokens_per_s"]]
    m = base.model
    seconds = sum(s["seconds"] for s in results.values())
    return (
        f"Command: `{command}`.\n"
        f"Model: {timed[0]['params']:,} parameters ({m.n_layer} layers, width {m.n_embd}, "
        f"context {m.block_size} bytes), batches of {base.batch_size} x {m.block_size} "
        f"tokens, AdamW (betas {base.beta1}, {base.beta2}, weight decay "
        f"{base.weight_decay}), clip {base.grad_clip}, warmup {round(WARMUP * n)} steps in "
        f"every run. Data: {base.data}, last {base.val_fraction:.0%} of every file held "
        f"out; val loss on {base.eval_windows} fixed windows every {base.eval_every} "
        f"steps. {len(results)} runs, {sum(s['steps_done'] for s in results.values()):,} "
        f"steps, {seconds / 60:.1f} min of training on {timed[0]['device']} (median "
        f"{np.median([s['tokens_per_s'] for s in timed]):,.0f} tokens/s), one run at a "
        "time.\n")


def report(base, n: int, lrs: list, seeds: list, found: dict, table: dict, compared: dict,
           results: dict, command: str) -> str:
    s = found["suggestions"]
    noise = spread(table)
    lines = [
        f"# Peak-LR sweep: preset {base.preset} (issue 19)\n",
        _setup(base, n, results, command),
        f"Range test: {found['options']['steps']} steps, LR from "
        f"{found['options']['start_lr']:g} to {found['options']['end_lr']:g} (exponential), "
        f"{found['steps_done']} done, {found['seconds']:.1f} s; suggestions: steepest "
        f"**{s['steepest']:.3g}**, min/10 {s['min/10']:.3g} (picture: "
        "lr_sweep_runs/range_test.png). Grid of peak LRs (the steepest suggestion x 0.1 "
        f"to x 10): {', '.join(f'{lr:g}' for lr in lrs)}. The curves: lr_sweep/ "
        "(README.md there).\n",
        "## Final val losses\n",
        f"Pilots (constant `stable`, cosine to 0 `cos0`) at N = {n} steps on seed "
        f"{seeds[0]}; test runs (WSD with a linear cooldown over the last F of the run "
        f"`wsd_linear_F`, cosine to 10% `cos10`) at N and 2N on seeds "
        f"{', '.join(map(str, seeds))}. Spread: the range over seeds.\n",
        "| peak LR | schedule | steps | " + " | ".join(f"seed {x}" for x in seeds)
        + " | mean | spread |",
        "|---|---|---|" + "---|" * len(seeds) + "---|---|",
    ]
    for (lr, kind, steps), values in sorted(table.items(), key=lambda kv: (kv[0][2], kv[0][0],
                                                                          kv[0][1])):
        cells = [_loss(v) for v in values] + [""] * (len(seeds) - len(values))
        lines.append(f"| {lr:g} | {kind} | {steps} | " + " | ".join(cells)
                     + f" | {_loss(float(np.mean(values)))} | "
                     + (f"{np.ptp(values):.4f} |" if len(values) > 1 else "- |"))
    lines += [f"\nSeed spread (mean range over seeds of the finished test runs): "
              f"{noise:.4f}.\n",
              f"## Who picks the better peak LR at 2N = {2 * n} steps\n",
              "Each way's peak LR, trained with cosine to 10% to the full budget on every "
              "seed.\n",
              "| way | peak LR | schedule | " + " | ".join(f"seed {x}" for x in seeds)
              + " | mean | spread |",
              "|---|---|---|" + "---|" * len(seeds) + "---|---|"]
    hindsight = min((key for key in table if key[1:] == ("cos10", 2 * n)),
                    key=lambda key: np.mean(table[key]))
    rows = {**compared, "(c) cross-LR law fitted on the pilots": None,
            "hindsight: the grid's best cosine at 2N": {hindsight: table[hindsight]}}
    for label, finals in rows.items():
        if finals is None:  # (c): a row like the others once sweep.choices holds it
            lines.append(f"| {label} | - | - | " + "- | " * len(seeds) + "- | - |")
            continue
        (lr, kind, _), values = next(iter(finals.items()))
        lines.append(f"| {label} | {lr:g} | {kind} | " + " | ".join(map(_loss, values))
                     + f" | {_loss(float(np.mean(values)))} | "
                     + (f"{np.ptp(values):.4f} |" if len(values) > 1 else "- |"))
    (a, ((lr_a, *_), finals_a)), (b, ((lr_b, *_), finals_b)) = (
        (label, next(iter(finals.items()))) for label, finals in list(compared.items())[:2])
    diff = float(np.mean(finals_b) - np.mean(finals_a))
    if lr_a == lr_b:
        outcome = (f"\n{a[:3]} and {b[:3]} pick the same peak LR here (the range test's "
                   "suggestion is the best pilot's LR): the same runs.")
    else:
        outcome = (f"\n{b[:3]} minus {a[:3]}: {diff:+.4f}; "
                   + ("one seed, no spread to judge it by" if math.isnan(noise)
                      else OUTCOME[verdict(diff, noise)]) + ".")
    lines.append(outcome + f" In hindsight the grid's best peak LR for cosine at {2 * n} "
                 f"steps is {hindsight[0]:g}. (c) is not measured yet: the cross-LR law (a "
                 "joint fit across peak LRs) is being built in lrsched.laws.\n")
    return "\n".join(lines)


def dataset_readme(base, n: int, lrs: list, seeds: list, runs: list, results: dict,
                   command: str) -> str:
    m = base.model
    rows = "\n".join(f"| {r.lr:g} | {r.split} | {r.csv.name} | {r.steps} | "
                     f"{_loss(final(results[r.folder]))} |"
                     for r in sorted(runs, key=lambda r: (r.lr, r.split != "train",
                                                          r.steps, r.kind, r.seed)))
    fractions = ", ".join(f"{f}" for f in FRACTIONS)
    w = round(WARMUP * n)
    return f"""# Byte-level GPT runs across peak LRs (lrsched harness, issue 19)

Made on CPU by this project's benchmark `benchmarks/lr_sweep`:

    {command}

A {m.n_layer}-layer, width-{m.n_embd} byte-level GPT (context {m.block_size} bytes) trained
with AdamW on {base.data} (the harness of docs/harness.md), {base.batch_size} sequences
per step, at {len(lrs)} peak LRs spanning the LR range test's suggestion by 10x on both
sides: {', '.join(f'`{lr:g}/`' for lr in lrs)}. Every run warms up linearly over its
first {w} steps (step 0 at peak / {w}).

Each `PEAK/SPLIT/NAME.csv` has columns `step,lr,loss`: a row per step with its absolute
LR; `loss` is the validation loss (the same {base.eval_windows} held-out windows) after
that step's update, every {base.eval_every} steps, blank elsewhere. A run that diverged
ends where its loss stopped being finite.

- `train/`: the pilots, on seed {seeds[0]}: `stable_T{n}` constant LR and `cos0_T{n}` cosine
  to 0, {n} steps.
- `test/`: `wsd_linear_F_T...` WSD with a linear cooldown to 0 over the last F of the
  run (F = {fractions}) and `cos10_T...` cosine to 10% of peak, at T = {n} and
  {2 * n} steps, on seeds {', '.join(map(str, seeds))} (`_sS`).

Suggested use, as for `data/curves/schaipp124m`: fit a law on `train/` (per LR, or
jointly across LRs) and predict `test/` from its LRs alone; across LRs, which peak LR
and schedule win at {2 * n} steps.

| peak LR | split | file | steps T | final val loss |
|---|---|---|---|---|
{rows}
"""
