"""The blend: the equal average of laws fitted separately to the same curves.

    L(t) = (1/M) · sum_m L_m(t; theta_m)

Each member law is fitted alone (its own choices and pilot, ``fitting.fit``); the blend
averages their predictions, as model averaging does. Its parameters are the members',
named ``member.param`` (``momentum.C``, ``relaxation.kappa``), so a blended fit predicts,
bands, saves and optimises like any other.

Why the default members: on the training curves of data/curves (the development
protocol of benchmarks/results/decisions.md, 23 held-out final losses) the momentum law
predicts the end of a cosine run too high where the relaxation law predicts it too low,
so their average has an RMS final-loss error of 0.0032, against 0.0048 for either alone
(0.0040 with the multi-power law as a third member).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from lrsched.errors import InputError
from lrsched.laws.base import Law
from lrsched.laws.momentum import MomentumLaw
from lrsched.laws.multipower import MultiPowerLaw
from lrsched.laws.relaxation import RelaxationLaw

MEMBERS = {law.name: law for law in (MomentumLaw, MultiPowerLaw, RelaxationLaw)}  # by name
DEFAULT_MEMBERS = ("momentum", "relaxation")


class BlendLaw(Law):
    """The equal average of ``laws``: names of ``MEMBERS`` or ``[name, options]`` pairs."""

    name = "blend"
    heldout_error = 0.0032  # see Law.heldout_error

    def __init__(self, laws=DEFAULT_MEMBERS):
        members = []
        for item in laws:
            name, options = (item, {}) if isinstance(item, str) else tuple(item)
            if name not in MEMBERS:
                raise InputError(f"a blend's laws are among {sorted(MEMBERS)}, not {name!r}")
            members.append(MEMBERS[name](**options))
        if len({m.name for m in members}) != len(members) or len(members) < 2:
            raise InputError(f"a blend needs two or more different laws, not {list(laws)}")
        self.members = tuple(members)
        self.params = tuple(dataclasses.replace(p, name=f"{m.name}.{p.name}")
                            for m in members for p in m.params)

    def __repr__(self) -> str:
        return f"BlendLaw({' + '.join(map(repr, self.members))})"

    def options(self) -> dict:
        return {"laws": [[m.name, m.options()] for m in self.members]}

    @staticmethod
    def own(values: dict, member: Law) -> dict:
        """``member``'s parameters out of the blend's ``values``."""
        prefix = member.name + "."
        return {k[len(prefix):]: v for k, v in values.items() if k.startswith(prefix)}

    def prepare(self, lrs: np.ndarray, steps: np.ndarray) -> dict:
        return {m.name: m.prepare(lrs, steps) for m in self.members}

    def basis(self, values: dict, prepared: dict) -> dict:
        return self._averaged("basis", values, prepared)

    def gradient(self, values: dict, prepared: dict) -> dict:
        return self._averaged("gradient", values, prepared)

    def _averaged(self, method: str, values: dict, prepared: dict) -> dict:
        """Each member's ``method`` columns, named ``member.param``, over the members' count."""
        weight = 1.0 / len(self.members)
        return {f"{m.name}.{k}": weight * column for m in self.members
                for k, column in getattr(m, method)(self.own(values, m), prepared[m.name]).items()}

    def final_loss(self, params: dict, lrs: np.ndarray, grad: bool = False):
        """The average of the members' final losses (and of their LR gradients)."""
        parts = [m.final_loss(self.own(params, m), lrs, grad) for m in self.members]
        if not grad:
            return float(np.mean(parts))
        return (float(np.mean([loss for loss, _ in parts])),
                np.mean([g for _, g in parts], axis=0))
