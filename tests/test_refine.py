"""refine(): the paper's closed form, its properties, the norms files and the CLI."""

import json
import re

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import lrsched
from lrsched.cli import main
from lrsched.errors import InputError
from lrsched.refinement import MIN_NORMS, load_norms, read_norms, refine, save_norms, smooth

positive_norms = st.lists(st.floats(1e-300, 1e300), min_size=MIN_NORMS, max_size=300)


def ramp(n: int, start: float, end: float) -> np.ndarray:
    return np.linspace(start, end, n)


@pytest.mark.parametrize("kind", ["adam", "sgd"])
@pytest.mark.parametrize("n", [MIN_NORMS, 11, 1000])
def test_constant_norms_give_exactly_linear_decay_to_zero(kind, n):
    t = np.arange(n)
    values = refine(np.full(n, 0.37), kind)(t)
    np.testing.assert_array_equal(values, (n - 1 - t) / (n - 1))
    np.testing.assert_allclose(values, lrsched.linear(total_steps=n - 1)(t), atol=1e-15)


def test_matches_the_closed_form_without_smoothing():
    g = np.random.default_rng(0).uniform(0.5, 2.0, 50)
    for kind, power in [("sgd", 2), ("adam", 1)]:
        w = g ** -power
        eta = np.array([w[t] * w[t + 1:].sum() for t in range(50)])
        np.testing.assert_allclose(refine(g, kind, smoothing=0)(np.arange(50)), eta / eta.max(),
                                   rtol=1e-12)


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_norms_rising_at_the_end_anneal_faster_than_linear(kind):
    n = 1000
    g = np.where(np.arange(n) < 700, 1.0, ramp(n, -6.0, 4.0).clip(1.0))  # 1, then up to 4
    values = refine(g, kind)(np.arange(n))
    linear = 1 - np.arange(n) / (n - 1)
    assert values.argmax() == 0
    assert np.all(values[800:-1] < linear[800:-1])
    assert values[900] < 0.5 * linear[900]


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_large_early_norms_give_a_warmup(kind):
    n = 1000
    g = 1.0 + 9.0 * np.exp(-np.arange(n) / 80)
    values = refine(g, kind)(np.arange(n))
    peak = int(values.argmax())
    assert 50 < peak < 500
    assert values[0] < 0.5
    assert np.all(np.diff(values[50:peak]) >= 0)  # rising past the filter's half-width


def test_norms_of_a_short_run_refine_a_long_one():
    n = 200
    g = 1.0 + 9.0 * np.exp(-np.arange(n) / 20)
    short, long = refine(g, "sgd"), refine(g, "sgd", total_steps=10 * n)
    assert long.total_steps == 10 * n
    t = np.linspace(0, 1, 21)
    np.testing.assert_allclose(long(np.round(t * (10 * n - 1)).astype(int)),
                               short(np.round(t * (n - 1)).astype(int)), atol=0.03)


@given(positive_norms, st.sampled_from(["adam", "sgd"]), st.floats(0.0, 1.0),
       st.none() | st.integers(2, 3000))
@example([2.044888749510221e16] + [1.0] * 10, "adam", 0.0, 281)  # stretched to a 0 norm
def test_any_positive_norms_give_a_valid_schedule(norms, kind, smoothing, total_steps):
    schedule = refine(norms, kind, total_steps, smoothing)
    values = np.asarray(schedule.values)
    assert len(values) == (total_steps or len(norms))
    assert np.all(np.isfinite(values)) and values.min() >= 0 and values.max() == 1.0
    assert values[-1] == 0.0


def test_the_refined_schedule_serialises():
    schedule = refine(1.0 + np.random.default_rng(1).random(100), "adam")
    assert lrsched.from_spec(schedule.to_spec()) == schedule
    assert lrsched.Schedule.from_dict(json.loads(json.dumps(schedule.to_dict()))) == schedule
    assert schedule(schedule.total_steps - 1) == 0.0


def test_median_filter_reflects_at_the_ends():
    g = np.r_[np.ones(90), np.full(10, 5.0)]  # the last 10% are high: they stay high
    assert smooth(g, 0.1)[-1] == 5.0


