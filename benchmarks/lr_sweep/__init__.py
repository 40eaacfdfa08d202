"""The peak-LR sweep of the small-LM harness (issue 19): a dataset of runs across peak
LRs, and who picks the better peak LR for a longer budget.

1. the LR range test on the harness (``lrsched harness lr-find``'s loop);
2. a grid of peak LRs spanning its suggestion by 10x on both sides; per LR the pilots
   (``train/``: constant and cosine to 0, N steps, seed 0) and the test runs (``test/``:
   WSD with linear cooldowns over 20/50/80% of the run and cosine to 10%, at N and 2N
   steps, on every seed);
3. at 2N steps, cosine at (a) the range test's suggestion and (b) the best pilot's LR,
   trained on every seed: their final val losses side by side. (c), the cross-LR law's
   choice, is one more row of ``sweep.choices`` once the law exists.

Run: ``python -m benchmarks.lr_sweep --out DIR [--steps N] [--set KEY=VALUE ...]``.
DIR holds the curves as a dataset (PEAK/SPLIT/NAME.csv, columns step,lr,loss, and its
README.md), DIR.md the report, DIR_runs the harness's run folders: a rerun trains only
what is missing. ``sweep`` plans the runs and reads them; ``report`` writes the markdown.
"""
