"""Training runs: ``Trainer`` (one process, or DDP under torchrun), RUN/config.json,
RUN/curve.csv, RUN/run.json, and checkpoints that resume bit for bit."""

from __future__ import annotations

import bisect
import contextlib
import csv
import json
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor
from torch.nn.parallel import DistributedDataParallel
from torch.nn.utils import clip_grad_norm_, get_total_norm
from torch.optim.lr_scheduler import LRScheduler

from lrsched.errors import InputError
from lrsched.files import atomic_path, is_number, remove_stale_temps
from lrsched.harness.data import Batches, load_corpus, val_windows
from lrsched.harness.model import GPT
from lrsched.harness.presets import Config
from lrsched.scheduler import ScheduleLR
from lrsched.snapshot import load_state, save_state

COLUMNS = ("step", "lr", "train_loss", "val_loss", "grad_norm_l2", "grad_norm_l1", "tokens",
           "seconds")
CHECKPOINT, CONFIG, CURVE, RUN_JSON = "checkpoint.pt", "config.json", "curve.csv", "run.json"
_FLUSH_EVERY = 200  # steps between host syncs of the logged metrics, at most
# Dense bf16 peak FLOP/s of the GPUs whose model-FLOP utilisation run.json reports.
_PEAK_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12}


class Trainer:
    """Builds the model, optimizer and data of ``config`` and trains them.

    ``optimizer`` is exposed so a caller can build its own scheduler (e.g. ``ScheduleLR``)
    and pass it to ``run``. Under ``torchrun`` (``WORLD_SIZE`` > 1) the model is wrapped
    in DDP (nccl on GPU, gloo on CPU) and rank 0 writes the files.

    Args:
        config: the run's configuration.
        out: the run folder (config.json, curve.csv, run.json, checkpoint.pt); None
            writes nothing.
        progress: True: a tqdm bar; False: quiet; None (default): a bar when stderr is
            a terminal, else a line at every evaluation (rank 0 only).
    """

    def __init__(self, config: Config, out: str | os.PathLike | None = None,
                 progress: bool | None = None) -> None:
        self.config = cfg = config
        self.out = None if out is None else Path(out)
        self.device = _device(cfg.device)
        self.rank, self.world = _distributed(self.device)
        per_rank, rest = divmod(cfg.batch_size, self.world)
        self.micro = cfg.micro_batch or per_rank
        if rest or not per_rank or per_rank % self.micro:
            raise InputError(f"batch_size={cfg.batch_size} must split evenly into "
                             f"{self.world} process(es) x micro_batch={self.micro}")
        self.accum = per_rank // self.micro
        bf16 = cfg.dtype == "bfloat16" or (cfg.dtype == "auto" and self.device.type == "cuda")
        self.amp_dtype = torch.bfloat16 if bf16 else None
        self.progress = None if self.rank else (
            ("bar" if sys.stderr.isatty() else "lines") if progress is None
            else "bar" if progress else None)

        self.corpora = [load_corpus(name, cfg.val_fraction) for name in cfg.corpora]
        block = cfg.model.block_size
        self.batches = [Batches(c.train, block, cfg.seed) for c in self.corpora]
        self.val = [val_windows(c.val, block, cfg.eval_windows) for c in self.corpora]

        torch.manual_seed(cfg.seed)  # the same initial weights on every rank
        self.model = GPT(cfg.model).to(self.device)
        # then a stream of its own for every rank's dropout
        torch.manual_seed(int(np.random.SeedSequence([cfg.seed, self.rank]).generate_state(1)[0]))
        self.optimizer = _adamw(self.model, cfg, self.device)
        self.ddp = (DistributedDataParallel(self.model, device_ids=[self.device.index]
                                            if self.device.type == "cuda" else None)
                    if self.world > 1 else None)
        net = self.ddp or self.model
        self.net = torch.compile(net) if cfg.compile else net

    # -- data -----------------------------------------------------------------------------
    def corpus_index(self, step: int) -> int:
        """Which corpus of ``config.data`` step ``step`` trains on."""
        return bisect.bisect_right(self.config.switch_at, step)

    def data_position(self, step: int) -> tuple[int, int]:
        """(corpus index, first window) of the batch of ``step``."""
        i = self.corpus_index(step)
        start = (0, *self.config.switch_at)[i]
        return i, (step - start) * self.config.batch_size

    def batch(self, step: int) -> np.ndarray:
        """The global batch of ``step``: (batch_size, model.block_size + 1) byte tokens."""
        i, position = self.data_position(step)
        return self.batches[i].windows(position, self.config.batch_size)

    def micro_batches(self, steps: int) -> Iterator[Tensor]:
        """The micro-batches of steps ``0 .. steps - 1`` on the device, in order (``accum``
        per step; one process): what a range test trains on, with ``loss``."""
        for step in range(steps):
            yield from self._to_device(self.batch(step)).split(self.micro)

    @staticmethod
    def loss(model: GPT, tokens: Tensor) -> Tensor:
        """The mean next-byte cross-entropy of ``model`` on windows ``tokens``."""
        return model(tokens[:, :-1], tokens[:, 1:])

    # -- one step, evaluation ---------------------------------------------------------------
    def _autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def _to_device(self, windows: np.ndarray) -> Tensor:
        tokens = torch.from_numpy(windows)
        if self.device.type == "cuda":
            tokens = tokens.pin_memory()
        return tokens.to(self.device, non_blocking=True)

    def train_step(self, windows: np.ndarray) -> tuple[Tensor, Tensor, Tensor]:
        """One optimizer step on a global batch (this process takes its share, in
        micro-batches). Returns the loss and the gradient's l2 and l1 norms before
        clipping, as tensors on the device (reading them would sync)."""
        per_rank = len(windows) // self.world
        tokens = self._to_device(windows[self.rank * per_rank:(self.rank + 1) * per_rank])
        self.optimizer.zero_grad(set_to_none=True)
        loss = torch.zeros((), device=self.device)
        for k, chunk in enumerate(tokens.split(self.micro)):
            last = k == self.accum - 1
            with self.ddp.no_sync() if self.ddp and not last else contextlib.nullcontext():
                with self._autocast():
                    part = self.net(chunk[:, :-1], chunk[:, 1:]) / self.accum
                part.backward()
            loss += part.detach()
        params = [p for p in self.model.parameters() if p.grad is not None]
        l1 = get_total_norm([p.grad for p in params], norm_type=1.0)
        l2 = clip_grad_norm_(params, self.config.grad_clip or math.inf)
        self.optimizer.step()
        return loss, l2, l1

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Mean loss on each corpus' fixed val windows (shared out over the ranks)."""
        self.model.eval()
        out = {}
        for corpus, windows in zip(self.corpora, self.val):
            total = torch.zeros(2, dtype=torch.float64, device=self.device)
            for chunk in self._to_device(windows[self.rank::self.world]).split(self.micro):
                with self._autocast():
                    loss = self.model(chunk[:, :-1], chunk[:, 1:])
                total += torch.stack([loss.double() * len(chunk), total.new_tensor(len(chunk))])
            if self.world > 1:
                dist.all_reduce(total)
            out[corpus.label] = (total[0] / total[1]).item()
        self.model.train()
        return out

    # -- the run ----------------------------------------------------------------------------
    def run(self, scheduler: LRScheduler | None = None, *, stop_at: int | None = None,
            resume: bool = False) -> dict:
        """Train to ``config.steps`` (or stop once ``stop_at`` steps are done, with a
        checkpoint, as a pre-empted job would); ``resume`` continues from the checkpoint
        in ``out`` (or, for a run stopped before its first checkpoint, starts it again).
        Ctrl-C (SIGINT) stops at the end of the step with a checkpoint (a second one
        quits at once). ``scheduler`` defaults to ``ScheduleLR`` with the config's
        schedule; a caller's scheduler must wrap ``self.optimizer``. Returns run.json's
        content ("interrupted" says whether Ctrl-C stopped it)."""
        try:
            from tqdm.auto import tqdm
        except ModuleNotFoundError:
            raise ModuleNotFoundError("the harness needs tqdm (its progress bar); install "
                                      "it with: pip install 'lrsched-toolkit[harness]'",
                                      name="tqdm") from None

        cfg = self.config
        if scheduler is None:
            scheduler = ScheduleLR(self.optimizer, cfg.build_schedule())
        start, prior = self._prepare(scheduler, resume)
        end = cfg.steps if stop_at is None else min(stop_at, cfg.steps)
        if end <= start:
            raise InputError(f"nothing to train: the run is at step {start} and would stop "
                             f"at {end} (steps={cfg.steps})")
        log = _CurveLog(self.out, [c.label for c in self.corpora], start, self.rank == 0)
        self._say(f"{self._label()}: {self.model.num_params():,} parameters, steps "
                  f"{start}-{cfg.steps - 1} of {cfg.batch_size} x {cfg.model.block_size} "
                  f"tokens on {_describe(self.device)}"
                  + (f" x {self.world} processes" if self.world > 1 else ""))
        clock = time.perf_counter() - prior
        eval_seconds, pending, last_val, done, diverged = 0.0, [], {}, start, False
        bar = tqdm(total=cfg.steps, initial=start, disable=self.progress != "bar",
                   desc=self._label(), dynamic_ncols=True)
        with _StopOnInterrupt(self._say) as interrupt:
            for step in range(start, end):
                lr = float(self.optimizer.param_groups[0]["lr"])
                loss, l2, l1 = self.train_step(self.batch(step))
                scheduler.step()
                done = step + 1
                pending.append((step, lr, torch.stack([loss, l2.float(), l1.float()]),
                                time.perf_counter() - clock))
                bar.update()
                evaluate = done % cfg.eval_interval == 0 or done == cfg.steps
                checkpoint = cfg.checkpoint_every and done % cfg.checkpoint_every == 0
                flush = evaluate or checkpoint or done == end or len(pending) >= _FLUSH_EVERY
                # One process decides at once; under DDP the ranks agree at the next flush.
                if flush or (interrupt.requested and self.world == 1):
                    val = {}
                    if evaluate:
                        tick = time.perf_counter()
                        val = last_val = self.evaluate()
                        eval_seconds += time.perf_counter() - tick
                    diverged = not self._flush(log, pending, val, self.data_position(step)[0],
                                               bar)
                    pending = []
                    if diverged:
                        break
                    if val:
                        self._progress_line(done, log, val, time.perf_counter() - clock - prior)
                    if self._agree(interrupt.requested) and done < end:
                        interrupt.stopped = True
                        break
                if checkpoint and done < end:
                    self._save(done, scheduler, time.perf_counter() - clock)
        bar.close()
        seconds = time.perf_counter() - clock
        if not diverged:
            self._save(done, scheduler, seconds)
        summary = self._summary(scheduler, start, done, seconds,
                                seconds - prior - eval_seconds, last_val, diverged, log)
        return {**summary, "interrupted": interrupt.stopped}

    def _label(self) -> str:
        return self.out.name if self.out else "train"

    def _say(self, line: str) -> None:
        """A line on stderr, unless quiet (rank 0 only)."""
        if self.progress is not None:
            print(line, file=sys.stderr, flush=True)

    def _progress_line(self, done: int, log: _CurveLog, val: dict, seconds: float) -> None:
        if self.progress != "lines":
            return
        cfg = self.config
        rate = (done - log.start) * cfg.batch_size * cfg.model.block_size / max(seconds, 1e-9)
        left = (cfg.steps - done) * cfg.batch_size * cfg.model.block_size / max(rate, 1e-9)
        loss = ", ".join(f"{k} {v:.4f}" for k, v in val.items())
        self._say(f"{self._label()}: step {done}/{cfg.steps}, val loss {loss}, "
                  f"{rate:,.0f} tokens/s, {_duration(left)} to go")

    def _agree(self, flag: bool) -> bool:
        """``flag`` on any rank (one process: ``flag``)."""
        if self.world == 1:
            return flag
        box = torch.tensor([float(flag)], device=self.device)
        dist.all_reduce(box, op=dist.ReduceOp.MAX)
        return bool(box.item())

    def _prepare(self, scheduler: LRScheduler, resume: bool) -> tuple[int, float]:
        """(first step, seconds already spent): the folder checked, stale temporary files
        removed, config.json written; with ``resume``, the checkpoint loaded."""
        if self.out is None:
            if resume:
                raise InputError("nothing to resume: the trainer has no run folder (out)")
            return 0, 0.0
        held = [n for n in (CONFIG, CURVE, CHECKPOINT, RUN_JSON) if (self.out / n).exists()]
        checkpoint = (self.out / CHECKPOINT).is_file()
        if self.world > 1:
            dist.barrier()  # every rank has looked before rank 0 writes
        if self.rank == 0:
            for name in (CONFIG, CURVE, CHECKPOINT, RUN_JSON):  # of a killed write
                remove_stale_temps(self.out / name)
        early = not checkpoint and RUN_JSON not in held  # stopped before a checkpoint
        if resume and checkpoint:
            return self._load(scheduler)
        if resume and not (held and early):
            raise InputError(f"nothing to resume: no {CHECKPOINT} in {self.out}"
                             + (f" (its {RUN_JSON} says how the run ended)" if held else ""))
        if held and not resume:
            started = ("a run stopped before its first checkpoint; add --resume to start "
                       "it again from step 0" if early else "a run; add --resume to "
                       "continue it")
            raise InputError(f"{self.out} already holds {started}, or choose another --out")
        if held:  # resumed before its first checkpoint: the same run, from step 0
            saved = read_config(self.out)
            if saved != self.config:
                raise InputError(f"{self.out / CONFIG} holds another config "
                                 f"({', '.join(_differences(saved, self.config))} differ); "
                                 "resume with the run's own config")
            self._say(f"{self.out}: no checkpoint yet; starting the run again from step 0")
        if self.rank == 0:
            self.out.mkdir(parents=True, exist_ok=True)
            with atomic_path(self.out / CONFIG) as tmp:
                tmp.write_text(json.dumps(self.config.to_dict(), indent=2) + "\n")
        return 0, 0.0

    def _flush(self, log: _CurveLog, pending: list, val: dict, corpus: int, bar) -> bool:
        """Write the pending rows (val losses on the last); False if a loss is not finite."""
        stats = torch.stack([p[2] for p in pending]).float()
        if self.world > 1:
            dist.all_reduce(stats)
            stats /= self.world
        stats = stats.cpu().tolist()
        tokens = self.config.batch_size * self.config.model.block_size
        rows = [[step, lr, s[0], None, s[1], s[2], (step + 1) * tokens, sec]
                for (step, lr, _, sec), s in zip(pending, stats)]
        if val:
            rows[-1][3] = val[self.corpora[corpus].label]
        log.write(rows, val)
        bar.set_postfix(loss=f"{rows[-1][2]:.4f}", lr=f"{rows[-1][1]:.3g}", refresh=False)
        return all(math.isfinite(r[2]) for r in rows) and all(map(math.isfinite, val.values()))

    # -- checkpoints and summary ------------------------------------------------------------
    def _save(self, step: int, scheduler: LRScheduler, seconds: float) -> None:
        """Write RUN/checkpoint.pt atomically (rank 0; every rank's RNG state in it)."""
        rng = {"cpu": torch.get_rng_state(),
               "cuda": torch.cuda.get_rng_state(self.device) if self.device.type == "cuda"
               else None}
        rngs = [rng] * self.world
        if self.world > 1:
            dist.all_gather_object(rngs, rng)
        if self.out is None or self.rank != 0:
            return
        corpus, window = self.data_position(step)
        state = {"step": step, "seconds": seconds, "config": self.config.to_dict(),
                 "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "scheduler": scheduler.state_dict(), "rng": rngs, "world_size": self.world,
                 "data": {"corpus": self.config.corpora[corpus], "window": window}}
        save_state(state, self.out / CHECKPOINT, "checkpoint")

    def _load(self, scheduler: LRScheduler) -> tuple[int, float]:
        """Restore model, optimizer, scheduler and RNG from RUN/checkpoint.pt; a torn,
        foreign or tampered file is an InputError naming it."""
        path = self.out / CHECKPOINT
        state = load_state(path, "checkpoint")
        try:
            saved = Config.from_dict(state["config"])
            step, seconds, rngs = int(state["step"]), float(state["seconds"]), state["rng"]
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{path}: not a checkpoint of this harness ({_reason(exc)})") \
                from None
        if saved != self.config:
            raise InputError(f"{path} was written with another config "
                             f"({', '.join(_differences(saved, self.config))} differ); "
                             "resume with the run's own config")
        if len(rngs) != self.world:
            raise InputError(f"{path} was saved by {len(rngs)} process(es), and this run "
                             f"has {self.world}; resume it with as many (torchrun "
                             f"--nproc_per_node={len(rngs)}), so that each one's random "
                             "state carries on")
        if not 0 <= step <= self.config.steps:
            raise InputError(f"{path}: step {step} is not in 0..{self.config.steps}")
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            rng = rngs[self.rank]
            torch.set_rng_state(rng["cpu"])
            if rng["cuda"] is not None and self.device.type == "cuda":
                torch.cuda.set_rng_state(rng["cuda"], self.device)
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise InputError(f"{path}: its state does not fit this run ({_reason(exc)}); "
                             "it is damaged or was changed") from None
        return step, seconds

    def _summary(self, scheduler, start, done, seconds, train_seconds, val, diverged,
                 log) -> dict:
        cfg = self.config
        tokens_per_step = cfg.batch_size * cfg.model.block_size
        rate = (done - start) * tokens_per_step / train_seconds if train_seconds > 0 else None
        flops_per_token = 6 * (self.model.num_params() - self.model.wpe.weight.numel()) \
            + 12 * cfg.model.n_layer * cfg.model.n_embd * cfg.model.block_size
        schedule = getattr(scheduler, "schedule", None)
        summary = {
            "config": cfg.to_dict(),
            "schedule": schedule.to_spec() if schedule is not None else type(scheduler).__name__,
            # every key, warmup=0 included: Schedule.from_dict rebuilds it exactly
            "schedule_dict": schedule.to_dict() if schedule is not None else None,
            "params": self.model.num_params(),
            "steps_done": done, "finished": done == cfg.steps and not diverged,
            "diverged": diverged, "tokens": done * tokens_per_step,
            "tokens_per_s": rate, "seconds": seconds,
            "final_val_loss": val.get(self.corpora[self.corpus_index(done - 1)].label)
            if val else None,
            "best_val_loss": log.best_val, "val": val,
            "device": _describe(self.device), "world_size": self.world,
            "torch": torch.__version__,
            "model_flops_per_s": rate * flops_per_token if rate else None,
        }
        peak = next((v for k, v in _PEAK_BF16.items() if k in summary["device"]), None)
        if peak and rate and self.amp_dtype == torch.bfloat16:
            summary["mfu"] = summary["model_flops_per_s"] / (peak * self.world)
        if self.out is not None and self.rank == 0:
            with atomic_path(self.out / RUN_JSON) as tmp:
                tmp.write_text(json.dumps(summary, indent=2) + "\n")
        return summary


