"""The cross-LR law: lrsched's law for runs at several peak LRs, fitted jointly.

    L(t)   = L0 + A · S_p(t)^-alpha + sum_j b_j · V_j(t)
    S_p(t) = sum_{i<=t} x_i^p,                     x_i = eta_i / lr_ref
    V_j(t) = sum_{k<=t} x_k^q · (1 - exp(-x_k / tau_j)) · exp(-(C(t) - C(k)) / tau_j)
    C(t)   = sum_{i<=t} x_i

Two things carry the peak LR, both where the 124M runs at three peak LRs put them
(benchmarks/results/decisions.md, "Several peak LRs"):

- progress is sub-linear in the LR: the power-law part falls with S_p, the sum of
  x^p with p < 1 (fitted: 0.3-0.5), not with the LR area (p = 1), which makes a high
  LR look far more productive than it is;
- the noise floor: the excess loss V_j relaxes towards the level x^q of the current LR
  over LR area (the clock C), as SGD's excess loss does in a noisy quadratic valley
  (the functional scaling law of Li et al. 2025, arXiv 2509.19189): dV/dC = (x^q - V)/tau,
  solved exactly for an LR constant over each step. At a constant LR each V_j is x^q,
  so the level of the loss rises as eta^q with the LR; after a drop it relaxes towards
  the new level. The response is a mixture of relaxation times
  ``TAUS`` (in steps at the reference LR) with non-negative weights b_j: a completely
  monotone kernel, fitted as linear coefficients (one exponential, as in the
  relaxation law, cannot both fit a cosine and rank cooldowns).

``lr_ref`` is the largest peak LR of the fitted curves (set by ``for_curves``), so the
parameters do not depend on the LR's units. Evaluation is O(n) per relaxation time
(``relaxation.relaxed``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from lrsched.errors import InputError
from lrsched.laws.base import ALPHA, L0, A, Law, Param, power, power_gradient
from lrsched.laws.fit import peak_lrs
from lrsched.laws.relaxation import relaxed

TAUS = (0.0, 30.0, 1e3, 3e4)  # relaxation times, in steps at the reference LR (0: at once)
_TINY = 1e-300  # an LR this small counts as 0 in derivatives of x^p


def _relaxed(level: np.ndarray, x: np.ndarray, tau: float) -> np.ndarray:
    """V(t) = sum_{k<=t} level_k (1 - exp(-x_k / tau)) exp(-(C(t) - C(k)) / tau): the
    excess relaxing towards ``level`` over LR area; at tau = 0 the level itself."""
    if tau == 0:
        return level
    return relaxed(level * -np.expm1(-x / tau), x, tau)


def _log(x: np.ndarray) -> np.ndarray:
    """log x where x > 0, else 0 (x^p log x -> 0 as x -> 0 for p > 0)."""
    return np.log(np.where(x > 0, x, 1.0))


class CrossLRLaw(Law):
    """The cross-LR law (parameters L0, A, alpha, p, q and one weight b1..b4 per
    relaxation time of ``TAUS``; see the module). ``lr_ref``: the LR the others are
    relative to (default: the largest peak LR of the curves it is fitted to)."""

    name = "cross-lr"
    heldout_error = 0.0102  # see Law.heldout_error (decisions.md, development tasks)

    def __init__(self, lr_ref: float | None = None):
        if lr_ref is not None and not (isinstance(lr_ref, (int, float))
                                       and 0 < lr_ref < float("inf")):
            raise InputError(f"lr_ref={lr_ref!r} must be an LR > 0 (or None: the largest "
                             "fitted peak LR)")
        self.lr_ref = None if lr_ref is None else float(lr_ref)
        self.params = (
            L0, A, dataclasses.replace(ALPHA, grid=(0.4, 0.7)),
            Param("p", 0.05, 1.5, grid=(0.3, 0.6)),
            Param("q", 0.0, 2.0, grid=(0.3, 0.7)),
            *(Param(f"b{j + 1}", 0.0, 1e6, linear=True, may_vanish=True)
              for j in range(len(TAUS))),
        )

    def options(self) -> dict:
        return {"lr_ref": self.lr_ref}

    def for_curves(self, curves) -> CrossLRLaw:
        """The law with ``lr_ref`` the largest peak LR of ``curves`` (``fit.peak_lrs``: a
        run still in its warmup, or LRs mixed with multipliers, are InputErrors)."""
        peaks = peak_lrs(curves)
        return self if self.lr_ref is not None else CrossLRLaw(max(peaks))

    def prepare(self, lrs: np.ndarray, steps: np.ndarray) -> dict:
        if self.lr_ref is None:
            raise InputError("a cross-lr law predicts once fitted (its lr_ref is the "
                             "fitted peak LR); fit it first")
        n = int(steps.max()) + 1 if steps.size else 0
        x = lrs[:n] / self.lr_ref
        return {"steps": steps, "x": x, "log_x": _log(x)}

    def _parts(self, values: dict, prepared: dict, grad: bool):
        """S_p and the V_j at the prepared steps (with grad also dS_p/dp and dV_j/dq). They
        depend on p and q alone; the last ones made are kept in ``prepared`` (a fit asks
        for the basis and then the gradient at the same point)."""
        x, log_x, steps = prepared["x"], prepared["log_x"], prepared["steps"]
        key = (values["p"], values["q"])
        memo = prepared.setdefault("memo", {})
        if memo.get("key") != key:
            memo.clear()
            memo["key"] = key
            memo["xp"], memo["level"] = x ** values["p"], x ** values["q"]
            memo["s_p"] = np.cumsum(memo["xp"])[steps]
            memo["v"] = [_relaxed(memo["level"], x, tau)[steps] for tau in TAUS]
        if not grad:
            return memo["s_p"], memo["v"]
        if "dv" not in memo:
            memo["ds_p"] = np.cumsum(memo["xp"] * log_x)[steps]
            memo["dv"] = [_relaxed(memo["level"] * log_x, x, tau)[steps] for tau in TAUS]
        return memo["s_p"], memo["v"], memo["ds_p"], memo["dv"]

    def basis(self, values: dict, prepared: dict) -> dict:
        s_p, v = self._parts(values, prepared, grad=False)
        return {"L0": 1.0, "A": power(values, s_p),
                **{f"b{j + 1}": vj for j, vj in enumerate(v)}}

    def gradient(self, values: dict, prepared: dict) -> dict:
        s_p, v, ds_p, dv = self._parts(values, prepared, grad=True)
        out = power_gradient(values, s_p)
        with np.errstate(divide="ignore", invalid="ignore"):
            dp = -values["alpha"] * values["A"] * power(values, s_p) / s_p * ds_p
        weights = [values[f"b{j + 1}"] for j in range(len(TAUS))]
        return {**out, "p": dp, "q": sum(b * d for b, d in zip(weights, dv)),
                **{f"b{j + 1}": vj for j, vj in enumerate(v)}}

    def final_loss(self, params: dict, lrs: np.ndarray, grad: bool = False):
        """The loss at the last step T of ``lrs`` and, with ``grad``, its gradient with
        respect to every per-step LR (analytic, O(n) per relaxation time). With
        g_k = 1 - exp(-x_k / tau) and w_k = exp(-(C(T) - C(k)) / tau) (an LR at step i
        delays the relaxation of every older step k < i):

            dS_p/dx_i = p x_i^(p-1)
            dV/dx_i   = (q x_i^(q-1) g_i + x_i^q (1 - g_i) / tau) w_i
                        - (1/tau) sum_{k<i} x_k^q g_k w_k
        """
        x = np.asarray(lrs, dtype=float) / self.lr_ref
        alpha, a, p, q = (params[k] for k in ("alpha", "A", "p", "q"))
        s_p = float(np.sum(x**p))
        c = np.cumsum(x)
        x_safe = np.maximum(x, _TINY)
        level = x**q
        loss = params["L0"] + a * s_p**-alpha
        d_x = -alpha * a * s_p ** (-alpha - 1.0) * p * x_safe ** (p - 1.0) if grad else None
        for j, tau in enumerate(TAUS):
            b = params[f"b{j + 1}"]
            if tau == 0:  # the level of the last step's LR
                loss += b * level[-1]
                if grad:
                    d_x[-1] += b * q * x_safe[-1] ** (q - 1.0)
                continue
            g = -np.expm1(-x / tau)
            w = np.exp(-(c[-1] - c) / tau)
            loss += b * float(np.dot(level * g, w))
            if grad:
                older = np.concatenate([[0.0], np.cumsum(level * g * w)[:-1]])
                d_x += b * ((q * x_safe ** (q - 1.0) * g + level * (1.0 - g) / tau) * w
                            - older / tau)
        return float(loss) if not grad else (float(loss), d_x / self.lr_ref)
