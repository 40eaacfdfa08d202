"""The cross-LR law (issue 17): its formula, gradients and a joint fit across peak LRs."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lrsched
from lrsched.cli import main
from lrsched.curves import Curve
from lrsched.errors import InputError
from lrsched.laws import CrossLRLaw, load_fit
from lrsched.laws.crosslr import TAUS
from lrsched.laws.fit import peak_lrs
from tests.test_cli_fit_curve import write_curve

LAW = CrossLRLaw(lr_ref=2e-3)
VALUES = {"L0": 2.5, "A": 4.0, "alpha": 0.5, "p": 0.4, "q": 0.35,
          **{f"b{j + 1}": w for j, w in enumerate((0.05, 0.3, 0.1, 0.02))}}
lr_lists = st.lists(st.floats(1e-6, 3e-3) | st.just(0.0), min_size=2, max_size=300)


def run(peak: float, kind: str, n: int = 3000, warmup: int = 100) -> np.ndarray:
    spec = {"constant": f"constant:warmup={warmup}",
            "cosine": f"cosine:total_steps={n},warmup={warmup}",
            "wsd": f"wsd:total_steps={n},warmup={warmup},decay_steps=20%"}[kind]
    return peak * lrsched.from_spec(spec)(np.arange(n))


def test_the_level_at_a_constant_lr_rises_as_eta_to_the_q():
    """Each V_j settles at x^q: long constant runs at two LRs differ in level by
    sum_j b_j (x_1^q - x_2^q) once the power-law part is gone (A = 0)."""
    values = {**VALUES, "A": 0.0}
    low, high = (LAW.predict(values, np.full(2_000_000, lr), [1_999_999])[0]
                 for lr in (5e-4, 2e-3))
    b = sum(VALUES[f"b{j + 1}"] for j in range(len(TAUS)))
    assert high - low == pytest.approx(b * (1.0 - 0.25**0.35), rel=1e-3)


@settings(max_examples=25, deadline=None)
@given(lrs=lr_lists, p=st.floats(0.1, 1.2), q=st.floats(0.05, 1.5), alpha=st.floats(0.1, 1.0))
def test_gradient_is_the_derivative_of_evaluate(lrs, p, q, alpha):
    values = {**VALUES, "p": p, "q": q, "alpha": alpha}
    lrs = np.array([1e-3, *lrs])
    prepared = LAW.prepare(lrs, np.arange(lrs.size))
    gradient = LAW.gradient(values, prepared)
    assert set(gradient) == set(LAW.param_names)
    for key, value in values.items():
        h = 1e-6 * max(abs(value), 1e-2)
        high, low = (LAW.evaluate({**values, key: value + s}, LAW.prepare(lrs, np.arange(
            lrs.size))) for s in (h, -h))
        numeric = (high - low) / (2 * h)
        rounding = 1e-13 * np.abs(high).max() / h
        np.testing.assert_allclose(np.broadcast_to(gradient[key], numeric.shape), numeric,
                                   rtol=1e-5, atol=rounding + 1e-7 * np.abs(numeric).max(),
                                   err_msg=f"d/d{key}")


@settings(max_examples=40, deadline=None)
@given(lrs=lr_lists, p=st.floats(0.1, 1.2), q=st.floats(0.05, 1.5))
def test_final_loss_is_the_last_step_of_predict_and_its_gradient_is_exact(lrs, p, q):
    values = {**VALUES, "p": p, "q": q}
    lrs = np.array([1e-3, *lrs])
    loss, grad = LAW.final_loss(values, lrs, grad=True)
    assert loss == pytest.approx(LAW.predict(values, lrs)[-1], rel=1e-12)
    assert LAW.final_loss(values, lrs) == loss
    keep = lrs > 1e-5  # away from 0, where x^p and x^q bend sharply
    h = 1e-10
    for j in np.flatnonzero(keep)[:20]:
        up, down = lrs.copy(), lrs.copy()
        up[j] += h
        down[j] -= h
        numeric = (LAW.final_loss(values, up) - LAW.final_loss(values, down)) / (2 * h)
        assert grad[j] == pytest.approx(numeric, rel=2e-4, abs=1e-6 * np.abs(grad).max())


def synthetic(peaks=(5e-4, 1e-3, 2e-3), kinds=("constant", "cosine")) -> list:
    """Curves made by the law itself (lr_ref 2e-3), logged every 50 steps."""
    curves = []
    for peak in peaks:
        for kind in kinds:
            lrs = run(peak, kind)
            steps = np.arange(150, lrs.size, 50)
            curves.append(Curve(steps, LAW.predict(VALUES, lrs, steps), lrs, f"{kind}@{peak:g}"))
    return curves


def test_a_joint_fit_recovers_the_law_and_predicts_an_unseen_peak_lr():
    fit = CrossLRLaw().fit(synthetic())
    assert fit.law.lr_ref == 2e-3  # the largest fitted peak LR
    for name in ("L0", "alpha", "p", "q"):
        assert fit.params[name] == pytest.approx(VALUES[name], rel=0.02), name
    lrs = run(1.5e-3, "wsd")
    np.testing.assert_allclose(fit.predict(lrs, [lrs.size - 1]),
                               LAW.predict(VALUES, lrs, [lrs.size - 1]), rtol=1e-4)


def test_a_saved_fit_predicts_the_same(tmp_path):
    fit = CrossLRLaw().fit(synthetic(peaks=(5e-4, 2e-3)))
    fit.save(tmp_path / "fit.json")
    loaded = load_fit(tmp_path / "fit.json")
    assert loaded.law == fit.law and loaded.law.lr_ref == fit.law.lr_ref
    lrs = run(1e-3, "cosine")
    np.testing.assert_array_equal(loaded.predict(lrs), fit.predict(lrs))


def test_an_unfitted_law_says_to_fit_it_first():
    with pytest.raises(InputError, match="fit it first"):
        CrossLRLaw().predict(VALUES, run(1e-3, "cosine"))
    with pytest.raises(InputError, match="lr_ref"):
        CrossLRLaw(lr_ref=-1.0)


# -- the command line, on curves the law made at three peak LRs --------------------------
@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """(fit file, the fit-curve output) of the law's own curves at 5e-4, 1e-3, 2e-3."""
    folder = tmp_path_factory.mktemp("cross")
    files = [write_curve(folder / f"{c.name}.csv", c) for c in synthetic()]
    test = Curve(np.arange(150, 3000, 50), LAW.predict(VALUES, run(1e-3, "wsd"),
                                                       np.arange(150, 3000, 50)),
                 run(1e-3, "wsd"), "wsd")
    out = folder / "fit.json"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["fit-curve", *files, "--test", write_curve(folder / "wsd.csv", test),
                     "--starts", "1", "--json", str(out)])
    assert code == 0
    return out, buf.getvalue()