class _CurveLog:
    """RUN/curve.csv: one row per step; val columns on evaluation rows only. A resumed
    run first keeps the rows before its checkpoint's step: a last row torn by a kill
    mid-write is dropped, and any other damage is an InputError naming the file."""

    def __init__(self, out: Path | None, labels: list[str], start: int, enabled: bool) -> None:
        self.labels = labels if len(labels) > 1 else []
        self.path = out / CURVE if out is not None and enabled else None
        self.start = start
        self.best_val: float | None = None
        if self.path is None:
            return
        header = [*COLUMNS, *(f"val_{label}" for label in self.labels)]
        rows = self._rows_before(start, header) if start else []
        vals = [float(r[3]) for r in rows if r[3]]
        self.best_val = min(vals, default=None)
        with atomic_path(self.path) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)

    def _rows_before(self, start: int, header: list[str]) -> list[list[str]]:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            raise InputError(f"{self.path} is missing, but the checkpoint is at step "
                             f"{start}; the run folder is damaged") from None
        lines = text.split("\n")
        torn = lines.pop()  # "" when the file ends with a newline; else a torn last row
        table = list(csv.reader(lines))
        if not table or table[0] != header:
            raise InputError(f"{self.path}: the header is not {','.join(header)}; the run "
                             "folder holds another run")
        rows = []
        for number, row in enumerate(table[1:], start=2):
            complete = len(row) == len(header) and all(map(is_number, filter(None, row)))
            step = int(float(row[0])) if complete else None
            if step is None:
                raise InputError(f"{self.path}: row {number} is damaged ({','.join(row)[:60]}"
                                 "); the run folder cannot resume")
            if step >= start:
                break
            rows.append(row)
        if [int(r[0]) for r in rows] != list(range(start)):
            raise InputError(f"{self.path} holds {len(rows)} rows before step {start}, where "
                             f"the checkpoint is{' (and a torn last row)' if torn else ''}; "
                             "the curve is incomplete, so the run cannot resume")
        return rows

    def write(self, rows: list[list], val: dict[str, float]) -> None:
        if rows[-1][3] is not None:
            self.best_val = min(rows[-1][3], self.best_val or math.inf)
        if self.path is None:
            return
        extra = [None] * len(self.labels)
        with open(self.path, "a") as f:
            for i, row in enumerate(rows):
                last = i == len(rows) - 1
                values = row + ([val.get(label) for label in self.labels] if last else extra)
                f.write(",".join(_fmt(v) for v in values) + "\n")


