"""The sweep's markdown: the report (DIR.md) and the dataset's README.md."""

from __future__ import annotations

import math

import numpy as np

from benchmarks.harness_sweep.analysis import final, verdict
from benchmarks.lr_sweep.law import FAMILIES, GRID
from benchmarks.lr_sweep.sweep import FRACTIONS, LAW, WARMUP, spread

TARGETS = {"gap error": 0.3, "lr-regret": 0.01}  # issue 19, on the test runs


def _loss(value: float) -> str:
    return "diverged" if not math.isfinite(value) else f"{value:.4f}"


def _versus(claim: str, reference: str, diff: float, noise: float) -> str:
    """``diff`` (claim minus reference, mean final val losses) judged by the seed spread."""
    if math.isnan(noise):
        return f"{claim} minus {reference}: {diff:+.4f}; one seed, no spread to judge it by"
    words = {"holds": f"{claim} is lower, beyond the seed spread",
             "within noise": "a tie, within the seed spread",
             "does not reproduce": f"{reference} is lower, beyond the seed spread"}
    return f"{claim} minus {reference}: {diff:+.4f}; {words[verdict(diff, noise)]}"


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
           by_law: dict, results: dict, command: str) -> str:
    """The report; ``by_law``: (c)'s fit, choice (a Candidate), refused {(peak LR,
    family): why it gave no answer} and ``law.scores``."""
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
        _header("peak LR | schedule | steps", seeds),
    ]
    for (lr, kind, steps), values in sorted(table.items(), key=lambda kv: (kv[0][2], kv[0][0],
                                                                          kv[0][1])):
        lines.append(_row(f"{lr:g} | {kind} | {steps}", values, len(seeds)))
    at_2n = [key for key in table if key[2] == 2 * n]
    best_cosine = min((k for k in at_2n if k[1] == "cos10"), key=lambda k: np.mean(table[k]))
    best_run = min(at_2n, key=lambda k: np.mean(table[k]))
    lines += [f"\nSeed spread (mean range over seeds of the finished test runs): "
              f"{noise:.4f}.\n",
              f"## Who picks the better peak LR at 2N = {2 * n} steps\n",
              "Each way's peak LR and schedule, trained to the full budget on every seed; "
              "below them, the best of the grid's test runs at 2N, known only in "
              "hindsight.\n",
              _header("way | peak LR | schedule", seeds)]
    rows = {**compared, "hindsight: the grid's best cosine": {best_cosine: table[best_cosine]},
            "hindsight: the grid's best run": {best_run: table[best_run]}}
    for label, finals in rows.items():
        if not finals:  # (c) when the law gave no answer
            lines.append(f"| {label} | - | no answer | " + "- | " * len(seeds) + "- | - |")
            continue
        (lr, kind, _), values = next(iter(finals.items()))
        lines.append(_row(f"{label} | {lr:g} | {kind}", values, len(seeds)))
    ways, target = _ways(compared, noise)
    lines += [f"\n{ways} In hindsight the grid's best peak LR for cosine at {2 * n} steps is "
              f"{best_cosine[0]:g}.\n",
              _law(by_law, compared[LAW], best_run, lrs, target)]
    return "\n".join(lines)


def _ways(compared: dict, noise: float) -> tuple[str, str]:
    """The ways compared in words, and whether (c) met its target (at or below the
    better of (a) and (b))."""
    (a, (lr_a, finals_a)), (b, (lr_b, finals_b)) = (
        (label[:3], next(iter(finals.items()))) for label, finals in list(compared.items())[:2])
    if lr_a == lr_b:
        text = (f"{a} and {b} pick the same peak LR here (the range test's suggestion is "
                "the best pilot's LR): the same runs.")
    else:
        text = _versus(b, a, float(np.mean(finals_b) - np.mean(finals_a)), noise) + "."
    if not compared[LAW]:
        return text + " (c): the law gave no answer (below).", "no answer"
    better, finals_better = min(((a, finals_a), (b, finals_b)), key=lambda w: np.mean(w[1]))
    diff = float(np.mean(next(iter(compared[LAW].values()))) - np.mean(finals_better))
    versus = _versus("(c)", better, diff, noise)
    judged = ("not judged" if math.isnan(noise) else
              "missed" if verdict(diff, noise) == "does not reproduce" else "met")
    return f"{text} {versus}.", f"{judged} ({versus})"


