"""Datasets: the notebook's artificial data, iris, users' CSV files (and every way they can be wrong), splitting."""

from __future__ import annotations

import csv
import io
import math
import os
import re
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tinygrad_softmax import cli, datasets
from tinygrad_softmax.datasets import (
    Dataset,
    load_csv,
    load_iris,
    make_seed_data,
    standardize,
    train_test_split,
)
from tinygrad_softmax.nn import SoftmaxClassifier, fit

IRIS_FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
IRIS_CLASSES = ["setosa", "versicolor", "virginica"]


def write(tmp_path: Path, text: str | bytes, name: str = "data.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_bytes(text.encode("utf-8"))
    return path


# ------------------------------------------------------------------ make_seed_data


def test_seed_data_defaults_are_the_notebooks_shapes():
    X, y = make_seed_data(seed=0)
    assert X.shape == (5, 4) and y.shape == (5,)
    assert X.dtype == np.float64
    assert np.issubdtype(y.dtype, np.integer)


@pytest.mark.parametrize("n, f, k", [(1, 1, 2), (7, 3, 5), (200, 6, 3)])
def test_seed_data_shapes_and_ranges(n, f, k):
    X, y = make_seed_data(num_samples=n, num_features=f, num_labels=k, seed=3)
    assert X.shape == (n, f) and y.shape == (n,)
    assert X.dtype == np.float64
    assert np.all(X == np.round(X)), "features are integers"
    assert X.min() >= 3 and X.max() <= 9
    assert y.min() >= 0 and y.max() < k


def test_seed_data_covers_the_whole_range_3_to_9():
    X, y = make_seed_data(num_samples=500, num_features=4, num_labels=3, seed=1)
    assert set(np.unique(X)) == {3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0}
    assert set(np.unique(y)) == {0, 1, 2}


def test_seed_data_is_reproducible_with_seed():
    X1, y1 = make_seed_data(num_samples=20, seed=42)
    X2, y2 = make_seed_data(num_samples=20, seed=42)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    X3, y3 = make_seed_data(num_samples=20, seed=43)
    assert not (np.array_equal(X1, X3) and np.array_equal(y1, y3))


# ------------------------------------------------------------------------ iris


def test_iris_shape_classes_and_names():
    data = load_iris()
    assert isinstance(data, Dataset)
    assert data.X.shape == (150, 4) and data.X.dtype == np.float64
    assert data.y.shape == (150,) and data.y.dtype == np.int64
    assert data.feature_names == IRIS_FEATURES
    assert data.class_names == IRIS_CLASSES
    np.testing.assert_array_equal(np.bincount(data.y), [50, 50, 50])


def test_iris_known_values():
    data = load_iris()
    np.testing.assert_array_equal(data.X[0], [5.1, 3.5, 1.4, 0.2])
    assert data.class_names[data.y[0]] == "setosa"
    np.testing.assert_array_equal(data.X[-1], [5.9, 3.0, 5.1, 1.8])
    assert data.class_names[data.y[-1]] == "virginica"
    # Fisher's data as in R's `iris` (UCI's copy had two typos in samples 35 and 38)
    np.testing.assert_allclose(data.X.mean(axis=0), [5.843333333, 3.057333333, 3.758, 1.199333333], atol=1e-8)
    np.testing.assert_array_equal(data.X[34], [4.9, 3.1, 1.5, 0.2])
    np.testing.assert_array_equal(data.X[37], [4.9, 3.6, 1.4, 0.1])
    # rows are grouped by species, 50 each, in the file's order
    np.testing.assert_array_equal(data.y, np.repeat([0, 1, 2], 50))


# ------------------------------------------------------------------ load_csv: happy paths


def test_csv_string_labels_map_to_sorted_ids(tmp_path):
    path = write(tmp_path, "x1,x2,label\n1,2,cat\n3,4,ant\n5,6,bee\n7,8,cat\n")
    data = load_csv(path, target="label")
    assert data.class_names == ["ant", "bee", "cat"]
    np.testing.assert_array_equal(data.y, [2, 0, 1, 2])
    assert data.y.dtype == np.int64
    np.testing.assert_array_equal(data.X, [[1, 2], [3, 4], [5, 6], [7, 8]])
    assert data.X.dtype == np.float64
    assert data.feature_names == ["x1", "x2"]


def test_csv_numeric_labels_sort_numerically(tmp_path):
    path = write(tmp_path, "a,y\n1,10\n2,2\n3,10\n4,2\n5,-1\n")
    data = load_csv(path, target="y")
    assert data.class_names == ["-1", "2", "10"]
    np.testing.assert_array_equal(data.y, [2, 1, 2, 1, 0])


def test_csv_labels_are_stripped_and_whitespace_around_numbers_is_fine(tmp_path):
    path = write(tmp_path, " a , b ,y\n 1.5 ,2, yes\n3, -4e1 ,no \n")
    data = load_csv(path, target="y")
    assert data.feature_names == ["a", "b"]
    assert data.class_names == ["no", "yes"]
    np.testing.assert_array_equal(data.X, [[1.5, 2.0], [3.0, -40.0]])
    np.testing.assert_array_equal(data.y, [1, 0])


@pytest.mark.parametrize("target", ["y", 0, -3])
def test_csv_target_by_name_and_by_index(tmp_path, target):
    path = write(tmp_path, "y,a,b\nu,1,2\nv,3,4\n")
    data = load_csv(path, target=target)
    assert data.feature_names == ["a", "b"]
    assert data.class_names == ["u", "v"]
    np.testing.assert_array_equal(data.X, [[1, 2], [3, 4]])
    np.testing.assert_array_equal(data.y, [0, 1])


def test_csv_target_in_the_middle_and_negative_index(tmp_path):
    path = write(tmp_path, "a,y,b\n1,p,2\n3,q,4\n")
    for target in ("y", 1, -2):
        data = load_csv(path, target=target)
        assert data.feature_names == ["a", "b"]
        np.testing.assert_array_equal(data.X, [[1, 2], [3, 4]])
    last = load_csv(write(tmp_path, "a,b,y\n1,2,p\n3,4,q\n", "last.csv"), target=-1)
    assert last.feature_names == ["a", "b"] and last.class_names == ["p", "q"]


def test_csv_target_none_reads_every_column_as_a_feature(tmp_path):
    path = write(tmp_path, "a,b,c\n1,2,3\n4,5,6\n")
    data = load_csv(path)
    assert data.y is None
    assert data.feature_names == ["a", "b", "c"]
    assert data.class_names == []
    np.testing.assert_array_equal(data.X, [[1, 2, 3], [4, 5, 6]])


def test_csv_bom_is_handled(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbfa,b,y\n1,2,p\n3,4,q\n")
    data = load_csv(path, target="y")
    assert data.feature_names == ["a", "b"]
    assert data.class_names == ["p", "q"]
    np.testing.assert_array_equal(data.X, [[1, 2], [3, 4]])
    assert load_csv(write(tmp_path, b"\xef\xbb\xbfy,b\np,2\nq,4\n", "bom2.csv"), target="y").class_names == ["p", "q"]


def test_csv_blank_lines_and_crlf_are_skipped(tmp_path):
    path = write(tmp_path, "a,y\r\n\r\n1,p\r\n\r\n2,q\r\n\r\n")
    data = load_csv(path, target="y")
    np.testing.assert_array_equal(data.X, [[1], [2]])
    np.testing.assert_array_equal(data.y, [0, 1])


def test_csv_accepts_str_and_pathlike(tmp_path):
    path = write(tmp_path, "a,y\n1,p\n2,q\n")
    np.testing.assert_array_equal(load_csv(str(path), target="y").X, load_csv(path, target="y").X)


# ------------------------------------------------------------------ load_csv: errors


def assert_csv_error(path, *fragments, target="y"):
    """load_csv raises ValueError whose message names the file and each fragment."""
    with pytest.raises(ValueError) as info:
        load_csv(path, target=target)
    message = str(info.value)
    assert str(path) in message, message
    for fragment in fragments:
        assert fragment in message, message
    assert "\n" not in message, "one line"
    return message


def test_csv_missing_file(tmp_path):
    assert_csv_error(tmp_path / "nope.csv", "no such file")


def test_csv_directory(tmp_path):
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    assert_csv_error(folder, "directory")


@pytest.mark.parametrize("text", ["", "\n\n", "  \n", ",,,\n"])
def test_csv_empty_file(tmp_path, text):
    assert_csv_error(write(tmp_path, text), "empty")


def test_csv_header_only(tmp_path):
    assert_csv_error(write(tmp_path, "a,b,y\n"), "no data rows")


def test_csv_unknown_target_column(tmp_path):
    path = write(tmp_path, "a,b,y\n1,2,p\n")
    message = assert_csv_error(path, "'label'", "a, b, y", target="label")
    assert "column" in message


@pytest.mark.parametrize("target", [3, -4, 100])
def test_csv_target_index_out_of_range(tmp_path, target):
    assert_csv_error(write(tmp_path, "a,b,y\n1,2,p\n"), str(target), "3 columns", target=target)


def test_csv_target_is_the_only_column(tmp_path):
    assert_csv_error(write(tmp_path, "y\np\nq\n"), "no feature columns")


@pytest.mark.parametrize(
    "text, line, count",
    [
        ("a,b,y\n1,2,p\n3,4\n", 3, 2),
        ("a,b,y\n1,2,p\n3,4,q\n5,6,r,9\n", 4, 4),
        ("a,b,y\n\n1,2,p\n\n3\n", 5, 1),  # blank lines still count
    ],
)
def test_csv_ragged_row_names_the_line(tmp_path, text, line, count):
    assert_csv_error(write(tmp_path, text), f"line {line}", f"got {count}")


def test_csv_line_numbers_count_physical_lines_after_a_multiline_field(tmp_path):
    # line 1 header, lines 2-3 one record with a quoted newline in its label, line 4 ragged
    path = write(tmp_path, 'a,y\n1,"two\nlines"\n2\n')
    assert_csv_error(path, "line 4")


@pytest.mark.parametrize(
    "row, column, value",
    [("1,abc,p", "b", "abc"), ("1,,p", "b", ""), ("x1,2,p", "a", "x1"), ("1,2.3.4,p", "b", "2.3.4")],
)
def test_csv_non_numeric_value_names_line_and_column(tmp_path, row, column, value):
    path = write(tmp_path, f"a,b,y\n1,2,p\n{row}\n")
    message = assert_csv_error(path, "line 3", f"'{column}'", "not a number")
    assert repr(value) in message


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-1e999"])
def test_csv_non_finite_values_are_refused(tmp_path, value):
    path = write(tmp_path, f"a,b,y\n1,2,p\n3,{value},q\n")
    assert_csv_error(path, "line 3", "'b'", "finite")


def test_csv_non_finite_value_refused_when_target_is_none(tmp_path):
    assert_csv_error(write(tmp_path, "a,b\n1,2\nnan,4\n"), "line 3", "'a'", target=None)


def test_csv_non_utf8_bytes(tmp_path):
    path = write(tmp_path, b"a,b,y\n1,2,p\n3,4,caf\xe9\n")
    assert_csv_error(path, "UTF-8", "line 3")


def test_csv_nul_bytes(tmp_path):
    assert_csv_error(write(tmp_path, b"a,b,y\n1,2,p\x00\n"), "NUL")


def test_csv_binary_file(tmp_path):
    assert_csv_error(write(tmp_path, bytes(range(256)) * 4), "UTF-8")


def test_csv_huge_field_is_a_value_error(tmp_path):
    path = write(tmp_path, "a,y\n1," + "x" * 200_000 + "\n2,q\n")
    assert_csv_error(path, "line 2")


def test_csv_class_ids_do_not_depend_on_the_hash_seed(tmp_path):
    path = write(tmp_path, "a,b\n1,nan\n" + "".join(f"{i},{i - 1}\n" for i in range(2, 10)))
    code = f"from tinygrad_softmax.datasets import load_csv; print(load_csv({str(path)!r}, 'b').class_names)"
    results = set()
    for hash_seed in range(1, 9):
        env = {**os.environ, "PYTHONHASHSEED": str(hash_seed)}
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        results.add(done.stdout.strip())
    assert len(results) == 1, results


# ------------------------------------------------------------------ load_csv: quotes


@pytest.mark.parametrize(
    "text, line, column",
    [
        ('a,b,c,d,y\n1,2,3,4,"x\n5,6,7,8,y\n', 2, "'y'"),  # the file: its last two rows became one
        ('a,b,y\n1,2,p\n3,"4,q\n5,6,r\n', 3, "'b'"),
        ('a,y\n1,"two\nlines"\n2,"three\n', 4, "'y'"),  # after a closed multi-line field
        ('a,b,y\n1,"x\ny","z\n', 3, "'y'"),  # on the second line of its record
        ('a,y\n1,p\n2,"q ""quoted"" \n', 3, "'y'"),  # doubled quotes do not close it
        ('a,"b\n1,2\n', 1, "2"),  # in the header: the column by number
    ],
)
def test_csv_unterminated_quote_names_the_line_and_column_where_it_opened(tmp_path, text, line, column):
    assert_csv_error(write(tmp_path, text), f"line {line}", f"column {column}", "quote", "never closed")


@pytest.mark.parametrize("block_bytes", [None, 4096])
def test_csv_unterminated_quote_in_a_long_file_names_where_it_opened(tmp_path, monkeypatch, block_bytes):
    # 300 kB after the quote: past the csv module's field size limit, and across many blocks of 4 kB
    if block_bytes:
        monkeypatch.setattr(datasets, "_BLOCK_BYTES", block_bytes)
    path = write(tmp_path, 'a,y\n1,p\n2,"q\n' + "".join(f"{i},p\n" for i in range(40_000)))
    assert_csv_error(path, "line 3", "'y'", "never closed")


def test_csv_quoted_fields_are_read(tmp_path):
    # R's write.csv quotes the header and every string
    path = write(tmp_path, '"a","b","y"\n1,"2.5","setosa"\n3,4,"vir,ginica"\n5,6,"two\nlines"\n7,8,"say ""hi"""\n')
    data = load_csv(path, target="y")
    assert data.feature_names == ["a", "b"]
    assert data.class_names == ["say \"hi\"", "setosa", "two\nlines", "vir,ginica"]
    np.testing.assert_array_equal(data.X, [[1, 2.5], [3, 4], [5, 6], [7, 8]])
    np.testing.assert_array_equal(data.y, [1, 3, 2, 0])


@pytest.mark.parametrize("block_bytes", [3, 16, 64])
def test_csv_quoted_multiline_fields_across_blocks(tmp_path, monkeypatch, block_bytes):
    monkeypatch.setattr(datasets, "_BLOCK_BYTES", block_bytes)
    rows = "".join(f'{i},"label\n{i % 3}"\n' for i in range(50))
    data = load_csv(write(tmp_path, "a,y\n" + rows + "99,plain\n"), target="y")
    np.testing.assert_array_equal(data.X[:, 0], [*range(50), 99])
    assert data.class_names == ["label\n0", "label\n1", "label\n2", "plain"]
    np.testing.assert_array_equal(data.y, [*(np.arange(50) % 3), 3])
    # a ragged row after them is found on the right line: header 1, two lines per record
    assert_csv_error(write(tmp_path, "a,y\n" + rows + "1,2,3\n", "ragged.csv"), "line 102", "got 3")


# ------------------------------------------------------------------ load_csv: big files, blocks, dtype, memory


def integer_csv(rows, features=6, seed=0, newline="\n"):
    """A CSV of integer features 0..255 and a string label first; returns its text, X and the labels."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(rows, features))
    labels = rng.choice(["cat", "dog", "emu"], size=rows)
    header = ",".join(["label", *(f"pixel{i}" for i in range(features))])
    lines = [header] + [f"{label}," + ",".join(map(str, row)) for label, row in zip(labels, X)]
    return newline.join(lines) + newline, X.astype(np.float64), labels


@pytest.mark.parametrize("block_bytes", [None, 50, 4096])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_csv_a_file_of_many_blocks_reads_whole(tmp_path, monkeypatch, block_bytes, newline):
    if block_bytes:
        monkeypatch.setattr(datasets, "_BLOCK_BYTES", block_bytes)
    text, X, labels = integer_csv(3000, newline=newline)
    data = load_csv(write(tmp_path, text), target="label")
    np.testing.assert_array_equal(data.X, X)
    assert data.X.dtype == np.float64 and data.X.flags.c_contiguous
    assert data.class_names == ["cat", "dog", "emu"]
    np.testing.assert_array_equal(np.array(data.class_names)[data.y], labels)
    assert data.feature_names == [f"pixel{i}" for i in range(6)]


@pytest.mark.parametrize("block_bytes", [None, 50, 4096])
@pytest.mark.parametrize(
    "bad, fragments",
    [("x", ["'pixel3'", "'x'", "not a number"]), ("inf", ["'pixel3'", "finite"]), ("1,2", ["got 8"])],
)
def test_csv_errors_late_in_a_big_file_name_their_line(tmp_path, monkeypatch, block_bytes, bad, fragments):
    if block_bytes:
        monkeypatch.setattr(datasets, "_BLOCK_BYTES", block_bytes)
    text, _, _ = integer_csv(3000)
    lines = text.splitlines()
    lines[2500] = lines[2500].replace("\n", "")
    cells = lines[2500].split(",")
    cells[4] = bad  # column pixel3
    lines[2500] = ",".join(cells)
    lines.insert(100, "")  # a blank line counts
    assert_csv_error(write(tmp_path, "\r\n".join(lines) + "\r\n"), "line 2502", *fragments, target="label")


def test_csv_a_line_longer_than_a_block(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "_BLOCK_BYTES", 7)
    text, X, _ = integer_csv(40, features=30)
    np.testing.assert_array_equal(load_csv(write(tmp_path, text), target=0).X, X)


def test_csv_bom_and_encoding_errors_across_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "_BLOCK_BYTES", 16)
    text, _, _ = integer_csv(200)
    assert load_csv(write(tmp_path, "\ufeff" + text), target="label").feature_names[0] == "pixel0"
    lines = text.encode().splitlines(keepends=True)
    latin1 = b"".join(lines[:150]) + b"caf\xe9,1,2,3,4,5,6\n" + b"".join(lines[150:])
    assert_csv_error(write(tmp_path, latin1, "latin1.csv"), "UTF-8", "line 151", target="label")
    nul = b"".join(lines[:120]) + b"cat,1,2\x00,3,4,5,6\n"
    assert_csv_error(write(tmp_path, nul, "nul.csv"), "NUL", "line 121", target="label")


def test_csv_dtype_float32_and_auto(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "_BLOCK_BYTES", 64)  # so that "auto" meets its fraction many blocks in
    text, X, _ = integer_csv(500)
    path = write(tmp_path, text)
    auto = load_csv(path, target="label", dtype="auto")
    assert auto.X.dtype == np.float32, "integers 0-255 are exact in float32"
    np.testing.assert_array_equal(auto.X, X)
    assert load_csv(path, target="label", dtype=np.float32).X.dtype == np.float32
    assert load_csv(path, target="label", dtype="float64").X.dtype == np.float64
    fraction = write(tmp_path, text + "cat,1,2,3,4,5,0.1\n", "fraction.csv")
    widened = load_csv(fraction, target="label", dtype="auto")
    assert widened.X.dtype == np.float64 and widened.X[-1, -1] == 0.1
    np.testing.assert_array_equal(widened.X[:-1], X)
    assert load_csv(fraction, target="label", dtype=np.float32).X[-1, -1] == np.float32(0.1)
    big = write(tmp_path, "a,y\n1,p\n16777217,q\n", "big.csv")  # 2**24 + 1 is not a float32
    assert load_csv(big, target="y", dtype="auto").X.dtype == np.float64
    edge = write(tmp_path, "a,y\n1,p\n16777216,q\n", "edge.csv")
    assert load_csv(edge, target="y", dtype="auto").X.dtype == np.float32


@pytest.mark.parametrize("dtype", [np.int64, "float16", "single-ish", "Auto", np.complex128])
def test_csv_dtype_must_be_a_float_or_auto(tmp_path, dtype):
    with pytest.raises(ValueError, match="dtype"):
        load_csv(write(tmp_path, "a,y\n1,p\n"), target="y", dtype=dtype)


def test_csv_negative_zero_keeps_its_sign(tmp_path):
    data = load_csv(write(tmp_path, "a,b,y\n-0,3,p\n0,-00,q\n"), target="y")
    assert list(np.signbit(data.X.ravel())) == [True, False, False, True]


def test_csv_label_column_of_numbers_and_strings_through_the_fast_path(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "_BLOCK_BYTES", 32)
    rows = "".join(f"{i},{label}\n" for i, label in enumerate(["10", "2", " b", "a ", "2.0", "-1", "nan"] * 20))
    data = load_csv(write(tmp_path, "x,y\n" + rows), target="y")
    assert data.class_names == ["-1", "2", "2.0", "10", "a", "b", "nan"]
    np.testing.assert_array_equal(data.y[:7], [3, 1, 5, 4, 2, 0, 6])


def test_csv_read_memory_is_bounded_by_the_result(tmp_path, monkeypatch):
    # 4,000 rows x 200 features: 3 MB of text, X 6.4 MB. Beyond X, a few times one block of text at a
    # time; never a Python list of the file's rows or cells (the csv module's strings alone: 50 MB)
    monkeypatch.setattr(datasets, "_BLOCK_BYTES", 1 << 18)
    text, X, _ = integer_csv(4000, features=200)
    path = write(tmp_path, text)
    for dtype, size in ((np.float64, X.nbytes), ("auto", X.nbytes // 2)):
        tracemalloc.start()
        try:
            data = load_csv(path, target="label", dtype=dtype)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        np.testing.assert_array_equal(data.X, X)
        # twice X: tracemalloc counts the final shrink of X (a realloc) as a new X next to the old on numpy 2.5;
        # the old reader, with its lists of strings, peaked at 65 MB here
        assert peak < 2.1 * size + 20 * datasets._BLOCK_BYTES, (dtype, peak, size)


def _fail_big_allocations(monkeypatch):
    original = datasets._Rows._resize

    def resize(self, rows):
        if rows > 100:
            raise MemoryError(f"Unable to allocate {rows * self.width * 8} bytes")
        original(self, rows)

    monkeypatch.setattr(datasets._Rows, "_resize", resize)


def test_csv_out_of_memory_is_a_value_error_naming_the_file_and_its_size(tmp_path, monkeypatch):
    _fail_big_allocations(monkeypatch)
    text, _, _ = integer_csv(3000)
    path = write(tmp_path, text)
    message = assert_csv_error(path, "not enough memory", f"{len(text) / 1e6:.1f} MB", "features", target="label")
    assert "Unable to allocate" not in message


def test_train_out_of_memory_is_one_line_exit_2(tmp_path, monkeypatch, capsys):
    _fail_big_allocations(monkeypatch)
    text, _, _ = integer_csv(3000)
    path = write(tmp_path, text)
    assert cli.main(["train", "--data", str(path), "--target", "label", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and "not enough memory" in err, err


@pytest.mark.parametrize(
    "text, target",
    [("a;b;y\n1;2;p\n3;4;q\n", "y"), ("a;b;y\n1;2;p\n3;4;q\n", -1), ("a;b;y\n1;2;p\n", None), ("a;b\n1,5;2\n", None)],
)
def test_csv_semicolon_separated_file_gets_a_hint(tmp_path, text, target):
    assert_csv_error(write(tmp_path, text), "semicolon-separated", target=target)


def test_csv_tab_separated_file_gets_a_hint(tmp_path):
    assert_csv_error(write(tmp_path, "a\tb\ty\n1\t2\tp\n"), "tab-separated", target="y")


def test_csv_no_hint_for_a_comma_separated_file(tmp_path):
    message = assert_csv_error(write(tmp_path, "a,b;c,y\n1,x,p\n"), "line 2")
    assert "separated" not in message


# ------------------------------------------------------------------ load_csv: against a plain reading


def _open_quote_line(text):
    """The line where a quoted field opens that `text` never closes (None if all close): the excel
    dialect read one character at a time, as the csv module's lenient reader does."""
    state, line, opened = "start", 1, None
    for i, c in enumerate(text):
        if state == "quoted":
            state = "quote in quoted" if c == '"' else "quoted"
        elif state == "quote in quoted" and c == '"':
            state = "quoted"  # a doubled quote
        elif c in ",\r\n":
            state = "start"
        elif state == "start" and c == '"':
            state, opened = "quoted", line
        elif state in ("start", "quote in quoted"):
            state = "unquoted"
        if c == "\n" or (c == "\r" and text[i + 1 : i + 2] != "\n"):
            line += 1
    return opened if state == "quoted" else None


def reference_load(text, target):
    """load_csv's contract read the slow, obvious way: the whole text through csv.reader, float() for each
    value, looking for problems in file order. Returns ``(X, y, features, classes)`` or ``("error", line)``,
    the line None for an error that names none."""
    text = text.removeprefix("\ufeff")
    open_line = _open_quote_line(text)
    records, start = [], 1
    reader = csv.reader(io.StringIO(text, newline=""))
    for cells in reader:
        records.append((start, cells))
        start = reader.line_num + 1
    if open_line is not None:
        records.pop()  # read to the end of the file: the unterminated quote
    records = [(line, cells) for line, cells in records if any(cell.strip() for cell in cells)]
    if not records:
        return "error", open_line
    (_, header), rows = records[0], records[1:]
    header = [name.strip() for name in header]
    if target is None:
        t = None
    elif isinstance(target, int):
        if not -len(header) <= target < len(header):
            return "error", None
        t = target % len(header)
    elif target in header:
        t = header.index(target)
    else:
        return "error", None
    features = [i for i in range(len(header)) if i != t]
    if not features:
        return "error", None
    X, labels = [], []
    for line, cells in rows:
        if len(cells) != len(header):
            return "error", line
        try:
            values = [float(cells[c]) for c in features]
        except ValueError:
            return "error", line
        if not all(map(math.isfinite, values)):
            return "error", line
        X.append(values)
        labels.append(None if t is None else cells[t].strip())
    if open_line is not None:
        return "error", open_line
    if not rows:
        return "error", None
    X = np.array(X)
    if t is None:
        return X, None, header, []
    names = sorted(set(labels), key=datasets._label_sort_key)
    return X, np.array([names.index(label) for label in labels]), [header[i] for i in features], names


GOOD_NUMBERS = st.sampled_from(
    ["0", "7", "255", "-3", "+4", "-0", "007", "16777217", "99999999999999999999", "1.5", "-0.0", "2e3", "1e-5",
     ".5", "5.", " 3 ", "\t8", '"5"', '" 6 "']
)  # fmt: skip
GOOD_LABELS = st.sampled_from(["p", "q", " r ", "10", "2", "2.0", "nan", '"p,q"', '"a\nb"', '"x""y"', "\u00e4"])
ODD_VALUES = st.sampled_from(
    ["", " ", "x", "nan", "-inf", "1e400", "1_0", "\u0663", "0x10", "#1", '"open', 'in"side', '"c"d', '"7"8', "1\r2"]
)  # fmt: skip


@st.composite
def csv_texts(draw):
    """Mostly well-formed numeric CSV text with string or number labels in 'y', and now and then each
    way a file can be odd: blank and ragged rows, values that are no numbers, quotes left open."""
    width = draw(st.integers(1, 4))
    header = draw(st.permutations(["y", "a", "b", "c"][:width]))
    lines = [",".join(header)]
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.integers(0, 19))
        if kind == 0:
            lines.append(draw(st.sampled_from(["", " ", ",,,"])))
        elif kind == 1:
            lines.append(",".join(draw(GOOD_NUMBERS) for _ in range(draw(st.integers(0, 5)))))
        else:
            cells = [draw(GOOD_LABELS if name == "y" else GOOD_NUMBERS) for name in header]
            if kind == 2:
                cells[draw(st.integers(0, width - 1))] = draw(ODD_VALUES)
            lines.append(",".join(cells))
    newline = draw(st.sampled_from(["\n", "\n", "\r\n", "\r"]))
    return newline.join(lines) + draw(st.sampled_from(["", newline, newline * 2]))


def _error_line(message):
    found = re.search(r", line (\d+)", message)
    return int(found.group(1)) if found else None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=csv_texts(), target=st.sampled_from([None, 0, -1, "y"]), block_bytes=st.sampled_from([None, 1, 9, 40]))
