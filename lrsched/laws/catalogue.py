"""The laws by name: ``LAWS`` (the names fits are saved under and ``--law`` takes) and
``fit_auto``, which chooses among them."""

from __future__ import annotations

import time

from lrsched.laws.blend import MEMBERS, BlendLaw
from lrsched.laws.fit import Fit
from lrsched.laws.fitting import distinct, fit, select

LAWS = {**MEMBERS, BlendLaw.name: BlendLaw}


def fit_auto(curves, first_step: int | None = None, starts: int = 3) -> Fit:
    """The law of ``LAWS`` (default options) whose fits predict held-out training data
    best (``fitting.select``: leave one curve out, or with two curves the time split),
    fitted to every curve."""
    curves = distinct(curves)
    clock = time.perf_counter()
    candidates = {name: cls() for name, cls in LAWS.items()}
    chosen = candidates[select(candidates, curves, first_step, fallback="split")]
    fitted = fit(chosen, curves, first_step, starts)
    fitted.seconds = time.perf_counter() - clock
    return fitted
