"""The validation sweep (benchmarks/harness_sweep): its committed report is what its
analysis and rendering make of its committed runs, and its runner reuses, resumes and
refuses run folders, but never deletes one. (Rebuilding the whole report, fits and
pictures included, is the benchmark itself: python -m benchmarks.harness_sweep.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.harness_sweep import analysis, report
from benchmarks.harness_sweep.runner import (
    CORPORA,
    HEAD_TO_HEAD,
    Runner,
    continual_specs,
    refined_spec,
    run_name,
    warmup_steps,
)
from lrsched.curves import read_curve
from lrsched.errors import InputError
from lrsched.harness import Trainer, preset
from lrsched.laws import load_fit

ROOT = Path(__file__).resolve().parents[1] / "benchmarks/results/harness_tiny"
LRS, SEEDS = [0.002, 0.004, 0.008], [0, 1]


@pytest.fixture(scope="module")
def committed():
    """The committed runs (name -> run.json), the report's sections, a curve reader."""
    results = {p.parent.name: json.loads(p.read_text())
               for p in sorted(ROOT.glob("runs/*/run.json"))}
    sections = (ROOT / "report.md").read_text().rstrip("\n").split("\n\n## ")
    runner = Runner(ROOT / "runs")
    return results, {s[0]: "## " + s for s in sections[1:]}, runner


def test_part_1_and_2_reproduce_from_the_committed_runs(committed):
    results, sections, runner = committed
    base = preset("tiny")
    head = analysis.head_to_head(results, list(HEAD_TO_HEAD), LRS, SEEDS, run_name)
    late = analysis.late_drop(runner.curve(run_name("constant", head["best"]["constant"], 0)))
    labels = {k: v[0] for k, v in HEAD_TO_HEAD.items()}
    assert report.head_to_head(head, labels, late) == sections["1"]

    lr = head["best"]["linear"]
    norms = runner.curve(run_name("linear", lr, 0))["grad_norm_l1"][warmup_steps(base):]
    assert refined_spec(norms, base) == results[run_name("refined", lr, 0)]["config"]["schedule"]
    pair = {k: [run_name(k, lr, s) for s in SEEDS] for k in ("linear", "refined")}
    refined = analysis.compare(results, pair, head["spread"])
    assert report.refined(refined, SEEDS, warmup_steps(base), lr) == sections["2"]


def test_part_3_scores_of_the_committed_fits(committed):
    results, sections, _ = committed
    fitted = ["constant-lr0.004-s0", "cosine-lr0.004-s0"]
    fits = {law: load_fit(ROOT / f"fit_{law}.json") for law in ("momentum", "multipower", "blend")}
    order = [run_name(k, lr, 0) for k in HEAD_TO_HEAD for lr in LRS] + [
        run_name(k, 0.004, 1) for k in HEAD_TO_HEAD] + [run_name("refined", 0.004, s)
                                                        for s in SEEDS]
    others = [n for n in order if n not in fitted]
    curves = {n: read_curve(ROOT / "runs" / n / "curve.csv", loss_col="val_loss", name=n)
              for n in others}
    peak = {n: results[n]["config"]["peak_lr"] for n in results}
    scores = analysis.law_scores(fits, curves, peak, {0.004})
    assert report.laws(scores, fitted) == sections["3"]


def test_part_4_and_5_reproduce_from_the_committed_runs(committed):
    results, sections, runner = committed
    base, n = preset("tiny"), 400
    continual = continual_specs(base)
    names = {k: run_name(k.split()[-1] + "-continual", 0.004, 0) for k in continual}
    for k, (_, spec) in continual.items():  # the runs were trained with these schedules
        assert base.replace(schedule=spec, steps=2 * n).schedule == \
            results[names[k]]["config"]["schedule"]
    curves = {k: runner.curve(name) for k, name in names.items()}
    text = report.continual(
        analysis.continual(curves, n, CORPORA), {k: v[0] for k, v in continual.items()}, n,
        0.004, 80, float(curves["re-warmed cosine"]["val_shakespeare"][n - 1]),
        results["cosine-lr0.004-s0"]["final_val_loss"])
    assert text == sections["4"]
    result = json.loads((ROOT / "autolrs.json").read_text())
    assert result["config"] == base.replace(schedule="constant", peak_lr=0.008).to_dict()
    spread = analysis.head_to_head(results, list(HEAD_TO_HEAD), LRS, SEEDS, run_name)["spread"]
    hand = results["wsd-lr0.004-s0"]["final_val_loss"]
    assert report.autolrs(result, (0.0002, 0.016), n, "wsd", 0.004, hand, spread) \
        == sections["5"]


def test_the_runner_reuses_resumes_and_refuses_but_never_deletes(tmp_path, capsys):
    config = preset("micro", steps=4)
    runner = Runner(tmp_path)
    runner.train({"a": config})
    assert "[sweep] a:" in capsys.readouterr().out
    assert not (tmp_path / "a" / "checkpoint.pt").exists()  # finished: dropped
    Runner(tmp_path).train({"a": config})  # reused: nothing trains
    assert "[sweep]" not in capsys.readouterr().out
    with pytest.raises(InputError, match="holds a run of another config \\(seed differ"):
        Runner(tmp_path).train({"a": config.replace(seed=1)})
    assert (tmp_path / "a" / "run.json").is_file()  # kept
    Trainer(config, tmp_path / "b", progress=False).run(stop_at=2)  # a stopped run
    again = Runner(tmp_path)
    again.train({"b": config})  # resumed
    assert again.results["b"]["finished"] and again.results["b"]["steps_done"] == 4
