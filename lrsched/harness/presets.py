"""Run configuration: ``Config`` (the model's ``GPTConfig`` and the run's own settings),
the presets, and ``--set key=value`` overrides."""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing
from dataclasses import dataclass, field

from lrsched.errors import InputError
from lrsched.harness.model import GPTConfig
from lrsched.lr_arrays import MAX_STEPS
from lrsched.schedules import Schedule, from_spec

_DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


def default_schedule(steps: int) -> str:
    """The schedule of a run that names none: a 5% warmup, then cosine to 10%."""
    return f"cosine:total_steps={steps},warmup={round(0.05 * steps)},final=0.1"


@dataclass(frozen=True)
class Config:
    """Everything that defines a run; ``--set key=value`` sets any field, and
    ``--set model.KEY=value`` one of the model's.

    ``schedule`` is the spec of the LR multiplier as it is trained, warmup included;
    a schedule with an end must end with the run (``total_steps=steps``). None is
    ``default_schedule(steps)``; it is kept as ``Schedule.to_spec()`` writes it.
    ``batch_size`` counts sequences per optimizer step over all processes and
    micro-steps; ``micro_batch`` (0: no accumulation) is one process's forward batch.
    ``data`` names one corpus, or several separated by commas with ``switch_at`` the
    steps where each next one starts. ``eval_every=0`` evaluates 20 times per run,
    ``checkpoint_every=0`` only at the end (and at ``--stop-at`` or Ctrl-C);
    ``grad_clip=0`` does not clip.
    """

    preset: str = "custom"
    model: GPTConfig = field(default_factory=GPTConfig)
    # data
    data: str = "shakespeare"
    switch_at: tuple[int, ...] = ()
    val_fraction: float = 0.1
    # optimisation
    steps: int = 400
    batch_size: int = 16
    micro_batch: int = 0
    peak_lr: float = 4e-3
    schedule: str | None = None
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0
    # evaluation and bookkeeping
    eval_every: int = 0
    eval_windows: int = 64
    checkpoint_every: int = 0
    seed: int = 0
    device: str = "auto"
    dtype: str = "auto"
    compile: bool = False

    def __post_init__(self):
        if not isinstance(self.model, GPTConfig):
            raise InputError(f"model={self.model!r} is not a GPTConfig")
        if self.model.vocab_size != 256:
            raise InputError(f"model.vocab_size={self.model.vocab_size}: the harness "
                             "trains on bytes, 256 tokens; leave it at 256")
        for key, low in (("steps", 1), ("batch_size", 1), ("eval_windows", 1),
                         ("micro_batch", 0), ("eval_every", 0), ("checkpoint_every", 0),
                         ("seed", 0)):
            _check_whole(key, getattr(self, key), low)
        if self.steps > MAX_STEPS:
            raise InputError(f"steps={self.steps} is more than a run's curve holds "
                             f"({MAX_STEPS:,} steps)")
        for key, low, high, what in (
                ("peak_lr", 0.0, math.inf, "> 0"), ("weight_decay", 0.0, math.inf, ">= 0"),
                ("beta1", 0.0, 1.0, "in [0, 1)"), ("beta2", 0.0, 1.0, "in [0, 1)"),
                ("val_fraction", 0.0, 1.0, "in (0, 1)")):
            value = getattr(self, key)
            ok = isinstance(value, (int, float)) and math.isfinite(value) and low <= value < high
            if not ok or (what in ("> 0", "in (0, 1)") and value == 0):
                raise InputError(f"{key}={value!r} is invalid; give a finite number {what}")
        if not (isinstance(self.grad_clip, (int, float)) and self.grad_clip >= 0):
            raise InputError(f"grad_clip={self.grad_clip!r} is invalid; give the largest "
                             "gradient norm, > 0 (or 0 for no clipping)")
        corpora = self.corpora
        if not all(corpora):
            raise InputError(f"data={self.data!r} names an empty corpus; give names or "
                             "paths separated by commas")
        if len(self.switch_at) != len(corpora) - 1 or list(self.switch_at) != sorted(
                set(self.switch_at)) or any(not 1 <= s < self.steps for s in self.switch_at):
            raise InputError(f"data={self.data!r} needs {len(corpora) - 1} increasing "
                             f"switch_at step(s) in 1..{self.steps - 1}, got "
                             f"{list(self.switch_at)}")
        if not (isinstance(self.device, str) and _DEVICE.fullmatch(self.device)):
            raise InputError(f"device={self.device!r} is invalid; use auto, cpu, cuda, "
                             "cuda:N or mps")
        if self.dtype not in ("auto", "float32", "bfloat16"):
            raise InputError(f"dtype={self.dtype!r} is invalid; use auto, float32 or bfloat16")
        if not isinstance(self.compile, bool):
            raise InputError(f"compile={self.compile!r} is invalid; give true or false")
        spec = default_schedule(self.steps) if self.schedule is None else self.schedule
        schedule = from_spec(spec)
        if schedule.total_steps is not None and schedule.total_steps != self.steps:
            raise InputError(f"schedule {spec!r} is {schedule.total_steps} steps long but "
                             f"the run has steps={self.steps}; make them agree")
        object.__setattr__(self, "schedule", schedule.to_spec())

    @property
    def corpora(self) -> list[str]:
        return [name.strip() for name in self.data.split(",")]

    @property
    def eval_interval(self) -> int:
        return self.eval_every or max(1, self.steps // 20)

    def build_schedule(self) -> Schedule:
        """The run's schedule of LR multipliers."""
        return from_spec(self.schedule)

    def replace(self, **changes) -> Config:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """The config as JSON-able values (the model as a dict)."""
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> Config:
        """The config ``to_dict`` gave; unknown or missing keys are an InputError."""
        if not isinstance(d, dict) or not isinstance(d.get("model"), dict):
            raise InputError("not a harness config: expected an object with a 'model' object")
        unknown = sorted(set(d) - set(_FIELDS)) + sorted(
            f"model.{k}" for k in set(d["model"]) - set(_MODEL_FIELDS))
        if unknown:
            raise InputError(f"unknown config key(s) {', '.join(unknown)}; this lrsched "
                             "knows: " + ", ".join(_FIELDS))
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        return cls(**{**values, "model": GPTConfig(**d["model"])})


def _check_whole(key: str, value, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InputError(f"{key}={value!r} is invalid; give a whole number >= {low}")


_FIELDS = {f.name: f for f in dataclasses.fields(Config)}
_MODEL_FIELDS = {f.name: f for f in dataclasses.fields(GPTConfig)}

PRESETS: dict[str, dict] = {
    # For tests: a few seconds on a CPU.
    "micro": dict(model=GPTConfig(2, 2, 32, 32), steps=20, batch_size=4, eval_windows=8),
    # CPU: ~0.84M parameters, 400 steps of 16 x 128 tokens.
    "tiny": dict(model=GPTConfig(4, 4, 128, 128), steps=400, batch_size=16, peak_lr=4e-3,
                 eval_windows=128),
    # One GPU: ~25M parameters, 3000 steps of 64 x 256 tokens.
    "small": dict(model=GPTConfig(8, 8, 512, 256, dropout=0.1), steps=3000, batch_size=64,
                  peak_lr=1e-3, eval_windows=512, checkpoint_every=500),
}


def preset(name: str, **overrides) -> Config:
    """The config of preset ``name`` (micro, tiny, small) with ``overrides`` applied.

    ``model`` may be a dict of GPTConfig fields to change. A schedule with an end
    gives the run's ``steps`` when they are not given."""
    if name not in PRESETS:
        raise InputError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    values = {**PRESETS[name], **overrides}
    if isinstance(overrides.get("model"), dict):
        values["model"] = dataclasses.replace(PRESETS[name]["model"], **overrides["model"])
    if overrides.get("schedule") is not None and "steps" not in overrides:
        values["steps"] = from_spec(overrides["schedule"]).total_steps or values["steps"]
    return Config(preset=name, **values)


def parse_overrides(items: list[str]) -> dict:
    """``["key=value", "model.key=value", ...]`` as typed config fields (tuples:
    comma-separated); the model's fields gathered in ``"model"``."""
    hints = typing.get_type_hints(Config)
    model_hints = typing.get_type_hints(GPTConfig)
    known = [k for k in hints if k != "model"] + [f"model.{k}" for k in model_hints]
    out: dict = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in known:
            hint = difflib.get_close_matches(key, known, 1)
            raise InputError(f"--set {item!r}: expected key=value with a key of "
                             + (f"the config (did you mean {hint[0]!r}?)" if hint else
                                f"the config: {', '.join(known)}"))
        if key.startswith("model."):
            name = key.partition(".")[2]
            out.setdefault("model", {})[name] = _parse(key, text.strip(), model_hints[name])
        else:
            out[key] = _parse(key, text.strip(), hints[key])
    return out


def _parse(key: str, text: str, hint):
    if typing.get_origin(hint) in (typing.Union, types.UnionType):  # X | None: an X
        hint = next(t for t in typing.get_args(hint) if t is not type(None))
    kind = hint
    try:
        if kind is bool:
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            return text.lower() in ("true", "1")
        if typing.get_origin(kind) is tuple:
            return tuple(int(v) for v in text.split(",") if v.strip())
        return kind(text)
    except ValueError:
        name = "whole numbers" if typing.get_origin(kind) is tuple else getattr(
            kind, "__name__", kind)
        raise InputError(f"--set {key}={text!r}: expected {name}") from None
