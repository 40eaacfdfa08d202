import gc
import os
import time

# The tests' models and fits are tiny: one thread runs them fastest, and on a busy machine
# more threads can be many times slower. The BLAS threads are set before numpy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402
import torch  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402
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


def _rank(rank: int, worker, *args) -> None:
    """``worker`` in one rank, then the process group destroyed once the worker's objects
    are gone: a DistributedDataParallel still alive then can hang ProcessGroupGloo's
    destructor."""
    worker(rank, *args)
    gc.collect()
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


@pytest.fixture
def run_ranks():
    """``run_ranks(worker, *args)`` runs ``worker(rank, *args)`` (which joins a process
    group) in two forked processes, destroys the group after it, and fails the test,
    rather than CI, if they have not finished within two minutes."""
    def run(worker, *args, nprocs: int = 2, timeout: float = 120.0) -> None:
        ranks = mp.start_processes(_rank, args=(worker, *args), nprocs=nprocs, join=False,
                                   start_method="fork")  # fork: no new interpreters
        deadline = time.monotonic() + timeout
        while not ranks.join(timeout=max(deadline - time.monotonic(), 0.0)):
            if time.monotonic() >= deadline:
                for p in ranks.processes:
                    p.kill()
                pytest.fail(f"{worker.__name__} did not finish within {timeout:g} s")
    return run
