"""The sweep's runs: their configs, and training them (or reusing them) in DIR/runs/NAME.

A folder that holds a finished (or diverged) run of the same config is reused, one that
holds an unfinished one is resumed, and one that holds a run of another config stops the
sweep with an error: run folders are never deleted (their checkpoints are, once a run
has finished, to save space).
"""

from __future__ import annotations

import csv
import json
import math
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from lrsched.errors import InputError
from lrsched.harness.presets import Config

WARMUP = 0.05  # of every run's steps
# name: (label in the report, complete spec for a run of n steps with w warmup steps)
HEAD_TO_HEAD = {
    "constant": ("constant", "constant:warmup={w}"),
    "cosine": ("cosine:final=0.1", "cosine:total_steps={n},warmup={w},final=0.1"),
    "linear": ("linear:final=0", "linear:total_steps={n},warmup={w},final=0"),
    "wsd": ("wsd:decay_steps=20%,shape=1-sqrt",
            "wsd:total_steps={n},warmup={w},decay_steps={d},shape=1-sqrt"),
}
CORPORA = ("shakespeare", "python")  # continual pre-training: first segment, second


def warmup_steps(config: Config) -> int:
    return round(WARMUP * config.steps)


def head_to_head_spec(name: str, config: Config) -> str:
    n = config.steps
    return HEAD_TO_HEAD[name][1].format(n=n, w=warmup_steps(config), d=round(0.2 * n))


def refined_spec(norms: np.ndarray, config: Config) -> str:
    """The schedule refined from ``norms`` (l1, after the warmup) behind the same warmup."""
    from lrsched.refinement import refine
    from lrsched.schedules import tabulated

    warmup = warmup_steps(config)
    body = refine(norms, kind="adam", total_steps=config.steps - warmup)
    return tabulated(values=[round(v, 5) for v in body.values], warmup=warmup).to_spec()


def continual_specs(config: Config) -> dict[str, tuple[str, str]]:
    """Label and complete spec of the two continual schedules over 2 x ``config.steps``."""
    n, w = config.steps, warmup_steps(config)
    anneal = round(0.2 * n)
    labels = {"re-warmed cosine": f"continual:segments=[{n},{n}],warmup={w},rewarm={w},"
                                  "final=0.1",
              "infinite": f"infinite:warmup={w},cooldown_steps={n - w},const=0.5,final=0.1,"
                          f"anneal_at={2 * n - anneal},anneal_steps={anneal}"}
    specs = {"re-warmed cosine": labels["re-warmed cosine"],
             "infinite": labels["infinite"].replace("infinite:", f"infinite:total_steps="
                                                                 f"{2 * n},")}
    return {k: (labels[k], specs[k]) for k in labels}


def run_name(schedule: str, lr: float, seed: int) -> str:
    return f"{schedule}-lr{lr:g}-s{seed}"


