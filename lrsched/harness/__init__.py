"""Small-LM harness: train byte-level GPTs with any schedule.

``Trainer(config, out).run(scheduler=None, stop_at=None, resume=False)`` trains one run;
``preset(name, **overrides)`` gives its config; ``lrsched harness run`` is the command
line (docs/harness.md). The validation sweep that runs on it is a benchmark:
``python -m benchmarks.harness_sweep``.
"""

from lrsched.harness.model import GPT, GPTConfig
from lrsched.harness.presets import PRESETS, Config, preset
from lrsched.harness.train import Trainer

__all__ = ["GPT", "PRESETS", "Config", "GPTConfig", "Trainer", "preset"]
