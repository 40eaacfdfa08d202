"""``lrsched harness run``: train one small LM; ``lrsched harness lr-find``: its LR range
test. (The validation sweep of docs/harness.md is a benchmark: ``python -m
benchmarks.harness_sweep``.)"""

from __future__ import annotations

import dataclasses
import functools
import gc
from pathlib import Path

import torch
import torch.distributed as dist

from lrsched.cli import INTERRUPTED
from lrsched.cli.types import positive_float, positive_int, whole_number
from lrsched.errors import InputError
from lrsched.files import check_outputs
from lrsched.harness.presets import Config, parse_overrides, preset
from lrsched.harness.train import Trainer, read_config
from lrsched.range_test import MODES, RangeTest, lr_range_test


def register(sub) -> None:
    p = sub.add_parser("harness", help="train small language models with any schedule",
                       description="Train byte-level GPTs on Shakespeare (or Python source, "
                                   "or your text) and check schedule claims on real runs.")
    cmds = p.add_subparsers(dest="harness_command", required=True, parser_class=type(p))

    r = cmds.add_parser("run", help="train one model; writes RUN/curve.csv and RUN/run.json",
                        description="Train one model. Under torchrun it uses DDP. Ctrl-C "
                                    "stops with a checkpoint; --resume continues, with the "
                                    "run's own options (given ones must match).")
    r.add_argument("--preset", help="micro, tiny (default; CPU) or small (one GPU)")
    r.add_argument("--schedule", metavar="SPEC", help="the schedule as trained, warmup "
                   "included, e.g. cosine:total_steps=400,warmup=20,final=0.1 (its total_steps "
                   "sets --steps); default: 5%% warmup, then cosine to 10%%")
    r.add_argument("--peak-lr", type=positive_float, help="peak learning rate")
    r.add_argument("--steps", type=positive_int,
                   help="optimizer steps of the run (default: the schedule's, else the "
                        "preset's)")
    r.add_argument("--seed", type=whole_number(0), help="seed of the weights and the batch "
                                                        "order")
    r.add_argument("--data", metavar="PATH", help="shakespeare, python, or a text file or "
                   "folder")
    r.add_argument("--out", metavar="RUN", help="run folder (default runs/PRESET-SCHEDULE-sSEED)")
    r.add_argument("--stop-at", type=positive_int, metavar="N",
                   help="stop once N steps are done, with a checkpoint")
    r.add_argument("--resume", action="store_true", help="continue from RUN's checkpoint")
    r.add_argument("--threads", type=positive_int, default=1,
                   help="CPU threads of torch (default 1: models this small train fastest "
                        "on one, and more threads on a busy machine can be many times "
                        "slower)")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="set any config field, e.g. --set batch_size=32 or --set "
                        "model.n_layer=8; repeatable")
    r.set_defaults(func=run)

    f = cmds.add_parser("lr-find", help="LR range test of a preset's model; writes "
                                        "DIR/lr_find.png and DIR/lr_find.csv",
                        description="Train the preset's model for --steps steps while the "
                                    "LR rises from --start-lr to --end-lr (Smith 2017), "
                                    "and print the suggested peak LRs.")
    f.add_argument("--preset", default="tiny", help="micro, tiny (default) or small")
    f.add_argument("--start-lr", type=positive_float, default=1e-6, help="default 1e-6")
    f.add_argument("--end-lr", type=positive_float, default=1.0, help="default 1")
    f.add_argument("--steps", type=positive_int, default=100,
                   help="steps of the test (default 100)")
    f.add_argument("--mode", choices=MODES, default="exp", help="LR ramp (default exp)")
    f.add_argument("--seed", type=whole_number(0), help="seed of the weights and the batches")
    f.add_argument("--data", metavar="PATH", help="shakespeare, python, or a text file or "
                   "folder")
    f.add_argument("--out", metavar="DIR", help="output folder (default runs/PRESET-lr-find)")
    f.add_argument("--threads", type=positive_int, default=1, help="CPU threads of torch "
                                                                    "(default 1)")
    f.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="set any config field (as for run); repeatable")
    f.set_defaults(func=lr_find)


def _options(args) -> dict:
    given = {"schedule": getattr(args, "schedule", None),
             "peak_lr": getattr(args, "peak_lr", None),
             "steps": args.steps if args.harness_command == "run" else None,
             "seed": args.seed, "data": args.data}
    return {**{k: v for k, v in given.items() if v is not None}, **parse_overrides(args.set)}


