"""The relaxation law: lrsched's own loss-curve law, built to get the end of a run right.

    L(t)  = L0 + A · S1(t)^-alpha - B · R(t)
    R(t)  = sum_{k<=t} (eta_{k-1}^q - eta_k^q) · (1 - exp(-(S1(t) - S1(k)) / kappa))
    S1(t) = sum_{i<=t} eta_i,   eta_{-1} = 0

As in the momentum and multi-power laws, the loss falls as a power of the LR area S1
and an LR drop lowers it further, gradually. Two things differ, both from the picture
of SGD as a noisy descent (the noise-driven excess loss of a quadratic valley, as in the
functional scaling law of Li et al. 2025, arXiv 2509.19189, and supercollapse, Qiu et
al. 2025, arXiv 2507.02119):

- a drop takes effect in *LR area*, not in steps: the excess relaxes as
  exp(-(area since the drop) / kappa), so the LR left at the end of a cooldown sets how
  much of it is realised (at an LR of 0 nothing moves);
- the excess at an LR eta is B · eta^q: q < 1 makes the last part of a decay, towards
  0, worth more than the first, as measured runs show.

Choices, made on training curves only (benchmarks/results/decisions.md): on the
training sets of data/curves (each fitted alone) this form fits the end of every curve
best of the forms tried (in-sample, the last 20% of points: RMS 0.39e-3 relative, against
0.59e-3 for the momentum law and 1.56e-3 for the multi-power law), and predicts the end
of a cosine run from its first 60% best on the 124M runs. The warmup enters as it was
logged (the rise from 0 counts as negative drops, as in the other laws' "plain" warmup).

Evaluation is exact and O(n): R_t = exp(-S1(t)/kappa) · sum_{k<=t} d_k exp(S1(k)/kappa),
summed in stretches short enough for the exponentials (``relaxed``).
"""

from __future__ import annotations

import numpy as np

from lrsched.laws.base import ALPHA, L0, A, Law, Param, power, power_gradient

_TINY = 1e-300  # an LR this small counts as 0 in the derivative of eta^q
_SPAN = 20.0  # how far exp(z) may grow within one stretch of ``relaxed``
_MAX_STRETCHES = 256


def relaxed(drops: np.ndarray, eta: np.ndarray, kappa: float) -> np.ndarray:
    """R_t = sum_{k<=t} drops_k · exp(-(S1(t) - S1(k)) / kappa), for every t.

    With z = S1 / kappa, R_t = exp(-z_t) · sum_{k<=t} drops_k · exp(z_k), summed in
    stretches over which z grows by at most ``_SPAN`` (so the exponentials stay well
    inside float range), each carrying the previous stretch's last R forward.
    """
    z = np.cumsum(eta) / kappa
    ends = np.searchsorted(z, np.arange(z[0] + _SPAN, z[-1] + _SPAN, _SPAN), side="right")
    if ends.size > _MAX_STRETCHES:  # a tiny kappa: every drop settles within a few steps
        return _relaxed_by_doubling(drops, np.exp(-eta / kappa))
    out, carry, start = np.empty_like(z), 0.0, 0
    for end in np.unique(np.append(ends, z.size)):
        local = z[start:end] - z[start]
        out[start:end] = np.exp(-local) * (np.cumsum(drops[start:end] * np.exp(local))
                                           + carry * np.exp(-(z[start] - z[start - 1])
                                                            if start else 0.0))
        carry, start = out[end - 1], end
    return out


def _relaxed_by_doubling(drops: np.ndarray, decay: np.ndarray) -> np.ndarray:
    """The same sum as a doubling scan of R_t = decay_t · R_{t-1} + drops_t: after pass
    m, R holds the sum over the last 2^m terms and P the product of the last 2^m
    factors; it stops once P has vanished."""
    r, p = drops.astype(float), decay.astype(float)
    shift = 1
    while shift < r.size and p[shift:].max(initial=0.0) > 1e-17:
        r[shift:] += p[shift:] * r[:-shift]
        p[shift:] *= p[:-shift]
        p[:shift] = 0.0
        shift *= 2
    return r


