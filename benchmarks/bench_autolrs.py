"""AutoLRS (Jin et al. 2021) against the best hand-tuned schedule, on the harness's tiny
preset (a 0.84M-parameter byte-level GPT on Shakespeare, AdamW, 600 steps of 16 x 128).

Run: python benchmarks/bench_autolrs.py   (about 15 minutes on 2 idle CPU cores)
Writes benchmarks/results/autolrs.md, benchmarks/results/autolrs.png and
docs/img/autolrs.png (the search picture of the exponential-forecaster run).

Baselines: cosine (to 0.1), linear and WSD (20% linear decay), each with the preset's 5%
warmup, at every peak LR of GRID; the best final val loss wins. AutoLRS gets the same
600 optimizer steps *including its trial steps*, once per forecaster. Its val-loss curve
comes from replaying the schedule it found (ScheduleLR on the exploitation batches,
which reproduces the searched run exactly) with an evaluation every EVAL_EVERY kept
steps, each point placed at the optimizer steps AutoLRS had used by then.
"""

from __future__ import annotations

import csv
import itertools
import json
import platform
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
STEPS, GRID = 600, (2e-3, 4e-3, 8e-3)
WARMUP = round(0.05 * STEPS)  # the preset's 5%
BASELINES = {name: spec.format(n=STEPS, w=WARMUP) for name, spec in {
    "cosine": "cosine:total_steps={n},warmup={w},final=0.1",
    "linear": "linear:total_steps={n},warmup={w}", "wsd": "wsd:total_steps={n},warmup={w}"}.items()}
SEARCH = {"lr_range": (4e-4, 1.6e-2), "trials": 6, "tau_trial": 10, "tau": 60, "tau_max": 200}
EVAL_EVERY = 20


def baseline(task: tuple[str, float]) -> dict:
    from lrsched.harness import Trainer, preset

    torch.set_num_threads(1)
    name, lr = task
    with tempfile.TemporaryDirectory() as out:
        cfg = preset("tiny", schedule=BASELINES[name], peak_lr=lr)
        trainer = Trainer(cfg, out=Path(out) / "run")
        trainer.run()
        with open(Path(out) / "run" / "curve.csv") as f:
            rows = [r for r in csv.DictReader(f) if r["val_loss"]]
    curve = [(int(r["step"]) + 1, float(r["val_loss"])) for r in rows]
    return {"name": name, "lr": lr, "curve": curve, "final": curve[-1][1]}


def autolrs(forecaster: str) -> dict:
    from lrsched import AutoLRS, ScheduleLR
    from lrsched.harness import Trainer, preset

    torch.set_num_threads(1)
    clock = time.perf_counter()
    trainer = Trainer(preset("tiny", steps=STEPS, schedule="constant"), progress=False)
    label = trainer.corpora[0].label
    search = AutoLRS(trainer.model, trainer.optimizer,
                     lambda windows: float(trainer.train_step(windows)[0]),
                     val_loss=lambda: trainer.evaluate()[label], forecaster=forecaster,
                     seed=0, **SEARCH)
    search.run((trainer.batch(t) for t in itertools.count()), STEPS)
    final = trainer.evaluate()[label]
    seconds = time.perf_counter() - clock

    # Replay the kept run with evaluations: kept step j of a stage -> steps used by then.
    replay = Trainer(preset("tiny", steps=STEPS, schedule="constant"), progress=False)
    scheduler = ScheduleLR(replay.optimizer, search.schedule())
    curve, kept = [], 0
    for stage in search.stages:
        first = stage["steps_used"] - stage["tau"]
        for j, t in enumerate(range(*stage["batches"])):
            replay.train_step(replay.batch(t))
            scheduler.step()
            kept += 1
            if kept % EVAL_EVERY == 0 or j == stage["tau"] - 1:
                curve.append((first + j + 1, replay.evaluate()[label]))
    assert curve[-1][1] == final, "the replay must reproduce the searched run"
    return {"name": f"AutoLRS ({forecaster})", "forecaster": forecaster, "final": final,
            "curve": curve, "state": search.state_dict(), "seconds": seconds}


def steps_to_reach(curve, target: float) -> float | None:
    """The first step where the val curve reaches ``target`` (linear between points)."""
    steps, losses = (np.array(v, dtype=float) for v in zip(*curve))
    below = np.flatnonzero(losses <= target)
    if below.size == 0:
        return None
    i = below[0]
    if i == 0:
        return float(steps[0])
    frac = (losses[i - 1] - target) / (losses[i - 1] - losses[i])
    return float(steps[i - 1] + frac * (steps[i] - steps[i - 1]))


