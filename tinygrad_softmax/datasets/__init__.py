"""Data: the notebook's artificial samples, Fisher's iris, users' CSV files, and splitting helpers.

Everything here returns samples as rows, ``X`` of shape ``(n, num_features)``.
"""

from __future__ import annotations

import csv
import io
import os
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np


class Dataset(NamedTuple):
    """Features ``X (n, f)`` float64, labels ``y (n,)`` int64 class ids, and their names."""

    X: np.ndarray
    y: np.ndarray | None
    feature_names: list[str]
    class_names: list[str]


def make_seed_data(
    num_samples: int = 5, num_features: int = 4, num_labels: int = 3, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The notebook's artificial data: integer features 3..9 and random labels.

    Returns:
        ``X`` of shape ``(num_samples, num_features)`` (float64) and ``y`` of shape
        ``(num_samples,)`` with labels in ``[0, num_labels)``.

    The notebook stored X features-by-samples, ``(num_features, num_samples)``,
    one column per sample; here samples are rows, as everywhere in this library,
    so ``X.T`` is the notebook's matrix.
    """
    rng = np.random.default_rng(seed)
    X = rng.integers(3, 10, size=(num_samples, num_features)).astype(np.float64)
    y = rng.integers(0, num_labels, size=num_samples)
    return X, y


def load_iris() -> Dataset:
    """Fisher's iris data: 150 samples, 4 features (cm), 3 species (50 each).

    Shipped as ``tinygrad_softmax/datasets/iris.csv``; the measurements are from
    R. A. Fisher (1936), "The use of multiple measurements in taxonomic problems",
    as distributed by the UCI Machine Learning Repository (CC BY 4.0).
    """
    with resources.as_file(resources.files(__package__) / "iris.csv") as path:
        return load_csv(path, target="species")


def load_csv(path: str | os.PathLike[str], target: str | int | None = None) -> Dataset:
    """Read a numeric CSV with a header row; `target` names the label column.

    Args:
        path: the file.
        target: the label column's name or index; None means every column is a
            feature (for prediction). Labels may be strings or numbers; they are
            mapped to class ids ``0..k-1`` in sorted order (`class_names` keeps them).

    Raises:
        ValueError: a missing, empty or non-UTF-8 file, an unknown target column,
            a ragged row, or a feature value that is not a finite number; the
            message names the file, and the line and column where there is one.
    """
    rows, header = _read_rows(path)
    if target is None:
        target_index = None
    elif isinstance(target, int) and not isinstance(target, bool):
        if not -len(header) <= target < len(header):
            raise ValueError(f"{path}: no column {target}; the file has {len(header)} columns")
        target_index = target % len(header)
    elif target in header:
        target_index = header.index(target)
    else:
        raise ValueError(f"{path}: no column {target!r}; the columns are {', '.join(header)}")
    feature_columns = [i for i in range(len(header)) if i != target_index]
    if not feature_columns:
        raise ValueError(f"{path}: no feature columns besides the target {header[target_index]!r}")
    X = np.empty((len(rows), len(feature_columns)))
    for r, (line, row) in enumerate(rows):
        for c, column in enumerate(feature_columns):
            X[r, c] = _number(row[column], path, line, header[column])
    if target_index is None:
        return Dataset(X, None, header, [])
    labels = [row[target_index].strip() for _, row in rows]
    class_names = sorted(set(labels), key=_label_sort_key)
    ids = {name: i for i, name in enumerate(class_names)}
    y = np.array([ids[label] for label in labels], dtype=np.int64)
    return Dataset(X, y, [header[i] for i in feature_columns], class_names)


def _read_rows(path: str | os.PathLike[str]) -> tuple[list[tuple[int, list[str]]], list[str]]:
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ValueError(f"{path}: is a directory, not a CSV file") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ValueError(f"{path}, line {line}: not UTF-8 text (byte {raw[exc.start]:#04x})") from None
    if "\x00" in text:
        raise ValueError(f"{path}: contains NUL bytes; not a CSV text file")
    numbered = []
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1  # a quoted field may span lines: report the line where its record starts
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                numbered.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ValueError(f"{path}, line {reader.line_num}: malformed CSV ({exc})") from None
    if not numbered:
        raise ValueError(f"{path}: empty file (expected a header row and data rows)")
    (_, header), rows = numbered[0], numbered[1:]
    header = [name.strip() for name in header]
    if not rows:
        raise ValueError(f"{path}: no data rows after the header")
    for line, row in rows:
        if len(row) != len(header):
            raise ValueError(f"{path}, line {line}: expected {len(header)} values like the header, got {len(row)}")
    return rows, header


def _number(text: str, path: Any, line: int, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{path}, line {line}, column {column!r}: {text.strip()!r} is not a number") from None
    if not np.isfinite(value):
        raise ValueError(f"{path}, line {line}, column {column!r}: {text.strip()!r} is not a finite number")
    return value


def _label_sort_key(label: str) -> tuple[int, float, str]:
    """Numbers in numeric order (2 before 10), then strings alphabetically."""
    try:
        value = float(label)
    except ValueError:
        return (1, 0.0, label)
    return (0, value, label) if np.isfinite(value) else (1, 0.0, label)  # nan does not order


def train_test_split(
    X: Any, y: Any, test_size: float = 0.2, seed: int | None = None, stratify: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle and split into ``X_train, X_test, y_train, y_test``.

    With `stratify`, each class keeps its share in both parts (iris: 40/10 per species).
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"train_test_split: X has {len(X)} samples but y has {len(y)}")
    if not 0 < test_size < 1:
        raise ValueError(f"train_test_split: test_size must be between 0 and 1, got {test_size}")
    rng = np.random.default_rng(seed)
    if stratify:
        groups = [rng.permutation(np.flatnonzero(y == label)) for label in np.unique(y)]
    else:
        groups = [rng.permutation(len(y))]
    test_counts = [round(test_size * len(g)) for g in groups]
    test_parts = [g[:count] for g, count in zip(groups, test_counts)]
    train_parts = [g[count:] for g, count in zip(groups, test_counts)]
    test, train = rng.permutation(np.concatenate(test_parts)), rng.permutation(np.concatenate(train_parts))
    if len(test) == 0 or len(train) == 0:
        empty = "test" if len(test) == 0 else "training"
        raise ValueError(
            f"train_test_split: test_size={test_size} leaves the {empty} set empty "
            f"({len(y)} samples, smallest group {min(len(g) for g in groups)}); choose a test_size nearer 0.5"
        )
    return X[train], X[test], y[train], y[test]


def standardize(X_train: Any, *others: Any) -> tuple[np.ndarray, ...]:
    """Scale features to mean 0 and standard deviation 1 using the training data's statistics only.

    Returns the standardized `X_train` followed by each of `others` scaled the same
    way (constant features are only centred).
    """
    X_train = np.asarray(X_train, dtype=np.float64)
    mean = X_train.mean(axis=0)
    scale = X_train.std(axis=0)
    scale[scale == 0] = 1.0
    return tuple((np.asarray(X, dtype=np.float64) - mean) / scale for X in (X_train, *others))


__all__ = ["Dataset", "load_csv", "load_iris", "make_seed_data", "standardize", "train_test_split"]
