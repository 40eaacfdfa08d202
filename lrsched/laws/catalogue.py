"""The laws by name: ``LAWS`` (the names fits are saved under and ``--law`` takes),
``default_law`` for a set of curves, and ``fit_auto``, which chooses among them."""

from __future__ import annotations

import time

from lrsched.laws.base import Law
from lrsched.laws.blend import MEMBERS, BlendLaw
from lrsched.laws.crosslr import CrossLRLaw
from lrsched.laws.fit import Fit, peak_lrs
from lrsched.laws.fitting import distinct, fit, select

LAWS = {**MEMBERS, BlendLaw.name: BlendLaw, CrossLRLaw.name: CrossLRLaw}


def default_law(curves) -> Law:
    """The law to fit ``curves`` with when none is named: the cross-LR law for runs at
    several peak LRs (one fit across them), else the blend (the best of the single-LR
    laws on decisions.md)."""
    return CrossLRLaw() if len(peak_lrs(curves)) > 1 else BlendLaw()


def fit_auto(curves, first_step: int | None = None, starts: int = 3) -> Fit:
    """The law of ``LAWS`` (default options) whose fits predict held-out training data
    best (``fitting.select``: leave one curve out, or with two curves the time split),
    fitted to every curve. The cross-LR law is a candidate for curves at several peak
    LRs only (at one, it is a slower relaxation law)."""
    curves = distinct(curves)
    clock = time.perf_counter()
    several = len(peak_lrs(curves)) > 1
    candidates = {name: cls() for name, cls in LAWS.items()
                  if several or cls is not CrossLRLaw}
    chosen = candidates[select(candidates, curves, first_step, fallback="split")]
    fitted = fit(chosen, curves, first_step, starts)
    fitted.seconds = time.perf_counter() - clock
    return fitted
