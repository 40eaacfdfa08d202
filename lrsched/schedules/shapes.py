r"""Shapes: the curve a schedule takes from one value to another.

With progress :math:`p \in [0, 1]` from ``start`` (:math:`a`) to ``end`` (:math:`b`):

.. math::
    \text{linear: } b + (a - b)(1 - p) \qquad
    \text{cosine: } b + (a - b)\frac{1 + \cos \pi p}{2} \qquad
    \text{1-sqrt: } b + (a - b)(1 - \sqrt{p}) \qquad
    \text{exponential: } a (b / a)^p

1-sqrt is the cooldown of Hägele et al. 2024; exponential is geometric and needs
:math:`a, b > 0`.

>>> interpolate(np.array([0.0, 0.5, 1.0]), 1.0, 0.0, "cosine").round(3).tolist()
[1.0, 0.5, 0.0]
"""

from __future__ import annotations

import typing
from typing import Literal

import numpy as np

from lrsched.errors import InputError

Shape = Literal["linear", "cosine", "1-sqrt", "exponential"]


def interpolate(p: np.ndarray, start, end, shape: str) -> np.ndarray:
    """The value at progress ``p`` going from ``start`` (p = 0) to ``end`` (p = 1) along
    ``shape``; ``start`` and ``end`` may be arrays of ``p``'s shape."""
    if shape == "exponential":
        return start * (end / start) ** p
    if shape == "linear":
        remaining = 1.0 - p
    elif shape == "cosine":
        remaining = 0.5 * (1.0 + np.cos(np.pi * p))
    elif shape == "1-sqrt":
        remaining = 1.0 - np.sqrt(p)
    else:
        raise InputError(f"unknown shape {shape!r}; use one of {', '.join(typing.get_args(Shape))}")
    return end + (start - end) * remaining
