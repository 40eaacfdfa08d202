"""Run configuration: ``Config``, the presets, ``--set key=value`` overrides, and the
schedule a config's spec string resolves to."""

from __future__ import annotations

import dataclasses
import difflib
import typing
from dataclasses import dataclass

from lrsched.schedules import Join, Schedule, Tabulated, from_spec, spec_fields


@dataclass(frozen=True)
class Config:
    """Everything that defines a run; every field can be set with ``--set key=value``.

    ``batch_size`` counts sequences per optimizer step over all processes and
    micro-steps; ``micro_batch`` (0: no accumulation) is one process's forward batch.
    ``warmup`` is a whole number of steps, or a fraction of ``steps`` when below 1; it
    applies where ``schedule`` leaves its warmup out (see ``resolve_schedule``). ``data``
    names one corpus, or several separated by commas with ``switch_at`` the steps where
    each next one starts. ``eval_every=0`` evaluates 20 times per run.
    """

    preset: str = "custom"
    # model
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 128
    dropout: float = 0.0
    # data
    data: str = "shakespeare"
    switch_at: tuple[int, ...] = ()
    val_fraction: float = 0.1
    # optimisation
    steps: int = 400
    batch_size: int = 16
    micro_batch: int = 0
    peak_lr: float = 4e-3
    schedule: str = "cosine:final=0.1"
    warmup: float = 0.05
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
        positive = ("n_layer", "n_head", "n_embd", "block_size", "steps", "batch_size",
                    "eval_windows")
        for key in positive:
            if getattr(self, key) < 1:
                raise ValueError(f"{key}={getattr(self, key)} must be at least 1")
        if self.peak_lr <= 0 or self.warmup < 0 or self.micro_batch < 0:
            raise ValueError("peak_lr must be > 0, warmup and micro_batch >= 0")
        if self.warmup >= 1 and self.warmup != int(self.warmup):
            raise ValueError(f"warmup={self.warmup} is neither a whole number of steps nor a "
                             "fraction of the run below 1; give e.g. warmup=20 or warmup=0.05")
        if self.warmup_steps >= self.steps:
            raise ValueError(f"warmup={self.warmup} is {self.warmup_steps} steps, not shorter "
                             f"than the run (steps={self.steps}); shorten the warmup")
        if len(self.switch_at) != len(self.corpora) - 1 or list(self.switch_at) != sorted(
                set(self.switch_at)) or any(s < 1 for s in self.switch_at):
            raise ValueError(f"data={self.data!r} needs {len(self.corpora) - 1} increasing "
                             f"switch_at step(s) >= 1, got {list(self.switch_at)}")
        if self.dtype not in ("auto", "float32", "bfloat16"):
            raise ValueError(f"dtype={self.dtype!r}: use auto, float32 or bfloat16")
        self.resolved_schedule()  # a spec that does not fit the run fails here, at once

    @property
    def corpora(self) -> list[str]:
        return [name.strip() for name in self.data.split(",")]

    @property
    def warmup_steps(self) -> int:
        """``warmup`` in steps: a fraction ``0 < x < 1`` is ``round(x * steps)``, as a
        schedule's own step counts (checked whole in ``__post_init__`` otherwise)."""
        return round(self.warmup * self.steps) if self.warmup < 1 else int(self.warmup)

    @property
    def eval_interval(self) -> int:
        return self.eval_every or max(1, self.steps // 20)

    def resolved_schedule(self) -> Schedule:
        return resolve_schedule(self.schedule, self.steps, self.warmup_steps)

    def replace(self, **changes) -> Config:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> Config:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


_MODEL = ("n_layer", "n_head", "n_embd", "block_size")
PRESETS: dict[str, dict] = {
    # For tests: a few seconds on a CPU.
    "micro": dict(zip(_MODEL, (2, 2, 32, 32)), steps=20, batch_size=4, eval_windows=8),
    # CPU: ~0.84M parameters, 400 steps of 16 x 128 tokens.
    "tiny": dict(zip(_MODEL, (4, 4, 128, 128)), steps=400, batch_size=16, peak_lr=4e-3,
                 eval_windows=128),
    # One GPU: ~25M parameters, 3000 steps of 64 x 256 tokens.
    "small": dict(zip(_MODEL, (8, 8, 512, 256)), steps=3000, batch_size=64, peak_lr=1e-3,
                  dropout=0.1, eval_windows=512, checkpoint_every=500),
}


def preset(name: str, **overrides) -> Config:
    """The config of preset ``name`` (micro, tiny, small) with ``overrides`` applied."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    return Config(preset=name, **{**PRESETS[name], **overrides})


def parse_overrides(items: list[str]) -> dict:
    """``["key=value", ...]`` as typed config fields (lists: comma-separated)."""
    hints = typing.get_type_hints(Config)
    out = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in hints:
            hint = difflib.get_close_matches(key, list(hints), 1)
            raise ValueError(f"--set {item!r}: expected key=value with a key of "
                             + (f"the config (did you mean {hint[0]!r}?)" if hint else
                                f"the config: {', '.join(hints)}"))
        out[key] = _parse(key, text.strip(), hints[key])
    return out


def _parse(key: str, text: str, hint):
    try:
        if hint is bool:
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            return text.lower() in ("true", "1")
        if typing.get_origin(hint) is tuple:
            return tuple(int(v) for v in text.split(",") if v.strip())
        return hint(text)
    except ValueError:
        raise ValueError(f"--set {key}={text!r}: expected {getattr(hint, '__name__', hint)}"
                         ) from None


def resolve_schedule(spec: str, steps: int, warmup: int) -> Schedule:
    """The schedule a run of ``steps`` steps trains with, from ``spec``.

    ``total_steps=steps`` is filled in where the family has that key and the spec leaves
    it out (``"cosine:final=0.1"`` is a cosine over the whole run), and so is the
    ``warmup`` (in steps), except for tabulated and join schedules: they place their body
    at given steps, so a warmup in front would shift and lengthen it; they are taken as
    given. A spec that names ``warmup`` (``warmup=0`` too) keeps its own. A schedule whose
    length is not ``steps`` is an error: it would be cut short, or end before the run.
    """
    parsed = from_spec(spec, total_steps=steps)  # parsed first, to learn its family
    schedule = parsed if isinstance(parsed, (Tabulated, Join)) else from_spec(
        spec, total_steps=steps, warmup=warmup)
    if schedule.total_steps is not None and schedule.total_steps != steps:
        fills = "total_steps" in spec_fields(type(schedule))
        raise ValueError(f"schedule {spec!r} is {schedule.total_steps} steps long but the "
                         f"run has steps={steps}; make them agree"
                         + (" (leave total_steps out of the spec to have it filled in)"
                            if fills else ""))
    return schedule