class _StopOnInterrupt:
    """While in use, Ctrl-C (SIGINT) asks the loop to stop with a checkpoint
    (``requested``); a second one interrupts at once. Outside the main thread, where no
    signal handler can be set, Ctrl-C interrupts as usual."""

    def __init__(self, say) -> None:
        self.say, self.requested, self.stopped, self._previous = say, False, False, None

    def __enter__(self) -> _StopOnInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        self.say("interrupted: saving a checkpoint after this step (Ctrl-C again to quit "
                 "at once, without one)")

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def read_config(out: str | os.PathLike) -> Config:
    """The config of the run in folder ``out`` (its config.json)."""
    path = Path(out) / CONFIG
    try:
        return Config.from_dict(json.loads(path.read_text()))
    except FileNotFoundError:
        raise InputError(f"nothing to resume: {out} holds no run (no {CONFIG} in it)") from None
    except (json.JSONDecodeError, InputError, TypeError) as exc:
        raise InputError(f"{path}: not a config this harness wrote ({_reason(exc)})") from None


def _differences(a: Config, b: Config) -> list[str]:
    da, db = a.to_dict(), b.to_dict()
    return [k for k in da if da[k] != db[k]]


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:100]}" if text else type(exc).__name__


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def _fmt(value) -> str:
    if value is None:
        return ""
    return str(value) if isinstance(value, int) else f"{value:.7g}"


