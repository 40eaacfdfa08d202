"""``lrsched fit-curve`` and ``lrsched predict`` end to end, and their exit-2 errors."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from test_fitting import synthetic
from test_laws import MOM

from lrsched.cli import main
from lrsched.cli.fit_curve import LAW_NAMES
from lrsched.curves import Curve
from lrsched.laws import LAWS, MomentumLaw
from lrsched.laws.predictive import odds_text as odds

DATA = Path(__file__).resolve().parents[1] / "data" / "curves" / "mpl" / "25M"
SCHEDULES = {
    "cosine_24000": "cosine:total_steps=24000,warmup=2160,final=0.1",
    "constant_24000": "constant:warmup=2160",
    "wsdcon_9": "multistep:milestones=[5840],gamma=0.3,warmup=2160",
    "wsdcon_3": "multistep:milestones=[5840],gamma=0.1,warmup=2160",
}


def curve_args(*names):
    files = [str(DATA / f"{n}.csv") for n in names]
    schedules = [a for n, f in zip(names, files) for a in ("--schedule", f"{f}={SCHEDULES[n]}")]
    return files, [*schedules, "--peak-lr", "3e-4"]


@pytest.fixture(scope="module")
def fit_run(tmp_path_factory):
    """A momentum-law fit of three real curves, scored on a fourth, with JSON and plot;
    the folder and what the command printed."""
    out = tmp_path_factory.mktemp("fit")
    train, opts = curve_args("cosine_24000", "constant_24000", "wsdcon_9", "wsdcon_3")
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        code = main(["fit-curve", *train[:3], "--test", train[3], *opts, "--law", "momentum",
                     "--json", str(out / "fit.json"), "--plot", str(out / "fit.png")])
    assert code == 0
    return out, printed.getvalue()


@pytest.fixture(scope="module")
def fitted(fit_run):
    return fit_run[0]


def test_fit_curve_prints_table_and_writes_json_and_plot(fit_run):
    folder, text = fit_run
    raw = json.loads((folder / "fit.json").read_text())
    assert raw["law"] == "momentum"
    assert set(raw["params"]) == {"L0", "A", "alpha", "C", "lam"} == set(raw["stderr"])
    assert set(raw["train"]) == {str(DATA / f"{n}.csv")
                                 for n in ("cosine_24000", "constant_24000", "wsdcon_9")}
    test = raw["test"][str(DATA / "wsdcon_3.csv")]
    assert set(test) == {"r2", "mae", "rmse", "pred_e", "worst_e", "final_e", "n"}
    assert test["pred_e"] < 0.01
    assert raw["test_mean"]["pred_e"] == test["pred_e"] and raw["seconds"] > 0
    assert "wsdcon_3.csv" in text and "mean of test" in text and "pred_e" in text
    assert (folder / "fit.png").read_bytes()[:4] == b"\x89PNG"


def test_fit_curve_reports_the_end_of_the_run_and_the_decisions(fit_run):
    """Runs of equal length, training and test curves alike, are compared at their end;
    the interval's calibration comes from the training curves."""
    folder, text = fit_run
    assert "final_e" in text and "23,921 steps: gap error" in text  # cosine and constant
    raw = json.loads((folder / "fit.json").read_text())
    decisions = {d["steps"]: d for d in raw["decisions"]}
    assert {n: len(d["curves"]) for n, d in decisions.items()} == {23921: 2, 14145: 2}
    assert {os.path.basename(c) for c in decisions[14145]["curves"]} == {"wsdcon_9.csv",
                                                                         "wsdcon_3.csv"}
    assert set(decisions[23921]) >= {"gap_error", "regret", "kendall_tau", "predicted", "actual"}
    assert 0 < raw["calibration"] < 0.05 and isinstance(raw["warnings"], list)


def test_fit_curve_gives_each_run_its_chance_of_beating_the_best(fit_run):
    """In each group of equal length, the run predicted best and every other run's chance
    of ending lower than it, as the table prints it and the JSON holds it."""
    folder, text = fit_run
    text = text[text.index("runs of equal length"):]
    assert "P(beats best): the fit's chance of ending lower than the best; tie: " in text
    for d in json.loads((folder / "fit.json").read_text())["decisions"]:
        chances = d["beats_best"]
        best = int(np.argmin(d["predicted"]))
        assert chances[best] is None and chances.count(None) == 1
        assert all(0 <= p <= 0.5 for p in chances if p is not None)
        for curve, p in zip(d["curves"], chances):
            row = next(line for line in text.splitlines() if line.strip().startswith(curve))
            assert row.endswith(f"P(beats best) {odds(p)}")