@pytest.mark.parametrize("norms,message", [
    ([1.0] * 20 + [np.nan], "norms[20] = nan"),
    ([1.0] * 20 + [np.inf, np.inf], "norms[20] = inf (2 bad"),
    ([0.0] + [1.0] * 20, "norms[0] = 0.0"),
    ([1.0] * 5 + [-1.0] + [1.0] * 10, "norms[5] = -1.0"),
    ([1.0] * 3, "only 3 norms"),
    (np.ones((20, 2)), "1-D"),
    (["a"] * 20, "list of numbers"),
    ([1.0 + 1j] * 20, "norms must be real numbers, got complex128 values"),
    ([True] * 20, "norms must be real numbers, got bool values"),
    ([[1.0], [1.0, 2.0]] * 10, "list of numbers"),
])
def test_unusable_norms_are_a_one_line_error(norms, message):
    with pytest.raises(ValueError, match=r"^[^\n]*$") as err:
        refine(norms)
    assert message in str(err.value)


@pytest.mark.parametrize("kwargs,message", [
    ({"kind": "lion"}, "kind='lion'"), ({"smoothing": 1.5}, "smoothing=1.5"),
    ({"total_steps": 1}, "total_steps=1"), ({"total_steps": 2.5}, "total_steps=2.5"),
])
def test_bad_arguments_are_an_error(kwargs, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        refine(np.ones(20), **kwargs)


def test_steps_skipped_by_the_record_are_filled_in():
    g = 1.0 + np.arange(40.0)
    kept = np.delete(np.arange(40), [5, 6, 20])
    np.testing.assert_array_equal(refine(g[kept], "sgd", smoothing=0, steps=kept).values,
                                  refine(g, "sgd", smoothing=0).values)
    with pytest.raises(InputError, match=r"steps\[1\] = 0 does not come after"):
        refine(g[:12], steps=[0] * 12)


@pytest.mark.parametrize("name", ["norms.npy", "norms.csv"])
def test_norms_files_round_trip_with_their_steps(tmp_path, name):
    norms = np.random.default_rng(2).random(37) + 1e-3
    steps = np.delete(np.arange(40), [3, 17, 18])
    save_norms(tmp_path / name, norms, steps)
    record = read_norms(tmp_path / name)
    np.testing.assert_array_equal(record.norms, norms)
    np.testing.assert_array_equal(record.steps, steps)
    np.testing.assert_array_equal(load_norms(tmp_path / name), norms)
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_csv_norms_read_by_column_name_or_the_only_column(tmp_path):
    (tmp_path / "a.csv").write_text("norm,step\n2.5,0\n3.5,1\n")
    (tmp_path / "b.csv").write_text("1.5\n2.5\n")
    (tmp_path / "c.csv").write_bytes("step,g\n0,4.5\n2,5.5\n".encode("utf-8-sig"))
    np.testing.assert_array_equal(load_norms(tmp_path / "a.csv"), [2.5, 3.5])
    np.testing.assert_array_equal(load_norms(tmp_path / "b.csv"), [1.5, 2.5])
    record = read_norms(tmp_path / "c.csv")
    assert record.column == "g" and record.steps.tolist() == [0, 2]


def test_a_harness_curve_gives_the_grad_norm_of_the_kind(tmp_path):
    path = tmp_path / "curve.csv"
    path.write_text("step,lr,train_loss,val_loss,grad_norm_l2,grad_norm_l1,tokens,seconds\n"
                    + "".join(f"{i},0.001,3.0,,{i + 1},{10 * (i + 1)},{64 * i},0.{i}\n"
                              for i in range(12)))
    adam, sgd = read_norms(path, kind="adam"), read_norms(path, kind="sgd")
    assert adam.column == "grad_norm_l1" and adam.norms[0] == 10.0
    assert sgd.column == "grad_norm_l2" and sgd.norms[0] == 1.0
    assert read_norms(path, column="tokens").norms[1] == 64.0
    with pytest.raises(InputError, match="which column holds the norms?.*--norm-col"):
        read_norms(path)


@pytest.mark.parametrize("make, message", [
    (lambda p: np.save(p, np.full(20, 1 + 2j)), "got complex128 values"),
    (lambda p: np.save(p, np.ones(20, dtype=bool)), "got bool values"),
    (lambda p: np.save(p, np.array([object()] * 20), allow_pickle=True), "allow_pickle"),
    (lambda p: p.write_bytes(b"\x93NUMPY garbage"), "cannot read norms from"),
])
def test_unusable_npy_files(tmp_path, make, message):
    path = tmp_path / "norms.npy"
    make(path)
    with pytest.raises(InputError, match=message) as info:
        load_norms(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("text, message", [
    ("1,2\n3,4\n", "no header line to say which column holds the norms"),
    ("step,norm,norm\n" + "0,1,1\n" * 12, "column 'norm' appears 2 times"),
    ("step,norm\n" + "".join(f"{i},{i + 1}\n" for i in range(11)) + "11,x\n",
     "row 13, column 'norm': 'x' is not a number"),
    ("step,norm\n" + "".join(f"{i % 6},1\n" for i in range(12)), "steps[6] = 0 does not come"),
    ("", "empty file"),
])
def test_unusable_csv_files(tmp_path, text, message):
    path = tmp_path / "norms.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=re.escape(message)):
        load_norms(path)


# -- the command line ------------------------------------------------------------------------


@pytest.fixture
def norms_csv(tmp_path):
    path = tmp_path / "norms.csv"
    save_norms(path, 1.0 + 9.0 * np.exp(-np.arange(400) / 30))
    return path


def test_cli_prints_a_summary_and_writes_json_and_plot(norms_csv, tmp_path, capsys):
    out, plot = tmp_path / "sched.json", tmp_path / "refine.png"
    assert main(["refine", str(norms_csv), "--kind", "sgd", "--steps", "2000",
                 "--out", str(out), "--plot", str(plot)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (f"refined sgd schedule for 2000 steps from 400 norms in column norm "
                        f"of {norms_csv} (median filter over 41 steps)")
    assert lines[2].split()[0] == "step" and lines[2].split()[-1] == "1999"
    assert lines[3].split()[0] == "refined" and lines[3].split()[-1] == "0.000"
    schedule = lrsched.Schedule.from_dict(json.loads(out.read_text()))
    assert schedule == refine(load_norms(norms_csv), "sgd", 2000)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["norms.csv", "refine.png",
                                                          "sched.json"]


@pytest.mark.parametrize("args,message", [
    (["{dir}/missing.npy", "--kind", "adam"], "No such file"),
    (["{dir}/norms.txt", "--kind", "adam"], "norms files are .npy or .csv"),
    (["{dir}/bad.csv", "--kind", "adam"], "norms[2] = nan"),
    (["{dir}/bad.csv", "--kind", "adamw"], "--kind"),
    (["{dir}/bad.csv", "--kind", "sgd", "--steps", "0"], "--steps"),
    (["{dir}/bad.csv", "--kind", "sgd", "--smoothing", "-1"], "--smoothing"),
    (["{dir}/norms.csv", "--kind", "sgd", "--out", "/no/such/folder/s.json"], "does not exist"),
    (["{dir}/norms.csv", "--kind", "sgd", "--out", "{dir}/norms.csv"], "is also an input"),
    (["{dir}/norms.csv", "--kind", "sgd", "--plot", "{dir}/p.txt"], ".txt is not a picture"),
    (["{dir}/norms.csv", "--kind", "sgd", "--norm-col", "g"], "no column 'g' in the header"),
    (["{dir}", "--kind", "sgd"], "norms files are .npy or .csv"),
    (["{dir}/dir.csv", "--kind", "sgd"], "is a folder, not a file"),
])
def test_cli_bad_input_exits_2_with_one_line(tmp_path, norms_csv, capsys, args, message):
    (tmp_path / "dir.csv").mkdir()
    (tmp_path / "bad.csv").write_text("step,norm\n" + "".join(
        f"{i},{'nan' if i == 2 else 1.0}\n" for i in range(20)))
    try:
        code = main(["refine", *(a.format(dir=tmp_path) for a in args)])
    except SystemExit as exc:  # argparse rejects bad options before main's handler
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "dir.csv", "norms.csv"]