class RelaxationLaw(Law):
    """The relaxation law (parameters L0, A, alpha, B, kappa, q; see the module)."""

    name = "relaxation"
    heldout_error = 0.0048  # see Law.heldout_error
    params = (
        L0, A, ALPHA,
        Param("B", 0.0, 1e8, linear=True),
        Param("kappa", 1e-5, 1e3, grid=(3e-3, 3e-2, 0.3)),  # an LR area, e.g. 3e-4 x 100 steps
        Param("q", 0.1, 2.0, grid=(0.5, 0.8)),
    )

    def prepare(self, lrs: np.ndarray, steps: np.ndarray) -> dict:
        n = int(steps.max()) + 1 if steps.size else 0
        eta = lrs[:n]
        return {"steps": steps, "eta": eta, "s1": np.cumsum(eta)[steps]}

    def basis(self, values: dict, prepared: dict) -> dict:
        return {"L0": 1.0, "A": power(values, prepared["s1"]), "B": -self.decay(values, prepared)}

    def gradient(self, values: dict, prepared: dict) -> dict:
        r, d_kappa, d_q = self.decay(values, prepared, grad=True)
        return {**power_gradient(values, prepared["s1"]), "B": -r,
                "kappa": -values["B"] * d_kappa, "q": -values["B"] * d_q}

    def decay(self, values: dict, prepared: dict, grad: bool = False):
        """R(t) at the prepared steps: the settled part -eta_t^q less the pending part
        P(t) = relaxed(d); with ``grad`` also, as R is linear in the drops d,

            dR/dkappa = -(S1(t) · P(t) - relaxed(d · S1)(t)) / kappa^2
            dR/dq     = -eta_t^q log eta_t - relaxed(dd/dq)(t)
        """
        eta, kappa, steps = prepared["eta"], values["kappa"], prepared["steps"]
        level = eta ** values["q"]
        drops = -np.diff(level, prepend=0.0)
        pending = relaxed(drops, eta, kappa)
        r = (-level - pending)[steps]  # sum_{k<=t} drops_k telescopes to -eta_t^q
        if not grad:
            return r
        s1 = np.cumsum(eta)
        d_kappa = -(s1 * pending - relaxed(drops * s1, eta, kappa))[steps] / kappa**2
        d_level = level * np.log(np.where(eta > 0, eta, 1.0))  # 0 at eta = 0 (q > 0)
        d_q = (-d_level - relaxed(-np.diff(d_level, prepend=0.0), eta, kappa))[steps]
        return r, d_kappa, d_q

    def final_loss(self, params: dict, lrs: np.ndarray, grad: bool = False):
        """The loss at the last step of ``lrs`` and, with ``grad``, its gradient with
        respect to every per-step LR (analytic, O(n))."""
        eta = np.asarray(lrs, dtype=float)
        a, alpha, b, kappa, q = (params[k] for k in ("A", "alpha", "B", "kappa", "q"))
        s = np.cumsum(eta)
        level = eta**q
        drops = -np.diff(level, prepend=0.0)
        w = np.exp(-(s[-1] - s) / kappa)  # w_k: how much of drop k is still pending
        r = -level[-1] - float(np.sum(drops * w))
        loss = params["L0"] + a * s[-1] ** -alpha - b * r
        if not grad:
            return float(loss)
        # dr/deta_j = -[j = T] q eta_T^(q-1)   (the settled level)
        #             - q eta_j^(q-1) (w_{j+1} - w_j)   (eta_j^q ends drop j, starts drop j+1)
        #             + sum_{k<j} drops_k w_k / kappa   (every older drop relaxes further)
        dlevel = q * np.maximum(eta, _TINY) ** (q - 1.0)
        w_next = np.append(w[1:], 0.0)  # no drop after the last step
        older = np.concatenate([[0.0], np.cumsum(drops * w)[:-1]])
        dr = older / kappa - dlevel * (w_next - w)
        dr[-1] -= dlevel[-1]
        dloss = -alpha * a * s[-1] ** (-alpha - 1.0) - b * dr
        return float(loss), dloss