def _adamw(model: GPT, cfg: Config, device: torch.device) -> torch.optim.AdamW:
    """AdamW with weight decay on the matrices only; fused on CUDA."""
    params = list(model.parameters())
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.peak_lr, betas=(cfg.beta1, cfg.beta2),
                             fused=device.type == "cuda")


def _device(name: str) -> torch.device:
    """The torch device of ``config.device``; one that this machine lacks is an
    InputError saying what there is."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise InputError("device=mps: this machine or torch build has no MPS; use "
                         "device=cpu or auto")
    if device.type != "cuda":
        return device
    if not torch.cuda.is_available():
        why = ("this torch build has no CUDA" if torch.version.cuda is None
               else "no GPU is visible")
        raise InputError(f"device={name}: {why} (torch {torch.__version__}); use device=cpu "
                         "or auto")
    if device.index is None:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    if device.index >= torch.cuda.device_count():
        raise InputError(f"device={name}: there are {torch.cuda.device_count()} GPU(s), "
                         f"cuda:0 to cuda:{torch.cuda.device_count() - 1}")
    torch.cuda.set_device(device)
    torch.backends.cuda.matmul.allow_tf32 = True
    return device


def _distributed(device: torch.device) -> tuple[int, int]:
    """(rank, world size); joins the process group torchrun describes, if any."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)


def _describe(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    threads = torch.get_num_threads()
    return f"{device.type} ({threads} thread{'s' if threads > 1 else ''})"
