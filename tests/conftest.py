import os

import torch
from hypothesis import settings

os.environ.setdefault("MPLBACKEND", "Agg")
# The tests' models are tiny: one thread trains them fastest, and on a busy machine more
# threads can be many times slower.
torch.set_num_threads(1)
settings.register_profile("ci", max_examples=100, deadline=None)
settings.register_profile("dev", max_examples=30, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
