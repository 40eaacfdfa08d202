"""The validation sweep of the small-LM harness, and its report DIR/report.md.

1. constant, cosine to 10%, linear to zero and WSD (20% 1-sqrt cooldown), each at the
   best peak LR of a grid (first seed), then on every seed at that LR;
2. the schedule refined from the linear run's gradient norms, against linear;
3. both loss-curve laws fitted to the constant and cosine runs, predicting the others;
4. continual pre-training, Shakespeare then Python: re-warmed cosine vs infinite;
5. AutoLRS against the best hand-tuned schedule (needs the ``autolrs`` extra).

Run: ``python -m benchmarks.harness_sweep --preset tiny --out DIR [--jobs 2]``.
``runner`` trains the runs (or reuses them: DIR/runs/NAME), ``analysis`` turns them into
plain data, ``report`` into markdown and pictures; ``__main__`` runs the parts in order.
"""