def test_csv_reads_as_a_plain_csv_module_reading_does(tmp_path, monkeypatch, text, target, block_bytes):
    monkeypatch.setattr(datasets, "_BLOCK_BYTES", block_bytes or 1 << 22)
    path = write(tmp_path, text, "same.csv")
    expected = reference_load(text, target)
    try:
        data = load_csv(path, target=target)
    except ValueError as exc:
        event("ValueError")
        assert expected[0] == "error", f"refused a good file: {exc}"
        assert _error_line(str(exc)) == expected[1], (str(exc), expected)
        return
    event("Dataset")
    assert not isinstance(expected[0], str), f"accepted a bad file; expected an error at line {expected[1]}"
    X, y, features, classes = expected
    np.testing.assert_array_equal(data.X, X)
    np.testing.assert_array_equal(np.signbit(data.X), np.signbit(X))
    assert (data.feature_names, data.class_names) == (features, classes)
    if y is None:
        assert data.y is None
    else:
        np.testing.assert_array_equal(data.y, y)
    auto = load_csv(path, target=target, dtype="auto").X
    exact = np.array_equal(X.astype(np.float32), X)
    assert auto.dtype == (np.float32 if exact else np.float64)
    np.testing.assert_array_equal(auto, X)


# ------------------------------------------------------------------ load_csv: fuzz

