"""The small-LM harness: model, bit-for-bit resume, accumulation, DDP sync, the CLI."""

import csv
import json
import os
import signal
import socket
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import lrsched
from lrsched.cli import main
from lrsched.errors import InputError
from lrsched.harness import GPT, GPTConfig, Trainer, preset
from lrsched.harness.presets import Config, parse_overrides


def rows(run) -> list[dict]:
    with open(run / "curve.csv", newline="") as f:
        return list(csv.DictReader(f))


def losses(run) -> list[tuple]:
    """Every column of curve.csv but the wall-clock seconds."""
    return [tuple(v for k, v in r.items() if k != "seconds") for r in rows(run)]


def final_weights(run) -> dict:
    return torch.load(run / "checkpoint.pt", weights_only=True)["model"]


def test_gpt_is_causal_with_tied_embeddings():
    torch.manual_seed(0)
    model = GPT(GPTConfig(n_layer=2, n_head=2, n_embd=16, block_size=8))
    assert model.head.weight is model.wte.weight
    x = torch.randint(0, 256, (1, 8))
    y = x.clone()
    y[0, 5:] = (y[0, 5:] + 1) % 256
    torch.testing.assert_close(model(x)[0, :5], model(y)[0, :5])
    assert not torch.allclose(model(x)[0, 5:], model(y)[0, 5:])


def test_tiny_preset_has_about_a_million_parameters():
    assert 0.7e6 < GPT(preset("tiny").model).num_params() < 1.2e6


def test_stop_and_resume_repeat_the_straight_run_bit_for_bit(tmp_path):
    """A caller-built ScheduleLR, dropout on (so the RNG state matters), accumulation."""
    cfg = preset("micro", steps=12, eval_every=3, model={"dropout": 0.1}, micro_batch=2)
    schedule = lrsched.wsd(total_steps=12, warmup=2, shape="1-sqrt")

    def run(out, **kw):
        trainer = Trainer(cfg, out)
        return trainer.run(lrsched.ScheduleLR(trainer.optimizer, schedule), **kw)

    straight = run(tmp_path / "a")
    stopped = run(tmp_path / "b", stop_at=5)
    assert not stopped["finished"] and stopped["steps_done"] == 5
    resumed = run(tmp_path / "b", resume=True)
    assert straight["finished"] and resumed["finished"]
    assert losses(tmp_path / "a") == losses(tmp_path / "b")
    assert straight["final_val_loss"] == resumed["final_val_loss"]
    a, b = final_weights(tmp_path / "a"), final_weights(tmp_path / "b")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_curve_has_every_step_and_reads_as_a_fit_curve_input(tmp_path, capsys):
    cfg = preset("micro", steps=30)
    summary = Trainer(cfg, tmp_path).run()
    table = rows(tmp_path)
    assert list(table[0]) == ["step", "lr", "train_loss", "val_loss", "grad_norm_l2",
                              "grad_norm_l1", "tokens", "seconds"]
    assert [int(r["step"]) for r in table] == list(range(30))
    val = [int(r["step"]) for r in table if r["val_loss"]]
    assert len(val) >= 10 and val[-1] == 29
    assert float(table[-1]["val_loss"]) == pytest.approx(summary["final_val_loss"], rel=1e-6)
    curve = lrsched.read_curve(tmp_path / "curve.csv")  # finds val_loss
    assert curve.loss_col == "val_loss"
    expected = cfg.peak_lr * cfg.build_schedule()(np.arange(30))
    assert curve.lrs == pytest.approx(expected, rel=1e-6)
    assert list(curve.steps) == val
    info = json.loads((tmp_path / "run.json").read_text())
    assert info["tokens"] == 30 * cfg.batch_size * cfg.model.block_size
    assert info["schedule"] == "cosine:total_steps=30,warmup=2,final=0.1"
    assert lrsched.Schedule.from_dict(info["schedule_dict"]) == cfg.build_schedule()
    assert Config.from_dict(json.loads((tmp_path / "config.json").read_text())) == cfg
    # the commands find their columns in it by themselves, and say which they took
    capsys.readouterr()
    assert main(["fit-curve", str(tmp_path / "curve.csv"), "--law", "momentum"]) == 0
    assert "curve.csv: loss from column 'val_loss' (--loss-col" in capsys.readouterr().out
    for kind, column in (("adam", "grad_norm_l1"), ("sgd", "grad_norm_l2")):
        assert main(["refine", str(tmp_path / "curve.csv"), "--kind", kind]) == 0
        assert f"from 30 norms in column {column} of " in capsys.readouterr().out


