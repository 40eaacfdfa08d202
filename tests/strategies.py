"""Hypothesis strategies: valid schedules of every family in the catalogue."""

from hypothesis import assume
from hypothesis import strategies as st

import lrsched
from lrsched.errors import InputError

fractions = st.floats(0.0, 1.0)
factors = st.floats(0.01, 1.0)
shapes = st.sampled_from(["linear", "cosine", "1-sqrt", "exponential"])
momenta = st.tuples(st.floats(0.0, 0.99), st.floats(0.0, 0.99)).map(sorted)

CLOSED_FORM = ["constant", "linear", "cosine", "polynomial", "exponential", "inverse_sqrt",
               "step", "multistep", "cosine_restarts", "one_cycle", "cyclic", "wsd"]


@st.composite
def warmups(draw, total):
    """The keys of a warmup shorter than ``total``: its length, and where it starts."""
    warmup = draw(st.integers(0, total - 1))
    init = draw(st.none() | fractions) if warmup else None
    return {"warmup": warmup, "warmup_init": init}


def _final(draw, shape):
    return draw(st.floats(0.001, 1.0) if shape == "exponential" else fractions)


@st.composite
def closed_form(draw, families=tuple(CLOSED_FORM)):
    """A closed-form family (any of ``families``) with valid random parameters (multipliers
    stay <= 1)."""
    total = draw(st.integers(2, 50_000))
    kw = draw(warmups(total))
    body = total - kw["warmup"]
    kind = draw(st.sampled_from(families))
    if kind == "constant":
        return lrsched.constant(**kw)
    if kind in ("linear", "cosine"):
        return getattr(lrsched, kind)(total_steps=total, final=draw(fractions), **kw)
    if kind == "polynomial":
        return lrsched.polynomial(total_steps=total, final=draw(fractions),
                                  power=draw(st.floats(0.1, 5.0)), **kw)
    if kind == "exponential":
        return lrsched.exponential(gamma=draw(factors), **kw)
    if kind == "inverse_sqrt":
        return lrsched.inverse_sqrt(timescale=draw(st.none() | st.integers(1, 10_000)), **kw)
    if kind == "step":
        return lrsched.step(step_size=draw(st.integers(1, 5000)), gamma=draw(factors), **kw)
    if kind == "multistep":
        ms = sorted(draw(st.sets(st.integers(1, 50_000), min_size=1, max_size=5)))
        return lrsched.multistep(milestones=ms, gamma=draw(factors), **kw)
    if kind == "cosine_restarts":
        try:  # cycles and cycle_mult over their whole valid range
            return lrsched.cosine_restarts(total_steps=total, cycles=draw(st.integers(1, 50)),
                                           cycle_mult=draw(st.floats(1.0, 1e9)),
                                           final=draw(fractions), **kw)
        except InputError:
            assume(False)
    if kind == "one_cycle":
        assume(body >= 40)
        base, top = draw(momenta)
        return lrsched.one_cycle(total_steps=total, pct_start=draw(st.floats(0.1, 0.45)),
                                 div_factor=draw(st.floats(1.0, 100.0)),
                                 final_div_factor=draw(st.floats(1.0, 1e5)),
                                 shape=draw(st.sampled_from(["cosine", "linear"])),
                                 three_phase=draw(st.booleans()), cycle_momentum=True,
                                 base_momentum=base, max_momentum=top, **kw)
    if kind == "cyclic":
        mode = draw(st.sampled_from(["triangular", "triangular2", "exp_range"]))
        cycling = {"cycle_momentum": False}  # cycles by default, as torch's CyclicLR
        if draw(st.booleans()):
            base, top = draw(momenta)
            cycling = {"cycle_momentum": True, "base_momentum": base, "max_momentum": top}
        return lrsched.cyclic(base=draw(fractions), step_size_up=draw(st.integers(1, 5000)),
                              step_size_down=draw(st.none() | st.integers(1, 5000)), mode=mode,
                              gamma=draw(factors) if mode == "exp_range" else 1.0,
                              **cycling, **kw)
    shape = draw(shapes)
    return lrsched.wsd(total_steps=total, shape=shape, final=_final(draw, shape),
                       decay_steps=draw(st.integers(1, body)), **kw)


@st.composite
def tabulated(draw):
    n = draw(st.integers(1, 50))
    values = draw(st.lists(st.floats(0.0, 10.0), min_size=n, max_size=n))
    steps = None
    if draw(st.booleans()):
        steps = sorted(draw(st.sets(st.integers(0, 10_000), min_size=n, max_size=n)))
    return lrsched.tabulated(values=values, steps=steps, warmup=draw(st.integers(0, 100)))


@st.composite
def joined(draw):
    parts = draw(st.lists(closed_form() | tabulated(), min_size=1, max_size=3))
    cycling = [p.momentum(0) is not None for p in parts]
    assume(all(cycling) or not any(cycling))
    bounds = sorted(draw(st.sets(st.integers(1, 60_000), min_size=len(parts) - 1,
                                 max_size=len(parts) - 1)))
    return lrsched.join(parts, bounds)


@st.composite
def infinite(draw):
    """Infinite schedules, annealed or not (multipliers stay <= 1)."""
    shape = draw(shapes)
    const = draw(st.floats(0.05, 1.0))
    kw = draw(warmups(5001))
    if draw(st.booleans()):
        kw |= {"anneal_at": kw["warmup"] + draw(st.integers(0, 40_000)),
               "anneal_steps": draw(st.integers(1, 20_000))}
    cooldown = draw(st.sampled_from(["cosine", "inverse_sqrt"]))
    if cooldown == "inverse_sqrt":
        kw["timescale"] = draw(st.none() | st.integers(1, 10**6))
    return lrsched.infinite(cooldown_steps=draw(st.integers(0, 20_000)), const=const,
                            final=_final(draw, shape) * const, shape=shape,
                            cooldown_shape=cooldown, **kw)


@st.composite
def continual(draw):
    segments = draw(st.lists(st.integers(2, 20_000), min_size=1, max_size=4))
    shape = draw(shapes)
    peak = draw(st.floats(0.05, 1.0))
    return lrsched.continual(segments=segments, rewarm=draw(st.integers(0, min(segments) - 1)),
                             peak=peak, final=_final(draw, shape) * peak, shape=shape,
                             **draw(warmups(segments[0])))


any_schedule = closed_form() | tabulated() | joined() | infinite() | continual()