CSV_ALPHABET = st.sampled_from(
    list("0123456789") + list(".,-+eE\n\r\t \"'") + ["nan", "inf", "1e400", "a", "b", "y", "ä", "\ufeff", ";", "\x00"]
)


def _check_fuzz_result(path, target):
    try:
        data = load_csv(path, target=target)
    except ValueError as exc:
        assert str(path) in str(exc), str(exc)
        event("ValueError")
        return
    event("Dataset")
    assert isinstance(data, Dataset)
    assert data.X.dtype == np.float64 and data.X.ndim == 2
    assert data.X.shape[0] >= 1 and data.X.shape[1] >= 1
    assert np.all(np.isfinite(data.X))
    assert len(data.feature_names) == data.X.shape[1]
    if target is None:
        assert data.y is None
    else:
        assert data.y.shape == (data.X.shape[0],) and data.y.dtype == np.int64
        assert data.y.min() >= 0 and data.y.max() < len(data.class_names)
        np.testing.assert_array_equal(np.unique(data.y), np.arange(len(data.class_names)))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    head=st.sampled_from(["", "a,y\n", "a,b,y\n", "y,a\n", "a\n"]),
    pieces=st.lists(st.one_of(CSV_ALPHABET, st.sampled_from(["1", "2.5", ",", "\n", "3,p\n", "4,q\n"])), max_size=60),
    target=st.sampled_from([None, 0, -1, 1, "a", "y"]),
)
def test_csv_fuzz_text_returns_finite_dataset_or_value_error(tmp_path, head, pieces, target):
    path = tmp_path / "fuzz.csv"
    path.write_bytes((head + "".join(pieces)).encode("utf-8"))
    _check_fuzz_result(path, target)


