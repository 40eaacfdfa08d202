"""The multi-power law of Luo et al. 2025, "A Multi-Power Law for Loss Curve Prediction
Across Learning Rate Schedules" (ICLR 2025, arXiv 2503.12811), eq. (4):

    L(t)   = L0 + A · (S1(t) + S_W)^-alpha - LD(t)
    LD(t)  = B · sum_{k<=t} (eta_{k-1} - eta_k) · G(eta_k^-gamma · S_k(t))
    S_k(t) = sum_{tau=k..t} eta_tau,    G(x) = 1 - (C·x + 1)^-beta

S1(t) + S_W is the LR summed over every step up to t (warmup included). The paper's LD
sums over the steps after the warmup (``warmup="peak"``: LD as if the warmup ran at the
peak LR); the authors' code sums over every step, so the rising warmup LR enters LD as
negative drops (``warmup="plain"``, the default). A step whose LR is exactly 0 takes
the limit G = 1.

Evaluating LD at every step directly costs O(n^2). Here only the steps where the LR
changes contribute: the ``EXACT_CHANGES`` most recent of them term by term, the older
ones in blocks whose spread in S_k(t) is at most ``BLOCK_WIDTH`` of their distance S_k(t)
and whose spread in log eta_k is at most 2 * BLOCK_WIDTH, each block one term: G at
the block's (eta_{k-1} - eta_k)-weighted mean of S_k(t) and of log eta_k. The midpoint
error is second order in the block width: about 1e-4 of LD (1e-5 in loss) on smooth
decays, checked against the direct sum in tests/test_laws.py. Some 100-200 terms per
step remain (the empty ones dropped); long runs are evaluated at anchor steps and
interpolated (``_anchors``): a 100,000-step cosine prediction takes about 0.2 s
(benchmarks/results/laws_table.md).
"""

from __future__ import annotations

import numpy as np

from lrsched.errors import InputError
from lrsched.laws.base import ALPHA, L0, A, Law, Param, power, power_gradient
from lrsched.lr_arrays import warmup_end

PRIOR_CENTRE = {"C": 1.0, "beta": 0.5, "gamma": 0.5}  # the authors' starting values
PRIOR_WIDTHS = (None, 1.0, 0.3, 0.1)  # tried by leave-one-curve-out; None: no prior
FEW_CURVES_WIDTH = 0.3  # with fewer than 3 training curves; see MultiPowerLaw

EXACT_CHANGES = 16  # most recent LR changes summed term by term
BLOCK_WIDTH = 1 / 8  # older changes grouped so that a block spans <= this * its distance
_CHUNK = 2048  # evaluation steps planned at once (bounds memory)
_CACHE_STEPS = 20_000  # keep the plan for reuse (fitting) when this few steps
DENSE = 20_000  # more steps than this are evaluated at anchors and interpolated
BIG_CHANGE = 1e-3  # an LR jump above this share of the peak LR gets anchors after it
_AFTER = np.unique(np.geomspace(1, 16384, 160).astype(np.int64))  # anchor offsets after one


def multipower_g(x, C, beta):
    """G(x) = 1 - (C·x + 1)^-beta, accurate for small x; G(inf) = 1."""
    return -np.expm1(-beta * np.log1p(C * x))


