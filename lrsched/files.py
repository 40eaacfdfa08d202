"""Small file helpers shared by the readers and writers: atomic writes, header sniffing."""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary Path beside ``path``; on success it replaces ``path`` at once,
    so a failed write never leaves a half-written file."""
    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"cannot write {path}: folder {path.parent} does not exist; "
                         "create it first")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def is_number(text: str) -> bool:
    """Whether ``text`` parses as a float (to tell a header row from a data row)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def json_ready(obj):
    """``obj`` with every non-finite float as None, dicts and lists walked (JSON has no
    NaN or inf; readers take null back as NaN)."""
    if isinstance(obj, dict):
        return {k: json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