NUMBERS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(-(10**30), 10**30).map(str),
)
ODD_CELLS = st.sampled_from(["", " ", "x", "nan", "inf", "1e400", "-0", "0x10", "1_0", '"3"', "10**400", "\u00e4"])


@st.composite
def csv_files(draw):
    """Mostly well-formed numeric CSV files with a label column 'y', with occasional defects."""
    ncols = draw(st.integers(1, 4))
    header = draw(st.permutations(["y", "a", "b", "c"][:ncols]))
    if draw(st.integers(0, 9)) == 0:
        header[0] = draw(st.sampled_from(["", "y", "a"]))
    rows = []
    for _ in range(draw(st.integers(0, 6))):
        width = ncols if draw(st.integers(0, 9)) else draw(st.integers(0, 6))
        row = []
        for c in range(width):
            kind = draw(st.integers(0, 19))
            if kind == 0:
                row.append(draw(ODD_CELLS))
            elif c < len(header) and header[c] == "y":
                row.append(draw(st.sampled_from(["p", "q", "r", "1", "10", "2.5"])))
            else:
                row.append(draw(NUMBERS))
        rows.append(row)
    ending = draw(st.sampled_from(["", "\n", "\r\n"]))
    text = ",".join(header) + "\n" + "\n".join(",".join(row) for row in rows) + ending
    tail = draw(st.sampled_from([b"", b"", b"", b"\xff", b"\x00", b"\n\n"]))
    return text.encode("utf-8") + tail


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=csv_files(), target=st.sampled_from([None, 0, -1, "y"]))
def test_csv_fuzz_structured_rows(tmp_path, content, target):
    path = tmp_path / "fuzz2.csv"
    path.write_bytes(content)
    _check_fuzz_result(path, target)