def _one_line_import_errors(func):
    """``func`` with a missing optional package as an InputError, which ``main`` prints
    as one line (the message carries the pip install hint)."""
    @functools.wraps(func)
    def wrapped(args) -> int:
        try:
            return func(args)
        except ModuleNotFoundError as exc:
            raise InputError(str(exc)) from exc

    return wrapped


@_one_line_import_errors
def run(args) -> int:
    paths = [d for d in (args.data or "").split(",") if d and Path(d).exists()]
    check_outputs(inputs=paths, folders=[args.out])
    options = _options(args)
    if args.resume:
        if not args.out:
            raise InputError("--resume needs the run folder: add --out RUN")
        config = read_config(args.out)
        model = dataclasses.replace(config.model, **options.pop("model", {}))
        asked = config.replace(model=model, **options).to_dict()
        changed = [k for k, v in config.to_dict().items() if asked[k] != v]
        changed += ["preset"] if args.preset not in (None, config.preset) else []
        if changed:
            raise InputError(f"{args.out} was started with another {', '.join(changed)}; "
                             "resume with the run's own options, or none")
    else:
        config = preset(args.preset or "tiny", **options)
    torch.set_num_threads(args.threads)
    out = Path(args.out or f"runs/{config.preset}-{config.schedule.partition(':')[0]}"
                           f"-s{config.seed}")
    trainer = Trainer(config, out)
    summary = trainer.run(stop_at=args.stop_at, resume=args.resume)
    if trainer.rank == 0:
        print(describe(summary, out))
    del trainer  # its DistributedDataParallel goes before the process group, or exit can hang
    gc.collect()
    if dist.is_initialized():
        dist.destroy_process_group()
    return INTERRUPTED if summary["interrupted"] else 0


def describe(summary: dict, out: Path) -> str:
    """What a run did, and what to do next with it."""
    steps, done = summary["config"]["steps"], summary["steps_done"]
    rate = summary["tokens_per_s"]
    lines = [f"{out}: {done}/{steps} steps of {summary['schedule']} "
             f"({summary['params']:,} parameters, "
             + (f"{rate:,.0f} tokens/s" if rate else "no steps timed")
             + f" on {summary['device']}"
             + (f" x {summary['world_size']} processes)" if summary["world_size"] > 1 else ")")]
    if summary["diverged"]:
        lines.append(f"diverged: a loss was not finite by step {done - 1}; lower --peak-lr")
    elif not summary["finished"]:
        why = "interrupted" if summary["interrupted"] else "stopped"
        lines.append(f"{why} with a checkpoint at step {done}; continue with: lrsched "
                     f"harness run --out {out} --resume")
    else:
        lines.append(f"final val loss {summary['final_val_loss']:.4f} "
                     f"(best {summary['best_val_loss']:.4f})")
        lines.append(f"fit a loss-curve law: lrsched fit-curve {out / 'curve.csv'} "
                     "--loss-col val_loss")
    return "\n".join(lines)


def range_test(config: Config, **options) -> RangeTest:
    """``lr_range_test`` on the model, optimizer and batches ``Trainer`` builds for
    ``config`` (one process), with its micro-batches, gradient clipping and autocast;
    ``options`` go to ``lr_range_test`` (start_lr, end_lr, steps, mode, ...)."""
    trainer = Trainer(config, progress=False)
    steps = options.get("steps", 100)
    return lr_range_test(trainer.model, trainer.optimizer, trainer.micro_batches(steps),
                         Trainer.loss, accumulation_steps=trainer.accum,
                         grad_clip=config.grad_clip or None, amp_dtype=trainer.amp_dtype,
                         **options)


@_one_line_import_errors
def lr_find(args) -> int:
    paths = [d for d in (args.data or "").split(",") if d and Path(d).exists()]
    check_outputs(inputs=paths, folders=[args.out])
    config = preset(args.preset, **_options(args))
    torch.set_num_threads(args.threads)
    result = range_test(config, start_lr=args.start_lr, end_lr=args.end_lr, steps=args.steps,
                        mode=args.mode)
    out = Path(args.out or f"runs/{config.preset}-lr-find")
    out.mkdir(parents=True, exist_ok=True)
    result.write_csv(out / "lr_find.csv")
    result.plot(out / "lr_find.png")
    ran = (f"{result.lrs.size} of {args.steps} steps (diverged at step {result.stopped})"
           if result.stopped is not None else f"{args.steps} steps")
    print(f"{config.preset}: LR range test from {args.start_lr:g} to {args.end_lr:g}, {ran}")
    for name, lr in result.suggestions.items():
        print(f"suggested peak LR ({name}): {lr:.3g}")
    print(f"wrote {out / 'lr_find.png'} and {out / 'lr_find.csv'}")
    return 0
