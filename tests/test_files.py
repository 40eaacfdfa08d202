"""File helpers: outputs checked before the work, atomic writes that honour the umask
and write through symbolic links; inputs read as regular files, numbers as numbers."""

import os
import stat

import pytest

from lrsched.errors import InputError
from lrsched.files import (
    as_number,
    atomic_path,
    check_outputs,
    is_number,
    read_text,
    remove_stale_temps,
)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_path_names_a_missing_folder_or_a_folder(tmp_path):
    with pytest.raises(InputError, match="does not exist; create it first"):
        with atomic_path(tmp_path / "no" / "x.txt"):
            pass
    with pytest.raises(InputError, match="it is a folder; give a file name"):
        with atomic_path(tmp_path):
            pass


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_a_new_file_gets_the_umask_mode_an_old_one_keeps_its_own(tmp_path, umask):
    old = os.umask(umask)
    try:
        with atomic_path(tmp_path / "new.txt") as tmp:
            tmp.write_text("x")
        plain = tmp_path / "plain.txt"
        plain.write_text("x")  # what open() gives
    finally:
        os.umask(old)
    assert mode(tmp_path / "new.txt") == mode(plain) == 0o666 & ~umask
    os.chmod(plain, 0o640)
    with atomic_path(plain) as tmp:
        tmp.write_text("y")
    assert mode(plain) == 0o640 and plain.read_text() == "y"


def test_a_symbolic_link_is_written_through(tmp_path):
    target, link = tmp_path / "target.json", tmp_path / "link.json"
    target.write_text("old")
    link.symlink_to(target)
    with atomic_path(link) as tmp:
        tmp.write_text("new")
    assert link.is_symlink() and target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "target.json"]


def test_stale_temporary_files_are_removed(tmp_path):
    (tmp_path / ".ckpt.pt.1a2b3c4d.tmp").write_text("killed mid-write")
    (tmp_path / ".other.pt.1a2b3c4d.tmp").write_text("not ours")
    assert [p.name for p in remove_stale_temps(tmp_path / "ckpt.pt")] == [".ckpt.pt.1a2b3c4d.tmp"]
    assert [p.name for p in tmp_path.iterdir()] == [".other.pt.1a2b3c4d.tmp"]


def test_check_outputs_refuses_before_any_work(tmp_path):
    data = tmp_path / "a.csv"
    data.write_text("x")
    (tmp_path / "link.csv").symlink_to(data)
    check_outputs(inputs=[data], files=[tmp_path / "out.json", None],
                  figures=[tmp_path / "p.svg", tmp_path / "noext"], folders=[tmp_path / "run"])
    for kwargs, message in [
        ({"files": [data]}, "is also an input"),
        ({"files": [tmp_path / "link.csv"]}, "is also an input"),  # the same file
        ({"files": [tmp_path / "." / "a.csv"]}, "is also an input"),  # another spelling
        ({"files": [tmp_path]}, "it is a folder"),
        ({"files": [tmp_path / "no" / "x"]}, "folder " + str(tmp_path / "no")),
        ({"figures": [tmp_path / "p.txt"]}, ".txt is not a picture format"),
        ({"files": [tmp_path / "o"], "figures": [tmp_path / "o"]}, "named for two outputs"),
        ({"folders": [data]}, "it is a file, not a folder"),
    ]:
        with pytest.raises(InputError, match=message):
            check_outputs(inputs=[data], **kwargs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "link.csv"]


def test_a_named_pipe_is_refused_before_it_is_read(tmp_path):
    """Issue 20, item 10: reading a pipe no one writes blocks for ever."""
    fifo = tmp_path / "fit.json"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="fit.json: not a regular file .*save what it holds"):
        read_text(fifo)
    (tmp_path / "a.txt").write_text("text")
    assert read_text(tmp_path / "a.txt") == "text"


def test_digits_grouped_with_underscores_are_no_number():
    """Issue 20, item 6: Python's float() reads '2_5' as 25."""
    assert [as_number(t) for t in ("2_5", "1_0e-4", "2.5", "1e-4", "nan")][:4] == \
        [None, None, 2.5, 1e-4]
    assert not is_number("2_975") and is_number("2975")