# ------------------------------------------------------------------ train_test_split


def test_split_sizes_and_partition():
    X = np.arange(100, dtype=float).reshape(50, 2)
    y = np.repeat([0, 1], 25)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, seed=0)
    assert X_train.shape == (40, 2) and X_test.shape == (10, 2)
    assert y_train.shape == (40,) and y_test.shape == (10,)
    # rows keep their labels (X[i, 0] / 2 is the original index i)
    index_train = (X_train[:, 0] / 2).astype(int)
    index_test = (X_test[:, 0] / 2).astype(int)
    np.testing.assert_array_equal(y[index_train], y_train)
    np.testing.assert_array_equal(y[index_test], y_test)
    np.testing.assert_array_equal(X[index_train], X_train)
    assert not set(index_train) & set(index_test), "disjoint"
    assert sorted([*index_train, *index_test]) == list(range(50)), "complete"


def test_split_is_stratified_on_iris():
    data = load_iris()
    X_train, X_test, y_train, y_test = train_test_split(data.X, data.y, test_size=0.2, seed=7)
    np.testing.assert_array_equal(np.bincount(y_test, minlength=3), [10, 10, 10])
    np.testing.assert_array_equal(np.bincount(y_train, minlength=3), [40, 40, 40])
    assert len(X_train) == 120 and len(X_test) == 30
    # a disjoint, complete partition of the 150 rows (iris has a few duplicate rows, so compare multisets)
    rows = lambda A: sorted(map(tuple, A))  # noqa: E731
    assert rows(np.vstack([X_train, X_test])) == rows(data.X)