class _Changes:
    """The LR changes of one sign (falls or rises), with prefix sums for block means."""

    def __init__(self, k, drop, eta, cum):
        self.k = k  # steps with eta_{k-1} != eta_k
        self.drop = drop  # eta_{k-1} - eta_k
        self.log_eta = np.log(eta[k])
        self.before = cum[k - 1]  # sum of eta before step k, so S_k(t) = cum[t] - before
        level = np.floor(self.log_eta / (2 * BLOCK_WIDTH))
        self.eta_edges = np.flatnonzero(np.diff(level)) + 1
        terms = np.column_stack([drop, drop * self.log_eta, drop * self.before])
        self.prefix = np.vstack([np.zeros(3), np.cumsum(terms, axis=0)])

    def plan(self, t, cum_t):
        """The terms (row, weight, mean log eta, mean S_k(t)) of evaluation steps t: the
        exact changes and the blocks, each term of one row of t."""
        n_at = np.searchsorted(self.k, t, side="right")  # changes at steps <= t
        ranks = n_at[:, None] - EXACT_CHANGES + np.arange(EXACT_CHANGES)
        valid = ranks >= 0
        ranks = np.where(valid, ranks, 0)
        weight = [np.where(valid, self.drop[ranks], 0.0)]
        log_eta = [self.log_eta[ranks]]
        dist = [np.where(valid, cum_t[:, None] - self.before[ranks], 0.0)]
        n_far = np.maximum(n_at - EXACT_CHANGES, 0)
        rows = n_far > 0
        if rows.any():
            # block edges: S_k(t) = d0 * q^j, d0 = S_k(t) of the oldest exact change ...
            d0 = np.where(rows, cum_t - self.before[np.where(rows, n_far, 0)], 1.0)
            q = 1.0 + BLOCK_WIDTH
            span = (cum_t - self.before[0]) / d0
            n_edges = int(np.ceil(np.log(span[rows].max()) / np.log(q))) + 2
            edge = cum_t[:, None] - d0[:, None] * q ** np.arange(n_edges)
            edges = np.searchsorted(self.before, edge, side="right")
            # ... and wherever log eta crosses a multiple of 2 * BLOCK_WIDTH
            edges = np.sort(np.concatenate([edges, np.broadcast_to(
                self.eta_edges, (t.size, self.eta_edges.size))], axis=1), axis=1)
            edges = np.minimum(edges, n_far[:, None])
            edges[:, 0] = 0
            sums = np.diff(self.prefix[edges], axis=1)  # per block: drops, *log eta, *before
            w = sums[..., 0]
            safe = np.where(w != 0, w, 1.0)
            # a mean lies within its block: clipped there, rounding in the prefix sums of
            # many tiny drops cannot move it outside (a negative distance, a NaN in G)
            first, last = edges[:, :-1], np.maximum(edges[:, 1:] - 1, edges[:, :-1])
            ends = self.log_eta[first], self.log_eta[last]
            weight.append(w)
            log_eta.append(np.clip(sums[..., 1] / safe, np.minimum(*ends) - 2 * BLOCK_WIDTH,
                                   np.maximum(*ends) + 2 * BLOCK_WIDTH))
            before = np.clip(sums[..., 2] / safe, self.before[first], self.before[last])
            dist.append(cum_t[:, None] - np.where(w != 0, before, 0.0))
        weight, log_eta, dist = (np.concatenate(a, axis=1) for a in (weight, log_eta, dist))
        rows, cols = np.nonzero(weight)  # without the empty slots and blocks
        return rows, weight[rows, cols], log_eta[rows, cols], dist[rows, cols]


B = Param("B", 0.0, 1e8, linear=True)


def _bends(lrs: np.ndarray) -> np.ndarray:
    """Steps where the LR jumps (by more than ``BIG_CHANGE`` of its peak) or its slope
    changes abruptly (a decay starting or ending): LD bends fast after them."""
    drop = np.diff(lrs, prepend=lrs[0])
    jump = np.abs(drop) > BIG_CHANGE * lrs.max()
    before = np.concatenate([[0.0], drop[:-1]])
    bend = np.abs(drop - before) > 0.5 * np.maximum(np.abs(drop), np.abs(before))
    return np.flatnonzero(jump | bend)


def _anchors(steps: np.ndarray, big: np.ndarray) -> np.ndarray | None:
    """For more than ``DENSE`` steps, the steps LD is evaluated at and interpolated
    between: a grid dense at the start (geometric) and even later, and the steps just
    before and after every bend of the LR (``_bends``); None when that would not save
    work. Between them LD is smooth: linear interpolation stays within about 2e-5 of the
    loss, as the blocks do (tests/test_laws.py)."""
    if steps.size <= DENSE:
        return None
    lo, hi = int(steps.min()), int(steps.max())
    span = max(hi - lo, 1)
    grid = [lo + np.geomspace(1, span, 4000).astype(np.int64), np.linspace(lo, hi, 4000)]
    big = big[(big >= lo) & (big <= hi)]
    near = (big[:, None] + _AFTER[None, :]).ravel()
    at = np.unique(np.concatenate([*grid, big - 1, big, near, [lo, hi]]).astype(np.int64))
    at = at[(at >= lo) & (at <= hi)]
    return None if 2 * at.size > steps.size else at


class InstantDropLaw(Law):
    """The multi-power law in the limit G = 1 (a drop takes full effect at once):

        L(t) = L0 + A · (S1(t) + S_W)^-alpha - B · (eta_max - eta_t)

    The multi-power law takes its B from this law (its ``pilot``), as the authors' code
    starts its fit.
    """

    name = "instant-drop"
    params = (L0, A, ALPHA, B)

    def prepare(self, lrs: np.ndarray, steps: np.ndarray) -> dict:
        return {"s1": np.cumsum(lrs)[steps], "drop": lrs.max() - lrs[steps]}

    def basis(self, values: dict, prepared: dict) -> dict:
        return {"L0": 1.0, "A": power(values, prepared["s1"]), "B": -prepared["drop"]}

    def gradient(self, values: dict, prepared: dict) -> dict:
        return {**power_gradient(values, prepared["s1"]), "B": -prepared["drop"]}


