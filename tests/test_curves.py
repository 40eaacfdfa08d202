"""Reading loss curves: formats, sparse rows, per-step LR, and every kind of bad input."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

import lrsched
from lrsched.curves import read_curve


def write(tmp_path, text, name="run.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_sparse_csv_interpolates_lr_and_skips_rows_without_loss(tmp_path):
    path = write(tmp_path, "step,lr,loss\n0,0.0,\n10,1e-3,\n20,1e-3,3.0\n30,5e-4,\n40,5e-4,2.5\n")
    curve = read_curve(path)
    assert curve.steps.tolist() == [20, 40]
    assert curve.loss.tolist() == [3.0, 2.5]
    assert curve.lrs.size == 41
    assert curve.lrs[5] == pytest.approx(5e-4) and curve.lrs[25] == pytest.approx(7.5e-4)


@pytest.mark.filterwarnings("ignore:.*LR before step 1")
def test_other_column_names_repeats_averaged_and_nonfinite_dropped(tmp_path):
    path = write(tmp_path, "it,loss_val,learning_rate\n1,4.0,1e-3\n2,3.0,1e-3\n2,3.2,1e-3\n"
                           "3,nan,1e-3\n4,inf,1e-3\n5,2.9,1e-3\n")
    with pytest.warns(UserWarning, match="dropped 2 non-finite loss"):
        curve = read_curve(path, step_col="it", lr_col="learning_rate", loss_col="loss_val")
    assert curve.steps.tolist() == [1, 2, 5]
    assert curve.loss[1] == pytest.approx(3.1)


def test_json_list_and_object_of_lists(tmp_path):
    rows = [{"step": 0, "lr": 1e-3}, {"step": 5, "lr": 1e-3, "loss": 3.0},
            {"step": 9, "lr": 1e-3, "loss": 2.8}]
    a = read_curve(write(tmp_path, json.dumps(rows), "a.json"))
    b = read_curve(write(tmp_path, json.dumps(
        {"step": [0, 5, 9], "lr": [1e-3] * 3, "loss": [None, 3.0, 2.8]}), "b.json"))
    for curve in (a, b):
        assert curve.steps.tolist() == [5, 9] and curve.lrs.size == 10


def test_schedule_gives_the_per_step_lr_and_ends_the_run(tmp_path):
    path = write(tmp_path, "step,loss\n50,3.0\n90,2.9\n120,2.8\n")
    spec = lrsched.from_spec("cosine:total_steps=100,warmup=10")
    with pytest.warns(UserWarning, match="dropped 1 loss row"):
        curve = read_curve(path, schedule=spec, peak_lr=2e-3)
    assert np.allclose(curve.lrs, 2e-3 * spec(np.arange(100)))
    assert curve.steps.tolist() == [50, 90]
    with pytest.raises(ValueError, match="--peak-lr"):
        read_curve(path, schedule=spec)


def test_explicit_lrs(tmp_path):
    path = write(tmp_path, "step,loss\n1,3.0\n2,2.9\n")
    assert read_curve(path, lrs=np.full(3, 1e-3)).lrs.tolist() == [1e-3] * 3


@pytest.mark.parametrize("text, message", [
    ("", "empty file"),
    ("0,1e-3,3.0\n1,1e-3,2.9\n", "row 1 is data, not a header"),
    ("step,lr,value\n0,1e-3,3.0\n", "no column 'loss' in the header"),
    ("step,lr,loss\n", "a header but no data rows"),
    ("step,lr,loss\n0,1e-3,3.0\n1,1e-3,abc\n", "row 3, column 'loss': 'abc' is not a number"),
    ("step,lr,loss\n0,1e-3,3.0\n5,1e-3,2.9\n3,1e-3,2.8\n", "row 4: step 3 comes after step 5"),
    ("step,lr,loss\n0,1e-3,nan\n1,1e-3,\n", "no finite loss value"),
    ("step,lr,loss\n0,1e-3,3.0\n1,-1e-3,2.9\n", "negative learning rate"),
    ("step,lr,loss\n0,,3.0\n1,,2.9\n", "column 'lr' has no values"),
    ("step,lr,loss\n0.5,1e-3,3.0\n", "step 0.5 is not a whole number"),
    ("step,lr,loss\n0,1e-3,-1\n", "is not > 0"),
])
@pytest.mark.filterwarnings("ignore:.*dropped 1 non-finite")
def test_bad_csv_is_one_line_value_error_naming_the_file(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ValueError, match=message) as info:
        read_curve(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("text, message", [
    ("{", "not valid JSON"),
    ("[]", "non-empty list"),
    ('[{"lr": 1e-3, "loss": 3}]', "record 1 has no 'step'"),
    ('[{"step": 0, "lr": 1e-3, "loss": "x"}]', "record 1, key 'loss'"),
    ('[{"step": 0, "lr": 1e-3, "loss": true}]', "record 1, key 'loss': True is not a number"),
    ('[{"step": true, "lr": 1e-3, "loss": 3}]', "record 1, key 'step'"),
    ('{"step": [0, 1, 2], "lr": [1e-3], "loss": [3, 2.9, 2.8]}',
     "key 'lr' has 1 values but 'step' has 3; give the lists equal lengths"),
    ('{"step": [0, 1], "lr": [1e-3, 1e-3], "loss": [3, 2.9, 2.8]}', "key 'loss' has 3 values"),
    ('{"step": 5, "lr": 1e-3, "loss": 3}', "key 'step' holds 5, not a list"),
    ('{"step": [0, 1], "lr": [1e-3, 1e-3], "loss": 3}', "key 'loss' holds 3, not a list"),
    ('{"lr": [1e-3], "loss": [3]}', "no list 'step'"),
])
def test_bad_json(tmp_path, text, message):
    path = write(tmp_path, text, "run.json")
    with pytest.raises(ValueError, match=message) as info:
        read_curve(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("name", ["run.csv", "run.json"])
def test_non_utf8_file_names_the_file_and_the_fix(tmp_path, name):
    path = tmp_path / name
    path.write_bytes("step,lr,loss\n0,1e-3,3.0\n# überschrift\n".encode("latin-1"))
    with pytest.raises(ValueError, match="not UTF-8 text .*save the file as UTF-8") as info:
        read_curve(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_tensorboard_without_the_package_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    path = write(tmp_path, "", "events.out.tfevents.123.host")
    with pytest.raises(ValueError, match=r"pip install 'lrsched\[tensorboard\]'"):
        read_curve(path)