def test_gradient_accumulation_matches_the_full_batch(tmp_path):
    full = Trainer(preset("micro", steps=4), tmp_path / "full").run()
    accum = Trainer(preset("micro", steps=4, micro_batch=1), tmp_path / "accum").run()
    assert accum["final_val_loss"] == pytest.approx(full["final_val_loss"], rel=1e-5)


def test_data_switch_logs_val_loss_on_every_corpus(tmp_path):
    cfg = preset("micro", steps=8, eval_every=4, data="shakespeare,python", switch_at=(4,))
    trainer = Trainer(cfg, tmp_path)
    assert [trainer.data_position(s) for s in (3, 4, 5)] == [(0, 12), (1, 0), (1, 4)]
    summary = trainer.run()
    assert set(summary["val"]) == {"shakespeare", "python"}
    last = rows(tmp_path)[-1]
    assert float(last["val_loss"]) == pytest.approx(float(last["val_python"]))


def _ddp_worker(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    trainer = Trainer(preset("micro", steps=6, eval_every=3), out)
    trainer.run()
    torch.save(trainer.model.state_dict(), os.path.join(out, f"rank{rank}.pt"))


def test_two_ddp_processes_stay_in_sync_and_match_one_process(tmp_path, run_ranks):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run_ranks(_ddp_worker, 2, port, str(tmp_path / "ddp"))
    ranks = [torch.load(tmp_path / "ddp" / f"rank{r}.pt") for r in range(2)]
    assert all(torch.equal(ranks[0][k], ranks[1][k]) for k in ranks[0])
    info = json.loads((tmp_path / "ddp" / "run.json").read_text())
    assert info["world_size"] == 2
    single = Trainer(preset("micro", steps=6, eval_every=3), tmp_path / "one").run()
    assert info["final_val_loss"] == pytest.approx(single["final_val_loss"], rel=1e-5)
    for a, b in zip(rows(tmp_path / "ddp"), rows(tmp_path / "one")):
        assert float(a["train_loss"]) == pytest.approx(float(b["train_loss"]), rel=1e-5)


def test_cli_runs_stops_and_resumes(tmp_path, capsys):
    out = str(tmp_path / "run")
    base = ["harness", "run", "--preset", "micro", "--out", out,
            "--schedule", "linear:total_steps=8", "--set", "eval_every=2"]
    assert main([*base, "--stop-at", "3"]) == 0
    printed = capsys.readouterr()
    assert "stopped with a checkpoint at step 3" in printed.out and "--resume" in printed.out
    # stderr is no terminal here: a line per evaluation instead of a progress bar
    assert "run: step 2/8, val loss shakespeare " in printed.err
    assert main(base) == 2  # the folder holds a run
    assert "already holds a run; add --resume" in capsys.readouterr().err
    assert main(["harness", "run", "--out", out, "--resume", "--peak-lr", "1"]) == 2
    assert "another peak_lr" in capsys.readouterr().err
    try:
        assert main(["harness", "run", "--out", out, "--resume", "--threads", "2"]) == 0
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)  # as conftest set it
    printed = capsys.readouterr().out
    assert "final val loss" in printed and "lrsched fit-curve" in printed
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["finished"] and info["schedule"] == "linear:total_steps=8"
    assert info["config"]["steps"] == 8  # from the schedule's total_steps


def test_cli_rejects_unusable_options(tmp_path, capsys):
    assert main(["harness", "run", "--out", str(tmp_path), "--resume"]) == 2
    assert "nothing to resume" in capsys.readouterr().err
    assert main(["harness", "run", "--preset", "huge"]) == 2
    assert "unknown preset" in capsys.readouterr().err
    with pytest.raises(InputError, match="did you mean 'peak_lr'"):
        parse_overrides(["peak_rl=1"])
    assert parse_overrides(["switch_at=4,8", "compile=true", "data=a,b", "model.n_layer=3"]) \
        == {"switch_at": (4, 8), "compile": True, "data": "a,b", "model": {"n_layer": 3}}


