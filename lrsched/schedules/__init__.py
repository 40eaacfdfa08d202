"""Schedules: pure, immutable functions from the optimizer step to an LR multiplier.

The package's layers, one module each:

- ``base``: the ``Schedule`` base class (evaluation, warmup, phases, momentum, the dict
  and spec round trip), the registry of families, ``constructor``, ``from_spec``;
- ``fields``: the fields from what a user gives (types, shares of the run, limits);
- ``spec``: the spec-string grammar;
- ``shapes``: ``interpolate``, the curves a decay follows;
- the catalogue, every family with its formula and an example: ``decays`` (linear,
  cosine, polynomial, wsd, exponential, inverse_sqrt, step, multistep), ``cycles``
  (cosine_restarts, one_cycle, cyclic), ``tables`` (tabulated, join) and ``continual``
  (constant, infinite, continual).
"""

from lrsched.schedules.base import (
    MAX_PREVIEW_STEPS,
    Phase,
    Schedule,
    as_schedule,
    constructor,
    family,
    from_spec,
    spec_fields,
)
from lrsched.schedules.continual import (
    Constant,
    Continual,
    Infinite,
    constant,
    continual,
    infinite,
)
from lrsched.schedules.cycles import (
    CosineRestarts,
    Cyclic,
    OneCycle,
    cosine_restarts,
    cyclic,
    one_cycle,
)
from lrsched.schedules.decays import (
    WSD,
    Cosine,
    Exponential,
    InverseSqrt,
    Linear,
    MultiStep,
    Polynomial,
    Step,
    cosine,
    exponential,
    inverse_sqrt,
    linear,
    multistep,
    polynomial,
    step,
    wsd,
)
from lrsched.schedules.fields import MAX_COUNT, MAX_NESTING, MAX_STEPS
from lrsched.schedules.shapes import Shape, interpolate
from lrsched.schedules.tables import Join, Tabulated, join, tabulated

CATALOGUE = ("decays", "cycles", "tables", "continual")  # the modules that hold the families

__all__ = [
    "CATALOGUE", "MAX_COUNT", "MAX_NESTING", "MAX_PREVIEW_STEPS", "MAX_STEPS", "Phase",
    "Schedule", "Shape", "as_schedule", "constructor", "family", "from_spec", "interpolate",
    "spec_fields",
    "Constant", "Continual", "CosineRestarts", "Cosine", "Cyclic", "Exponential", "Infinite",
    "InverseSqrt", "Join", "Linear", "MultiStep", "OneCycle", "Polynomial", "Step",
    "Tabulated", "WSD",
    "constant", "continual", "cosine", "cosine_restarts", "cyclic", "exponential",
    "infinite", "inverse_sqrt", "join", "linear", "multistep", "one_cycle", "polynomial",
    "step", "tabulated", "wsd",
]
