"""Cost of ScheduleLR.step() against torch's LambdaLR.step(), and of evaluating schedules.

Run: python benchmarks/bench_scheduler.py
Writes benchmarks/results/scheduler.md. Ratios are measured side by side in one run,
interleaved, and reported as medians over repeats (this machine is shared and noisy).
"""

from __future__ import annotations

import math
import platform
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch.optim.lr_scheduler import LambdaLR

import lrsched
from lrsched import ScheduleLR

STEPS, REPEATS, N_EVAL = 20_000, 15, 1_000_000
RESULTS = Path(__file__).parent / "results" / "scheduler.md"


def cosine_lambda(total: int, warmup: int):
    """The same warmup + cosine as lrsched.cosine, as the pure-Python lambda users write."""
    def f(t):
        if t < warmup:
            return (t + 1) / warmup
        p = min((t - warmup) / (total - warmup), 1.0)
        return 0.5 * (1.0 + math.cos(math.pi * p))
    return f


def time_steps(make) -> float:
    """Seconds per scheduler.step() over STEPS steps (optimizer.step excluded)."""
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in range(4)]
    opt = torch.optim.SGD([{"params": [p], "lr": 0.1} for p in params])
    sched = make(opt)
    start = time.perf_counter()
    for _ in range(STEPS):
        sched.step()
    return (time.perf_counter() - start) / STEPS


def main() -> None:
    warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step()`")
    total, warmup = STEPS, 500
    schedule = lrsched.cosine(total_steps=total, warmup=warmup)
    ours, theirs = [], []
    for _ in range(REPEATS):
        ours.append(time_steps(lambda o: ScheduleLR(o, schedule)))
        theirs.append(time_steps(lambda o: LambdaLR(o, cosine_lambda(total, warmup))))
    ratios = [a / b for a, b in zip(ours, theirs)]
    step_rows = [("LambdaLR.step()", statistics.median(theirs) * 1e6),
                 ("ScheduleLR.step()", statistics.median(ours) * 1e6)]
    ratio = statistics.median(ratios)

    steps = np.arange(N_EVAL)
    families = {
        "constant": lrsched.constant(warmup=2000),
        "linear": lrsched.linear(total_steps=N_EVAL, warmup=2000),
        "cosine": lrsched.cosine(total_steps=N_EVAL, warmup=2000, final=0.1),
        "polynomial": lrsched.polynomial(total_steps=N_EVAL, warmup=2000, power=2.0),
        "exponential": lrsched.exponential(gamma=0.99999, warmup=2000),
        "inverse_sqrt": lrsched.inverse_sqrt(warmup=2000),
        "step": lrsched.step(step_size=100_000, gamma=0.5, warmup=2000),
        "multistep": lrsched.multistep(milestones=[300_000, 600_000, 900_000], warmup=2000),
        "cosine_restarts": lrsched.cosine_restarts(total_steps=N_EVAL, cycles=4, cycle_mult=2.0),
        "one_cycle": lrsched.one_cycle(total_steps=N_EVAL, three_phase=True),
        "wsd (1-sqrt)": lrsched.wsd(total_steps=N_EVAL, warmup=2000, shape="1-sqrt"),
        "wsd (exponential)": lrsched.wsd(total_steps=N_EVAL, warmup=2000,
                                          shape="exponential", final=0.01),
        "infinite (annealed)": lrsched.infinite(warmup=2000, cooldown_steps=100_000, const=0.4,
                                                anneal_at=900_000, anneal_steps=100_000),
        "continual (4 segments)": lrsched.continual(segments=[250_000] * 4, warmup=2000,
                                                    rewarm=2000),
        "tabulated (1,001 points)": lrsched.tabulated(values=np.linspace(1, 0, 1001),
                                                      steps=np.arange(0, N_EVAL + 1, 1000)),
        "join (constant, cosine)": lrsched.join([lrsched.constant(warmup=2000),
                                                 lrsched.cosine(total_steps=800_000)],
                                                [200_000]),
    }
    eval_rows = []
    for name, s in families.items():
        times = []
        for _ in range(7):
            start = time.perf_counter()
            s(steps)
            times.append(time.perf_counter() - start)
        eval_rows.append((name, statistics.median(times) * 1e3))

    lines = [
        "# ScheduleLR overhead and schedule evaluation speed",
        "",
        f"Machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"numpy {np.__version__}. Command: `python benchmarks/bench_scheduler.py`.",
        "",
        f"## scheduler.step() on an SGD optimizer with 4 param groups ({STEPS} steps, "
        f"median of {REPEATS} interleaved repeats)",
        "",
        "| scheduler | us per step |",
        "|---|---|",
        *[f"| {n} | {v:.2f} |" for n, v in step_rows],
        "",
        f"**Ratio ScheduleLR / LambdaLR: {ratio:.3f}** (median of per-repeat ratios; "
        f"target <= 1.00: no slower than LambdaLR). The LambdaLR lambda is the same warmup + "
        "cosine in pure Python.",
        "",
        f"## Evaluating {N_EVAL:,} steps at once (median of 7; target < 50 ms)",
        "",
        "| family | ms |",
        "|---|---|",
        *[f"| {n} | {v:.1f} |" for n, v in eval_rows],
        "",
    ]
    text = "\n".join(lines)
    print(text)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
