"""File helpers shared by the readers and writers: output paths checked before the work,
atomic writes, text and JSON read with one-line errors, header sniffing.

Every command checks its output paths with ``check_outputs`` before it reads or computes
anything, and writes each output with ``atomic_path``: a run that fails leaves the old
file (or none), never half of a new one, and never an input overwritten.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from lrsched.errors import InputError

PathLike = str | os.PathLike


def check_outputs(*, inputs: Iterable[PathLike | None] = (),
                  files: Iterable[PathLike | None] = (),
                  figures: Iterable[PathLike | None] = (),
                  folders: Iterable[PathLike | None] = ()) -> None:
    """Refuse, before any work, outputs that cannot be written or would destroy an input.

    ``files`` and ``figures`` are output files: each needs an existing folder, must not
    be a folder itself, nor the same file as one of ``inputs`` (compared as files, so a
    link or another spelling of the path counts), nor another output. A figure's
    extension must be one matplotlib writes (none means .png). ``folders`` are output
    folders (created when missing): each must not be an existing file or an input.
    ``None`` entries (options not given) are skipped. Raises ``InputError`` naming the
    path and the fix.
    """
    inputs = [Path(p) for p in inputs if p is not None]
    seen: list[Path] = []
    for kind, paths in (("file", files), ("figure", figures), ("folder", folders)):
        for path in (Path(p) for p in paths if p is not None):
            if kind == "folder":
                if path.exists() and not path.is_dir():
                    raise InputError(f"cannot write to {path}: it is a file, not a folder; "
                                     "give a folder (new or holding a run)")
            else:
                _check_output_file(path)
            if kind == "figure":
                _check_figure_format(path)
            clash = next((p for p in inputs if _same(path, p)), None)
            if clash is not None:
                raise InputError(f"{path} is also an input ({clash}); writing it would "
                                 "destroy that input: give the output another name")
            if any(_same(path, p) for p in seen):
                raise InputError(f"{path} is named for two outputs; give each its own file")
            seen.append(path)


def _check_output_file(path: Path) -> None:
    if path.is_dir():
        raise InputError(f"cannot write {path}: it is a folder; give a file name, "
                         f"e.g. {path / 'out'}")
    folder = _target(path).parent
    if not folder.is_dir():
        raise InputError(f"cannot write {path}: folder {folder} does not exist; "
                         "create it first")


def _check_figure_format(path: Path) -> None:
    from matplotlib.backend_bases import FigureCanvasBase

    formats = FigureCanvasBase.get_supported_filetypes()
    suffix = path.suffix.lstrip(".").lower()
    if suffix and suffix not in formats:
        raise InputError(f"cannot draw {path}: .{suffix} is not a picture format; use one "
                         f"of .{', .'.join(sorted(formats))} (.png if unsure)")


def _same(a: Path, b: Path) -> bool:
    """Whether paths ``a`` and ``b`` name the same file (or would, once ``a`` exists)."""
    with contextlib.suppress(OSError):
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    return os.path.realpath(a) == os.path.realpath(b)


def _target(path: Path) -> Path:
    """``path``, or the file a symbolic link there points to (written through)."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary Path beside ``path``; on success it replaces ``path`` at once,
    so a failed write never leaves a half-written file.

    The new file gets the mode a plain ``open(path, "w")`` would give it: the old file's
    if there is one, else 0o666 less the umask. A symbolic link is written through: the
    file it points to is replaced and the link stays a link.
    """
    path = _target(Path(path))
    _check_output_file(path)
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else None
    tmp = _new_temp(path)
    try:
        yield tmp
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)


def _new_temp(path: Path) -> Path:
    """A new empty file ``.NAME.RANDOM.tmp`` beside ``path``, created with mode 0o666 so
    that the kernel applies the umask (``tempfile.mkstemp`` would give 0o600)."""
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue


def remove_stale_temps(path: PathLike) -> list[Path]:
    """Delete the temporary files ``atomic_path(path)`` left behind when a process was
    killed mid-write (``.NAME.*.tmp`` beside ``path``); returns the paths removed. Call it
    only where no other process writes ``path``."""
    path = Path(path)
    stale = sorted(path.parent.glob(f".{path.name}.*.tmp"))
    for tmp in stale:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return stale


def check_regular(path: PathLike) -> None:
    """Refuse a path that is neither a regular file nor a folder (a named pipe, a device,
    a socket): reading it could block forever."""
    with contextlib.suppress(OSError):  # a missing file: the reader says so
        mode = os.stat(path).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise InputError(f"{path}: not a regular file (a named pipe, a device or a "
                             "socket); save what it holds to a file and give that")


def read_text(path: PathLike) -> str:
    """The file as text: UTF-8, a byte-order mark dropped (as spreadsheets write it); a
    path that is no regular file is refused (``check_regular``)."""
    check_regular(path)
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at "
                         f"offset {exc.start}); save the file as UTF-8 (or plain ASCII)") from None


def parse_json(text: str, path: PathLike, what: str, hint: str):
    """``text`` parsed as JSON; a malformed or absurdly nested document is a one-line
    InputError naming ``path``, what it should be (``what``) and the fix (``hint``)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno}); "
                         f"{hint}") from None
    except RecursionError:
        raise InputError(f"{path}: JSON nested too deeply to be {what}; {hint}") from None


def as_number(text: str) -> float | None:
    """``text`` as a float, or None where it is no number. Python's digit grouping
    (``2_975``) is no number here: in a data file it is a typo or a thousands separator."""
    if "_" in text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def is_number(text: str) -> bool:
    """Whether ``text`` is a number (``as_number``: to tell a header row from a data row)."""
    return as_number(text) is not None


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