@pytest.mark.parametrize("p, text", [
    (None, "best"), (float("nan"), "best"), (0.0, "<1%"), (0.0099, "<1%"), (0.01, "1%"),
    (0.19, "19%"), (0.1999, "19%"), (0.2, "20% tie"), (0.29, "29% tie"), (0.5, "50% tie"),
])
def test_odds_are_whole_percents_rounded_down_so_only_a_tie_shows_20(p, text):
    assert odds(p) == text
    assert odds(p, tie=False) == text.removesuffix(" tie")


def test_fit_curve_table(tmp_path, capsys):
    train, opts = curve_args("cosine_24000", "wsdcon_9")
    assert main(["fit-curve", *train, *opts, "--law", "momentum", "--lam", "0.999"]) == 0
    out = capsys.readouterr().out
    assert "loss points before each curve's warmup end ignored" in out
    assert "lam" in out and "fixed" in out and "wsdcon_9.csv" in out and "pred_e" in out


def test_predict_round_trip_matches_the_fit(fitted, tmp_path, capsys):
    from lrsched import from_spec, load_fit

    spec = "wsd:total_steps=30000,warmup=2160,decay_steps=6000,final=0.1"
    out_csv, out_png = tmp_path / "pred.csv", tmp_path / "pred.png"
    assert main(["predict", str(fitted / "fit.json"), "--schedule", spec, "--peak-lr", "3e-4",
                 "--csv", str(out_csv), "--plot", str(out_png)]) == 0
    rows = list(csv.DictReader(out_csv.open()))
    assert int(rows[0]["step"]) == 2160 and int(rows[-1]["step"]) == 29999
    lrs = 3e-4 * from_spec(spec)(np.arange(30000))
    expected = load_fit(fitted / "fit.json").predict(lrs, np.arange(2160, 30000))
    assert np.allclose([float(r["loss"]) for r in rows], expected)
    assert out_png.read_bytes()[:4] == b"\x89PNG"
    assert "steps before 2160" in capsys.readouterr().out


def one_line_error(capsys, argv, fragment):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and fragment in err, err
    return err


@pytest.mark.parametrize("name, text, fragment", [
    ("bad.csv", "", "empty file"),
    ("bad.csv", "1,1e-3,3\n", "not a header"),
    ("bad.csv", "step,lr\n1,1e-3\n", "no loss column among step, lr"),
    ("bad.csv", "step,lr,loss\n1,1e-3,x\n", "row 2, column 'loss'"),
    ("bad.csv", "step,lr,loss\n5,1e-3,3\n1,1e-3,3\n", "step 1 comes after step 5"),
    ("bad.csv", "step,lr,loss\n1,1e-3,nan\n2,1e-3,nan\n", "no finite loss"),
    ("bad.csv", "step,lr,loss\n0,1e-3,3\n1,1e-3,2.9\n", "2 loss points cannot determine"),
    ("bad.csv", "step,lr,loss\n1,-1e-3,3\n", "negative learning rate"),
    ("bad.json", '{"step": [1, 2, 3], "lr": [1e-3, 1e-3], "loss": [3, 2.9, 2.8]}',
     "key 'lr' has 2 values but 'step' has 3"),
    ("bad.json", '{"step": 5, "lr": 1e-3, "loss": 3}', "key 'step' holds 5, not a list"),
    ("bad.json", '[{"step": 1, "lr": 1e-3, "loss": true}]',
     "record 1, key 'loss': True is not a number"),
    ("bad.json", '[{"step": 1, "lr": 1e-3, "loss": 3}, 7]', "expected a non-empty list of objects"),
])
def test_fit_curve_bad_input_exits_2_with_one_line(tmp_path, capsys, name, text, fragment):
    path = tmp_path / name
    path.write_text(text)
    err = one_line_error(capsys, ["fit-curve", str(path), "--law", "momentum"], fragment)
    assert name in err


def test_fit_curve_non_utf8_csv_exits_2_naming_the_file(tmp_path, capsys):
    path = tmp_path / "latin.csv"
    path.write_bytes("step,lr,loss\n1,1e-3,3\n# Größe\n".encode("latin-1"))
    err = one_line_error(capsys, ["fit-curve", str(path)], "save the file as UTF-8")
    assert "latin.csv" in err


@pytest.mark.parametrize("value", ["-1", "-2160", "x", "1.5"])
def test_fit_curve_first_step_must_be_a_whole_number_at_least_0(capsys, value):
    train, opts = curve_args("cosine_24000")
    with pytest.raises(SystemExit) as info:  # argparse rejects it before main's handler
        main(["fit-curve", *train, *opts, "--first-step", value])
    err = capsys.readouterr().err.strip()
    assert info.value.code == 2 and len(err.splitlines()) == 1
    assert f"--first-step: expected a whole number of steps >= 0, got '{value}'" in err


