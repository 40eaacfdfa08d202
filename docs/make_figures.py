"""Draw the pictures in docs/img/ with lrsched's public API.

Run from the repository root:  python docs/make_figures.py
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

import lrsched
from lrsched.plot import save_figure

IMG = Path(__file__).resolve().parent / "img"
N = 1000  # steps per panel in the catalogue figure
W = 100  # warmup where a panel has one


def panels() -> list[tuple[str, list[tuple[str | None, lrsched.Schedule]]]]:
    """(panel title, [(legend label or None, schedule), ...]) for each family."""
    shapes = ["linear", "cosine", "1-sqrt", "exponential"]
    return [
        ("constant (warmup=100)", [(None, lrsched.constant(warmup=W))]),
        ("linear (final=0)", [(None, lrsched.linear(total_steps=N, warmup=W))]),
        ("cosine (final=0.1)", [(None, lrsched.cosine(total_steps=N, warmup=W, final=0.1))]),
        ("polynomial (power=2)",
         [(None, lrsched.polynomial(total_steps=N, warmup=W, power=2))]),
        ("exponential (gamma=0.997)", [(None, lrsched.exponential(gamma=0.997))]),
        ("inverse_sqrt (timescale = warmup)", [(None, lrsched.inverse_sqrt(warmup=W))]),
        ("step (step_size=300, gamma=0.5)",
         [(None, lrsched.step(step_size=300, gamma=0.5))]),
        ("multistep (milestones=[500,800])",
         [(None, lrsched.multistep(milestones=[500, 800], gamma=0.3))]),
        ("cosine_restarts (cycles=3)", [
            ("cycle_mult=1", lrsched.cosine_restarts(total_steps=N, cycles=3)),
            ("cycle_mult=2", lrsched.cosine_restarts(total_steps=N, cycles=3, cycle_mult=2)),
        ]),
        ("one_cycle", [
            ("two-phase", lrsched.one_cycle(total_steps=N)),
            ("three_phase", lrsched.one_cycle(total_steps=N, three_phase=True)),
        ]),
        ("cyclic (base=0.1, step_size_up=125)", [
            (mode, lrsched.cyclic(base=0.1, step_size_up=125, mode=mode,
                                  gamma=0.998 if mode == "exp_range" else 1.0))
            for mode in ["triangular", "triangular2", "exp_range"]
        ]),
        ("wsd (decay_steps=300, final=0.01)", [
            (shape, lrsched.wsd(total_steps=N, warmup=W, decay_steps=300, shape=shape,
                                final=0.01))
            for shape in shapes
        ]),
        ("tabulated (interpolated table)", [
            (None, lrsched.tabulated(values=[0.2, 1.0, 0.9, 0.6, 0.65, 0.3, 0.05],
                                     steps=[0, 100, 300, 500, 650, 850, N - 1])),
        ]),
        ("join (two cosine runs, the second re-warmed)", [
            (None, lrsched.join([lrsched.cosine(total_steps=600, warmup=W, final=0.1),
                                 lrsched.cosine(total_steps=400, warmup=50, final=0.1)],
                                boundaries=[600])),
        ]),
        ("infinite (annealed at step 800)", [
            (None, lrsched.infinite(warmup=50, cooldown_steps=250, const=0.4, final=0.04,
                                    anneal_at=800, anneal_steps=150)),
        ]),
        ("continual (three segments, re-warmed)", [
            (None, lrsched.continual(segments=[400, 300, 300], warmup=W, rewarm=30)),
        ]),
    ]


def draw(ax, title: str, curves: list[tuple[str | None, lrsched.Schedule]],
         steps: int = N, peak_lr: float | None = None) -> None:
    """Plot each curve with plot()'s dotted phase marks; the panel title says what is drawn."""
    for label, schedule in curves:
        schedule.plot(ax=ax, steps=steps, peak_lr=peak_lr, annotate=False, label=label, lw=1.6)
    ax.set_title(title, fontsize=10)
    ax.set_ylim(0, (peak_lr or 1.0) * 1.12)
    if any(label for label, _ in curves):
        ax.legend(fontsize=7, loc="best", framealpha=0.9, edgecolor="none")
    ax.grid(alpha=0.25)