def test_split_shuffles_the_test_part():
    data = load_iris()
    _, _, _, y_test = train_test_split(data.X, data.y, seed=0)
    assert not np.all(np.diff(y_test) >= 0), "test labels should not come out grouped by class"


def test_split_stratified_keeps_proportions_of_unbalanced_classes():
    y = np.array([0] * 80 + [1] * 20)
    X = np.arange(100.0)[:, None]
    _, _, y_train, y_test = train_test_split(X, y, test_size=0.25, seed=3)
    np.testing.assert_array_equal(np.bincount(y_test), [20, 5])
    np.testing.assert_array_equal(np.bincount(y_train), [60, 15])


def test_split_unstratified_sizes_and_partition():
    X = np.arange(30.0)[:, None]
    y = np.zeros(30, dtype=int)
    y[:3] = 1
    X_train, X_test, _, _ = train_test_split(X, y, test_size=0.3, seed=1, stratify=False)
    assert len(X_test) == 9 and len(X_train) == 21
    assert sorted(np.concatenate([X_train, X_test])[:, 0]) == list(range(30))


def test_split_reproducible_by_seed():
    data = load_iris()
    first = train_test_split(data.X, data.y, seed=11)
    second = train_test_split(data.X, data.y, seed=11)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    third = train_test_split(data.X, data.y, seed=12)
    assert not np.array_equal(first[1], third[1])


