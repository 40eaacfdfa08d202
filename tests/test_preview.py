"""Previews: the CLI table and picture, Schedule.plot and the notebook PNG."""

import json

import matplotlib
import numpy as np
import pytest

import lrsched
from lrsched.cli import main

matplotlib.use("Agg")

WSD = "wsd:total_steps=10000,warmup=500,decay_steps=2000"


def test_preview_table_lists_phases_with_values(capsys):
    assert main(["preview", WSD, "--peak-lr", "3e-4"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == WSD
    assert out[1].split() == ["phase", "steps", "multiplier", "lr"]
    assert out[2].split() == ["warmup", "0-499", "0.002", "->", "1", "6e-07", "->", "0.0003"]
    assert out[3].split()[:2] == ["stable", "500-7999"]
    assert out[4].split()[:4] == ["decay", "8000-9999", "1", "->"]
    assert out[-1].startswith("10000 steps shown")


def test_preview_table_of_an_open_schedule_stops_at_steps(capsys):
    assert main(["preview", "inverse_sqrt:warmup=100", "--steps", "300"]) == 0
    out = capsys.readouterr().out
    assert "100-299..." in out and "300 steps shown" in out


def test_preview_draws_a_png(tmp_path, capsys):
    out = tmp_path / "wsd.png"
    assert main(["preview", WSD, "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(tmp_path.iterdir()) == [out]


def test_preview_reads_a_schedule_json(tmp_path, capsys):
    path = tmp_path / "refined.json"
    path.write_text(json.dumps(lrsched.tabulated(values=[1.0, 0.5, 0.0]).to_dict()))
    assert main(["preview", str(path)]) == 0
    assert capsys.readouterr().out.startswith("tabulated:values=[1.0,0.5,0.0]")


@pytest.mark.parametrize("argv,message", [
    (["preview", "cosine:total_steps=100,warmup=200"], "warmup=200 must be shorter"),
    (["preview", "nope"], "unknown schedule 'nope'"),
    (["preview", "cosine:total_steps=100,"], "malformed spec"),
    (["preview", "constant", "--steps", "0"], "--steps"),
    (["preview", "constant", "--peak-lr", "nan"], "--peak-lr"),
    (["preview", "constant", "--out", "/no/such/folder/x.png"], "does not exist"),
    (["preview", "/no/such/schedule.json"], "No such file"),
    (["preview", "tabulated:values=[]"], "values must be a non-empty list"),
    (["preview", "join:parts=[(constant),(constant)],boundaries=[]"], "one fewer than the parts"),
    (["preview", "constant", "--steps", "1e12"], "more than lrsched runs or shows"),
    (["preview", "cosine:total_steps=1e12"], "cosine runs 1,000,000,000,000 steps, more than a "
                                             "preview shows"),
    (["preview", "cosine:total_steps=1e18"], "more steps than a schedule may hold"),
    (["preview", "constant:warmup=1e20"], "more steps than a schedule may hold"),
    (["preview", "cosine_restarts:total_steps=1e10,cycles=1e9"], "more parts than"),
    (["preview", "wsd:total_steps=100,decay_shape=cosine"], "now called shape"),
])
def test_bad_input_exits_2_with_one_line(argv, message, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse rejects bad options before main's handler
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1


def test_preview_of_a_deep_json_file_is_one_line(tmp_path, capsys):
    path = tmp_path / "deep.json"
    path.write_text('{"name": "join", "boundaries": [], "parts": [' * 100_000
                    + '"constant"' + "]}" * 100_000)
    assert main(["preview", str(path)]) == 2
    err = capsys.readouterr().err
    assert "deep.json: JSON nested too deeply to be a schedule" in err and err.count("\n") == 1


def test_an_open_ended_preview_is_long_enough_to_show_the_schedule(capsys):
    assert main(["preview", "step:step_size=3000,gamma=0.5"]) == 0
    out = capsys.readouterr().out
    assert "step   0-11999...  1 -> 0.125" in out and "12000 steps shown" in out
    assert lrsched.exponential(gamma=0.999).preview_steps() == 4603  # down to 1%
    assert lrsched.cyclic(base=0.1, step_size_up=500).preview_steps() == 3000  # three cycles
    assert lrsched.multistep(milestones=[6000, 9000]).preview_steps() == 11250


def test_a_long_spec_is_cut_in_the_preview_header(capsys):
    schedule = lrsched.tabulated(values=np.linspace(1, 0, 3001).round(5))
    assert len(schedule.to_spec()) > 17_000
    assert main(["preview", schedule.to_spec()]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header == "tabulated:values=[1.0,0.99967,0.99933,0.999,0.99867,...,0.0](3001 items)"


def test_overlaid_schedules_are_named_by_a_legend():
    ax = lrsched.from_spec(WSD).plot()
    assert ax.get_title() == WSD and ax.texts
    lrsched.cosine(total_steps=10_000).plot(ax=ax, label="cosine")
    assert ax.get_title() == "" and not ax.texts
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [WSD, "cosine"]
    assert len(ax.lines) == 2  # the phase lines went with the names


def test_annotate_false_draws_the_curve_and_its_phase_lines_only():
    ax = lrsched.from_spec(WSD).plot(annotate=False)
    lrsched.cosine(total_steps=10_000).plot(ax=ax, annotate=False)
    assert ax.get_title() == "" and not ax.texts and ax.get_legend() is None
    assert [line.get_xdata()[0] for line in ax.lines] == [0, 500, 8000, 0]  # wsd's two phases


def test_a_long_preview_is_drawn_from_a_sample_with_its_phase_edges():
    s = lrsched.wsd(total_steps=10**7, warmup=12_345, decay_steps=2_000_003)
    x, y = s.plot().lines[0].get_data()
    assert len(x) < 20_010 and {0, 12_344, 12_345, 7_999_997, 9_999_999} <= set(x.tolist())
    np.testing.assert_array_equal(y, s(x))


def test_plot_draws_lr_with_phase_lines():
    ax = lrsched.from_spec(WSD).plot(peak_lr=3e-4)
    x, y = ax.lines[0].get_data()
    np.testing.assert_allclose(y, 3e-4 * lrsched.from_spec(WSD)(np.arange(10_000)))
    assert ax.get_ylabel() == "learning rate"
    assert [line.get_xdata()[0] for line in ax.lines[1:]] == [500, 8000]


def test_notebook_preview_is_a_png():
    png = lrsched.cosine(total_steps=100, warmup=10)._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
