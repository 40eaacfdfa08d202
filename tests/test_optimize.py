"""Choosing a schedule: the free-form family, ``optimize``, ``candidates`` and the
``lrsched optimize`` command."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lrsched
from lrsched.choosing import anneal_plan, candidates, optimize, sweep
from lrsched.choosing.families import FreeForm
from lrsched.choosing.prediction import final_loss
from lrsched.cli import main
from lrsched.errors import InputError
from lrsched.laws import Fit, MomentumLaw, MultiPowerLaw, predictive
from lrsched.laws.multipower import InstantDropLaw
from lrsched.laws.predictive import odds_text as odds

PEAK, STEPS, WARMUP = 3e-4, 3000, 200
DATA = [{"name": "a.csv", "first_step": WARMUP, "lr": [PEAK / WARMUP, PEAK]}]
# parameters near the fits to data/curves/mpl/25M
PARAMS = {
    "momentum": {"L0": 3.04, "A": 0.52, "alpha": 0.51, "C": 1.64, "lam": 0.9957},
    "multipower": {"L0": 3.04, "A": 0.52, "alpha": 0.51, "B": 378.0, "C": 0.93, "beta": 1.23,
                   "gamma": 0.47},
}


def make_fit(name: str, spread: float = 1e-3, calibration: float | None = None) -> Fit:
    """A fit near the 25M data's; ``spread``: the parameters' relative standard error;
    ``calibration``: the law's held-out error (default: the law's own)."""
    law = MomentumLaw() if name == "momentum" else MultiPowerLaw()
    params = PARAMS[name]
    names = [n for n in params if n != "B"]  # B is held in the multi-power fit
    cov = np.diag([(spread * params[n]) ** 2 for n in names])
    return Fit(law, dict(params), {n: 0.0 for n in params}, covariance=cov,
               covariance_names=names, data=DATA, calibration=calibration)


SURE = {"spread": 1e-7, "calibration": 1e-7}  # a fit that tells every candidate apart
UNSURE = {"spread": 1e-2, "calibration": 0.05}  # one that cannot tell the best WSDs apart


@pytest.fixture(params=["momentum", "multipower"])
def fit(request):
    return make_fit(request.param)


@pytest.fixture(scope="module", params=["momentum", "multipower"])
def optima(request):
    """A fit and the ``optimize`` result of every family for it (the tests only read them)."""
    fit = make_fit(request.param)
    return fit, {family: optimize(fit, STEPS, PEAK, family, warmup=WARMUP)
                 for family in ("cosine", "linear", "wsd", "free")}


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 400), st.integers(0, 50), st.data())
def test_free_form_never_rises_and_its_gradient_is_the_chain_rule(body, warmup, data):
    form = FreeForm(warmup + body, warmup, PEAK, floor=0.01, knots=12)
    r = np.array(data.draw(st.lists(st.floats(0.0, 1.0), min_size=form.size,
                                    max_size=form.size)))
    lrs = form.lrs(r)
    after = lrs[warmup:]
    assert lrs.size == warmup + body and np.all(np.diff(after) <= 1e-18)
    assert after[0] == PEAK and after.min() >= 0.01 * PEAK * (1 - 1e-12)
    schedule = form.schedule(r)
    assert lrsched.from_spec(schedule.to_spec()) == schedule
    # d(c . lrs)/dr for a random c: lrs is linear in each r_j, so differences are exact
    c = np.random.default_rng(body).normal(size=lrs.size)
    grad = form.grad(r, c)
    for j in range(form.size):
        up, down = r.copy(), r.copy()
        up[j], down[j] = min(r[j] + 1e-4, 1.0), max(r[j] - 1e-4, 0.0)
        numeric = (c @ form.lrs(up) - c @ form.lrs(down)) / (up[j] - down[j])
        assert grad[j] == pytest.approx(numeric, rel=1e-6, abs=1e-9 * np.abs(c).sum() * PEAK)


def test_every_family_returns_a_schedule_for_the_whole_run(optima):
    fit, results = optima
    for family, best in results.items():
        m = best.schedule(np.arange(STEPS))
        assert best.family == family and best.schedule.total_steps == STEPS
        assert best.schedule.warmup == WARMUP and np.all(np.diff(m[WARMUP:]) <= 1e-12)
        assert best.loss == pytest.approx(final_loss(fit, PEAK * m), rel=1e-12)
        low, high = best.interval
        assert low < best.loss < high
        assert lrsched.from_spec(best.schedule.to_spec()) == best.schedule


def test_the_optima_beat_every_fixed_row_and_the_free_form_beats_the_families(fit):
    table = candidates(fit, STEPS, PEAK, warmup=WARMUP)
    losses = [c.loss for c in table]
    assert losses == sorted(losses)
    by_family = {c.family: c.loss for c in table if c.family}
    fixed = {c.name: c.loss for c in table if not c.family}
    assert len(fixed) == 3 + 9 * 4 and set(by_family) == {"free", "wsd", "cosine", "linear"}
    assert by_family["cosine"] <= min(fixed["cosine to 10%"], fixed["cosine to 0"]) + 1e-9
    assert by_family["linear"] <= fixed["linear to 0"] + 1e-9
    assert by_family["wsd"] <= min(v for k, v in fixed.items() if k.startswith("wsd")) + 1e-9
    assert by_family["free"] <= min(by_family.values()) + 1e-5  # 48 knots vs exact WSD


def assert_odds(fit, table):
    """The best first, without odds; every other row's chance of ending lower than it, as
    ``Fit.compare`` gives it for the pair; the ties exactly the rows of 20% or more."""
    best, *rest = table
    assert np.isnan(best.beats_best) and not best.tied
    assert [c.loss for c in rest] == sorted(c.loss for c in rest)
    for c in rest:
        assert 0 <= c.beats_best <= 0.5  # the best's predicted loss is the lowest
        assert c.tied == (c.beats_best >= 1 - predictive.RESOLVED)
        assert c.beats_best == pytest.approx(fit.compare(c.lrs(), best.lrs()).p_lower,
                                             abs=1e-9)


@pytest.mark.parametrize("name", ["momentum", "multipower"])
def test_the_table_gives_each_candidate_its_chance_of_beating_the_best(name):
    sure = candidates(make_fit(name, **SURE), STEPS, PEAK, warmup=WARMUP)
    unsure = candidates(make_fit(name, **UNSURE), STEPS, PEAK, warmup=WARMUP)
    for table, calibration in ((sure, SURE), (unsure, UNSURE)):
        assert_odds(make_fit(name, **calibration), table)
    assert not any(c.tied for c in sure)
    tied = [c.name for c in unsure if c.tied]
    assert len(tied) >= 3 and "wsd 10% linear" in tied and "cosine to 0" not in tied
    assert optimize(make_fit(name), STEPS, PEAK, "cosine", warmup=WARMUP).tied is False


@settings(max_examples=15, deadline=None)
@given(st.lists(st.floats(0.8 * PEAK, 1.25 * PEAK), min_size=1, max_size=4),
       st.floats(1e-6, 0.1), st.floats(0.01, 5.0))
def test_a_sweep_gives_each_peak_lr_its_chance_of_beating_the_best(peaks, calibration, length):
    fit = make_fit("momentum", calibration=calibration)
    fit.correlation_length = length
    table = sweep(fit, STEPS, peaks, "cosine", warmup=WARMUP)
    assert sorted(c.peak_lr for c in table) == sorted(peaks)
    assert_odds(fit, table)


def test_a_candidate_as_good_as_the_best_has_even_odds():
    table = sweep(make_fit("momentum"), STEPS, [PEAK, PEAK], "cosine", warmup=WARMUP)
    assert table[0].loss == table[1].loss and np.isnan(table[0].beats_best)
    assert table[1].beats_best == 0.5 and table[1].tied


def test_the_free_form_optimum_is_a_minimum(optima):
    # no feasible direction lowers the loss: nudge knots down (or up), re-evaluate
    fit, best = optima[0], optima[1]["free"]
    form = FreeForm(STEPS, WARMUP, PEAK)
    values = np.array(best.schedule.values)
    for j in range(1, values.size):
        for step in (-0.01, 0.01):
            nudged = values.copy()
            nudged[j:] = np.clip(nudged[j:] + step, form.floor, 1.0)
            nudged = np.minimum.accumulate(nudged)
            schedule = lrsched.tabulated(values=nudged.tolist(), steps=best.schedule.steps,
                                         warmup=WARMUP)
            assert final_loss(fit, PEAK * schedule(np.arange(STEPS))) >= best.loss - 1e-7


def test_wsd_chooses_among_given_fractions():
    fit = make_fit("multipower")
    fractions = [0.1, 0.3, 0.5]
    best = optimize(fit, STEPS, PEAK, "wsd", warmup=WARMUP, shapes=["linear"],
                    fractions=fractions, final=0.0)
    losses = [final_loss(fit, PEAK * lrsched.wsd(total_steps=STEPS, warmup=WARMUP,
                                                 decay_steps=round(f * STEPS))(np.arange(STEPS)))
              for f in fractions]
    assert best.schedule == lrsched.wsd(total_steps=STEPS, warmup=WARMUP,
                                        decay_steps=round(fractions[int(np.argmin(losses))]
                                                          * STEPS))


def test_bad_questions_are_one_line_errors():
    fit = make_fit("momentum")
    with pytest.raises(InputError, match="warmup"):
        optimize(fit, 100, PEAK, warmup=100)
    with pytest.raises(InputError, match="fitted law starts"):
        optimize(fit, WARMUP, PEAK, warmup=10)
    with pytest.raises(InputError, match="unknown family"):
        optimize(fit, STEPS, PEAK, "step")
    with pytest.raises(InputError, match="shape"):
        optimize(fit, STEPS, PEAK, "wsd", shapes=["square"])
    drop = Fit(InstantDropLaw(), {"L0": 3.0, "A": 0.5, "alpha": 0.5, "B": 300.0}, {})
    with pytest.raises(InputError, match="final_loss"):
        optimize(drop, STEPS, PEAK)
    with pytest.raises(InputError, match="are these LR multipliers"):
        optimize(fit, STEPS, 1.0, "cosine", warmup=WARMUP)  # a multiplier, not an LR
    with pytest.raises(InputError, match="no law is trusted that far"):
        optimize(fit, STEPS, 1e-5, "cosine", warmup=WARMUP)  # 30x below the fitted LR


@pytest.fixture
def fit_file(tmp_path):
    path = tmp_path / "fit.json"
    make_fit("multipower").save(path)
    return path


def test_cli_prints_the_table_and_writes_the_result(fit_file, tmp_path, capsys):
    out, png = tmp_path / "best.json", tmp_path / "best.png"
    assert main(["optimize", str(fit_file), "--steps", str(STEPS), "--peak-lr", str(PEAK),
                 "--family", "wsd", "--out", str(out), "--plot", str(png)]) == 0
    text = capsys.readouterr().out
    assert "free-form optimum" in text and "below cosine to 10%" in text
    assert f"warmup {WARMUP} (the fitted runs')" in text
    doc = json.loads(out.read_text())
    schedule = lrsched.Schedule.from_dict(doc["schedule"])
    assert doc["family"] == "wsd" and schedule.name == "wsd"
    assert lrsched.from_spec(doc["spec"]) == schedule
    assert len(doc["candidates"]) == 3 + 36 + 4 and png.stat().st_size > 10_000
    first, *rest = doc["candidates"]
    assert first["beats_best"] is None and first["tied"] is False
    assert all(0 <= c["beats_best"] <= 0.5 and isinstance(c["tied"], bool) for c in rest)
    assert doc["beats_best"] == next(c["beats_best"] for c in rest if c["name"] == doc["name"])
    result = next(line for line in text.splitlines() if line.startswith("result"))
    assert result.endswith(f"{odds(doc['beats_best'], tie=False)} chance of beating the best"
                           + " (a tie)" * doc["tied"])  # the wsd result is not the best


def run_optimize(capsys, path, *args) -> tuple[list[str], dict]:
    """``lrsched optimize`` on a fit file: what it printed, and what --out wrote."""
    out = path.parent / "best.json"
    assert main(["optimize", str(path), "--steps", str(STEPS), "--out", str(out), *args]) == 0
    return capsys.readouterr().out.splitlines(), json.loads(out.read_text())


@pytest.mark.parametrize("calibration", [SURE, UNSURE], ids=["sure", "unsure"])
def test_cli_says_whether_the_best_is_resolved(tmp_path, capsys, calibration):
    path = tmp_path / "fit.json"
    make_fit("multipower", **calibration).save(path)
    lines, doc = run_optimize(capsys, path, "--peak-lr", str(PEAK))
    header = next(i for i, line in enumerate(lines) if line.startswith("rank"))
    rows = lines[header + 1:header + 44]
    assert "P(beats best)" in lines[header] and rows[0].split()[-2] == "best"
    assert [" tie " in r for r in rows] == [c["tied"] for c in doc["candidates"]]
    assert lines[header + 44].startswith("P(beats best): the fit's chance of ending lower")
    ties = sum(c["tied"] for c in doc["candidates"])
    verdict = next(line for line in lines if "resolved" in line)
    if calibration is SURE:
        assert ties == 0 and verdict == ("resolved: every other candidate has < 20% chance "
                                         "of beating free-form optimum")
    else:
        assert ties > 5 and verdict.startswith(f"not resolved: {ties} candidates within the "
                                               "fit's resolution of free-form optimum: ")
        assert verdict.endswith(f"and {ties - 5} more (tie in the table)")


@pytest.mark.parametrize("calibration", [SURE, UNSURE], ids=["sure", "unsure"])
def test_cli_sweep_gives_each_peak_lr_its_odds(tmp_path, capsys, calibration):
    path = tmp_path / "fit.json"
    make_fit("momentum", **calibration).save(path)
    lines, doc = run_optimize(capsys, path, "--peak-lr", "2.5e-4,3e-4,3.5e-4", "--family",
                              "cosine")
    rows = [line.split() for line in lines if line.lstrip()[:1].isdigit()]
    assert [r[0] for r in rows] == ["0.00025", "0.0003", "0.00035"]
    chance = {c["peak_lr"]: c["beats_best"] for c in doc["candidates"]}
    assert [r[-2] == "best" for r in rows] == [chance[float(r[0])] is None for r in rows]
    assert chance[doc["peak_lr"]] is None
    verdict = lines[next(i for i, x in enumerate(lines) if x.startswith("result: peak LR")) + 1]
    if calibration is SURE:
        assert verdict == ("resolved: every other candidate has < 20% chance of beating "
                           f"peak LR {doc['peak_lr']:g}")
    else:
        assert verdict == (f"not resolved: 2 candidates within the fit's resolution of peak LR "
                           f"{doc['peak_lr']:g}: " + ", ".join(
                               f"peak LR {c['peak_lr']:g} ({odds(c['beats_best'], tie=False)})"
                               for c in doc["candidates"][1:]))


@pytest.mark.parametrize(("args", "message"), [
    (["--steps", "150"], "fitted law starts"),
    (["--steps", "500", "--warmup", "500"], "warmup"),
    (["--steps", "500", "--plot", "missing/best.png"], "does not exist"),
    (["--steps", "500", "--out", "missing/best.json"], "does not exist"),
])
def test_cli_bad_input_is_one_line_and_writes_nothing(fit_file, tmp_path, capsys, args,
                                                      message):
    assert main(["optimize", str(fit_file), "--peak-lr", str(PEAK), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit.json"]


def test_cli_wrong_law_file_is_one_line(tmp_path, capsys):
    path = tmp_path / "fit.json"
    path.write_text(json.dumps({"law": "instant-drop", "version": 1, "params": {}}))
    assert main(["optimize", str(path), "--steps", "500", "--peak-lr", "3e-4"]) == 2
    assert 'law "instant-drop" is not one of' in capsys.readouterr().err


def test_cli_warns_of_a_peak_lr_far_outside_the_fit(fit_file, capsys):
    assert main(["optimize", str(fit_file), "--steps", "600", "--peak-lr", "2e-3"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("lrsched optimize: warning: peak LR 0.002 is outside the fitted peak LRs")
    assert main(["optimize", str(fit_file), "--steps", "600", "--peak-lr", "1e3"]) == 2
    assert "no law is trusted that far" in capsys.readouterr().err  # not a loss of -118


def test_choosing_is_called_as_functions_of_a_fit():
    """Choosing uses fits, a fit knows nothing of choosing (the layers, issue 21): the
    functions are lrsched's own names."""
    fit = make_fit("momentum")
    assert not hasattr(fit, "optimize") and not hasattr(fit, "anneal_plan")
    assert lrsched.optimize is optimize and lrsched.anneal_plan is anneal_plan
    assert lrsched.candidates(fit, STEPS, PEAK, warmup=WARMUP)[0].loss <= optimize(
        fit, STEPS, PEAK, "cosine", warmup=WARMUP).loss