@pytest.mark.parametrize("setting, message", [
    ("grad_clip=-1", "grad_clip=-1.0 is invalid"),
    ("eval_every=-1", "eval_every=-1 is invalid; give a whole number >= 0"),
    ("checkpoint_every=-5", "checkpoint_every=-5 is invalid"),
    ("peak_lr=inf", "peak_lr=inf is invalid; give a finite number > 0"),
    ("peak_lr=nan", "peak_lr=nan is invalid"),
    ("beta2=1", "beta2=1.0 is invalid; give a finite number in [0, 1)"),
    ("weight_decay=-0.1", "weight_decay=-0.1 is invalid"),
    ("val_fraction=0", "val_fraction=0.0 is invalid"),
    ("seed=-1", "seed=-1 is invalid"),
    ("steps=1e21", "--set steps='1e21': expected int"),
    ("steps=100000000000", "steps=100000000000 is more than a run's curve holds"),
    ("device=tpu", "device='tpu' is invalid; use auto, cpu, cuda, cuda:N or mps"),
    ("dtype=float16", "dtype='float16' is invalid"),
    ("warmup=inf", "--set 'warmup=inf': expected key=value with a key of the config"),
    ("model.n_head=3", "model.n_embd=32 must be a multiple of model.n_head=3"),
    ("model.dropout=1", "model.dropout=1.0 is invalid"),
    ("model.vocab_size=300", "the harness trains on bytes"),
    ("data=a,", "names an empty corpus"),
    ("switch_at=30", "needs 0 increasing switch_at step(s)"),
    ("compile=maybe", "--set compile='maybe': expected bool"),
])
def test_every_config_key_is_checked_in_one_line(tmp_path, capsys, setting, message):
    assert main(["harness", "run", "--preset", "micro", "--out", str(tmp_path / "run"),
                 "--set", setting]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not (tmp_path / "run").exists()


def test_a_device_this_machine_lacks_is_one_line(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(InputError, match=r"device=cuda: (this torch build has no CUDA|no GPU "
                                         r"is visible) .*; use device=cpu or auto"):
        Trainer(preset("micro", device="cuda"), tmp_path)
    with pytest.raises(SystemExit, match="2"):
        main(["harness", "run", "--preset", "micro", "--steps", "1e21"])


# -- faults: Ctrl-C, kills, damaged files ---------------------------------------------------
class _Interrupting:
    """ScheduleLR that sends this process SIGINT (a real Ctrl-C) after step ``at``."""

    def __init__(self, optimizer, schedule, at):
        self.inner, self.at = lrsched.ScheduleLR(optimizer, schedule), at

    def step(self):
        self.inner.step()
        if self.inner.last_epoch == self.at:
            os.kill(os.getpid(), signal.SIGINT)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_ctrl_c_saves_a_checkpoint_and_the_resumed_run_is_the_straight_one(tmp_path):
    cfg = preset("micro", steps=10, eval_every=3, model={"dropout": 0.1})
    schedule = cfg.build_schedule()
    straight = Trainer(cfg, tmp_path / "a").run()
    trainer = Trainer(cfg, tmp_path / "b")
    stopped = trainer.run(_Interrupting(trainer.optimizer, schedule, at=4))
    assert stopped["interrupted"] and stopped["steps_done"] == 4 and not stopped["finished"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back
    resumed = Trainer(cfg, tmp_path / "b").run(resume=True)
    assert resumed["finished"] and not resumed["interrupted"]
    assert losses(tmp_path / "a") == losses(tmp_path / "b")
    assert straight["final_val_loss"] == resumed["final_val_loss"]


def test_a_run_killed_before_its_first_checkpoint_starts_again(tmp_path, capsys):
    cfg = preset("micro", steps=4)
    out = tmp_path / "run"
    Trainer(cfg, out).run()
    (out / "checkpoint.pt").unlink()
    (out / "run.json").unlink()  # as if killed before any checkpoint or run.json
    (out / ".checkpoint.pt.1a2b3c4d.tmp").write_bytes(b"half a checkpoint")
    with pytest.raises(InputError, match="stopped before its first checkpoint; add --resume "
                                         "to start it again from step 0"):
        Trainer(cfg, out).run()
    summary = Trainer(cfg, out).run(resume=True)
    assert summary["finished"] and [r["step"] for r in rows(out)] == ["0", "1", "2", "3"]
    assert not list(out.glob(".*.tmp"))  # the killed write's temporary file is gone
    with pytest.raises(InputError, match="holds another config"):
        (out / "checkpoint.pt").unlink()
        (out / "run.json").unlink()
        Trainer(preset("micro", steps=4, seed=1), out).run(resume=True)


def test_a_torn_last_curve_row_is_dropped_on_resume(tmp_path):
    cfg = preset("micro", steps=8, eval_every=2)
    Trainer(cfg, tmp_path / "a").run()
    Trainer(cfg, tmp_path / "b").run(stop_at=4)
    with open(tmp_path / "b" / "curve.csv", "a") as f:
        f.write("4,0.00")  # killed while writing the row of step 4 (after the checkpoint)
    Trainer(cfg, tmp_path / "b").run(resume=True)
    assert losses(tmp_path / "a") == losses(tmp_path / "b")
    text = (tmp_path / "b" / "curve.csv").read_text().splitlines()
    (tmp_path / "b" / "curve.csv").write_text("\n".join(text[:3]) + "\n")  # rows lost
    (tmp_path / "b" / "checkpoint.pt").unlink()
    Trainer(cfg, tmp_path / "c").run(stop_at=4)
    (tmp_path / "c" / "curve.csv").write_text("\n".join(text[:3]) + "\n")
    with pytest.raises(InputError, match="holds 2 rows before step 4, where the checkpoint "
                                         "is; the curve is incomplete"):
        Trainer(cfg, tmp_path / "c").run(resume=True)


def _damage(path, how):
    if how == "torn":
        path.write_bytes(path.read_bytes()[:1000])
    elif how == "garbage":
        path.write_bytes(b"not a checkpoint" * 100)
    elif how == "payload":
        torch.save({"config": _Payload()}, path)
    else:  # tampered: loads, but its state is not this run's
        state = torch.load(path, weights_only=True)
        state["model"] = {k: v[:1] for k, v in state["model"].items()}
        torch.save(state, path)


class _Payload:
    def __reduce__(self):
        return (print, ("this must not run",))


@pytest.mark.parametrize("how, message", [
    ("torn", "not a checkpoint file that lrsched wrote, or a damaged one"),
    ("garbage", "not a checkpoint file that lrsched wrote, or a damaged one"),
    ("payload", "not a checkpoint file that lrsched wrote, or a damaged one"),
    ("tampered", "its state does not fit this run"),
])
def test_a_damaged_checkpoint_is_one_line_naming_the_file(tmp_path, capsys, how, message):
    out = tmp_path / "run"
    args = ["harness", "run", "--preset", "micro", "--steps", "4", "--out", str(out)]
    assert main([*args, "--stop-at", "2"]) == 0
    _damage(out / "checkpoint.pt", how)
    capsys.readouterr()
    assert main(["harness", "run", "--out", str(out), "--resume"]) == 2
    captured = capsys.readouterr()
    assert f"{out / 'checkpoint.pt'}" in captured.err and message in captured.err
    assert captured.err.count("\n") == 1 and "must not run" not in captured.out


def test_a_checkpoint_of_another_world_size_is_refused(tmp_path):
    cfg = preset("micro", steps=4)
    Trainer(cfg, tmp_path).run(stop_at=2)
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    state["rng"] = state["rng"] * 2  # as saved by two processes
    torch.save(state, tmp_path / "checkpoint.pt")
    with pytest.raises(InputError, match="saved by 2 process.*--nproc_per_node=2"):
        Trainer(cfg, tmp_path).run(resume=True)


# -- the schedule of a config ---------------------------------------------------------------
def test_the_schedule_is_taken_as_given():
    """A spec is the schedule as trained: no warmup is added; one that does not end with
    the run is refused; a schedule's total_steps gives the run's steps."""
    assert preset("micro").schedule == "cosine:total_steps=20,warmup=1,final=0.1"
    assert preset("micro", steps=40).build_schedule() == lrsched.cosine(
        total_steps=40, warmup=2, final=0.1)
    assert preset("micro", schedule="cosine:total_steps=40").build_schedule() == \
        lrsched.cosine(total_steps=40)
    assert preset("micro", schedule="constant").build_schedule() == lrsched.constant()
    table = "tabulated:values=[1,0.5],steps=[0,39]"
    assert preset("micro", schedule=table, steps=40).build_schedule() == lrsched.tabulated(
        values=[1, 0.5], steps=[0, 39])
    with pytest.raises(InputError, match="1000 steps long but the run has steps=20; make "
                                         "them agree"):
        preset("micro", schedule="cosine:total_steps=1000", steps=20)
    assert main(["harness", "run", "--preset", "micro", "--schedule", "wsd:total_steps=400",
                 "--steps", "20"]) == 2


def test_the_committed_sweep_runs_hold_configs_this_harness_reads():
    """The sweep report stays valid: each run's config is a Config, whose schedule is
    the one its run.json records."""
    root = Path(__file__).resolve().parents[1] / "benchmarks/results/harness_tiny/runs"
    runs = sorted(root.glob("*/run.json"))
    assert len(runs) == 20
    for path in runs:
        info = json.loads(path.read_text())
        config = Config.from_dict(info["config"])
        assert config.build_schedule() == lrsched.from_spec(info["schedule"]), path.parent.name


def test_a_missing_harness_extra_is_a_one_line_hint(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'lrsched-toolkit\[harness\]'"):
        Trainer(preset("micro", steps=2)).run()
    assert main(["harness", "run", "--preset", "micro", "--out", str(tmp_path / "run")]) == 2
    assert "pip install 'lrsched-toolkit[harness]'" in capsys.readouterr().err