class Runner:
    """Trains runs into ``runs``, ``jobs`` at a time in worker processes (one by one
    here when ``jobs`` is 1); ``results`` holds every run's summary (run.json)."""

    def __init__(self, runs: Path, jobs: int = 1) -> None:
        self.runs, self.jobs = runs, jobs
        self.results: dict[str, dict] = {}
        self.runs.mkdir(parents=True, exist_ok=True)

    def train(self, configs: dict[str, Config]) -> None:
        """Train (or reuse, or resume) the runs named in ``configs``."""
        kept, todo = {}, {}
        for name, config in configs.items():
            saved = self._saved(name, config)
            if saved is not None and (saved["finished"] or saved["diverged"]):
                kept[name] = saved
            else:
                todo[name] = (config.to_dict(), str(self.runs / name),
                              (self.runs / name).exists())
        done = self.map(_train, todo)
        stopped = [name for name, summary in done.items() if summary["interrupted"]]
        self.results.update((name, kept.get(name) or done[name]) for name in configs)
        if stopped:
            raise KeyboardInterrupt(f"stopped with a checkpoint: {', '.join(stopped)}; run "
                                    "the same command again to continue")

    def _saved(self, name: str, config: Config) -> dict | None:
        """The run.json of run ``name``, if it holds one: refused if its config differs."""
        from lrsched.harness.train import RUN_JSON, read_config

        folder = self.runs / name
        path = folder / RUN_JSON
        if path.is_file():
            try:
                saved = json.loads(path.read_text())
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}: not valid JSON ({exc.msg}); the run's record is "
                                 "damaged: move the folder away to train it again") from None
            held = saved["config"]
        elif folder.exists():
            saved, held = None, read_config(folder).to_dict()
        else:
            return None
        if held != config.to_dict():
            diff = [k for k in held if held[k] != config.to_dict().get(k)]
            raise InputError(f"{folder} holds a run of another config ({', '.join(diff)} "
                             "differ); move it away, or give the sweep another --out")
        return saved

    def map(self, fn, calls: dict[str, tuple]) -> dict:
        """``{name: fn(*args, threads)}``: ``self.jobs`` calls at once in worker processes
        of one thread each, or one by one here (threads None) when jobs is 1."""
        if self.jobs == 1 or not calls:
            return {name: fn(*args, None) for name, args in calls.items()}
        with ProcessPoolExecutor(self.jobs, mp_context=get_context("spawn")) as pool:
            futures = {name: pool.submit(fn, *args, 1) for name, args in calls.items()}
            return {name: future.result() for name, future in futures.items()}

    def curve(self, name: str) -> dict[str, np.ndarray]:
        """The columns of a run's curve.csv (empty cells as NaN)."""
        with open(self.runs / name / "curve.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        return {k: np.array([float(r[k]) if r[k] else np.nan for r in rows]) for k in rows[0]}


def _train(config: dict, out: str, resume: bool, threads: int | None) -> dict:
    """Train one run (in a worker process when ``threads`` is given); drop its checkpoint
    once it has finished."""
    import torch

    from lrsched.harness.train import CHECKPOINT, Trainer

    if threads:
        torch.set_num_threads(threads)
    summary = Trainer(Config.from_dict(config), out, progress=False).run(resume=resume)
    if summary["finished"]:
        (Path(out) / CHECKPOINT).unlink(missing_ok=True)
    final = summary["final_val_loss"] if summary["finished"] else math.inf
    print(f"[sweep] {Path(out).name}: final val "
          f"{'diverged' if not math.isfinite(final) else f'{final:.4f}'}, "
          f"{summary['seconds']:.0f} s, {summary['tokens_per_s'] or 0:.0f} tokens/s", flush=True)
    return summary


def search_autolrs(config: dict, lr_range: tuple, out: str, threads: int | None) -> dict:
    """AutoLRS over a run's step budget: its final val loss, and its history and
    picture in ``out``."""
    import itertools

    import torch

    from lrsched.autolrs import AutoLRS
    from lrsched.harness.train import Trainer

    if threads:
        torch.set_num_threads(threads)
    cfg = Config.from_dict(config)
    tau_trial = max(4, cfg.steps // 30)
    tau = max(cfg.steps // 6, tau_trial + 1)
    trials = min(5, (cfg.steps - tau) // tau_trial)  # five, unless the run is too short
    trainer = Trainer(cfg, progress=False)
    label = trainer.corpora[0].label
    search = AutoLRS(trainer.model, trainer.optimizer,
                     lambda windows: float(trainer.train_step(windows)[0]), lr_range,
                     trials=trials, tau_trial=tau_trial, tau=tau,
                     val_loss=lambda: trainer.evaluate()[label], seed=cfg.seed)
    search.run((trainer.batch(t) for t in itertools.count()), cfg.steps)
    search.save_history(Path(out) / "autolrs_history.json")
    search.plot(Path(out) / "autolrs.png")
    return {"config": config, "trials": trials, "val_loss": trainer.evaluate()[label],
            "kept_steps": search.schedule().total_steps, "steps_used": search.steps_used}