def test_split_accepts_lists():
    X_train, X_test, y_train, y_test = train_test_split([[1], [2], [3], [4]], [0, 0, 1, 1], test_size=0.5, seed=0)
    assert isinstance(X_train, np.ndarray) and X_train.shape == (2, 1) and X_test.shape == (2, 1)
    assert sorted(y_test) == [0, 1] and sorted(y_train) == [0, 1]


@pytest.mark.parametrize("test_size", [0, 1, 1.5, -0.2, float("nan")])
def test_split_bad_test_size(test_size):
    with pytest.raises(ValueError, match="test_size"):
        train_test_split(np.zeros((10, 2)), np.arange(10) % 2, test_size=test_size)


def test_split_mismatched_lengths():
    with pytest.raises(ValueError, match=r"X has 10 samples but y has 9"):
        train_test_split(np.zeros((10, 2)), np.zeros(9))


def test_split_too_few_samples():
    with pytest.raises(ValueError, match=r"test_size=0.2 leaves the test set empty \(2 samples, smallest group 1\)"):
        train_test_split(np.zeros((2, 1)), np.array([0, 1]), test_size=0.2)
    X, y = load_iris()[:2]
    with pytest.raises(ValueError, match="leaves the training set empty"):
        train_test_split(X, y, test_size=0.995)


@pytest.mark.parametrize("stratify", [True, False])
@pytest.mark.parametrize("n", [4, 11, 257, 3000])
def test_split_in_place_gives_the_same_parts_as_views(monkeypatch, n, stratify):
    monkeypatch.setattr(datasets, "_PERMUTE_BLOCK_BYTES", 100)  # blocks of 4 rows: every path of the reordering
    rng = np.random.default_rng(n)
    X = rng.standard_normal((n, 3)).astype(np.float32)
    y = rng.integers(0, 2, n)
    y[:4] = [0, 1, 0, 1]
    expected = train_test_split(X, y, test_size=0.5, seed=5, stratify=stratify)
    X_work, y_work = X.copy(), y.copy()
    parts = train_test_split(X_work, y_work, test_size=0.5, seed=5, stratify=stratify, inplace=True)
    for want, got in zip(expected, parts):
        np.testing.assert_array_equal(got, want)
        assert got.dtype == want.dtype
    assert all(np.shares_memory(part, X_work) for part in parts[:2])
    assert all(np.shares_memory(part, y_work) for part in parts[2:])
    assert parts[0].flags.c_contiguous


