"""Bridges to training frameworks: timm's scheduler contract (``timm``), the Hugging Face
Trainer (``hf_trainer``) and Lightning (``lightning``). Each imports no framework itself;
docs/integrations.md shows each one in use."""

from __future__ import annotations

import math
from typing import Any

from lrsched.schedules import Schedule, as_schedule, from_spec


def schedule_for_run(schedule: Any, total_steps: float | None,
                     warmup: int | None = None) -> Schedule | list[Schedule]:
    """``schedule`` for a run of ``total_steps`` optimizer steps; a list (one schedule per
    param group, as ScheduleLR takes) gives a list.

    A spec string takes the run's ``total_steps`` (and ``warmup``) where it leaves them
    out, and its shares of the run count against that length. A Schedule or a dict is
    used as it is; an unknown run length (None or inf) fills nothing.
    """
    if isinstance(schedule, (list, tuple)):
        return [schedule_for_run(s, total_steps, warmup) for s in schedule]
    if not isinstance(schedule, str):
        return as_schedule(schedule)
    defaults: dict[str, Any] = {}
    if total_steps is not None and math.isfinite(total_steps):
        defaults["total_steps"] = int(total_steps)
    if warmup:
        defaults["warmup"] = warmup
    return from_spec(schedule, **defaults)
