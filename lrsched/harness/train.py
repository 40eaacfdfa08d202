"""Training runs: ``Trainer`` (one process, or DDP under torchrun), RUN/curve.csv,
RUN/run.json, and checkpoints that resume bit for bit."""

from __future__ import annotations

import bisect
import contextlib
import csv
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor
from torch.nn.parallel import DistributedDataParallel
from torch.nn.utils import clip_grad_norm_, get_total_norm
from torch.optim.lr_scheduler import LRScheduler

from lrsched.files import atomic_path
from lrsched.harness.data import Batches, load_corpus, val_windows
from lrsched.harness.model import GPT, GPTConfig
from lrsched.harness.presets import Config

COLUMNS = ("step", "lr", "train_loss", "val_loss", "grad_norm_l2", "grad_norm_l1", "tokens",
           "seconds")
CHECKPOINT, CURVE, RUN_JSON = "checkpoint.pt", "curve.csv", "run.json"
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
        out: the run folder (curve.csv, run.json, checkpoint.pt); None writes nothing.
        progress: show a tqdm bar (default: when stderr is a terminal, on rank 0).
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
            raise ValueError(f"batch_size={cfg.batch_size} must split evenly into "
                             f"{self.world} process(es) x micro_batch={self.micro}")
        self.accum = per_rank // self.micro
        bf16 = cfg.dtype == "bfloat16" or (cfg.dtype == "auto" and self.device.type == "cuda")
        self.amp_dtype = torch.bfloat16 if bf16 else None
        self.show_progress = (sys.stderr.isatty() if progress is None else progress) \
            and self.rank == 0

        self.corpora = [load_corpus(name, cfg.val_fraction) for name in cfg.corpora]
        self.batches = [Batches(c.train, cfg.block_size, cfg.seed) for c in self.corpora]
        self.val = [val_windows(c.val, cfg.block_size, cfg.eval_windows) for c in self.corpora]

        torch.manual_seed(cfg.seed)  # the same initial weights on every rank
        self.model = GPT(GPTConfig(cfg.n_layer, cfg.n_head, cfg.n_embd, cfg.block_size,
                                   dropout=cfg.dropout)).to(self.device)
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
        """The global batch of ``step``: (batch_size, block_size + 1) byte tokens."""
        i, position = self.data_position(step)
        return self.batches[i].windows(position, self.config.batch_size)

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
        in ``out``. ``scheduler`` defaults to ``ScheduleLR`` with the config's schedule;
        a caller's scheduler must wrap ``self.optimizer``. Returns run.json's content."""
        try:
            from tqdm.auto import tqdm
        except ModuleNotFoundError:
            raise ModuleNotFoundError("the harness needs tqdm (its progress bar); install "
                                      "it with: pip install 'lrsched[harness]'",
                                      name="tqdm") from None

        cfg = self.config
        if scheduler is None:
            from lrsched.scheduler import ScheduleLR

            scheduler = ScheduleLR(self.optimizer, cfg.resolved_schedule())
        start, prior = self._load(scheduler) if resume else (0, 0.0)
        end = cfg.steps if stop_at is None else min(stop_at, cfg.steps)
        if end <= start:
            raise ValueError(f"nothing to train: the run is at step {start} and would stop "
                             f"at {end} (steps={cfg.steps})")
        log = _CurveLog(self.out, [c.label for c in self.corpora], start, self.rank == 0)
        clock = time.perf_counter() - prior
        eval_seconds, pending, last_val, done, diverged = 0.0, [], {}, start, False
        bar = tqdm(total=cfg.steps, initial=start, disable=not self.show_progress,
                   desc=self.out.name if self.out else "train", dynamic_ncols=True)
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
            if evaluate or checkpoint or done == end or len(pending) >= _FLUSH_EVERY:
                val = {}
                if evaluate:
                    tick = time.perf_counter()
                    val = last_val = self.evaluate()
                    eval_seconds += time.perf_counter() - tick
                diverged = not self._flush(log, pending, val, self.data_position(step)[0], bar)
                pending = []
                if diverged:
                    break
            if checkpoint and done < end:
                self._save(done, scheduler, time.perf_counter() - clock)
        bar.close()
        seconds = time.perf_counter() - clock
        if not diverged:
            self._save(done, scheduler, seconds)
        return self._summary(scheduler, start, done, seconds, seconds - prior - eval_seconds,
                             last_val, diverged, log)

    def _flush(self, log: _CurveLog, pending: list, val: dict, corpus: int, bar) -> bool:
        """Write the pending rows (val losses on the last); False if a loss is not finite."""
        stats = torch.stack([p[2] for p in pending]).float()
        if self.world > 1:
            dist.all_reduce(stats)
            stats /= self.world
        stats = stats.cpu().tolist()
        tokens = self.config.batch_size * self.config.block_size
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
                 "scheduler": scheduler.state_dict(), "rng": rngs,
                 "data": {"corpus": self.config.corpora[corpus], "window": window}}
        with atomic_path(self.out / CHECKPOINT) as tmp:
            torch.save(state, tmp)

    def _load(self, scheduler: LRScheduler) -> tuple[int, float]:
        """Restore model, optimizer, scheduler and RNG from RUN/checkpoint.pt."""
        path = None if self.out is None else self.out / CHECKPOINT
        if path is None or not path.is_file():
            raise ValueError(f"nothing to resume: no {CHECKPOINT} in {self.out}")
        state = torch.load(path, map_location="cpu", weights_only=True)
        saved = Config.from_dict(state["config"])
        if saved != self.config:
            diff = [k for k, v in self.config.to_dict().items() if saved.to_dict()[k] != v]
            raise ValueError(f"{path} was written with another config ({', '.join(diff)} "
                             "differ); resume with the run's own config")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        rng = state["rng"][self.rank % len(state["rng"])]
        torch.set_rng_state(rng["cpu"])
        if rng["cuda"] is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state(rng["cuda"], self.device)
        return state["step"], state["seconds"]

    def _summary(self, scheduler, start, done, seconds, train_seconds, val, diverged,
                 log) -> dict:
        cfg = self.config
        tokens_per_step = cfg.batch_size * cfg.block_size
        rate = (done - start) * tokens_per_step / train_seconds if train_seconds > 0 else None
        flops_per_token = 6 * (self.model.num_params() - self.model.wpe.weight.numel()) \
            + 12 * cfg.n_layer * cfg.n_embd * cfg.block_size
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
            (self.out / RUN_JSON).write_text(json.dumps(summary, indent=2) + "\n")
        return summary


class _CurveLog:
    """RUN/curve.csv: one row per step; val columns on evaluation rows only. A resumed
    run first drops the rows at or after its checkpoint's step."""

    def __init__(self, out: Path | None, labels: list[str], start: int, enabled: bool) -> None:
        self.labels = labels if len(labels) > 1 else []
        self.path = out / CURVE if out is not None and enabled else None
        self.best_val: float | None = None
        if self.path is None:
            return
        header = [*COLUMNS, *(f"val_{label}" for label in self.labels)]
        if start == 0:
            if self.path.exists():
                raise ValueError(f"{out} already holds a run; add --resume to continue it "
                                 "or choose another --out")
            out.mkdir(parents=True, exist_ok=True)
            self.path.write_text(",".join(header) + "\n")
            return
        with open(self.path, newline="") as f:
            rows = [r for r in csv.DictReader(f) if int(r["step"]) < start]
        vals = [float(r["val_loss"]) for r in rows if r["val_loss"]]
        self.best_val = min(vals, default=None)
        with atomic_path(self.path) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, header, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)

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
    device = torch.device("cuda" if name == "auto" and torch.cuda.is_available() else
                          "cpu" if name == "auto" else name)
    if device.type != "cuda":
        return device
    if device.index is None:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
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