def test_fit_curve_bad_arguments_exit_2(tmp_path, capsys):
    train, _ = curve_args("cosine_24000")
    one_line_error(capsys, ["fit-curve", str(tmp_path / "missing.csv")], "No such file")
    one_line_error(capsys, ["fit-curve", *train, "--schedule", "x.csv=constant",
                            "--peak-lr", "1e-3"], "not one of the curve files")
    one_line_error(capsys, ["fit-curve", *train, "--schedule", f"{train[0]}=constant"],
                   "add --peak-lr")
    one_line_error(capsys, ["fit-curve", *train, "--law", "momentum", "--lam", "2"],
                   "outside [0.99, 0.9995]")
    one_line_error(capsys, ["fit-curve", *train, "--plot", str(tmp_path / "no" / "x.png")],
                   "does not exist")


def test_fit_that_does_not_converge_exits_1_without_numbers(monkeypatch, capsys):
    from lrsched.laws import FitError, MomentumLaw

    def fail(*args, **kwargs):
        raise FitError("the momentum law fit did not converge from any starting point")

    monkeypatch.setattr(MomentumLaw, "fit", fail)
    train, opts = curve_args("cosine_24000")
    assert main(["fit-curve", *train, *opts, "--law", "momentum"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "did not converge" in captured.err


@pytest.mark.parametrize("content, fragment", [
    ('{"law": "momentum", "version": 99, "params": {}}', "version 99"),
    ('{"law": "quadratic", "version": 2}', 'law "quadratic"'),
    ("not json", "not valid JSON"),
])
def test_predict_bad_fit_file_exits_2(tmp_path, capsys, content, fragment):
    path = tmp_path / "fit.json"
    path.write_text(content)
    one_line_error(capsys, ["predict", str(path), "--schedule", "cosine:total_steps=100",
                            "--peak-lr", "1e-3"], fragment)


def test_predict_unbounded_schedule_needs_steps(fitted, capsys):
    one_line_error(capsys, ["predict", str(fitted / "fit.json"), "--schedule", "constant",
                            "--peak-lr", "1e-3"], "--steps")


@pytest.mark.parametrize("change, fragment", [
    ({"options": {"lam": "fit", "warmup": "plain", "speed": 2}}, "do not make a momentum law"),
    ({"stderr": None}, None),  # null stderr: unknown (NaN), still predicts
    ({"stderr": {"L0": "n/a"}}, "stderr of L0"),
    ({"first_step": "2160"}, "'first_step' is \"2160\""),
    ({"first_step": 10**6}, "before the first modelled step 1000000"),
    ({"covariance": {"names": ["L0", "A", "alpha"], "matrix": [[1.0, 0.0], [0.0, 1.0]]}},
     "covariance matrix is of shape (2, 2), but there are 3 covariance names"),
])
def test_predict_hand_edited_fit_file(fitted, tmp_path, capsys, change, fragment):
    raw = json.loads((fitted / "fit.json").read_text())
    path = tmp_path / "edited.json"
    path.write_text(json.dumps({**raw, **change}))
    argv = ["predict", str(path), "--schedule", "cosine:total_steps=24000,warmup=2160",
            "--peak-lr", "3e-4"]
    if fragment is None:
        assert main(argv) == 0
        return
    err = one_line_error(capsys, argv, fragment)
    assert "first modelled step" in fragment or "edited.json" in err


def test_fit_curve_law_auto_picks_the_law_that_predicts_held_out_data(tmp_path):
    """Two curves of the momentum law (with noise): every law is fitted to the first 60%
    of both and scored on the rest (the time split), and the best predictor is chosen."""
    curves = synthetic(MomentumLaw(), MOM, kinds=("cosine", "constant"), n=1000, every=20,
                       noise=1e-3)
    files = [write_curve(tmp_path / f"{c.name}.csv", c) for c in curves]
    out = tmp_path / "fit.json"
    assert main(["fit-curve", *files, "--law", "auto", "--starts", "1", "--json", str(out)]) == 0
    cut = [c.steps <= c.steps[0] + 0.6 * (c.steps[-1] - c.steps[0]) for c in curves]
    heads = [Curve(c.steps[k], c.loss[k], c.lrs, c.name) for c, k in zip(curves, cut)]
    held_out = {}
    for name, law in LAWS.items():
        if name == "cross-lr":  # a candidate for curves at several peak LRs only
            continue
        fitted = law().fit(heads, starts=1)
        held_out[name] = np.mean([fitted.score(c)["pred_e"] + fitted.score(c)["final_e"]
                                  for c in curves])
    assert json.loads(out.read_text())["law"] == min(held_out, key=held_out.get)
    assert held_out["momentum"] < held_out["multipower"]  # the true law beats another
    assert LAW_NAMES == ("auto", *LAWS)


def write_curve(path, curve) -> str:
    """A curve file: the LR of every step, the loss at the curve's steps."""
    loss = dict(zip(curve.steps.tolist(), curve.loss.tolist()))
    path.write_text("step,lr,loss\n" + "".join(f"{t},{lr!r},{loss.get(t, '')}\n"
                                               for t, lr in enumerate(curve.lrs.tolist())))
    return str(path)


@pytest.mark.parametrize("extra, fragment", [
    (["--law", "multipower", "--lam", "0.999"], "--lam applies to the momentum law, not"),
    (["--law", "blend", "--lam", "fit"], "--lam applies to the momentum law, not --law blend"),
    (["--law", "relaxation", "--warmup", "peak"],
     "--warmup applies to the momentum and multipower laws, not --law relaxation"),
    (["--law", "auto", "--warmup", "peak"], "--warmup needs a named law"),
    (["--peak-lr", "3e-4"], "--peak-lr scales the --schedule specs"),
])
def test_fit_curve_refuses_options_it_would_ignore(capsys, extra, fragment):
    one_line_error(capsys, ["fit-curve", str(DATA / "constant_24000.csv"), *extra], fragment)


def test_fit_curve_refuses_a_file_given_twice(capsys):
    path = str(DATA / "constant_24000.csv")
    one_line_error(capsys, ["fit-curve", path, "--test", path], "is given twice")
    one_line_error(capsys, ["fit-curve", path, str(DATA / ".." / "25M" / "constant_24000.csv")],
                   "is given twice")


@pytest.mark.parametrize("text", ["step,lr,loss\n0,1e308,3\n1,1e308,2.9\n2,1e308,2.8\n",
                                  "step,lr,loss\n" + "".join(f"{i},1e-3,{1e300 / (i + 1)}\n"
                                                             for i in range(40))],
                         ids=["lr-1e308", "loss-1e300"])
def test_fit_curve_absurd_values_do_not_fit(tmp_path, capsys, text):
    path = tmp_path / "absurd.csv"
    path.write_text(text)
    assert main(["fit-curve", str(path), "--law", "momentum", "--first-step", "0"]) in (1, 2)
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and ("too large to sum" in err or "the laws model" in err)


def test_predict_reads_a_schedule_file_and_prints_an_interval(fitted, tmp_path, capsys):
    import lrsched

    schedule = tmp_path / "wsd.json"
    schedule.write_text(json.dumps(lrsched.wsd(total_steps=24000, warmup=2160,
                                               decay_steps=4000).to_dict()))
    out_csv = tmp_path / "pred.csv"
    assert main(["predict", str(fitted / "fit.json"), "--schedule", str(schedule),
                 "--peak-lr", "3e-4", "--csv", str(out_csv)]) == 0
    assert "80% interval" in capsys.readouterr().out
    row = list(csv.DictReader(out_csv.open()))[-1]
    assert float(row["low"]) < float(row["loss"]) < float(row["high"])


@pytest.mark.parametrize("argv, fragment", [
    (["--schedule", "constant", "--schedule", "cosine:total_steps=100"], "given twice"),
    (["--schedule", "cosine:total_steps=24000,warmup=2160", "--peak-lr", "1e308"],
     "too large to sum"),
])
def test_predict_bad_arguments(fitted, capsys, argv, fragment):
    argv = ["predict", str(fitted / "fit.json"), *argv]
    if "--peak-lr" not in argv:
        argv += ["--peak-lr", "3e-4"]
    with pytest.raises(SystemExit) if "given twice" in fragment else _no_exit():
        code = main(argv)
        assert code == 2
    assert fragment in capsys.readouterr().err


def test_predict_refuses_lrs_far_outside_the_fitted_range(fitted, capsys):
    for peak, multipliers in (("1", True), ("1e-320", False)):
        assert main(["predict", str(fitted / "fit.json"), "--schedule",
                     "cosine:total_steps=24000,warmup=2160", "--peak-lr", peak]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "no law is trusted that far" in err
        assert ("are these LR multipliers?" in err) == multipliers


@pytest.mark.parametrize("change, fragment", [
    ({"A": float("nan")}, "parameter A = nan is outside"),
    ({"L0": float("inf")}, "parameter L0 = inf is outside"),
    ({"A": -1e6}, "parameter A = -1e+06 is outside"),
    ({"lam": 5}, "parameter lam = 5 is outside"),
])
def test_predict_refuses_impossible_parameters(fitted, tmp_path, capsys, change, fragment):
    raw = json.loads((fitted / "fit.json").read_text())
    path = tmp_path / "edited.json"
    path.write_text(json.dumps({**raw, "params": {**raw["params"], **change}}))
    one_line_error(capsys, ["predict", str(path), "--schedule",
                            "cosine:total_steps=24000,warmup=2160", "--peak-lr", "3e-4"], fragment)


def _no_exit():
    import contextlib

    return contextlib.nullcontext()