def test_fit_curve_fits_curves_at_several_peak_lrs_with_the_cross_lr_law(fitted):
    out, printed = fitted
    saved = load_fit(out)
    assert saved.law.name == "cross-lr" and saved.law.lr_ref == 2e-3
    assert "2,951 steps at peak LR 0.001:" in printed  # the decision table per peak LR
    assert "2,951 steps across peak LRs:" in printed  # and the choice among them
    across = next(d for d in json.loads(out.read_text())["decisions"]
                  if d["peak_lr"] is None)
    assert len(across["curves"]) == 7 and across["regret"] == pytest.approx(0.0, abs=1e-9)


def test_predict_warns_outside_the_fitted_peak_lrs_and_says_how_far_it_holds(fitted, capsys):
    spec = ["--schedule", "cosine:total_steps=3000,warmup=100"]
    assert main(["predict", str(fitted[0]), *spec, "--peak-lr", "1.5e-3"]) == 0
    assert "warning" not in capsys.readouterr().err
    assert main(["predict", str(fitted[0]), *spec, "--peak-lr", "4e-3"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "outside the fitted peak LRs [0.0005, 0.002]" in err[0]
    assert "between them" in err[0]  # the measured error of extrapolating


def test_optimize_chooses_the_peak_lr_and_the_schedule_together(fitted, capsys, tmp_path):
    png, best = tmp_path / "sweep.png", tmp_path / "best.json"
    assert main(["optimize", str(fitted[0]), "--steps", "3000", "--peak-lr", "auto",
                 "--plot", str(png), "--out", str(best)]) == 0
    printed = capsys.readouterr().out
    rows = [line for line in printed.splitlines() if line.lstrip()[:1].isdigit()]
    assert len(rows) == 10  # auto: ten peak LRs over the fitted range, 5e-4 to 2e-3
    result = json.loads(best.read_text())
    predicted = {c["peak_lr"]: c["final_loss"] for c in result["candidates"]}
    assert result["peak_lr"] == min(predicted, key=predicted.get)
    assert f"result: peak LR {result['peak_lr']:g} with" in printed
    assert png.stat().st_size > 10_000
    table = lrsched.sweep(load_fit(fitted[0]), 3000, [5e-4, 1e-3], "cosine")
    assert [c.family for c in table] == ["cosine"] * 2 and table[0].loss <= table[1].loss
    assert main(["optimize", str(fitted[0]), "--steps", "3000", "--peak-lr",
                 "1e-3,2e-3", "--family", "linear"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert [line.split()[:3] for line in printed if line.lstrip()[:1].isdigit()] == [
        ["0.001", "optimised", "linear"], ["0.002", "optimised", "linear"]]


@pytest.mark.parametrize("peak, fragment", [
    ("2e-3:1e-3", "must run from low to high"),
    ("1e-3:2e-3:1", "expected a peak LR"),
    ("1e-3:2e-3:1000000", "N from 2 to 100"),
    ("fast", "expected a peak LR"),
])
def test_optimize_refuses_a_bad_peak_lr_set(fitted, capsys, peak, fragment):
    with pytest.raises(SystemExit) as exit_:
        main(["optimize", str(fitted[0]), "--steps", "3000", "--peak-lr", peak])
    assert exit_.value.code == 2
    assert fragment in capsys.readouterr().err


def test_fit_curve_refuses_runs_whose_peak_lr_is_unknown(tmp_path, capsys):
    curves = synthetic(peaks=(5e-4, 2e-3))
    rising = Curve(np.arange(10, 90, 10), np.linspace(5, 4, 8), np.linspace(1e-5, 2e-4, 100),
                   "rising")
    files = [write_curve(tmp_path / f"{c.name}.csv", c) for c in (*curves, rising)]
    assert main(["fit-curve", *files]) == 2
    assert "the LR still rises at its last logged step" in capsys.readouterr().err
    multipliers = Curve(curves[0].steps, curves[0].loss, curves[0].lrs / 5e-4, "multipliers")
    files = [*files[:2], write_curve(tmp_path / "multipliers.csv", multipliers)]
    assert main(["fit-curve", *files]) == 2
    assert "is one an LR multiplier column?" in capsys.readouterr().err


def test_a_peak_lr_with_a_single_curve_is_a_warning():
    fit = CrossLRLaw().fit(synthetic(peaks=(5e-4, 2e-3))[:3], starts=1)
    assert [w for w in fit.warnings if "has a single curve" in w] == [
        "peak LR 0.002 has a single curve (constant@0.002): its level and cooldown rest on "
        "one run; add a second run at that LR (constant or cosine)"]


def test_optimize_repeats_what_makes_the_fit_hard_to_trust(tmp_path, capsys):
    fit = CrossLRLaw().fit(synthetic(peaks=(5e-4, 2e-3))[:3], starts=1)  # one curve at 2e-3
    fit.save(tmp_path / "fit.json")
    assert main(["optimize", str(tmp_path / "fit.json"), "--steps", "3000", "--peak-lr",
                 "1e-3", "--family", "cosine"]) == 0
    assert ("lrsched optimize: warning: the fit: peak LR 0.002 has a single curve"
            in capsys.readouterr().err)


def test_auto_needs_a_fit_of_several_peak_lrs(tmp_path, capsys):
    fit = CrossLRLaw().fit(synthetic(peaks=(1e-3,)), starts=1)
    fit.save(tmp_path / "one.json")
    assert main(["optimize", str(tmp_path / "one.json"), "--steps", "3000",
                 "--peak-lr", "auto"]) == 2
    assert "all ran at peak LR 0.001" in capsys.readouterr().err


def test_a_sweep_leaves_out_the_peak_lrs_the_fit_cannot_answer_for(fitted):
    fit = load_fit(fitted[0])
    with pytest.warns(UserWarning, match=r"peak LR 0.1 left out: peak LR 0.1 is 50x above"):
        table = lrsched.sweep(fit, 3000, [1e-3, 0.1], "cosine")
    assert [c.peak_lr for c in table] == [1e-3]
    with pytest.warns(UserWarning), pytest.raises(InputError, match="answers for none"):
        lrsched.sweep(fit, 3000, [0.1, 1.0], "cosine")


def test_peak_lrs_a_hundredfold_apart_are_a_sweep_not_multipliers():
    """An LR sweep spans 100x (0.1x to 10x a range test's suggestion: 0.000376..0.0376,
    one rounding above 100x in floats); 1000x is LRs mixed with multipliers."""
    low, high = (Curve(np.arange(20, 100, 10), np.linspace(4, 3, 8), run(lr, "constant", 100,
                                                                          10), f"{lr:g}")
                 for lr in (0.000376, 0.0376))
    assert list(peak_lrs([low, high])) == pytest.approx([0.000376, 0.0376])
