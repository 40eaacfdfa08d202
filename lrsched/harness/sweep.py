"""``lrsched harness sweep``: the validation sweep and its report, DIR/report.md.

1. constant, cosine to 10%, linear to zero and WSD (20% 1-sqrt cooldown), each at the
   best peak LR of a grid (first seed), then on every seed at that LR;
2. the schedule refined from the linear run's gradient norms, against linear;
3. both loss-curve laws fitted to the constant and cosine runs, predicting the others;
4. continual pre-training, Shakespeare then Python: re-warmed cosine vs infinite;
5. AutoLRS against the best hand-tuned schedule.

Every part always runs (part 5 needs the ``autolrs`` extra). Runs live in DIR/runs/NAME
(their checkpoints are deleted once finished); a finished run is reused, so a sweep that
was stopped continues where it was.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from lrsched.harness.presets import Config, preset

HEAD_TO_HEAD = {
    "constant": "constant",
    "cosine": "cosine:final=0.1",
    "linear": "linear:final=0",
    "wsd": "wsd:decay_steps=20%,shape=1-sqrt",
}
CORPORA = ("shakespeare", "python")  # part 4: first segment, second segment


def run_sweep(preset_name: str, out: Path, lrs=None, seeds=(0, 1), jobs: int = 1,
              overrides: dict | None = None) -> Path:
    """Run the sweep into ``out``; returns the path of report.md."""
    overrides = overrides or {}
    sweep = Sweep(preset(preset_name, **overrides), out, lrs, seeds, jobs)
    sweep.command = _command(preset_name, out, lrs, seeds, jobs, overrides)
    parts = [sweep.head_to_head(), sweep.refined(), sweep.laws(), sweep.continual(),
             sweep.autolrs()]
    path = out / "report.md"
    path.write_text(sweep.header() + "\n\n".join(parts) + "\n")
    return path


def _command(preset_name, out, lrs, seeds, jobs, overrides) -> str:
    """The command line that runs this sweep."""
    words = ["lrsched harness sweep --preset", preset_name, "--out", str(out)]
    if lrs:
        words += ["--lrs", *(f"{x:g}" for x in lrs)]
    if list(seeds) != [0, 1]:
        words += ["--seeds", *map(str, seeds)]
    if jobs > 1:
        words += ["--jobs", str(jobs)]
    for key, value in overrides.items():
        value = ",".join(map(str, value)) if isinstance(value, tuple) else value
        words += ["--set", f"{key}={value}"]
    return " ".join(words)



def _train(config: dict, out: str, threads: int | None) -> dict:
    """Train one run (in a worker process when ``threads`` is given); drop its checkpoint."""
    import torch

    from lrsched.harness.train import CHECKPOINT, Trainer

    if threads:
        torch.set_num_threads(threads)
    summary = Trainer(Config.from_dict(config), out, progress=False if threads else None).run()
    (Path(out) / CHECKPOINT).unlink(missing_ok=True)
    print(f"[sweep] {Path(out).name}: final val {_loss(_final(summary))}, "
          f"{summary['seconds']:.0f} s, {summary['tokens_per_s']:.0f} tokens/s", flush=True)
    return summary


def _final(summary: dict) -> float:
    return summary["final_val_loss"] if summary["finished"] else math.inf


def _loss(value: float) -> str:
    return "diverged" if not math.isfinite(value) else f"{value:.4f}"


class Sweep:
    """The sweep's runs and its report sections (one method per part)."""

    def __init__(self, base: Config, out: Path, lrs, seeds, jobs: int) -> None:
        self.base, self.out, self.runs = base, out, out / "runs"
        self.lrs = sorted(lrs or [base.peak_lr * f for f in (0.5, 1.0, 2.0)])
        self.seeds, self.jobs = list(seeds), jobs
        self.results: dict[str, dict] = {}
        self.best: dict[str, float] = {}
        self.command = "lrsched harness sweep"
        self.runs.mkdir(parents=True, exist_ok=True)

    # -- runs -------------------------------------------------------------------------------
    def config(self, spec: str, lr: float, seed: int, **changes) -> Config:
        return self.base.replace(schedule=spec, peak_lr=lr, seed=seed, **changes)

    def train(self, configs: dict[str, Config]) -> None:
        """Train the runs named in ``configs`` not finished yet, ``self.jobs`` at a time."""
        todo = {}
        for name, cfg in configs.items():
            path = self.runs / name / "run.json"
            saved = json.loads(path.read_text()) if path.is_file() else None
            if saved and saved["config"] == cfg.to_dict() and (saved["finished"]
                                                                or saved["diverged"]):
                self.results[name] = saved
            else:
                shutil.rmtree(self.runs / name, ignore_errors=True)
                todo[name] = cfg
        self.results.update(self.map(_train, {name: (cfg.to_dict(), str(self.runs / name))
                                              for name, cfg in todo.items()}))

    def map(self, fn, calls: dict[str, tuple]) -> dict:
        """``{name: fn(*args, threads)}``: ``self.jobs`` calls at once in worker processes
        sharing the CPU threads, or one by one here (threads None) when jobs is 1."""
        if self.jobs == 1:
            return {name: fn(*args, None) for name, args in calls.items()}
        import torch

        threads = max(1, torch.get_num_threads() // self.jobs)
        with ProcessPoolExecutor(self.jobs, mp_context=get_context("spawn")) as pool:
            futures = {name: pool.submit(fn, *args, threads) for name, args in calls.items()}
            return {name: future.result() for name, future in futures.items()}

    def curve(self, name: str) -> dict[str, np.ndarray]:
        """The columns of a run's curve.csv (empty cells as NaN)."""
        with open(self.runs / name / "curve.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        return {k: np.array([float(r[k]) if r[k] else np.nan for r in rows]) for k in rows[0]}

    @staticmethod
    def name(schedule: str, lr: float, seed: int) -> str:
        return f"{schedule}-lr{lr:g}-s{seed}"

    def best_name(self, schedule: str, seed: int | None = None) -> str:
        return self.name(schedule, self.best[schedule], self.seeds[0] if seed is None else seed)

    # -- report parts -----------------------------------------------------------------------
    def header(self) -> str:
        cfg = self.base
        summaries = [s for s in self.results.values() if s["tokens_per_s"]]
        rate = np.median([s["tokens_per_s"] for s in summaries])
        return (
            f"# Validation sweep: preset {cfg.preset}\n\n"
            f"Command: `{self.command}`.\n"
            f"Model: {summaries[0]['params']:,} parameters ({cfg.n_layer} layers, width "
            f"{cfg.n_embd}, context {cfg.block_size} bytes); {cfg.steps} steps of "
            f"{cfg.batch_size} x {cfg.block_size} tokens per run; warmup "
            f"{cfg.warmup_steps} steps; AdamW (betas {cfg.beta1}, {cfg.beta2}, weight decay "
            f"{cfg.weight_decay}), clip {cfg.grad_clip}. Data: {cfg.data}, last "
            f"{cfg.val_fraction:.0%} of every file held out; val loss on {cfg.eval_windows} "
            f"fixed windows. Device: {summaries[0]['device']}; median "
            f"{rate:,.0f} tokens/s per run, {self.jobs} run(s) at a time; {len(self.results)} "
            f"runs, {sum(s['seconds'] for s in self.results.values()) / 60:.0f} min of "
            "training summed over runs.\n\n"
            "Losses are in nats per byte. The *seed spread* is the mean |seed 0 - seed 1| "
            "difference of final val loss over the schedules of part 1: differences below "
            "it are not resolved by this sweep.\n\n")

    def head_to_head(self) -> str:
        first = self.seeds[0]
        self.train({self.name(k, lr, first): self.config(spec, lr, first)
                    for k, spec in HEAD_TO_HEAD.items() for lr in self.lrs})
        for k in HEAD_TO_HEAD:
            self.best[k] = min(self.lrs, key=lambda lr: _final(
                self.results[self.name(k, lr, first)]))
        self.train({self.best_name(k, s): self.config(spec, self.best[k], s)
                    for k, spec in HEAD_TO_HEAD.items() for s in self.seeds[1:]})

        finals = {k: [_final(self.results[self.best_name(k, s)]) for s in self.seeds]
                  for k in HEAD_TO_HEAD}
        mean = {k: float(np.mean(v)) for k, v in finals.items()}
        self.spread = float(np.mean([np.ptp(v) for v in finals.values()]))
        lines = ["## 1. Schedules head to head", "",
                 f"Final val loss at each schedule's best peak LR (grid {self._lrs()} on seed "
                 f"{first}), then on seeds {', '.join(map(str, self.seeds))}.", "",
                 "| schedule | best peak LR | " + " | ".join(f"seed {s}" for s in self.seeds)
                 + " | mean | vs cosine |",
                 "|---|---|" + "---|" * len(self.seeds) + "---|---|"]
        for k in HEAD_TO_HEAD:
            edge = " (grid edge)" if self.best[k] in (self.lrs[0], self.lrs[-1]) else ""
            lines.append(f"| {HEAD_TO_HEAD[k]} | {self.best[k]:g}{edge} | "
                         + " | ".join(map(_loss, finals[k]))
                         + f" | {mean[k]:.4f} | {mean[k] - mean['cosine']:+.4f} |")
        lines += ["", f"Seed spread: {self.spread:.4f}.", "",
                  "| grid (seed 0) | " + " | ".join(f"{lr:g}" for lr in self.lrs) + " |",
                  "|---|" + "---|" * len(self.lrs)]
        for k in HEAD_TO_HEAD:
            lines.append(f"| {k} | " + " | ".join(
                _loss(_final(self.results[self.name(k, lr, first)])) for lr in self.lrs) + " |")
        lines += ["", "Claims:", "",
                  "- Linear decay to zero is at least as good as cosine (Defazio et al. 2023): "
                  + self._verdict(mean["linear"] - mean["cosine"], strict=True),
                  "- WSD with a 1-sqrt cooldown matches or beats cosine (Hägele et al. 2024): "
                  + self._verdict(mean["wsd"] - mean["cosine"], strict=False),
                  "", "For context: constant minus cosine is "
                  f"{mean['constant'] - mean['cosine']:+.4f}; "
                  f"the constant run's val loss still fell by {self._late_drop():.4f} over its "
                  "last 10% of steps (the larger, the further from converged the runs end, "
                  "and the more an early LR decay costs).",
                  "", "![val loss of the four schedules](head_to_head.png)"]
        self._plot_head_to_head()
        return "\n".join(lines)

    def _late_drop(self) -> float:
        c = self.curve(self.best_name("constant"))
        seen = ~np.isnan(c["val_loss"])
        steps, val = c["step"][seen], c["val_loss"][seen]
        return float(np.interp(0.9 * steps[-1], steps, val) - val[-1])

    def _lrs(self) -> str:
        return ", ".join(f"{lr:g}" for lr in self.lrs)

    def _verdict(self, diff: float, strict: bool) -> str:
        """Whether ``diff`` (claimed-better minus cosine) supports the claim, given noise."""
        if diff < -self.spread:
            return f"**holds** ({diff:+.4f}, beyond the seed spread)."
        if diff <= self.spread:
            return (f"**within noise** ({diff:+.4f}, inside the seed spread"
                    + ("; a tie, not a win)." if strict else "; it matches)."))
        return f"**does not reproduce** here ({diff:+.4f}, worse by more than the seed spread)."

    def _plot_head_to_head(self) -> None:
        fig, (left, right) = _figure(2)
        for i, k in enumerate(HEAD_TO_HEAD):
            c = self.curve(self.best_name(k))
            left.plot(c["step"], c["lr"], color=f"C{i}", label=f"{k} ({self.best[k]:g})")
            seen = ~np.isnan(c["val_loss"])
            right.plot(c["step"][seen], c["val_loss"][seen], ".-", color=f"C{i}", ms=3,
                       label=k)
        _zoom(right)
        left.set(xlabel="step", ylabel="learning rate", title="schedules at their best LR")
        right.set(xlabel="step", ylabel="val loss", title=f"seed {self.seeds[0]}")
        left.legend(fontsize=8)
        right.legend(fontsize=8)
        _save(fig, self.out / "head_to_head.png")

    def refined(self) -> str:
        title = "## 2. Refined schedule vs linear"
        from lrsched.refinement import refine
        from lrsched.schedules import tabulated

        warmup, lr = self.base.warmup_steps, self.best["linear"]
        norms = self.curve(self.best_name("linear"))["grad_norm_l1"][warmup:]
        body = refine(norms, kind="adam", total_steps=self.base.steps - warmup)
        schedule = tabulated(values=[round(v, 5) for v in body.values], warmup=warmup)
        self.train({self.name("refined", lr, s): self.config(schedule.to_spec(), lr, s)
                    for s in self.seeds})
        rows = ["| schedule | " + " | ".join(f"seed {s}" for s in self.seeds) + " | mean |",
                "|---|" + "---|" * (len(self.seeds) + 1)]
        means = {}
        for k in ("linear", "refined"):
            finals = [_final(self.results[self.name(k, lr, s)]) for s in self.seeds]
            means[k] = float(np.mean(finals))
            rows.append(f"| {k} | " + " | ".join(map(_loss, finals)) + f" | {means[k]:.4f} |")
        self._plot_refined(lr, norms)
        return "\n".join([
            title, "",
            f"`refine(l1 gradient norms of linear seed {self.seeds[0]} after the warmup, "
            f"kind='adam')` behind the same {warmup}-step warmup, at linear's best peak LR "
            f"{lr:g} (Defazio et al. 2023 claim refinement improves on linear decay).", "",
            *rows, "", "Refined minus linear: "
            + self._verdict(means["refined"] - means["linear"], strict=True), "",
            "![refined vs linear](refined.png)"])

    def _plot_refined(self, lr: float, norms: np.ndarray) -> None:
        fig, (a, b, c) = _figure(3)
        a.plot(np.arange(norms.size) + self.base.warmup_steps, norms, lw=0.8)
        a.set(xlabel="step", ylabel="l1 gradient norm", title="linear run's norms")
        for i, k in enumerate(("linear", "refined")):
            run = self.curve(self.name(k, lr, self.seeds[0]))
            b.plot(run["step"], run["lr"], color=f"C{i}", label=k)
            seen = ~np.isnan(run["val_loss"])
            c.plot(run["step"][seen], run["val_loss"][seen], ".-", ms=3, color=f"C{i}", label=k)
        _zoom(c)
        b.set(xlabel="step", ylabel="learning rate", title="schedules")
        c.set(xlabel="step", ylabel="val loss", title=f"seed {self.seeds[0]}")
        b.legend(fontsize=8)
        _save(fig, self.out / "refined.png")

    def laws(self) -> str:
        title = "## 3. Loss-curve prediction"
        from lrsched.curves import read_curve
        from lrsched.laws import FitError, MomentumLaw, MultiPowerLaw

        def curve(name):
            return read_curve(self.runs / name / "curve.csv", loss_col="val_loss", name=name)

        fitted = [self.best_name("constant"), self.best_name("cosine")]
        others = [n for n, s in self.results.items()
                  if s["finished"] and n not in fitted and not s["config"]["switch_at"]]
        scores, fits = {}, {}
        for law in (MomentumLaw(), MultiPowerLaw()):
            try:
                with warnings.catch_warnings():  # lmfit's stderr of a degenerate covariance
                    warnings.simplefilter("ignore", RuntimeWarning)
                    fits[law.name] = law.fit([curve(n) for n in fitted])
            except FitError as exc:
                scores[law.name] = f"fit failed: {exc}"
                continue
            fits[law.name].save(self.out / f"fit_{law.name}.json")
            scores[law.name] = {n: fits[law.name].score(curve(n)) for n in others}
        lines = [title, "", f"Both laws fitted to the val curves of {' and '.join(fitted)}; "
                 "each other run's val curve predicted from its LRs alone (points after the "
                 "warmup). PredE = mean |pred - actual| / actual, WorstE = the largest.", ""]
        good = [k for k, v in scores.items() if isinstance(v, dict)]
        lines += [f"- {k}: {v}" for k, v in scores.items() if isinstance(v, str)]
        if good:
            lines += ["| run | " + " | ".join(f"{k} PredE | {k} WorstE" for k in good) + " |",
                      "|---|" + "---|---|" * len(good)]
            for n in others:
                lines.append(f"| {n} | " + " | ".join(
                    f"{scores[k][n]['pred_e']:.4f} | {scores[k][n]['worst_e']:.4f}"
                    for k in good) + " |")
            fitted_lrs = {self.results[n]["config"]["peak_lr"] for n in fitted}
            same = [n for n in others if self.results[n]["config"]["peak_lr"] in fitted_lrs]
            groups = {"**mean**": others, "mean, runs at the fitted peak LR": same,
                      "mean, runs at other peak LRs": [n for n in others if n not in same]}
            for label, names in groups.items():
                if names:
                    lines.append(f"| {label} | " + " | ".join(
                        f"{np.mean([scores[k][n]['pred_e'] for n in names]):.4f} | "
                        f"{np.mean([scores[k][n]['worst_e'] for n in names]):.4f}"
                        for k in good) + " |")
            lines += ["", "(The multi-power-law paper reports PredE around 0.002-0.005 on "
                      "400M-parameter runs; these are 1M-parameter runs of a few hundred "
                      "steps, whose val curves are noisier.)", "", "![predictions](laws.png)"]
            self._plot_laws(fits, curve)
        return "\n".join(lines)

    def _plot_laws(self, fits: dict, curve) -> None:
        from lrsched.laws.base import first_used_step

        fig, axes = _figure(len(fits))
        shown = [self.best_name(k) for k in ("linear", "wsd")]
        refined = self.name("refined", self.best["linear"], self.seeds[0])
        shown += [refined] if refined in self.results else []
        for ax, (law, fit) in zip(np.atleast_1d(axes), fits.items()):
            for i, name in enumerate(shown):
                c = curve(name)
                steps = np.arange(first_used_step(c.lrs), c.lrs.size)
                ax.plot(c.steps, c.loss, "o", ms=3, color=f"C{i}", label=f"{name} (measured)")
                ax.plot(steps, fit.predict(c.lrs, steps), color=f"C{i}", lw=1)
            _zoom(ax)
            ax.set(xlabel="step", ylabel="val loss", title=f"{law} law: predicted (lines)")
            ax.legend(fontsize=7)
        _save(fig, self.out / "laws.png")

    def continual(self) -> str:
        n, warmup = self.base.steps, self.base.warmup_steps
        anneal = round(0.2 * n)
        specs = {"re-warmed cosine": f"continual:segments=[{n},{n}],warmup={warmup},"
                                     f"rewarm={warmup},final=0.1",
                 "infinite": f"infinite:warmup={warmup},cooldown_steps={n - warmup},const=0.5,"
                             f"final=0.1,anneal_at={2 * n - anneal},anneal_steps={anneal}"}
        lr = self.best["cosine"]
        names = {k: self.name(k.split()[-1] + "-continual", lr, self.seeds[0]) for k in specs}
        self.train({names[k]: self.config(spec, lr, self.seeds[0], data=",".join(CORPORA),
                                          switch_at=(n,), steps=2 * n, eval_every=n // 10)
                    for k, spec in specs.items()})
        lines = ["## 4. Continual pre-training: Shakespeare, then Python source", "",
                 f"{n} steps on each corpus at cosine's best peak LR {lr:g}. Re-warmed cosine: "
                 f"`{specs['re-warmed cosine']}`; infinite (Ibrahim et al. 2024): constant "
                 f"after a cosine cooldown, exponential anneal over the last {anneal} steps: "
                 f"`{specs['infinite']}`. The infinite schedule is not annealed at the end "
                 "of the first segment (it would be, on a branch, if that model were needed).",
                 "",
                 "| schedule | after segment 1: shakespeare | python | after segment 2: "
                 "shakespeare | python | forgetting | adaptation |",
                 "|---|---|---|---|---|---|---|"]
        for k, name in names.items():
            c = self.curve(name)
            mid, end = n - 1, 2 * n - 1
            s1, p1, s2, p2 = (c[f"val_{corpus}"][step] for step in (mid, end)
                              for corpus in CORPORA)
            lines.append(f"| {k} | {s1:.4f} | {p1:.4f} | {s2:.4f} | {p2:.4f} | {s2 - s1:+.4f} "
                         f"| {p2 - p1:+.4f} |")
        first = self.curve(names["re-warmed cosine"])["val_shakespeare"][n - 1]
        cosine = self.results[self.best_name("cosine")]["final_val_loss"]
        lines += ["", "Forgetting: the change of Shakespeare loss over segment 2; adaptation: "
                  "the change of Python loss. Check: the re-warmed cosine's first segment "
                  "repeats part 1's cosine run step for step (same LRs, data and seed), so its "
                  f"Shakespeare loss after segment 1 ({first:.4f}) should equal that run's final "
                  f"val loss ({cosine:.4f}): "
                  + ("it does." if math.isclose(first, cosine, rel_tol=1e-6) else "it does not."),
                  "", "![continual](continual.png)"]
        self._plot_continual(names)
        return "\n".join(lines)

    def _plot_continual(self, names: dict) -> None:
        fig, axes = _figure(3)
        for i, (k, name) in enumerate(names.items()):
            c = self.curve(name)
            axes[0].plot(c["step"], c["lr"], color=f"C{i}", label=k)
            for ax, corpus in zip(axes[1:], CORPORA):
                seen = ~np.isnan(c[f"val_{corpus}"])
                ax.plot(c["step"][seen], c[f"val_{corpus}"][seen], ".-", ms=3, color=f"C{i}",
                        label=k)
                ax.set(xlabel="step", ylabel="val loss", title=f"val loss on {corpus}")
                ax.axvline(self.base.steps, color="0.6", lw=0.8, ls=":")
        axes[0].set(xlabel="step", ylabel="learning rate", title="schedules")
        axes[0].legend(fontsize=8)
        _save(fig, self.out / "continual.png")

    def autolrs(self) -> str:
        title = "## 5. AutoLRS vs the best hand-tuned schedule"
        best = min(HEAD_TO_HEAD, key=lambda k: _final(self.results[self.best_name(k)]))
        cfg = self.config("constant", max(self.lrs), self.seeds[0])
        lr_range = (min(self.lrs) / 10, 2 * max(self.lrs))
        path = self.out / "autolrs.json"
        result = json.loads(path.read_text()) if path.is_file() else None
        if not result or result["config"] != cfg.to_dict():
            result = self.map(_search, {"autolrs": (cfg.to_dict(), lr_range, str(self.out))}
                              )["autolrs"]
            path.write_text(json.dumps(result, indent=2) + "\n")
        hand = _final(self.results[self.best_name(best)])
        return "\n".join([
            title, "",
            f"AutoLRS (Jin et al. 2021) searching LRs in [{lr_range[0]:g}, {lr_range[1]:g}] "
            f"with {result['trials']} trials a stage, spending the same {cfg.steps} steps: "
            f"its trials take {cfg.steps - result['kept_steps']} of them and "
            f"{result['kept_steps']} train the model it keeps (seed {cfg.seed}).", "",
            "| schedule | final val loss |", "|---|---|",
            f"| AutoLRS | {result['val_loss']:.4f} |",
            f"| {best} at {self.best[best]:g} (best hand-tuned) | {hand:.4f} |", "",
            f"AutoLRS minus best hand-tuned: {result['val_loss'] - hand:+.4f} (seed spread "
            f"{self.spread:.4f}). Trials and stages: autolrs_history.json.", "",
            "![AutoLRS search](autolrs.png)"])


def _search(config: dict, lr_range: tuple, out: str, threads: int | None) -> dict:
    """AutoLRS over a run's step budget; its final val loss, and the search files in out."""
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


def _save(fig, path: Path) -> None:
    from lrsched.plot import save_figure

    save_figure(fig, path)
    print(f"[sweep] wrote {path}", file=sys.stderr, flush=True)