def catalogue() -> Figure:
    families = panels()
    cols = 3
    rows = -(-len(families) // cols)
    fig = Figure(figsize=(11, 2.4 * rows), layout="constrained")
    axes = fig.subplots(rows, cols).ravel()
    for i, (ax, (title, curves)) in enumerate(zip(axes, families, strict=False)):
        draw(ax, title, curves)
        if i % cols:  # axis labels on the outer panels only
            ax.set_ylabel("")
        if i + cols < len(families):
            ax.set_xlabel("")
    for ax in axes[len(families):]:
        ax.set_visible(False)
    fig.suptitle("lrsched schedule families (multiplier of the peak LR, 1000 steps)")
    return fig


def readme() -> Figure:
    total, warmup, peak = 10_000, 500, 3e-4
    curves = [
        ("cosine", lrsched.cosine(total_steps=total, warmup=warmup)),
        ("linear", lrsched.linear(total_steps=total, warmup=warmup)),
        ("WSD, 1-sqrt decay (last 20%)",
         lrsched.wsd(total_steps=total, warmup=warmup, decay_steps="20%", shape="1-sqrt")),
    ]
    fig = Figure(figsize=(7, 3.2), layout="constrained")
    ax = fig.subplots()
    draw(ax, "", curves, steps=total, peak_lr=peak)
    ax.set_title("Three schedules for a 10k-step run (500 warmup steps, peak LR 3e-4)",
                 fontsize=10)
    ax.legend(fontsize=9, loc="lower left", bbox_to_anchor=(0.1, 0.02), frameon=False)
    ax.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def continual() -> Figure:
    """Infinite schedules (phases named; variants overlaid) and two continual recipes."""
    base = lrsched.infinite(warmup=200, cooldown_steps=1500, const=0.4, final=0.04)
    annealed = base.anneal_at(8000, 1500)
    fig = Figure(figsize=(11, 3.3), layout="constrained")
    left, middle, right = fig.subplots(1, 3)
    annealed.plot(ax=left, steps=10_000, lw=1.6)
    left.set_title("infinite: anneal ordered at step 8000", fontsize=10)
    variants = [("cosine cooldown, exponential anneal", annealed),
                ("inverse_sqrt cooldown", dataclasses.replace(annealed,
                                                              cooldown_shape="inverse_sqrt")),
                ("linear anneal to 0", annealed.anneal_at(8000, 1500, "linear", 0.0)),
                ("1-sqrt anneal to 0", annealed.anneal_at(8000, 1500, "1-sqrt", 0.0))]
    draw(middle, "infinite variants", variants, steps=10_000)
    segments = [4000, 4000, 4000]
    rewarmed = lrsched.continual(segments=segments, warmup=40, rewarm=40, final=0.1)
    infinite = lrsched.infinite(warmup=40, cooldown_steps=1000, const=0.4, final=0.04)
    draw(right, "three data segments", [("repeated cosine, re-warmed", rewarmed),
                                         ("infinite (main run)", infinite)], steps=12_000)
    for end in np.cumsum(segments):  # the annealed branch taken for each segment's checkpoint
        branch = infinite.anneal_at(int(end) - 600, 600)
        t = np.arange(end - 600, end)
        right.plot(t, branch(t), color="C1", ls="--", lw=1.2)
    right.plot([], [], color="C1", ls="--", label="annealed branch (checkpoint)")
    for ax in (middle, right):
        ax.set_ylabel("")
        ax.set_ylim(0, 1.45)
        ax.legend(fontsize=7, loc="upper right", framealpha=0.9, edgecolor="none")
    return fig


def shrink(path: Path, colors: int = 256) -> None:
    """Re-save a PNG with a small palette: under half the size, no visible change."""
    with Image.open(path) as im:
        small = im.convert("RGB").quantize(colors)
    small.save(path, optimize=True)


def main() -> None:
    IMG.mkdir(exist_ok=True)
    for name, fig, dpi in [("schedules.png", catalogue(), 100),
                           ("readme.png", readme(), 120),
                           ("continual.png", continual(), 100)]:
        path = IMG / name
        save_figure(fig, path, dpi=dpi)
        shrink(path)
        print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}"
              f" ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
