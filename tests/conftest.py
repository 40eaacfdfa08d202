import gc
import os

# The tests' models and fits are tiny: one thread runs them fastest, and on a busy machine
# more threads can be many times slower. The BLAS threads are set before numpy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import torch  # noqa: E402
from hypothesis import settings  # noqa: E402

torch.set_num_threads(1)
settings.register_profile("ci", max_examples=100, deadline=None)
settings.register_profile("dev", max_examples=30, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_collectreport(report):
    """What the test modules imported (torch, transformers, lightning: half a million
    objects) lives to the end of the session: frozen, the cyclic garbage collector no
    longer scans it at every collection (seconds over the suite)."""
    gc.freeze()
