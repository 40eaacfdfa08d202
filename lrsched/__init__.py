"""lrsched: learning-rate schedules for PyTorch, and loss-curve laws that predict them.

``import lrsched`` is light: numpy only. The torch adapter, the laws (lmfit) and the
plotting (matplotlib) load on first use of the names that need them.
"""

from importlib import import_module

from lrsched.schedules import (
    Schedule,
    constant,
    continual,
    cosine,
    cosine_restarts,
    cyclic,
    exponential,
    from_spec,
    infinite,
    inverse_sqrt,
    join,
    linear,
    multistep,
    one_cycle,
    polynomial,
    step,
    tabulated,
    wsd,
)

__version__ = "0.1.0"

# name -> module that defines it; imported on first attribute access (PEP 562).
_LAZY = {
    "ScheduleLR": "lrsched.scheduler",
    "Snapshot": "lrsched.snapshot",
    "anneal_branch": "lrsched.snapshot",
    "from_hf": "lrsched.hf",
    "MomentumLaw": "lrsched.laws",
    "MultiPowerLaw": "lrsched.laws",
    "RelaxationLaw": "lrsched.laws",
    "BlendLaw": "lrsched.laws",
    "CrossLRLaw": "lrsched.laws",
    "Fit": "lrsched.laws",
    "load_fit": "lrsched.laws",
    "curve_metrics": "lrsched.laws",
    "decision_metrics": "lrsched.laws",
    "calibrate": "lrsched.laws",
    "fit_auto": "lrsched.laws",
    "default_law": "lrsched.laws",
    "optimize": "lrsched.choosing",
    "candidates": "lrsched.choosing",
    "anneal_plan": "lrsched.choosing",
    "sweep": "lrsched.choosing",
    "plan_runs": "lrsched.choosing",
    "with_odds": "lrsched.choosing",
    "Curve": "lrsched.curves",
    "read_curve": "lrsched.curves",
    "GradNormRecorder": "lrsched.recorder",
    "refine": "lrsched.refinement",
    "AutoLRS": "lrsched.autolrs",
    "lr_range_test": "lrsched.range_test",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'lrsched' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_LAZY])


__all__ = [
    "Schedule",
    "constant",
    "continual",
    "cosine",
    "cosine_restarts",
    "cyclic",
    "exponential",
    "from_spec",
    "infinite",
    "inverse_sqrt",
    "join",
    "linear",
    "multistep",
    "one_cycle",
    "polynomial",
    "step",
    "tabulated",
    "wsd",
    *_LAZY,
]