@pytest.mark.parametrize("block_bytes", [8, 64, 1 << 23])
def test_permute_rows_is_any_permutation(monkeypatch, block_bytes):
    monkeypatch.setattr(datasets, "_PERMUTE_BLOCK_BYTES", block_bytes)
    rng = np.random.default_rng(block_bytes)
    for n in (1, 2, 5, 64, 999):
        X = np.arange(n * 2).reshape(n, 2)
        for order in (rng.permutation(n), np.arange(n), np.arange(n)[::-1].copy()):
            got = X.copy()
            datasets._permute_rows(got, order)
            np.testing.assert_array_equal(got, X[order])


def test_split_in_place_of_a_list_works_on_a_copy():
    X = [[1.0], [2.0], [3.0], [4.0]]
    parts = train_test_split(X, [0, 0, 1, 1], test_size=0.5, seed=0, inplace=True)
    assert X == [[1.0], [2.0], [3.0], [4.0]]
    np.testing.assert_array_equal(parts[0], train_test_split(X, [0, 0, 1, 1], test_size=0.5, seed=0)[0])


# ------------------------------------------------------------------ standardize


def test_standardize_uses_training_statistics_only():
    X_train = np.array([[1.0, 10.0], [3.0, 30.0], [5.0, 50.0]])
    X_test = np.array([[3.0, 30.0], [7.0, 10.0]])
    train_s, test_s = standardize(X_train, X_test)
    np.testing.assert_allclose(train_s.mean(axis=0), 0, atol=1e-15)
    np.testing.assert_allclose(train_s.std(axis=0), 1, rtol=1e-14)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    np.testing.assert_allclose(test_s, (X_test - mean) / std, rtol=1e-14)
    # the test row equal to the training mean maps to zero; its own statistics were not used
    np.testing.assert_allclose(test_s[0], [0, 0], atol=1e-15)
    assert not np.allclose(test_s.mean(axis=0), 0)


def test_standardize_zero_variance_column_is_only_centred():
    X_train = np.array([[1.0, 4.0], [3.0, 4.0], [5.0, 4.0]])
    X_other = np.array([[1.0, 6.0]])
    train_s, other_s = standardize(X_train, X_other)
    assert np.all(np.isfinite(train_s)) and np.all(np.isfinite(other_s))
    np.testing.assert_array_equal(train_s[:, 1], [0.0, 0.0, 0.0])
    assert other_s[0, 1] == 2.0


def test_standardize_several_others_and_does_not_modify_inputs():
    X_train = np.array([[0.0], [2.0]])
    a, b = np.array([[1.0]]), np.array([[4.0], [-2.0]])
    copies = [X_train.copy(), a.copy(), b.copy()]
    out = standardize(X_train, a, b)
    assert len(out) == 3
    np.testing.assert_allclose(out[1], [[0.0]])
    np.testing.assert_allclose(out[2], [[3.0], [-3.0]])
    for before, after in zip(copies, (X_train, a, b)):
        np.testing.assert_array_equal(before, after)


def test_standardize_train_only_returns_one_array():
    (only,) = standardize([[1, 2], [3, 4]])
    assert only.dtype == np.float64
    np.testing.assert_allclose(only, [[-1, -1], [1, 1]])


def test_standardize_keeps_float32_and_matches_float64():
    X = np.random.default_rng(0).integers(0, 256, size=(500, 4)).astype(np.float32)
    train_s, other_s = standardize(X, X[:10])
    assert train_s.dtype == np.float32 and other_s.dtype == np.float32
    expected = (X.astype(np.float64) - X.astype(np.float64).mean(axis=0)) / X.astype(np.float64).std(axis=0)
    np.testing.assert_allclose(train_s, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(other_s, expected[:10], rtol=1e-5, atol=1e-6)
    (mixed,) = standardize(X.astype(np.float64))
    assert mixed.dtype == np.float64


# ------------------------------------------------------------------ training on a loaded file


@pytest.mark.parametrize("model_dtype", [np.float32, np.float64])
def test_fit_never_copies_the_whole_training_set(model_dtype):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(20_000, 50)).astype(np.float32)  # 4 MB
    y = rng.integers(0, 3, size=20_000)
    model = SoftmaxClassifier(50, 3, seed=0, dtype=model_dtype)
    tracemalloc.start()
    try:
        fit(model, X, y, epochs=1, lr=1e-4, batch_size=1000, seed=0, progress=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < X.nbytes, (peak, X.nbytes)  # X in float64 would be twice that


def test_fit_on_float32_data_with_a_float64_model_matches_float64_data():
    data = load_iris()
    X32 = data.X.astype(np.float32)
    runs = []
    for X in (X32, X32.astype(np.float64)):
        model = SoftmaxClassifier(4, 3, seed=1)
        history = fit(model, X, data.y, epochs=3, lr=0.01, batch_size=7, seed=2, progress=False)
        runs.append((model.W.data.copy(), history))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]


def test_train_on_integer_pixels_trains_a_float32_model(tmp_path, capsys):
    text, _, _ = integer_csv(400)
    path = write(tmp_path, text)
    model_file = tmp_path / "model.npz"
    argv = ["train", "--data", str(path), "--target", "label", "--epochs", "2", "--quiet", "--save", str(model_file)]
    assert cli.main(argv) == 0, capsys.readouterr().err
    assert "test accuracy" in capsys.readouterr().out
    assert SoftmaxClassifier.load(model_file).W.dtype == np.float32
    fractions = write(tmp_path, text.replace(",7,", ",7.1,"), "fractions.csv")
    argv[2], argv[-1] = str(fractions), str(tmp_path / "model64.npz")
    assert cli.main(argv) == 0, capsys.readouterr().err
    assert SoftmaxClassifier.load(tmp_path / "model64.npz").W.dtype == np.float64
