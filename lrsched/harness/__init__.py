"""Small-LM harness: train byte-level GPTs with any schedule and check the claims.

``Trainer(config, out).run(scheduler=None, stop_at=None, resume=False)`` trains one run;
``preset(name, **overrides)`` gives its config; ``lrsched harness run|sweep`` is the
command line (docs/harness.md).
"""

from lrsched.harness.model import GPT, GPTConfig
from lrsched.harness.presets import PRESETS, Config, preset
from lrsched.harness.train import Trainer

__all__ = ["GPT", "PRESETS", "Config", "GPTConfig", "Trainer", "preset"]
