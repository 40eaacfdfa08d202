"""Reading loss curves: formats, sparse rows, per-step LR, and every kind of bad input."""

from __future__ import annotations

import json
import os
import re
import sys
import warnings

import numpy as np
import pytest

import lrsched
from lrsched.curves import read_curve
from lrsched.errors import InputError


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


def test_a_schedule_far_from_the_logged_lr_is_warned_of(tmp_path):
    """Issue 20, item 4: a peak LR 100x the logged one replaced it silently."""
    path = write(tmp_path, "step,lr,loss\n0,1e-3,3.0\n50,1e-3,2.9\n99,1e-3,2.8\n")
    with pytest.warns(UserWarning, match="column 'lr' logs a peak LR of 0.001, but the peak "
                                         "LR times the schedule peaks at 0.1"):
        curve = read_curve(path, schedule=lrsched.constant(), peak_lr=0.1)
    assert curve.lrs.max() == 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_curve(path, schedule=lrsched.constant(), peak_lr=1e-3)


def test_explicit_lrs(tmp_path):
    path = write(tmp_path, "step,loss\n1,3.0\n2,2.9\n")
    assert read_curve(path, lrs=np.full(3, 1e-3)).lrs.tolist() == [1e-3] * 3


@pytest.mark.parametrize("text, message", [
    ("", "empty file"),
    ("0,1e-3,3.0\n1,1e-3,2.9\n", "row 1 is data, not a header"),
    ("step,lr,value\n0,1e-3,3.0\n", "no loss column among step, lr, value (looked for loss, "
                                     "val_loss, eval/loss, ...); name it with --loss-col"),
    ("step,lr,loss,loss\n0,1e-3,3.0,2.0\n", "column 'loss' appears 2 times in the header"),
    ("step,lr,loss\n0,1e-3,3.0\n18446744073709551615,1e-3,2.9\n",
     "row 3: step 1.84467e+19 is past the longest run read"),
    ("step,lr,loss\n0,1e-3,3.0\n1e11,1e-3,2.9\n", "step 1e+11 is past the longest run"),
    ("step,lr,loss\n0,1e-3,3.0\n1,1e-3," + "9" * 200_000 + "\n",
     "row 3: field larger than field limit"),
    ("step,lr,loss\n0,1e-3,3.0\n1,1e-3,2\x009\n",
     "row 3, column 'loss': '2\\x009' is not a number"),
    ("step,lr,loss\n", "a header but no data rows"),
    ("step,lr,loss\n0,1e-3,3.0\n1,1e-3,abc\n", "row 3, column 'loss': 'abc' is not a number"),
    ("step,lr,loss\n0,1e-3,3.0\n5,1e-3,2.9\n3,1e-3,2.8\n", "row 4: step 3 comes after step 5"),
    ("step,lr,loss\n0,1e-3,nan\n1,1e-3,\n", "no finite loss value"),
    ("step,lr,loss\n0,1e-3,3.0\n1,-1e-3,2.9\n", "negative learning rate"),
    ("step,lr,loss\n0,,3.0\n1,,2.9\n", "column 'lr' has no values"),
    ("step,lr,loss\n0.5,1e-3,3.0\n", "step 0.5 is not a whole number"),
    ("step,lr,loss\n0,1e-3,-1\n", "is not > 0"),
    # issue 20, item 6: once read as numbers, a data row, a loss
    ("step,lr,loss\n0,1e-3,3\n2_975,1_0e-4,2_5\n", "row 3, column 'step': '2_975' is not a"),
    ('step,lr,loss,note\n0,1e-3,3,a\n10,1e-3,2.9,"oops\n20,1e-3,2.8,b\n30,1e-3,2.7,c\n',
     'row 3: a quote (") opened there is never closed; close it or delete it'),
])
@pytest.mark.filterwarnings("ignore:.*dropped 1 non-finite")
def test_bad_csv_is_one_line_input_error_naming_the_file(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(InputError, match=re.escape(message)) as info:
        read_curve(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("text, message", [
    ("{", "not valid JSON"),
    ("[]", "non-empty list"),
    ('[{"lr": 1e-3, "loss": 3}, {"step": 1, "loss": 2}]', "record 1 has no 'step'"),
    ('[{"step": 0, "lr": 1e-3, "loss": "x"}]', "record 1, key 'loss': 'x' is not a number"),
    ('[{"step": 0, "lr": 1e-3, "loss": true}]', "record 1, key 'loss': True is not a number"),
    ('[{"step": true, "lr": 1e-3, "loss": 3}]', "record 1, key 'step': True is not a number"),
    ('{"step": [0, 1, 2], "lr": [1e-3], "loss": [3, 2.9, 2.8]}',
     "key 'lr' has 1 values but 'step' has 3; give the lists equal lengths"),
    ('{"step": [0, 1], "lr": [1e-3, 1e-3], "loss": [3, 2.9, 2.8]}', "key 'loss' has 3 values"),
    ('{"step": 5, "lr": 1e-3, "loss": 3}', "key 'step' holds 5, not a list"),
    ('{"step": [0, 1], "lr": [1e-3, 1e-3], "loss": 3}', "key 'loss' holds 3, not a list"),
    ('{"lr": [1e-3], "loss": [3]}', "no step column among lr, loss (looked for"),
    pytest.param("[" * 100_000 + "]" * 100_000, "nested too deeply", id="100000-deep"),
    ('[{"step": 1e400, "lr": 1e-3, "loss": 3}]', "step inf is past the longest run"),
])
def test_bad_json(tmp_path, text, message):
    path = write(tmp_path, text, "run.json")
    with pytest.raises(InputError, match=re.escape(message)) as info:
        read_curve(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("name", ["run.csv", "run.json"])
def test_non_utf8_file_names_the_file_and_the_fix(tmp_path, name):
    path = tmp_path / name
    path.write_bytes("step,lr,loss\n0,1e-3,3.0\n# überschrift\n".encode("latin-1"))
    with pytest.raises(ValueError, match="not UTF-8 text .*save the file as UTF-8") as info:
        read_curve(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_a_byte_order_mark_is_not_part_of_the_header(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("step,lr,loss\n0,1e-3,3.0\n1,1e-3,2.9\n".encode("utf-8-sig"))
    assert read_curve(path).steps.tolist() == [0, 1]


def test_a_missing_file_or_event_file_is_a_file_not_found_error(tmp_path):
    for name in ("run.csv", "events.out.tfevents.1.host", "logs"):
        with pytest.raises(FileNotFoundError, match="No such file or directory") as info:
            read_curve(tmp_path / name)
        assert info.value.filename == str(tmp_path / name)


def test_the_loss_column_is_found_and_reported(tmp_path):
    """A harness curve (train_loss, val_loss) reads its val_loss; loss comes first; a
    named column wins."""
    harness = write(tmp_path, "step,lr,train_loss,val_loss,grad_norm_l2\n0,1e-3,3.1,,1\n"
                              "1,1e-3,3.0,2.9,1\n")
    curve = read_curve(harness)
    assert curve.loss_col == "val_loss" and curve.loss.tolist() == [2.9]
    both = write(tmp_path, "step,lr,val_loss,loss\n0,1e-3,,\n1,1e-3,2.0,3.0\n", "both.csv")
    assert read_curve(both).loss_col == "loss"
    assert read_curve(both, loss_col="val_loss").loss.tolist() == [2.0]
    assert read_curve(harness, loss_col="train_loss").loss.tolist() == [3.1, 3.0]


def test_wandb_ui_export_csv(tmp_path):
    """The CSV of a W&B panel: "Step", "RUN - metric" and its __MIN/__MAX columns."""
    head = '"Step","brisk-pond-1 - train/loss","brisk-pond-1 - train/loss__MIN",' \
           '"brisk-pond-1 - train/loss__MAX","brisk-pond-1 - train/learning_rate"\n'
    path = write(tmp_path, head + "0,3.0,3.0,3.0,1e-3\n5,,,,1e-3\n10,2.5,2.5,2.5,5e-4\n")
    curve = read_curve(path)
    assert curve.loss_col == "brisk-pond-1 - train/loss"
    assert curve.steps.tolist() == [0, 10] and curve.lrs[7] == pytest.approx(8e-4)
    two = write(tmp_path, '"Step","a - train/loss","b - train/loss","a - lr"\n0,3,3,1\n'
                          '1,3,3,1\n', "two.csv")
    with pytest.raises(InputError, match="'train/loss' of 2 runs .*--loss-col 'a - train/loss'"):
        read_curve(two)
    assert read_curve(two, loss_col="b - train/loss").loss.tolist() == [3.0, 3.0]


def test_wandb_run_history_json(tmp_path):
    """``run.history()`` as JSON: records (``pandas=False``, .jsonl) or pandas' columns."""
    records = [{"_step": 0, "_runtime": 1.0, "train/loss": 3.0, "train/learning_rate": 1e-3},
               {"_step": 1, "_runtime": 2.0, "train/learning_rate": 1e-3},
               {"_step": 2, "_runtime": 3.0, "train/loss": 2.8, "train/learning_rate": 5e-4}]
    pandas = {k: {str(i): r.get(k) for i, r in enumerate(records)} for k in records[0]}
    pandas = {k: dict(reversed(v.items())) for k, v in pandas.items()}  # the index orders
    lines = "\n".join(json.dumps(r) for r in records) + "\n"
    for name, text in [("records.json", json.dumps(records)), ("pandas.json",
                       json.dumps(pandas)), ("history.jsonl", lines)]:
        curve = read_curve(write(tmp_path, text, name))
        assert curve.loss_col == "train/loss", name
        assert curve.steps.tolist() == [0, 2] and curve.lrs.tolist() == [1e-3, 1e-3, 5e-4]


# -- TensorBoard: real event files, written by torch's SummaryWriter ---------------------------


def tensorboard_run(folder, losses: dict, lr: float = 1e-3):
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(folder))
    for step, loss in losses.items():
        writer.add_scalar("train/loss", loss, step)
        writer.add_scalar("train/learning_rate", lr, step)
    writer.close()
    return folder


def test_tensorboard_event_file_and_log_folder(tmp_path):
    run = tensorboard_run(tmp_path / "logs", {0: 3.0, 10: 2.5, 20: 2.25})
    (event_file,) = run.iterdir()
    for path in (event_file, run):
        curve = read_curve(path)
        assert curve.steps.tolist() == [0, 10, 20] and curve.loss_col == "train/loss"
        assert curve.loss.tolist() == [3.0, 2.5, 2.25] and curve.lrs.size == 21


def test_tensorboard_restart_continues_and_newest_run_wins(tmp_path):
    """A restart from step 10 replaces the steps from 10 on (with a warning that steps
    overlap); of several runs in a folder the newest is read (with a warning)."""
    logs = tmp_path / "logs"
    tensorboard_run(logs / "a", {0: 3.0, 10: 2.6, 20: 2.4})
    tensorboard_run(logs / "a", {10: 2.5, 30: 2.2})  # resumed at step 10: a second file
    with pytest.warns(UserWarning, match="event files whose steps overlap"):
        curve = read_curve(logs / "a")
    assert curve.steps.tolist() == [0, 10, 30] and curve.loss == pytest.approx([3.0, 2.5, 2.2])
    tensorboard_run(logs / "b", {0: 4.0, 5: 3.5})
    with pytest.warns(UserWarning, match=r"2 TensorBoard runs; read the newest, .*b \(not "):
        curve = read_curve(logs)
    assert curve.steps.tolist() == [0, 5]


def test_tensorboard_folder_without_events_or_scalars(tmp_path):
    with pytest.raises(InputError, match="a folder without TensorBoard event files"):
        read_curve(tmp_path)
    garbage = write(tmp_path, "not an event file", "events.out.tfevents.1.host")
    with pytest.raises(InputError, match="no scalars in the TensorBoard event file"):
        read_curve(garbage)


def test_tensorboard_without_the_package_says_how_to_install(tmp_path, monkeypatch):
    for name in [m for m in sys.modules if m.split(".")[0] == "tensorboard"] + ["tensorboard"]:
        monkeypatch.setitem(sys.modules, name, None)
    path = write(tmp_path, "", "events.out.tfevents.123.host")
    with pytest.raises(InputError, match=r"pip install 'lrsched-toolkit\[tensorboard\]'"):
        read_curve(path)


def test_a_column_is_read_as_one_thing(tmp_path):
    """Issue 20, item 6: --loss-col lr fitted the LR as the loss."""
    path = write(tmp_path, "step,lr,loss\n0,1e-3,3.0\n1,1e-3,2.9\n")
    with pytest.raises(InputError, match="column 'lr' would be read as both the loss and the "
                                         "lr; name the loss's own column with --loss-col"):
        read_curve(path, loss_col="lr")
    with pytest.raises(InputError, match="column 'step' would be read as both the lr and"):
        read_curve(path, lr_col="step")


@pytest.mark.filterwarnings("ignore:.*LR before step 50")
def test_wandb_history_of_a_trainer_run_is_read_on_the_trainer_step(tmp_path):
    """Issue 20, item 1: W&B's _step counts log calls; the HF Trainer's
    train/global_step and Lightning's trainer/global_step count optimizer steps. The
    trainer's is read, and a warning says so."""
    for trainer_step in ("train/global_step", "trainer/global_step"):
        records = [{"_step": i, trainer_step: 50 * (i + 1), "train/loss": 3.0 - i / 10,
                    "train/learning_rate": 1e-3} for i in range(4)]
        path = write(tmp_path, json.dumps(records), "history.json")
        with pytest.warns(UserWarning, match=f"steps from column '{trainer_step}', the "
                                             "trainer's optimizer step, not '_step'"):
            curve = read_curve(path)
        assert curve.step_col == trainer_step and curve.steps.tolist() == [50, 100, 150, 200]
        assert read_curve(path, step_col="_step").steps.tolist() == [0, 1, 2, 3]
    ui = write(tmp_path, '"Step","run-1 - train/global_step","run-1 - train/loss",'
                         '"run-1 - train/learning_rate"\n0,50,3.0,1e-3\n1,100,2.9,1e-3\n')
    with pytest.warns(UserWarning, match="not 'Step', W&B's count of log calls"):
        curve = read_curve(ui)
    assert curve.step_col == "run-1 - train/global_step" and curve.steps.tolist() == [50, 100]


def test_a_fifo_is_refused_not_read_forever(tmp_path):
    """Issue 20, item 10: a named pipe blocked fit-curve for ever."""
    for name in ("run.csv", "events.out.tfevents.1.host"):
        fifo = tmp_path / name
        os.mkfifo(fifo)
        with pytest.raises(InputError, match=f"{name}: not a regular file .*a named pipe"):
            read_curve(fifo)


def test_a_tensorboard_file_cut_short_is_read_with_a_warning(tmp_path):
    """Issue 20, item 6: what comes before the cut is read, and a warning says the file
    ends inside a record."""
    (event_file,) = tensorboard_run(tmp_path / "logs", {0: 3.0, 10: 2.5, 20: 2.25}).iterdir()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_curve(event_file)  # whole: no warning
    event_file.write_bytes(event_file.read_bytes()[:-10])
    with pytest.warns(UserWarning, match="ends inside a record .*a copy cut short"):
        curve = read_curve(event_file)
    assert curve.steps.tolist() == [0, 10, 20]  # the record cut: the LR at step 20


def test_add_scalar_without_its_step_says_so(tmp_path):
    """Issue 20, item 13: every event at step 0 gave an LR-shape error."""
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(tmp_path))
    for loss in (3.0, 2.5, 2.25):
        writer.add_scalar("loss", loss)
        writer.add_scalar("lr", 1e-3)
    writer.close()
    with pytest.raises(InputError, match=r"every '\w+' event of a file is at step 0; log "
                                         r"each value with its step: add_scalar\(tag, value"):
        read_curve(tmp_path)