class MultiPowerLaw(Law):
    """The multi-power law (parameters L0, A, alpha, B, C, beta, gamma).

    Fitted in two stages, as in the authors' procedure: the instant-drop law (its
    ``pilot``) gives B, the loss gained per unit of LR drop once a drop has taken full
    effect, and B stays at that value; then L0, A, alpha, C, beta, gamma are fitted under
    a weak log-space prior centred on the authors' starting values (``PRIOR_CENTRE``).
    Three training curves do not determine B and the shape of G apart (a larger B with a
    slower G fits them as well), and a free fit extrapolates that trade-off badly to
    longer or deeper decays; see docs/loss-curves.md.

    ``prior_width``: a number, ``None`` (no prior) or ``"loo"`` (default): the width of
    ``PRIOR_WIDTHS`` whose fits to all training curves but one predict the left-out curve
    best. With fewer than three curves there is nothing to leave out, and the width is
    ``FEW_CURVES_WIDTH``, the median of the widths that rule picks on the three training
    sets of data/curves/mpl (0.3, none, 0.1). A fitted law records the width it used.

    ``warmup``: ``"plain"`` (default) sums LD over every step, warmup included, as the
    authors' code does: with it their published parameters give their published
    Table 1 numbers on data/curves/mpl to three digits. ``"peak"`` sums LD after the
    warmup only, as the paper's equation reads.
    """

    name = "multipower"
    heldout_error = 0.0069  # see Law.heldout_error
    pilot = (InstantDropLaw(), ("B",))

    def __init__(self, warmup: str = "plain", prior_width: float | str | None = "loo"):
        if warmup not in ("plain", "peak"):
            raise InputError(f"warmup must be 'plain' or 'peak', not {warmup!r}")
        if prior_width is not None and prior_width != "loo" and not (
                isinstance(prior_width, (int, float)) and not isinstance(prior_width, bool)
                and prior_width > 0):
            raise InputError(f"prior_width must be a positive number, None or 'loo', "
                             f"not {prior_width!r}")
        self.warmup, self.prior_width = warmup, prior_width
        width = FEW_CURVES_WIDTH if prior_width == "loo" else prior_width
        def prior(name):
            return None if width is None else (PRIOR_CENTRE[name], width)

        self.params = (
            L0, A, ALPHA, B,
            Param("C", 1e-4, 1e4, grid=(0.5, 2.0, 8.0), prior=prior("C")),
            Param("beta", 0.01, 5.0, grid=(0.3, 0.6, 1.0), prior=prior("beta")),
            Param("gamma", 0.0, 1.5, grid=(0.3, 0.6), prior=prior("gamma")),
        )

    def options(self) -> dict:
        return {"warmup": self.warmup, "prior_width": self.prior_width}

    def formula(self) -> tuple:
        return (("warmup", self.warmup),)  # the prior width shapes the fit, not the formula

    def choices(self) -> dict:
        if self.prior_width != "loo":
            return {}
        return {"prior_width": (PRIOR_WIDTHS, FEW_CURVES_WIDTH)}

    def prepare(self, lrs: np.ndarray, steps: np.ndarray) -> dict:
        cum = np.cumsum(lrs)
        k = np.arange(1 if self.warmup == "plain" else warmup_end(lrs) + 1, lrs.size)
        drop = lrs[k - 1] - lrs[k]
        k, drop = k[drop != 0], drop[drop != 0]
        to_zero = lrs[k] == 0  # G = 1 for these: LD gains B * drop for good
        zero_sum = np.concatenate([[0.0], np.cumsum(drop[to_zero])])
        changes = [_Changes(k[m], drop[m], lrs, cum)
                   for m in (~to_zero & (drop > 0), ~to_zero & (drop < 0)) if m.any()]
        anchors = _anchors(steps, _bends(lrs))
        at = steps if anchors is None else anchors
        return {
            "steps": at,
            "wanted": None if anchors is None else steps,
            "s1": cum[steps],
            "s1_at": cum[at],
            "changes": changes,
            "zero": zero_sum[np.searchsorted(k[to_zero], at, side="right")],
            "plans": {} if at.size <= _CACHE_STEPS else None,
        }

    def basis(self, values: dict, prepared: dict) -> dict:
        return {"L0": 1.0, "A": power(values, prepared["s1"]),
                "B": -self.decay(values, prepared)}

    def gradient(self, values: dict, prepared: dict) -> dict:
        ld, *d_shape = self.decay(values, prepared, grad=True)
        return {**power_gradient(values, prepared["s1"]), "B": -ld,
                **{n: -values["B"] * d for n, d in zip(("C", "beta", "gamma"), d_shape)}}

    def decay(self, values: dict, prepared: dict, grad: bool = False):
        """LD(t) / B at the prepared steps (at their anchors, interpolated, for many);
        with ``grad`` also its derivatives in C, beta and gamma, term by term: with
        u = C x + 1 and x = eta^-gamma S,

            dG/dC = beta x u^(-beta-1),  dG/dbeta = log(u) u^-beta,
            dG/dgamma = -beta C u^(-beta-1) x log eta
        """
        steps = prepared["steps"]
        c, beta, gamma = values["C"], values["beta"], values["gamma"]
        totals = [prepared["zero"].copy()] + [np.zeros(steps.size) for _ in range(3 * grad)]
        for start in range(0, steps.size, _CHUNK):
            rows, weight, log_eta, dist = self._plan(prepared, start)
            x = np.exp(-gamma * log_eta) * dist
            terms = [multipower_g(x, c, beta)]
            if grad:
                log_u = np.log1p(c * x)
                rest = np.exp(-beta * log_u)  # 1 - G = u^-beta
                slope = beta * rest / (1.0 + c * x)  # beta u^(-beta-1)
                terms += [slope * x, log_u * rest, -c * slope * x * log_eta]
            part = slice(start, start + _CHUNK)
            for total, term in zip(totals, terms):
                total[part] += np.bincount(rows, weight * term, minlength=total[part].size)
        if prepared["wanted"] is not None:
            totals = [np.interp(prepared["wanted"], steps, total) for total in totals]
        return tuple(totals) if grad else totals[0]

    @staticmethod
    def _plan(prepared: dict, start: int) -> tuple[np.ndarray, ...]:
        """The terms (row, weight, log eta, S) of every LR change for the ``_CHUNK``
        evaluation steps from ``start``; kept for reuse (a fit's every evaluation) when
        there are few steps."""
        plans = prepared["plans"]
        if plans is not None and start in plans:
            return plans[start]
        part = slice(start, start + _CHUNK)
        terms = [changes.plan(prepared["steps"][part], prepared["s1_at"][part])
                 for changes in prepared["changes"]]
        if terms:
            plan = tuple(np.concatenate(column) for column in zip(*terms))
        else:  # the LR never changes: LD is 0
            plan = (np.zeros(0, np.int64), *(np.zeros(0) for _ in range(3)))
        if plans is not None:
            plans[start] = plan
        return plan

    def final_loss(self, params: dict, lrs: np.ndarray, grad: bool = False):
        """The loss at the last step T of ``lrs`` by the direct sum (``predict(params,
        lrs)[-1]`` up to its block approximation), and with ``grad=True`` also its
        gradient with respect to every per-step LR.

        With d_k = eta_{k-1} - eta_k, x_k = eta_k^-gamma S_k(T) and LD(T) = B sum_k d_k G(x_k)
        over the steps k of the sum (from 1, or after the warmup with ``warmup="peak"``):

            dLD/(B deta_j) = G(x_{j+1}) - G(x_j)                 (through d)
                             + sum_{k<=j} d_k G'(x_k) eta_k^-gamma  (through S_k(T))
                             - gamma d_j G'(x_j) x_j / eta_j        (through eta_j^-gamma)

        G'(x) = beta C (C x + 1)^(-beta-1); a step whose LR is exactly 0 has G = 1 (and no
        G' terms), as in ``predict``; dS1/deta_j = 1.
        """
        lrs = np.asarray(lrs, dtype=float)
        start = 1 if self.warmup == "plain" else warmup_end(lrs) + 1
        eta = lrs[start:]
        drop = lrs[start - 1:-1] - eta
        s_k = np.cumsum(eta[::-1])[::-1]  # S_k(T) = sum_{tau=k..T} eta_tau
        live = eta > 0
        safe = eta if live.all() else np.where(live, eta, 1.0)
        scale = np.exp(-params["gamma"] * np.log(safe))  # eta_k^-gamma
        x = scale * s_k
        c, beta = params["C"], params["beta"]
        g = multipower_g(x, c, beta)
        if not live.all():
            scale[~live], g[~live] = 0.0, 1.0
        s1 = lrs.sum()
        loss = params["L0"] + params["A"] * s1 ** -params["alpha"] - params["B"] * np.dot(drop, g)
        if not grad:
            return float(loss)
        g_prime = beta * c * (1.0 - g) / (1.0 + c * x)  # 0 where G = 1
        dg = drop * g_prime
        d_ld = np.zeros(lrs.size)
        d_ld[start - 1:-1] = g  # d_k rises with eta_{k-1}
        d_ld[start:] += np.cumsum(dg * scale) - g - params["gamma"] * dg * x / safe
        d_loss = -params["alpha"] * params["A"] * s1 ** (-params["alpha"] - 1) \
            - params["B"] * d_ld
        return float(loss), d_loss

