"""Draw docs/img/loss-curves.png: `lrsched fit-curve --plot` on the 400M curves.

    python docs/make_loss_curves_png.py
"""

import os
from pathlib import Path

from lrsched.cli import main

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "curves" / "mpl" / "400M"
WARM = "warmup=2160"
SCHEDULES = {  # the README's per-step LR of each file, as lrsched schedules
    "cosine_24000": f"cosine:total_steps=24000,{WARM},final=0.1",
    "constant_24000": f"constant:{WARM}",
    "wsdcon_9": f"multistep:milestones=[5840],gamma=0.3,{WARM}",
    "cosine_72000": f"cosine:total_steps=72000,{WARM},final=0.1",
    "wsd_20000_24000": f"wsd:total_steps=24000,{WARM},decay_steps=4000,shape=exponential,"
                       "final=0.1",
    "wsdcon_3": f"multistep:milestones=[5840],gamma=0.1,{WARM}",
}
TRAIN, TEST = list(SCHEDULES)[:3], list(SCHEDULES)[3:]

if __name__ == "__main__":
    files = {name: os.path.relpath(DATA / f"{name}.csv") for name in SCHEDULES}
    args = ["fit-curve", *(files[n] for n in TRAIN), "--test", *(files[n] for n in TEST),
            "--peak-lr", "3e-4", "--plot", str(ROOT / "docs" / "img" / "loss-curves.png")]
    for name, spec in SCHEDULES.items():
        args += ["--schedule", f"{files[name]}={spec}"]
    raise SystemExit(main(args))