def figure(best: dict, searches: list[dict]):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.6), layout="constrained")
    loss_ax, lr_ax = fig.subplots(1, 2)
    loss_ax.plot(*zip(*best["curve"]), ".-", color="k", ms=3,
                 label=f"best baseline: {best['name']} at {best['lr']:g}")
    for i, s in enumerate(searches):
        loss_ax.plot(*zip(*s["curve"]), ".-", color=f"C{i}", ms=3, label=s["name"])
        stages = s["state"]["stages"]
        sched_steps = np.concatenate([np.arange(*st["steps"]) for st in stages])
        sched_lrs = np.concatenate([np.full(st["tau"], st["lr"]) for st in stages])
        lr_ax.step(sched_steps, sched_lrs, where="post", color=f"C{i}", label=s["name"])
    loss_ax.set(xlabel="optimizer steps taken (AutoLRS: trials included)", ylabel="val loss",
                title="val loss at equal compute")
    values = [v for _, v in best["curve"]] + [v for s in searches for _, v in s["curve"]]
    loss_ax.set_ylim(min(values) - 0.02, np.quantile(values, 0.9))
    loss_ax.legend(fontsize=8)
    lr_ax.set(xlabel="kept step (trial steps left out)", ylabel="learning rate", yscale="log",
              title="the LRs AutoLRS kept")
    lr_ax.legend(fontsize=8)
    return fig


def main() -> None:
    from lrsched.autolrs.figure import search_figure
    from lrsched.drawing import save_figure

    clock = time.perf_counter()
    with Pool(2) as pool:
        searches = pool.map_async(autolrs, ["exponential", "momentum"])
        runs = pool.map(baseline, [(n, lr) for n in BASELINES for lr in GRID])
        searches = searches.get()
    best_by = {n: min((r for r in runs if r["name"] == n), key=lambda r: r["final"])
               for n in BASELINES}
    best = min(best_by.values(), key=lambda r: r["final"])
    minutes = (time.perf_counter() - clock) / 60

    lines = [
        "# AutoLRS vs the best hand-tuned schedule (harness tiny preset)", "",
        "Command: `python benchmarks/bench_autolrs.py` "
        f"({minutes:.0f} minutes on {torch.get_num_threads()} CPU threads, "
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}).", "",
        "Model and data: the harness `tiny` preset (4 layers, 128 wide, byte-level GPT on "
        f"Shakespeare; AdamW; {STEPS} steps of 16 x 128 tokens). Baselines at peak LRs "
        f"{', '.join(f'{lr:g}' for lr in GRID)} with 5% warmup; AutoLRS with "
        f"{json.dumps(SEARCH)} and `val_loss` (used once tau_trial >= tau_max/10), "
        "no warmup. Every AutoLRS step counts: its trials take part of the same "
        f"{STEPS}-step budget.", "",
        "## Baselines (final val loss)", "",
        "| schedule | " + " | ".join(f"lr {lr:g}" for lr in GRID) + " |",
        "|---|" + "---|" * len(GRID),
    ]
    for name in BASELINES:
        finals = [next(r for r in runs if r["name"] == name and r["lr"] == lr)["final"]
                  for lr in GRID]
        lines.append(f"| {name} | " + " | ".join(f"{v:.4f}" for v in finals) + " |")
    lines += [
        "", f"## At equal total steps ({STEPS}, trial steps counted)", "",
        "| run | final val loss | steps to reach the best baseline's final val loss "
        "| steps the best baseline needs for this run's final val loss | trial steps "
        "| kept steps | LRs kept (per stage) |",
        "|---|---|---|---|---|---|---|",
        f"| best baseline: {best['name']} at lr {best['lr']:g} | {best['final']:.4f} "
        f"| {STEPS} | {STEPS} | 0 | {STEPS} | schedule |",
    ]
    for s in searches:
        st = s["state"]
        reach = steps_to_reach(s["curve"], best["final"])
        needed = steps_to_reach(best["curve"], s["final"])
        trial = sum(t["steps"] for t in st["history"])
        kept = sum(x["tau"] for x in st["stages"])
        lrs = ", ".join(f"{x['lr']:.2g} x {x['tau']}" for x in st["stages"])
        lines.append(
            f"| {s['name']} | {s['final']:.4f} | "
            f"{'not reached' if reach is None else f'{reach:.0f}'} | "
            f"{'not reached' if needed is None else f'{needed:.0f} ({needed / STEPS:.2f}x)'} "
            f"| {trial} | {kept} | {lrs} |")
    lines += [
        "", "Speedup in the paper's sense is (steps the baseline needs) / (steps AutoLRS "
        "needs) for the same loss; the column 'steps the best baseline needs' over "
        f"{STEPS} gives it for AutoLRS's final loss (below 1x: AutoLRS is slower).",
        "", "![val loss and kept LRs](autolrs.png)", "",
        "The search itself (exponential forecaster): docs/img/autolrs.png.", "",
    ]
    (RESULTS / "autolrs.md").write_text("\n".join(lines))
    save_figure(figure(best, searches), RESULTS / "autolrs.png")
    save_figure(search_figure(searches[0]["state"]), ROOT / "docs" / "img" / "autolrs.png")
    (RESULTS / "autolrs_history.json").write_text(json.dumps(
        {s["forecaster"]: s["state"] for s in searches}) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
