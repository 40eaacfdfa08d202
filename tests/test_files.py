"""File helpers: atomic writes."""

import pytest

from lrsched.files import atomic_path


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_path_names_a_missing_folder(tmp_path):
    with pytest.raises(ValueError, match="does not exist; create it first"):
        with atomic_path(tmp_path / "no" / "x.txt"):
            pass
