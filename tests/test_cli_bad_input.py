"""Bad input and faults, every subcommand: each row is an argv, the exit status, a piece
of the one line on stderr, and nothing written. The classes, not the cases: an output
that is an input, a folder, a missing folder or an unknown picture format; a folder or a
missing file where a file is expected; unreadable or oversized files; sizes past what one
call evaluates; damaged run folders.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lrsched
from lrsched.cli import main
from lrsched.harness import preset
from lrsched.refinement import save_norms

ROOT = Path(__file__).resolve().parents[1]
CURVE = "step,lr,loss\n" + "".join(f"{s},1e-3,{3 - s / 100}\n" for s in range(0, 200, 10))

ROWS = [
    # -- the command line itself
    ([], 2, "the following arguments are required: command"),
    (["nope"], 2, "invalid choice: 'nope'"),
    (["preview", "cosine:total_steps=100", "--peak-lr", "1_0e-4"], 2,
     "expected a finite number > 0, got '1_0e-4'"),  # Python's float() reads it as 1e-3
    # -- outputs never destroy inputs, and are checked before any work
    (["refine", "{d}/n.csv", "--kind", "adam", "--out", "{d}/n.csv"], 2,
     "{d}/n.csv is also an input"),
    (["refine", "{d}/n.csv", "--kind", "adam", "--plot", "{d}/n.csv"], 2,
     ".csv is not a picture format"),
    (["refine", "{d}/n.csv", "--kind", "adam", "--out", "{d}/dir"], 2,
     "cannot write {d}/dir: it is a folder"),
    (["refine", "{d}/n.csv", "--kind", "adam", "--out", "{d}/no/s.json"], 2,
     "folder {d}/no does not exist"),
    (["refine", "{d}/n.csv", "--kind", "adam", "--out", "{d}/s.json", "--plot", "{d}/s.json"],
     2, ".json is not a picture format"),
    (["harness", "run", "--preset", "micro", "--out", "{d}/a.csv"], 2,
     "cannot write to {d}/a.csv: it is a file, not a folder"),
    (["harness", "run", "--preset", "micro", "--data", "{d}/a.csv", "--out", "{d}/a.csv"], 2,
     "it is a file, not a folder"),
    (["fit-curve", "{d}/a.csv", "--json", "{d}/a.csv"], 2, "{d}/a.csv is also an input"),
    (["fit-curve", "{d}/a.csv", "--plot", "{d}/fit.txt"], 2, ".txt is not a picture format"),
    (["predict", "{d}/fit.json", "--schedule", "cosine:total_steps=100", "--peak-lr", "1e-3",
      "--csv", "{d}/fit.json"], 2, "{d}/fit.json is also an input"),
    (["predict", "{d}/fit.json", "--schedule", "cosine:total_steps=100", "--peak-lr", "1e-3",
      "--plot", "{d}/p.txt"], 2, ".txt is not a picture format"),
    (["preview", "cosine:total_steps=100", "--out", "{d}/p.txt"], 2,
     ".txt is not a picture format"),
    # (atomic_path refuses these already, if only after the work)
    (["fit-curve", "{d}/a.csv", "--json", "{d}/dir"], 2, "cannot write {d}/dir: it is a folder"),
    (["preview", "{d}/s.json", "--out", "{d}/dir"], 2, "cannot write {d}/dir: it is a folder"),
    # -- a folder or a missing file where a file is expected
    (["fit-curve", "{d}/dir"], 2, "a folder without TensorBoard event files"),
    (["fit-curve", "{d}/missing.csv"], 2, "{d}/missing.csv: No such file or directory"),
    (["fit-curve", "{d}/events.out.tfevents.1.host"], 2, "No such file or directory"),
    (["predict", "{d}/dir.json", "--schedule", "constant", "--peak-lr", "1e-3", "--steps",
      "10"], 2, "{d}/dir.json: is a folder, not a file"),
    (["refine", "{d}/dir.csv", "--kind", "adam"], 2, "{d}/dir.csv: is a folder, not a file"),
    (["refine", "{d}/missing.npy", "--kind", "adam"], 2, "No such file or directory"),
    (["preview", "{d}/dir.json"], 2, "{d}/dir.json: is a folder, not a file"),
    (["preview", "{d}/names.json"], 2, "{d}/names.json: a schedule's name is a string"),
    (["harness", "run", "--preset", "micro", "--data", "{d}/missing.txt", "--out", "{d}/r"], 2,
     "no such file or folder"),
    # -- unreadable files
    (["fit-curve", "{d}/dup.csv"], 2, "column 'loss' appears 2 times in the header"),
    (["fit-curve", "{d}/a.csv", "--loss-col", "lr"], 2,
     "column 'lr' would be read as both the loss and the lr"),
    (["fit-curve", "{d}/grouped.csv"], 2, "row 3, column 'step': '2_975' is not a number"),
    (["fit-curve", "{d}/quote.csv"], 2, "row 3: a quote (\") opened there is never closed"),
    (["predict", "{d}/lawdict.json", "--schedule", "constant", "--peak-lr", "1e-3", "--steps",
      "10"], 2, 'law {{"name": "momentum"}} is not one of'),
    (["predict", "{d}/hugeint.json", "--schedule", "constant", "--peak-lr", "1e-3", "--steps",
      "10"], 2, "parameter A is 1000"),
    (["predict", "{d}/negvar.json", "--schedule", "constant", "--peak-lr", "1e-3", "--steps",
      "10"], 2, "the covariance matrix gives L0 a negative variance"),
    (["fit-curve", "{d}/long.csv"], 2, "field larger than field limit"),
    (["fit-curve", "{d}/deep.json"], 2, "nested too deeply"),
    (["refine", "{d}/cplx.npy", "--kind", "adam"], 2, "got complex128 values"),
    (["refine", "{d}/bool.npy", "--kind", "adam"], 2, "got bool values"),
    (["refine", "{d}/curve.csv", "--kind", "adam"], 2, "which column holds the norms?"),
    (["refine", "{d}/header.csv", "--kind", "adam"], 2, "a header but no data rows"),
    # -- sizes past what one call evaluates
    (["fit-curve", "{d}/u64.csv"], 2, "step 1.84467e+19 is past the longest run read"),
    (["fit-curve", "{d}/big.csv"], 2, "step 1e+11 is past the longest run read"),
    (["predict", "{d}/fit.json", "--schedule", "constant", "--peak-lr", "1e-3", "--steps",
      "1e12"], 2, "more than lrsched runs or shows"),
    (["predict", "{d}/fit.json", "--schedule", "cosine:total_steps=1e12", "--peak-lr", "1e-3"],
     2, "a run of 1,000,000,000,000 steps is longer than the 10,000,000"),
    (["refine", "{d}/n.csv", "--kind", "adam", "--steps", "1e11"], 2,
     "more than lrsched runs or shows"),
    (["harness", "run", "--preset", "micro", "--steps", "1e21", "--out", "{d}/r"], 2,
     "more than lrsched runs or shows"),
    # -- harness config and damaged run folders
    (["harness", "run", "--preset", "micro", "--set", "grad_clip=-1", "--out", "{d}/r"], 2,
     "grad_clip=-1.0 is invalid"),
    (["harness", "run", "--preset", "micro", "--set", "device=tpu", "--out", "{d}/r"], 2,
     "device='tpu' is invalid"),
    (["harness", "run", "--out", "{d}/torn", "--resume"], 2,
     "{d}/torn/checkpoint.pt: not a checkpoint file that lrsched wrote"),
    (["harness", "run", "--out", "{d}/dir", "--resume"], 2, "nothing to resume"),
]


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    (d / "a.csv").write_text(CURVE)
    (d / "curve.csv").write_text("step,lr,x,y\n" + "".join(f"{i},1e-3,1,2\n" for i in range(12)))
    (d / "header.csv").write_text("step,norm\n")
    (d / "quote.csv").write_text('step,lr,loss,note\n0,1e-3,3,a\n10,1e-3,2.9,"b\n20,1e-3,2,c\n')
    (d / "grouped.csv").write_text("step,lr,loss\n0,1e-3,3\n2_975,1_0e-4,2_5\n")
    (d / "dup.csv").write_text("step,lr,loss,loss\n0,1e-3,3,3\n1,1e-3,2,2\n")
    (d / "long.csv").write_text("step,lr,loss\n0,1e-3," + "9" * 200_000 + "\n")
    (d / "u64.csv").write_text(CURVE + "18446744073709551615,1e-3,2\n")
    (d / "big.csv").write_text(CURVE + "1e11,1e-3,2\n")
    (d / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    save_norms(d / "n.csv", 1.0 + np.arange(40.0))
    np.save(d / "cplx.npy", np.full(20, 1 + 1j))
    np.save(d / "bool.npy", np.ones(20, dtype=bool))
    shutil.copy(ROOT / "benchmarks/results/harness_tiny/fit_momentum.json", d / "fit.json")
    fit = json.loads((d / "fit.json").read_text())
    for name, change in [("lawdict", {"law": {"name": "momentum"}}),
                         ("hugeint", {"params": {**fit["params"], "A": 10**400}}),
                         ("negvar", {"covariance": {"names": ["L0"], "matrix": [[-1.0]]}})]:
        (d / f"{name}.json").write_text(json.dumps({**fit, **change}))
    (d / "s.json").write_text(json.dumps(lrsched.cosine(total_steps=100).to_dict()))
    (d / "names.json").write_text('{"name": ["cosine", "wsd"]}')
    for folder in ("dir", "dir.csv", "dir.json"):
        (d / folder).mkdir()
    (d / "torn").mkdir()
    (d / "torn" / "config.json").write_text(json.dumps(preset("micro").to_dict()))
    (d / "torn" / "curve.csv").write_text("step\n")
    (d / "torn" / "checkpoint.pt").write_bytes(b"PK\x03\x04 torn")
    return d


@pytest.fixture
def inputs(made, tmp_path):
    """A fresh copy of the input files for each row: a row that fails may not spoil
    the next."""
    shutil.copytree(made, tmp_path / "in")
    return tmp_path / "in"


def run(argv: list[str]) -> int:
    """``main``'s exit status (argparse's errors leave through SystemExit)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def listing(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha1(p.read_bytes()).hexdigest()
            if p.is_file() else "dir" for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize("argv, code, message", ROWS,
                         ids=[" ".join(r[0])[:60] or "(none)" for r in ROWS])
def test_bad_input_is_one_line_and_writes_nothing(inputs, capsys, argv, code, message):
    before = listing(inputs)
    d = str(inputs)
    status = run([a.format(d=d) for a in argv])
    err = capsys.readouterr().err
    assert (status, err.count("\n")) == (code, 1), err
    assert message.format(d=d) in err and "Traceback" not in err
    assert listing(inputs) == before


def test_version(capsys):
    assert run(["--version"]) == 0
    assert capsys.readouterr().out == f"lrsched {lrsched.__version__}\n"


def test_a_closed_pipe_ends_quietly(tmp_path):
    """`lrsched ... | head`: the reader is gone before the output is written. The one
    end-to-end process of the curve commands."""
    spec = "tabulated:values=[" + ",".join(["1", "0.5"] * 5000) + "]"
    reader = subprocess.Popen(
        [sys.executable, "-m", "lrsched", "preview", spec], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reader.stdout.close()  # as `| head -c0` would
    err = reader.stderr.read().decode()
    assert reader.wait(timeout=60) == 141 and err == "", err


def test_a_named_pipe_is_one_line_not_a_wait_for_ever(tmp_path, capsys):
    """Issue 20, item 10: fit-curve on a pipe no one writes blocked for ever."""
    fifo = tmp_path / "run.csv"
    os.mkfifo(fifo)
    for argv in (["fit-curve", str(fifo)], ["predict", str(fifo), "--schedule", "constant",
                                             "--peak-lr", "1e-3", "--steps", "10"]):
        assert run(argv) == 2
        err = capsys.readouterr().err
        assert err == f"lrsched {argv[0]}: error: {fifo}: not a regular file (a named pipe, " \
                      "a device or a socket); save what it holds to a file and give that\n"


def test_plan_anneal_of_a_run_already_cooled_down(tmp_path, capsys):
    """Issue 20, item 4: it advised a cooldown of a run whose LR was already 0."""
    rows = "".join(f"{s},{1e-3 * (1 - s / 300):.6g},{3 - s / 200}\n" for s in range(0, 301, 10))
    (tmp_path / "cooled.csv").write_text("step,lr,loss\n" + rows)
    shutil.copy(ROOT / "benchmarks/results/harness_tiny/fit_momentum.json", tmp_path / "f.json")
    assert run(["plan-anneal", str(tmp_path / "f.json"), "--curve",
                str(tmp_path / "cooled.csv")]) == 2
    assert capsys.readouterr().err == ("lrsched plan-anneal: error: the run's LR at step 300 is "
                                       "already 0: it has cooled down, there is nothing to "
                                       "plan; plan-anneal a run still training\n")
