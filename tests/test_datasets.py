"""Datasets: the notebook's artificial data, iris, users' CSV files (and every way they can be wrong), splitting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tinygrad_softmax.datasets import (
    Dataset,
    load_csv,
    load_iris,
    make_seed_data,
    standardize,
    train_test_split,
)

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
