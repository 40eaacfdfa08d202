"""Hypothesis strategies: valid schedules of every family."""

from hypothesis import assume
from hypothesis import strategies as st

import lrsched

fractions = st.floats(0.0, 1.0)
factors = st.floats(0.01, 1.0)
shapes = st.sampled_from(["linear", "cosine", "1-sqrt", "exponential"])


@st.composite
def run_lengths(draw):
    """(total_steps, warmup) with warmup < total_steps."""
    total = draw(st.integers(2, 50_000))
    return total, draw(st.integers(0, total - 1))


@st.composite
def closed_form(draw):
    """Any closed-form family with valid random parameters (multipliers stay <= 1)."""
    total, warmup = draw(run_lengths())
    body = total - warmup
    kind = draw(st.sampled_from([
        "constant", "linear", "cosine", "polynomial", "exponential", "inverse_sqrt", "step",
        "multistep", "cosine_restarts", "one_cycle", "wsd"]))
    if kind == "constant":
        return lrsched.constant(warmup=warmup)
    if kind in ("linear", "cosine"):
        return getattr(lrsched, kind)(total_steps=total, warmup=warmup, final=draw(fractions))
    if kind == "polynomial":
        return lrsched.polynomial(total_steps=total, warmup=warmup, final=draw(fractions),
                                  power=draw(st.floats(0.1, 5.0)))
    if kind == "exponential":
        return lrsched.exponential(gamma=draw(factors), warmup=warmup)
    if kind == "inverse_sqrt":
        return lrsched.inverse_sqrt(warmup=warmup,
                                    timescale=draw(st.none() | st.integers(1, 10_000)))
    if kind == "step":
        return lrsched.step(step_size=draw(st.integers(1, 5000)), gamma=draw(factors),
                            warmup=warmup)
    if kind == "multistep":
        ms = sorted(draw(st.sets(st.integers(1, 50_000), min_size=1, max_size=5)))
        return lrsched.multistep(milestones=ms, gamma=draw(factors), warmup=warmup)
    if kind == "cosine_restarts":
        try:  # cycles and cycle_mult over their whole valid range
            return lrsched.cosine_restarts(total_steps=total, warmup=warmup,
                                           cycles=draw(st.integers(1, 50)),
                                           cycle_mult=draw(st.floats(1.0, 1e9)),
                                           final=draw(fractions))
        except ValueError:
            assume(False)
    if kind == "one_cycle":
        if body < 40:
            return lrsched.constant(warmup=warmup)
        return lrsched.one_cycle(total_steps=total, warmup=warmup,
                                 pct_start=draw(st.floats(0.1, 0.45)),
                                 div_factor=draw(st.floats(1.0, 100.0)),
                                 final_div_factor=draw(st.floats(1.0, 1e5)),
                                 anneal=draw(st.sampled_from(["cosine", "linear"])),
                                 three_phase=draw(st.booleans()))
    shape = draw(shapes)
    final = draw(st.floats(0.001, 1.0) if shape == "exponential" else fractions)
    return lrsched.wsd(total_steps=total, warmup=warmup, decay_shape=shape, final=final,
                       decay_steps=draw(st.integers(1, body)))


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
    parts = draw(st.lists(closed_form() | tabulated(), min_size=2, max_size=3))
    bounds = sorted(draw(st.sets(st.integers(1, 60_000), min_size=len(parts) - 1,
                                 max_size=len(parts) - 1)))
    return lrsched.join(parts, bounds)


@st.composite
def infinite(draw):
    """Infinite schedules, annealed or not (multipliers stay <= 1)."""
    shape = draw(shapes)
    const = draw(st.floats(0.05, 1.0))
    final = draw(st.floats(0.001, 1.0) if shape == "exponential" else fractions) * const
    warmup = draw(st.integers(0, 5000))
    kw = {}
    if draw(st.booleans()):
        kw = {"anneal_at": warmup + draw(st.integers(0, 40_000)),
              "anneal_steps": draw(st.integers(1, 20_000))}
    return lrsched.infinite(warmup=warmup, cooldown_steps=draw(st.integers(0, 20_000)),
                            const=const, final=final, anneal_shape=shape,
                            cooldown_shape=draw(st.sampled_from(["cosine", "inverse_sqrt"])),
                            timescale=draw(st.floats(1e-20, 1e6)), **kw)


@st.composite
def continual(draw):
    segments = draw(st.lists(st.integers(2, 20_000), min_size=1, max_size=4))
    shape = draw(shapes)
    peak = draw(st.floats(0.05, 1.0))
    final = draw(st.floats(0.001, 1.0) if shape == "exponential" else fractions) * peak
    return lrsched.continual(segments=segments, warmup=draw(st.integers(0, segments[0] - 1)),
                             rewarm=draw(st.integers(0, min(segments) - 1)), peak=peak,
                             final=final, decay_shape=shape)


any_schedule = closed_form() | tabulated() | joined() | infinite() | continual()
