"""``lrsched harness run`` (train one small LM) and ``lrsched harness sweep`` (the
validation sweep and its report)."""

from __future__ import annotations

import functools
from pathlib import Path

from lrsched.cli.types import positive_float, positive_int


def register(sub) -> None:
    p = sub.add_parser("harness", help="train small language models with any schedule",
                       description="Train byte-level GPTs on Shakespeare (or Python source, "
                                   "or your text) and check schedule claims on real runs.")
    cmds = p.add_subparsers(dest="harness_command", required=True, parser_class=type(p))

    r = cmds.add_parser("run", help="train one model; writes RUN/curve.csv and RUN/run.json",
                        description="Train one model. Under torchrun it uses DDP. With "
                                    "--resume, options given must match the run's own.")
    r.add_argument("--preset", help="micro, tiny (default; CPU) or small (one GPU)")
    r.add_argument("--schedule", metavar="SPEC", help="schedule spec; total_steps and "
                   "warmup are filled in when left out, but tabulated and join specs are "
                   "taken as given (default cosine:final=0.1)")
    r.add_argument("--peak-lr", type=positive_float, help="peak learning rate")
    r.add_argument("--steps", type=positive_int, help="optimizer steps of the run")
    r.add_argument("--seed", type=int, help="seed of the weights and the batch order")
    r.add_argument("--data", metavar="PATH", help="shakespeare, python, or a text file or "
                   "folder")
    r.add_argument("--out", metavar="RUN", help="run folder (default runs/PRESET-SCHEDULE-sSEED)")
    r.add_argument("--stop-at", type=positive_int, metavar="N",
                   help="stop once N steps are done, with a checkpoint")
    r.add_argument("--resume", action="store_true", help="continue from RUN's checkpoint")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="set any config field, e.g. --set batch_size=32; repeatable")
    r.set_defaults(func=run)

    s = cmds.add_parser("sweep", help="the validation sweep: schedules, laws, continual",
                        description="Run the validation sweep and write DIR/report.md.")
    s.add_argument("--preset", default="tiny", help="preset of every run (default tiny)")
    s.add_argument("--out", required=True, metavar="DIR", help="report and run folders")
    s.add_argument("--lrs", type=positive_float, nargs="+", metavar="LR",
                   help="peak-LR grid (default: the preset's LR x 0.5, 1, 2)")
    s.add_argument("--seeds", type=int, nargs="+", default=[0, 1], metavar="S",
                   help="seeds (default 0 1); the grid runs on the first")
    s.add_argument("--jobs", type=positive_int, default=1,
                   help="runs trained at once, sharing the CPU threads (default 1)")
    s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="set a config field of every run; repeatable")
    s.set_defaults(func=sweep)


def _options(args) -> dict:
    from lrsched.harness.presets import parse_overrides

    given = {"schedule": args.schedule, "peak_lr": args.peak_lr, "steps": args.steps,
             "seed": args.seed, "data": args.data}
    return {**{k: v for k, v in given.items() if v is not None}, **parse_overrides(args.set)}


def _one_line_import_errors(func):
    """``func`` with a missing optional package as a ValueError, which ``main`` prints as
    one line (the message carries the pip install hint)."""
    @functools.wraps(func)
    def wrapped(args) -> int:
        try:
            return func(args)
        except ModuleNotFoundError as exc:
            raise ValueError(str(exc)) from exc

    return wrapped


@_one_line_import_errors
def run(args) -> int:
    import torch
    import torch.distributed as dist

    from lrsched.harness.presets import Config, preset
    from lrsched.harness.train import CHECKPOINT, Trainer

    options = _options(args)
    if args.resume:
        if not args.out:
            raise ValueError("--resume needs the run folder: add --out RUN")
        path = Path(args.out) / CHECKPOINT
        if not path.is_file():
            raise ValueError(f"nothing to resume: {path} does not exist")
        saved = torch.load(path, map_location="cpu", weights_only=True)["config"]
        config = Config.from_dict(saved)
        changed = [k for k, v in options.items() if getattr(config, k) != v]
        changed += ["preset"] if args.preset not in (None, config.preset) else []
        if changed:
            raise ValueError(f"{args.out} was started with another {', '.join(changed)}; "
                             "resume with the run's own options, or none")
    else:
        config = preset(args.preset or "tiny", **options)
    out = Path(args.out or f"runs/{config.preset}-{config.schedule.partition(':')[0]}"
                           f"-s{config.seed}")
    trainer = Trainer(config, out)
    summary = trainer.run(stop_at=args.stop_at, resume=args.resume)
    if trainer.rank == 0:
        print(describe(summary, out))
    if dist.is_initialized():
        dist.destroy_process_group()
    return 0


def describe(summary: dict, out: Path) -> str:
    """What a run did, and what to do next with it."""
    steps, done = summary["config"]["steps"], summary["steps_done"]
    lines = [f"{out}: {done}/{steps} steps of {summary['schedule']} "
             f"({summary['params']:,} parameters, {summary['tokens_per_s']:,.0f} tokens/s "
             f"on {summary['device']}"
             + (f" x {summary['world_size']} processes)" if summary["world_size"] > 1 else ")")]
    if summary["diverged"]:
        lines.append(f"diverged: a loss was not finite by step {done - 1}; lower --peak-lr")
    elif not summary["finished"]:
        lines.append(f"stopped with a checkpoint; continue with: lrsched harness run "
                     f"--out {out} --resume")
    else:
        lines.append(f"final val loss {summary['final_val_loss']:.4f} "
                     f"(best {summary['best_val_loss']:.4f})")
        lines.append(f"fit a loss-curve law: lrsched fit-curve {out / 'curve.csv'} "
                     "--loss-col val_loss")
    return "\n".join(lines)


@_one_line_import_errors
def sweep(args) -> int:
    from lrsched.harness.presets import parse_overrides
    from lrsched.harness.sweep import run_sweep

    report = run_sweep(args.preset, Path(args.out), lrs=args.lrs, seeds=args.seeds,
                       jobs=args.jobs, overrides=parse_overrides(args.set))
    print(f"wrote {report}")
    return 0
