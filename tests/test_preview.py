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
])
def test_bad_input_exits_2_with_one_line(argv, message, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse rejects bad options before main's handler
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1


def test_plot_draws_lr_with_phase_lines():
    ax = lrsched.from_spec(WSD).plot(peak_lr=3e-4)
    x, y = ax.lines[0].get_data()
    np.testing.assert_allclose(y, 3e-4 * lrsched.from_spec(WSD)(np.arange(10_000)))
    assert ax.get_ylabel() == "learning rate"
    assert [line.get_xdata()[0] for line in ax.lines[1:]] == [500, 8000]


def test_notebook_preview_is_a_png():
    png = lrsched.cosine(total_steps=100, warmup=10)._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
