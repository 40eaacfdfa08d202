"""The small-LM harness: model, bit-for-bit resume, accumulation, DDP sync, the CLI."""

import csv
import json
import os
import socket
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

import lrsched
from lrsched.cli import main
from lrsched.harness import GPT, GPTConfig, Trainer, preset
from lrsched.harness.presets import Config, parse_overrides


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run fastest on one thread, and a busy machine does not stall them."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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
    cfg = preset("tiny")
    model = GPT(GPTConfig(cfg.n_layer, cfg.n_head, cfg.n_embd, cfg.block_size))
    assert 0.7e6 < model.num_params() < 1.2e6


def test_stop_and_resume_repeat_the_straight_run_bit_for_bit(tmp_path):
    """A caller-built ScheduleLR, dropout on (so the RNG state matters), accumulation."""
    cfg = preset("micro", steps=12, eval_every=3, dropout=0.1, micro_batch=2)
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


def test_curve_has_every_step_and_reads_as_a_fit_curve_input(tmp_path):
    cfg = preset("micro", steps=30)
    summary = Trainer(cfg, tmp_path).run()
    table = rows(tmp_path)
    assert list(table[0]) == ["step", "lr", "train_loss", "val_loss", "grad_norm_l2",
                              "grad_norm_l1", "tokens", "seconds"]
    assert [int(r["step"]) for r in table] == list(range(30))
    val = [int(r["step"]) for r in table if r["val_loss"]]
    assert len(val) >= 10 and val[-1] == 29
    assert float(table[-1]["val_loss"]) == pytest.approx(summary["final_val_loss"], rel=1e-6)
    curve = lrsched.read_curve(tmp_path / "curve.csv", loss_col="val_loss")
    expected = cfg.peak_lr * cfg.resolved_schedule()(np.arange(30))
    assert curve.lrs == pytest.approx(expected, rel=1e-6)
    assert list(curve.steps) == val
    info = json.loads((tmp_path / "run.json").read_text())
    assert info["tokens"] == 30 * cfg.batch_size * cfg.block_size
    assert info["schedule"] == "cosine:total_steps=30,warmup=2,final=0.1"
    assert lrsched.Schedule.from_dict(info["schedule_dict"]) == cfg.resolved_schedule()


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
    torch.distributed.destroy_process_group()


def test_two_ddp_processes_stay_in_sync_and_match_one_process(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_ddp_worker, args=(2, port, str(tmp_path / "ddp")), nprocs=2)
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
    base = ["harness", "run", "--preset", "micro", "--steps", "8", "--out", out,
            "--schedule", "linear", "--set", "eval_every=2"]
    assert main([*base, "--stop-at", "3"]) == 0
    assert "--resume" in capsys.readouterr().out
    assert main(base) == 2  # the folder holds a run
    assert "already holds a run" in capsys.readouterr().err
    assert main(["harness", "run", "--out", out, "--resume", "--peak-lr", "1"]) == 2
    assert "peak_lr" in capsys.readouterr().err
    assert main(["harness", "run", "--out", out, "--resume"]) == 0
    printed = capsys.readouterr().out
    assert "final val loss" in printed and "lrsched fit-curve" in printed
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["finished"] and info["schedule"].startswith("linear:total_steps=8")


def test_cli_rejects_unusable_options(tmp_path, capsys):
    assert main(["harness", "run", "--out", str(tmp_path), "--resume"]) == 2
    assert "nothing to resume" in capsys.readouterr().err
    assert main(["harness", "run", "--preset", "huge"]) == 2
    assert "unknown preset" in capsys.readouterr().err
    with pytest.raises(ValueError, match="did you mean 'peak_lr'"):
        parse_overrides(["peak_rl=1"])
    assert parse_overrides(["switch_at=4,8", "compile=true", "data=a,b"]) == {
        "switch_at": (4, 8), "compile": True, "data": "a,b"}


# -- the schedule a config resolves to ----------------------------------------------------
def test_the_config_warmup_fills_in_where_the_spec_leaves_it_out():
    """40 steps, warmup 0.05 = 2 steps: filled in where the family takes a warmup and the
    spec names none; tabulated and join specs are taken as given."""
    cfg = preset("micro", steps=40)

    def resolved(spec, **changes):
        return cfg.replace(schedule=spec, **changes).resolved_schedule()

    assert resolved("cosine:final=0.1") == lrsched.cosine(total_steps=40, warmup=2, final=0.1)
    assert resolved("cosine:total_steps=40") == lrsched.cosine(total_steps=40, warmup=2)
    assert resolved("cosine:warmup=0") == lrsched.cosine(total_steps=40)  # named: kept
    assert resolved("constant") == lrsched.constant(warmup=2)
    assert resolved("constant", warmup=5) == lrsched.constant(warmup=5)
    assert resolved("linear", warmup=0.1) == lrsched.linear(total_steps=40, warmup=4)
    table = "tabulated:values=[1,0.5],steps=[0,39]"
    assert resolved(table) == lrsched.tabulated(values=[1, 0.5], steps=[0, 39])
    joined = "join:parts=[(constant),(linear:total_steps=20)],boundaries=[20]"
    assert resolved(joined) == lrsched.join(["constant", "linear:total_steps=20"], [20])


def test_a_schedule_that_does_not_fit_the_run_is_refused():
    with pytest.raises(ValueError, match="1000 steps long but the run has steps=20; .*leave "
                                         "total_steps out"):
        preset("micro", schedule="cosine:total_steps=1000")
    with pytest.raises(ValueError, match="2 steps long but the run has steps=20; make them "
                                         "agree$"):
        preset("micro", schedule="tabulated:values=[1,0.5]")
    with pytest.raises(ValueError, match="warmup=2.5 is neither a whole number"):
        preset("micro", warmup=2.5)
    with pytest.raises(ValueError, match="not shorter than the run"):
        preset("micro", warmup=20)
    assert main(["harness", "run", "--preset", "micro", "--schedule", "wsd:total_steps=400"]) == 2


def test_the_committed_sweep_runs_resolve_to_the_schedules_they_trained_with():
    """The sweep report stays valid: each run's config resolves to the schedule its
    run.json records."""
    root = Path(__file__).resolve().parents[1] / "benchmarks/results/harness_tiny/runs"
    runs = sorted(root.glob("*/run.json"))
    assert len(runs) == 20
    for path in runs:
        info = json.loads(path.read_text())
        assert Config.from_dict(info["config"]).resolved_schedule().to_spec() \
            == info["schedule"], path.parent.name


def test_a_missing_harness_extra_is_a_one_line_hint(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'lrsched\[harness\]'"):
        Trainer(preset("micro", steps=2)).run()
    assert main(["harness", "run", "--preset", "micro", "--out", str(tmp_path / "run")]) == 2
    assert "pip install 'lrsched[harness]'" in capsys.readouterr().err
