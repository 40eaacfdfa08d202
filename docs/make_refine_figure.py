"""Draw docs/img/refine.png: the gradient norms of a real run -> the refined schedule.

Run from the repository root:  python docs/make_refine_figure.py
The run: a small MLP on scikit-learn's digits, Adam, linear decay, 1000 steps of 32.
"""

from __future__ import annotations

from pathlib import Path

import torch
from make_figures import shrink
from sklearn.datasets import load_digits

import lrsched
from lrsched.plot import refine_figure, save_figure

IMG = Path(__file__).resolve().parent / "img"
STEPS = 1000


def record_norms() -> lrsched.GradNormRecorder:
    torch.manual_seed(0)
    X, y = (torch.tensor(a) for a in load_digits(return_X_y=True))
    X = (X.float() - X.float().mean(0)) / (X.float().std(0) + 1e-6)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    scheduler = lrsched.ScheduleLR(opt, lrsched.linear(total_steps=STEPS))
    recorder = lrsched.GradNormRecorder(opt)
    for idx in torch.randint(0, len(y), (STEPS, 32)):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(X[idx]), y[idx]).backward()
        opt.step()
        scheduler.step()
    return recorder


def main() -> None:
    recorder = record_norms()
    fig = refine_figure(recorder.norms, recorder.kind,
                        title="Adam, MLP on digits, linear decay: l1 gradient norms -> "
                              "refined schedule")
    path = IMG / "refine.png"
    save_figure(fig, path, dpi=110)
    shrink(path)
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