def _header(first: str, seeds: list) -> str:
    return (f"| {first} | " + " | ".join(f"seed {x}" for x in seeds) + " | mean | spread |\n"
            + "|---" * (first.count("|") + 1) + "|" + "---|" * len(seeds) + "---|---|")


def _row(first: str, values: list, seeds: int) -> str:
    """A table row: ``first``, the final val loss per seed, their mean and range."""
    cells = [_loss(v) for v in values] + [""] * (seeds - len(values))
    return (f"| {first} | " + " | ".join(cells) + f" | {_loss(float(np.mean(values)))} | "
            + (f"{np.ptp(values):.4f} |" if len(values) > 1 else "- |"))


def _law(by_law: dict, finals: dict, best_run: tuple, lrs: list, target: str) -> str:
    """(c) in detail: the law's fit, choice and prediction (``finals``: its measured final
    losses), its scores on the test runs, and issue 19's targets (``target``: (c)'s)."""
    fit, choice, gap, regret = (by_law[k] for k in ("fit", "choice", "gap_error", "lr_regret"))
    refused, note = by_law["refused"], ""
    if refused:
        (lr, family), why = next(iter(refused.items()))
        note = (f" It gave no answer for {len(refused)} of the {GRID * len(FAMILIES)} "
                f"(peak LR, family) pairs, at peak LRs "
                f"{', '.join(f'{x:g}' for x in dict.fromkeys(x for x, _ in refused))} "
                f"(the first, {lr:g} {family}: {why}).")
    if choice is None:
        chosen = " So it chose nothing."
    else:
        measured = float(np.mean(next(iter(finals.values()))))
        chosen = (f" The best: `{choice.schedule.to_spec()}` at peak LR {choice.peak_lr:g}, "
                  f"predicted final {choice.loss:.4f} (80% interval {choice.interval[0]:.4f}-"
                  f"{choice.interval[1]:.4f}), measured {measured:.4f} (mean over seeds; "
                  f"predicted minus measured {choice.loss - measured:+.4f}). The best "
                  f"measured run of the grid at 2N ran at {best_run[0]:g} ({best_run[1]}): "
                  f"the law's peak LR is {choice.peak_lr / best_run[0]:.2g}x that.")
    gap_mean = float(np.mean(list(gap.values())))
    lines = [
        "## The cross-LR law on this data\n",
        f"(c): `lrsched.CrossLRLaw` fitted jointly on the {2 * len(lrs)} pilots"
        + (f" (the fit warns: {'; '.join(fit.warnings)})" if fit.warnings else "") + ", "
        f"then asked (`lrsched.optimize`, as `lrsched.sweep` does) at {GRID} log-spaced peak "
        f"LRs from {lrs[0]:g} to {lrs[-1]:g} (3 significant digits) for the best schedule "
        f"of each family of {', '.join(FAMILIES)}.{note}{chosen}\n",
        "The law fitted on the pilots, scored on the test runs with benchmarks/cross_lr.py's "
        "measures (`decisions`, `lr_regret`), the seeds ranked apart: gap error (sum over "
        "pairs of runs of one length at one peak LR of |predicted gap - measured gap|, over "
        "the sum of |measured gap|) per peak LR, and lr-regret (per run length, over every "
        "peak LR's runs: the measured final loss of the run predicted best minus the best "
        "measured; mean over the seeds). Mean final-loss error over the test runs: "
        f"{by_law['final_e']:.2%}.\n",
        "| peak LR | " + " | ".join(f"{lr:g}" for lr in gap) + " | mean |",
        "|---|" + "---|" * len(gap) + "---|",
        "| gap error | " + " | ".join(f"{g:.2f}" for g in gap.values())
        + f" | {gap_mean:.2f} |\n",
        "| run length | " + " | ".join(map(str, regret)) + " |",
        "|---|" + "---|" * len(regret),
        "| lr-regret | " + " | ".join(f"{r:.4f}" for r in regret.values()) + " |\n",
        f"Against issue 19's targets: (c) at or below the better of (a) and (b): {target}; "
        f"gap error {gap_mean:.2f}, {_met(gap_mean, TARGETS['gap error'])}; lr-regret "
        + ", ".join(f"{r:.4f} at {t} steps" for t, r in regret.items())
        + f", {_met(max(regret.values()), TARGETS['lr-regret'])}.",
    ]
    return "\n".join(lines) + "\n"


def _met(value: float, target: float) -> str:
    return f"{'met' if value <= target else 'missed'} (<= {target:g})"


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
