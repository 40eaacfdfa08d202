"""The sweep's report: markdown from the analysis' plain data, and its pictures."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from lrsched.plot import save_figure

PROSE = {"holds": "**holds** ({diff:+.4f}, beyond the seed spread).",
         "does not reproduce": "**does not reproduce** here ({diff:+.4f}, worse by more "
                               "than the seed spread)."}


def loss(value: float) -> str:
    return "diverged" if not math.isfinite(value) else f"{value:.4f}"


def claim(diff: float, verdict: str, strict: bool) -> str:
    if verdict == "within noise":
        return (f"**within noise** ({diff:+.4f}, inside the seed spread"
                + ("; a tie, not a win)." if strict else "; it matches)."))
    return PROSE[verdict].format(diff=diff)


def header(base, results: dict, warmup: int, command: str, jobs: int) -> str:
    timed = [s for s in results.values() if s["tokens_per_s"]]
    rate = np.median([s["tokens_per_s"] for s in timed])
    m = base.model
    return (
        f"# Validation sweep: preset {base.preset}\n\n"
        f"Command: `{command}`.\n"
        f"Model: {timed[0]['params']:,} parameters ({m.n_layer} layers, width {m.n_embd}, "
        f"context {m.block_size} bytes); {base.steps} steps of {base.batch_size} x "
        f"{m.block_size} tokens per run; warmup {warmup} steps; AdamW (betas {base.beta1}, "
        f"{base.beta2}, weight decay {base.weight_decay}), clip {base.grad_clip}. Data: "
        f"{base.data}, last {base.val_fraction:.0%} of every file held out; val loss on "
        f"{base.eval_windows} fixed windows. Device: {timed[0]['device']}; median "
        f"{rate:,.0f} tokens/s per run, {jobs} run(s) at a time; {len(results)} runs, "
        f"{sum(s['seconds'] for s in results.values()) / 60:.0f} min of training summed over "
        "runs.\n\n"
        "Losses are in nats per byte. The *seed spread* is the mean |seed 0 - seed 1| "
        "difference of final val loss over the schedules of part 1: differences below it "
        "are not resolved by this sweep.\n\n")


def head_to_head(h: dict, labels: dict, late_drop: float) -> str:
    lrs, seeds, mean = h["lrs"], h["seeds"], h["mean"]
    lines = ["## 1. Schedules head to head", "",
             f"Final val loss at each schedule's best peak LR (grid "
             f"{', '.join(f'{lr:g}' for lr in lrs)} on seed {seeds[0]}), then on seeds "
             f"{', '.join(map(str, seeds))}.", "",
             "| schedule | best peak LR | " + " | ".join(f"seed {s}" for s in seeds)
             + " | mean | vs cosine |",
             "|---|---|" + "---|" * len(seeds) + "---|---|"]
    for k, label in labels.items():
        edge = " (grid edge)" if h["best"][k] in (lrs[0], lrs[-1]) else ""
        lines.append(f"| {label} | {h['best'][k]:g}{edge} | "
                     + " | ".join(map(loss, h["finals"][k]))
                     + f" | {mean[k]:.4f} | {mean[k] - mean['cosine']:+.4f} |")
    lines += ["", f"Seed spread: {h['spread']:.4f}.", "",
              f"| grid (seed {seeds[0]}) | " + " | ".join(f"{lr:g}" for lr in lrs) + " |",
              "|---|" + "---|" * len(lrs)]
    lines += [f"| {k} | " + " | ".join(map(loss, h["grid"][k])) + " |" for k in labels]
    linear, wsd = h["vs_cosine"]["linear"], h["vs_cosine"]["wsd"]
    lines += ["", "Claims:", "",
              "- Linear decay to zero is at least as good as cosine (Defazio et al. 2023): "
              + claim(linear["diff"], linear["verdict"], strict=True),
              "- WSD with a 1-sqrt cooldown matches or beats cosine (Hägele et al. 2024): "
              + claim(wsd["diff"], wsd["verdict"], strict=False),
              "", "For context: constant minus cosine is "
              f"{mean['constant'] - mean['cosine']:+.4f}; the constant run's val loss still "
              f"fell by {late_drop:.4f} over its last 10% of steps (the larger, the further "
              "from converged the runs end, and the more an early LR decay costs).",
              "", "![val loss of the four schedules](head_to_head.png)"]
    return "\n".join(lines)


def refined(r: dict, seeds: list, warmup: int, lr: float) -> str:
    rows = ["| schedule | " + " | ".join(f"seed {s}" for s in seeds) + " | mean |",
            "|---|" + "---|" * (len(seeds) + 1)]
    rows += [f"| {k} | " + " | ".join(map(loss, v)) + f" | {r['mean'][k]:.4f} |"
             for k, v in r["finals"].items()]
    return "\n".join([
        "## 2. Refined schedule vs linear", "",
        f"`refine(l1 gradient norms of linear seed {seeds[0]} after the warmup, "
        f"kind='adam')` behind the same {warmup}-step warmup, at linear's best peak LR "
        f"{lr:g} (Defazio et al. 2023 claim refinement improves on linear decay).", "",
        *rows, "", "Refined minus linear: " + claim(r["diff"], r["verdict"], strict=True), "",
        "![refined vs linear](refined.png)"])


def laws(data: dict, fitted: list[str]) -> str:
    lines = ["## 3. Loss-curve prediction", "",
             f"The momentum and multi-power laws and the blend (fit-curve's default) fitted "
             f"to the val curves of {' and '.join(fitted)}; each other run's "
             "val curve predicted from its LRs alone (points after the warmup). PredE = mean "
             "|pred - actual| / actual, WorstE = the largest.", ""]
    lines += [f"- {k}: {v}" for k, v in data["failed"].items()]
    good = list(data["scores"])
    if not good:
        return "\n".join(lines)
    lines += ["| run | " + " | ".join(f"{k} PredE | {k} WorstE" for k in good) + " |",
              "|---|" + "---|---|" * len(good)]
    runs = data["scores"][good[0]]
    for n in runs:
        lines.append(f"| {n} | " + " | ".join(
            f"{data['scores'][k][n]['pred_e']:.4f} | {data['scores'][k][n]['worst_e']:.4f}"
            for k in good) + " |")
    for label, means in data["means"].items():
        lines.append(f"| {label} | " + " | ".join(
            f"{means[k]['pred_e']:.4f} | {means[k]['worst_e']:.4f}" for k in good) + " |")
    lines += ["", "(The multi-power-law paper reports PredE around 0.002-0.005 on "
              "400M-parameter runs; these are 1M-parameter runs of a few hundred steps, "
              "whose val curves are noisier.)", "", "![predictions](laws.png)"]
    return "\n".join(lines)


def continual(rows: dict, labels: dict, steps: int, lr: float, anneal: int,
              first: float, cosine: float) -> str:
    lines = ["## 4. Continual pre-training: Shakespeare, then Python source", "",
             f"{steps} steps on each corpus at cosine's best peak LR {lr:g}. Re-warmed cosine: "
             f"`{labels['re-warmed cosine']}`; infinite (Ibrahim et al. 2024): constant "
             f"after a cosine cooldown, exponential anneal over the last {anneal} steps: "
             f"`{labels['infinite']}`. The infinite schedule is not annealed at the end "
             "of the first segment (it would be, on a branch, if that model were needed).",
             "",
             "| schedule | after segment 1: shakespeare | python | after segment 2: "
             "shakespeare | python | forgetting | adaptation |",
             "|---|---|---|---|---|---|---|"]
    for k, r in rows.items():
        (s1, p1), (s2, p2) = r["after_1"], r["after_2"]
        lines.append(f"| {k} | {s1:.4f} | {p1:.4f} | {s2:.4f} | {p2:.4f} | "
                     f"{r['forgetting']:+.4f} | {r['adaptation']:+.4f} |")
    same = "it does." if math.isclose(first, cosine, rel_tol=1e-6) else "it does not."
    lines += ["", "Forgetting: the change of Shakespeare loss over segment 2; adaptation: "
              "the change of Python loss. Check: the re-warmed cosine's first segment repeats "
              "part 1's cosine run step for step (same LRs, data and seed), so its "
              f"Shakespeare loss after segment 1 ({first:.4f}) should equal that run's final "
              f"val loss ({cosine:.4f}): " + same, "", "![continual](continual.png)"]
    return "\n".join(lines)


def autolrs(result: dict, lr_range: tuple, steps: int, best: str, best_lr: float,
            hand: float, spread: float) -> str:
    return "\n".join([
        "## 5. AutoLRS vs the best hand-tuned schedule", "",
        f"AutoLRS (Jin et al. 2021) searching LRs in [{lr_range[0]:g}, {lr_range[1]:g}] "
        f"with {result['trials']} trials a stage, spending the same {steps} steps: "
        f"its trials take {steps - result['kept_steps']} of them and "
        f"{result['kept_steps']} train the model it keeps (seed {result['config']['seed']}).",
        "", "| schedule | final val loss |", "|---|---|",
        f"| AutoLRS | {result['val_loss']:.4f} |",
        f"| {best} at {best_lr:g} (best hand-tuned) | {hand:.4f} |", "",
        f"AutoLRS minus best hand-tuned: {result['val_loss'] - hand:+.4f} (seed spread "
        f"{spread:.4f}). Trials and stages: autolrs_history.json.", "",
        "![AutoLRS search](autolrs.png)"])


# -- pictures --------------------------------------------------------------------------------


def _figure(panels: int):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.2 * panels, 3.4), layout="constrained")
    return fig, fig.subplots(1, panels)


def _zoom(ax) -> None:
    """Clip the first steep points so that the differences at the end are visible."""
    ys = np.concatenate([line.get_ydata() for line in ax.get_lines()])
    ys = ys[np.isfinite(ys)]
    low, high = ys.min(), np.quantile(ys, 0.9)
    ax.set_ylim(low - 0.05 * (high - low), high)


def _val(ax, curve: dict, column: str = "val_loss", **style) -> None:
    seen = ~np.isnan(curve[column])
    ax.plot(curve["step"][seen], curve[column][seen], ".-", ms=3, **style)


def plot_head_to_head(curves: dict, best: dict, seed: int, path: Path) -> None:
    fig, (left, right) = _figure(2)
    for i, (k, c) in enumerate(curves.items()):
        left.plot(c["step"], c["lr"], color=f"C{i}", label=f"{k} ({best[k]:g})")
        _val(right, c, color=f"C{i}", label=k)
    _zoom(right)
    left.set(xlabel="step", ylabel="learning rate", title="schedules at their best LR")
    right.set(xlabel="step", ylabel="val loss", title=f"seed {seed}")
    left.legend(fontsize=8)
    right.legend(fontsize=8)
    save_figure(fig, path)


def plot_refined(norms: np.ndarray, warmup: int, curves: dict, seed: int, path: Path) -> None:
    fig, (a, b, c) = _figure(3)
    a.plot(np.arange(norms.size) + warmup, norms, lw=0.8)
    a.set(xlabel="step", ylabel="l1 gradient norm", title="linear run's norms")
    for i, (k, run) in enumerate(curves.items()):
        b.plot(run["step"], run["lr"], color=f"C{i}", label=k)
        _val(c, run, color=f"C{i}", label=k)
    _zoom(c)
    b.set(xlabel="step", ylabel="learning rate", title="schedules")
    c.set(xlabel="step", ylabel="val loss", title=f"seed {seed}")
    b.legend(fontsize=8)
    save_figure(fig, path)


def plot_laws(fits: dict, curves: dict, path: Path) -> None:
    """Measured val curves (dots) and each law's prediction (lines), a panel per law."""
    from lrsched.lr_arrays import first_used_step

    fits = {k: f for k, f in fits.items() if not isinstance(f, str)}
    if not fits:
        return
    fig, axes = _figure(len(fits))
    for ax, (law, fit) in zip(np.atleast_1d(axes), fits.items()):
        for i, (name, c) in enumerate(curves.items()):
            steps = np.arange(first_used_step(c.lrs), c.lrs.size)
            ax.plot(c.steps, c.loss, "o", ms=3, color=f"C{i}", label=f"{name} (measured)")
            ax.plot(steps, fit.predict(c.lrs, steps), color=f"C{i}", lw=1)
        _zoom(ax)
        ax.set(xlabel="step", ylabel="val loss", title=f"{law} law: predicted (lines)")
        ax.legend(fontsize=7)
    save_figure(fig, path)


def plot_continual(curves: dict, steps: int, corpora: tuple, path: Path) -> None:
    fig, axes = _figure(3)
    for i, (k, c) in enumerate(curves.items()):
        axes[0].plot(c["step"], c["lr"], color=f"C{i}", label=k)
        for ax, corpus in zip(axes[1:], corpora):
            _val(ax, c, f"val_{corpus}", color=f"C{i}", label=k)
            ax.set(xlabel="step", ylabel="val loss", title=f"val loss on {corpus}")
            ax.axvline(steps, color="0.6", lw=0.8, ls=":")
    axes[0].set(xlabel="step", ylabel="learning rate", title="schedules")
    axes[0].legend(fontsize=8)
    save_figure(fig, path)
