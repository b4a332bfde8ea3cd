"""Data: the notebook's artificial samples, Fisher's iris, users' CSV files, and splitting helpers.

Everything here returns samples as rows, ``X`` of shape ``(n, num_features)``.
"""

from __future__ import annotations

import csv
import io
import os
import warnings
from collections.abc import Iterator
from importlib import resources
from typing import Any, NamedTuple

import numpy as np


class Dataset(NamedTuple):
    """Features ``X (n, f)`` float64 (float32 when `load_csv` is asked), labels ``y (n,)`` int64 class ids, names."""

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


def load_csv(path: str | os.PathLike[str], target: str | int | None = None, dtype: Any = np.float64) -> Dataset:
    """Read a numeric CSV with a header row; `target` names the label column.

    The file is read in blocks of lines, numpy's C parser reading each block that has
    no quotes and Python's csv module the others (and any block numpy refuses, for an
    exact error message), so memory stays near the size of the result: ``X`` of shape
    ``(n, f)`` plus a few MB, whatever the file's size.

    Args:
        path: the file, UTF-8 text (a byte-order mark is skipped).
        target: the label column's name or index; None means every column is a
            feature (for prediction). Labels may be strings or numbers; they are
            mapped to class ids ``0..k-1`` in sorted order (`class_names` keeps them).
        dtype: of ``X``: ``np.float64`` (the default), ``np.float32``, or ``"auto"``:
            float32 when every feature value is exactly a float32 (integers up to
            2**24, such as pixels 0-255, at half the memory), else float64. Values are
            parsed as float64 first, so float32 holds the float64 value rounded.

    Raises:
        ValueError: a missing, empty or non-UTF-8 file, an unknown target column,
            a ragged row, a quote that is never closed, or a feature value that is not
            a finite number; the message names the file, and the line and column where
            there is one (the first such problem in the file), and says when the file
            looks semicolon- or tab-separated. Running out of memory is a ValueError too,
            naming the file and its size.
    """
    want = _dtype_option(dtype)
    try:
        file = open(path, "rb")  # not `with open`: its own errors get their own messages
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ValueError(f"{path}: is a directory, not a CSV file") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ({exc.strerror})") from None
    with file:
        reader = _CsvReader(path, target, want, _size_of(file))
        try:
            return reader.read(file)
        except MemoryError:
            raise ValueError(f"{path}: not enough memory to load this {_megabytes(reader.size)} file"
                             f"{reader.memory_detail()}") from None
        except OSError as exc:  # a read error after a successful open: a folder, a vanished network file
            raise ValueError(f"{path}: cannot read ({exc.strerror or exc})") from None


# Text parsed per step: numpy's parser runs at full speed from about 100 kB, and what a
# block costs in memory on top of the result (numpy's table of it, the csv module's
# strings) is a few times this.
_BLOCK_BYTES = 1 << 19
_CAREFUL_CELLS = 1 << 16  # cells converted at a time on the csv-module path
_EXACT_IN_FLOAT32 = 2**24


def _dtype_option(dtype: Any) -> Any:
    if isinstance(dtype, str) and dtype == "auto":
        return "auto"
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved not in (np.float32, np.float64):
        raise ValueError(f"load_csv: dtype must be np.float32, np.float64 or 'auto', got {dtype!r}")
    return resolved.type


def _size_of(file: Any) -> int:
    """The file's size in bytes, 0 when it has none (a pipe)."""
    try:
        return max(os.fstat(file.fileno()).st_size, 0)
    except (OSError, AttributeError):
        return 0


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size < 10e6 else f"{size / 1e6:,.0f} MB"


def _line_breaks(text: str) -> int:
    """Lines ended in `text`, counted as the csv module counts them: ``\\n``, ``\\r\\n`` and a lone ``\\r``."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def _text_blocks(file: Any, path: Any) -> Iterator[tuple[int, str, bool]]:
    """``(number of the first line, text, is the last block)`` for the file in blocks of whole lines.

    Blocks end at a ``\\n``, so a multi-byte UTF-8 character or a ``\\r\\n`` is never cut
    in two. A block that is not UTF-8 text, or holds a NUL, is refused before its rows are read.
    """
    line = 1
    pieces: list[bytes] = []
    first = True
    while True:
        chunk = file.read(_BLOCK_BYTES)
        if chunk:
            cut = chunk.rfind(b"\n") + 1
            if cut == 0:  # a line longer than a block: read on to its end
                pieces.append(chunk)
                continue
            pieces.append(chunk[:cut])
            data, pieces, final = b"".join(pieces), [chunk[cut:]], False
        else:
            data, pieces, final = b"".join(pieces), [], True
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            at = line + _line_breaks(data[: exc.start].decode("utf-8"))
            raise ValueError(f"{path}, line {at}: not UTF-8 text (byte {data[exc.start]:#04x})") from None
        if first and text.startswith("\ufeff"):
            text = text[1:]
        first = False
        if "\x00" in text:
            at = line + _line_breaks(text[: text.index("\x00")])
            raise ValueError(f"{path}, line {at}: contains NUL bytes; not a CSV text file")
        yield line, text, final
        if final:
            return
        line += _line_breaks(text)


class _Records:
    """The csv records of one block of text: ``(line, cells)`` for each record that is not blank.

    Iterate once. The last record is held back until the block ends: if it ends inside
    a quoted field and the file goes on, it continues in the next block (`pending`, its
    line and text); at the end of the file that is an unterminated quote. Errors are
    not raised but kept in `error`, after every record before them has been yielded,
    so that the caller reports the first problem of the file, whichever it is.
    """

    def __init__(self, text: str, line: int, path: Any, final: bool, column: Any) -> None:
        self.text, self.line, self.path, self.final, self.column = text, line, path, final, column
        self.pending: tuple[int, str] | None = None
        self.error: str | None = None
        self.end = 0  # characters of `text` read up to the end of the last record yielded
        self.next_line = line  # the line after it

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        position = 0

        def lines() -> Iterator[str]:
            nonlocal position
            for text_line in io.StringIO(self.text, newline=""):
                position += len(text_line)
                yield text_line

        reader = csv.reader(lines())
        start, start_position = self.line, 0
        held: tuple[int, list[str], int] | None = None
        try:
            for cells in reader:
                if held is not None:
                    yield from self._emit(held, start_position, start)
                held = (start, cells, start_position)
                start, start_position = self.line + reader.line_num, position
        except csv.Error as exc:
            if held is not None:
                yield from self._emit(held, start_position, start)
            self.error = self._malformed(exc, start, start_position)
            return
        if held is None:
            return
        line, cells, offset = held
        tail = self.text[offset:]
        if '"' in tail and _quote_left_open(tail):
            if self.final:
                opened = line + sum(_line_breaks(cell) for cell in cells[:-1])
                self.error = (f"{self.path}, line {opened}, column {self.column(len(cells) - 1)}: "
                              "unterminated quote: this field's opening quote is never closed")
            else:
                self.pending = (line, tail)
            return
        yield from self._emit(held, len(self.text), start)

    def _emit(self, record: tuple[int, list[str], int], end: int, next_line: int) -> Iterator[tuple[int, list[str]]]:
        self.end, self.next_line = end, next_line
        line, cells, _ = record
        if any(cell.strip() for cell in cells):
            yield line, cells

    def _malformed(self, exc: csv.Error, line: int, offset: int) -> str:
        message = f"{self.path}, line {line}: malformed CSV ({exc})"
        first_line = next(iter(io.StringIO(self.text[offset:], newline="")), "")
        if '"' in first_line and _quote_left_open(first_line):
            cells = next(csv.reader([first_line]), [""])
            message += f"; the quote opening column {self.column(len(cells) - 1)} is never closed"
        return message


def _quote_left_open(text: str) -> bool:
    """Whether the csv module ends `text` inside a quoted field (its lenient mode reads one to the end).

    Closing the quote changes nothing then, and changes the records of any other text:
    after a line end it starts a record, in an unquoted field it is a character, after
    a closing quote it doubles it.
    """
    try:
        closed = list(csv.reader(io.StringIO(text + '"\n', newline="")))
    except csv.Error:  # the field reached the size limit: it was open
        return True
    return closed == list(csv.reader(io.StringIO(text, newline="")))


class _Rows:
    """The rows read so far: ``X (capacity, f)`` and labels, grown in place as blocks arrive."""

    def __init__(self, width: int, dtype: Any, labels: bool) -> None:
        self.width, self.dtype, self.n = width, dtype, 0
        self.requested = 0  # rows of the latest allocation, for an out-of-memory message
        self.X = _allocate((0, width), dtype)
        self.y = _allocate(0, np.int64) if labels else None

    def add(self, X: np.ndarray, y: np.ndarray | None, estimate: int) -> None:
        end = self.n + len(X)
        if end > len(self.X):
            # a guess from the file's size first, then 25% more at a time: realloc moves big arrays by remapping
            self.requested = max(end, estimate, int(len(self.X) * 1.25))
            self._resize(self.requested)
        self.X[self.n : end] = X
        if self.y is not None:
            self.y[self.n : end] = y
        self.n = end

    def widen(self) -> None:
        """Switch to float64 (a value turned out not to be exact in float32)."""
        self.requested = len(self.X)
        wider = _allocate(self.X.shape, np.float64)
        wider[: self.n] = self.X[: self.n]
        self.X, self.dtype = wider, np.float64

    def finish(self) -> tuple[np.ndarray, np.ndarray | None]:
        self._resize(self.n)
        return self.X, self.y

    def _resize(self, rows: int) -> None:
        # refcheck=False: these arrays have no views until `finish` returns them
        self.X.resize((rows, self.width), refcheck=False)
        if self.y is not None:
            self.y.resize(rows, refcheck=False)


def _allocate(shape: Any, dtype: Any) -> np.ndarray:
    return np.empty(shape, dtype=dtype)


class _CsvReader:
    """One `load_csv` call: the header, then every block through the fast or the careful path."""

    def __init__(self, path: Any, target: str | int | None, dtype: Any, size: int) -> None:
        self.path, self.target, self.size = path, target, size
        self.auto = dtype == "auto"
        self.dtype = np.float32 if self.auto else dtype
        self.header: list[str] | None = None
        self.hint = ""
        self.bytes_read = 0
        self.labels: dict[str, int] = {}  # label -> id in order of first appearance
        self.integers = True  # try numpy's integer parser first: several times faster than its float parser
        self.rows: _Rows | None = None

    # ---------------------------------------------------------------- driving

    def read(self, file: Any) -> Dataset:
        pending: tuple[int, str] | None = None
        for line, text, final in _text_blocks(file, self.path):
            self.bytes_read += len(text)
            if pending is not None:
                (line, carried), pending = pending, None
                text = carried + text
            if self.header is None:
                records = _Records(text, line, self.path, final, lambda i: f"{i + 1}")
                for _, cells in records:
                    self._set_header(cells)
                    break
                if records.error:
                    raise ValueError(records.error)
                if self.header is None:
                    pending = records.pending
                    continue
                line, text = records.next_line, text[records.end :]
            try:
                pending = self._block(text, line, final)
            except ValueError as exc:
                raise ValueError(f"{exc}{self.hint}") from None
        if self.header is None:
            raise ValueError(f"{self.path}: empty file (expected a header row and data rows)")
        if self.rows is None or self.rows.n == 0:
            raise ValueError(f"{self.path}: no data rows after the header{self.hint}")
        return self._dataset()

    def _set_header(self, cells: list[str]) -> None:
        self.header = header = [name.strip() for name in cells]
        self.hint = _separator_hint(header)
        try:
            self.target_index = self._target_index()
        except ValueError as exc:
            raise ValueError(f"{exc}{self.hint}") from None
        self.features = [i for i in range(len(header)) if i != self.target_index]
        if not self.features:
            raise ValueError(
                f"{self.path}: no feature columns besides the target {header[self.target_index]!r}{self.hint}"
            )
        self.rows = _Rows(len(self.features), self.dtype, self.target_index is not None)
        # numpy's parser reads the label column through this: each label becomes its id of first appearance
        self.converters = None if self.target_index is None else {self.target_index: self._label_id}

    def _label_id(self, text: str) -> int:
        if len(text) > csv.field_size_limit():
            raise ValueError("a field longer than the csv module takes")  # sends the block to the csv module's error
        return self.labels.setdefault(text.strip(), len(self.labels))

    def _target_index(self) -> int | None:
        header, target = self.header, self.target
        if target is None:
            return None
        if isinstance(target, int) and not isinstance(target, bool):
            if not -len(header) <= target < len(header):
                raise ValueError(f"{self.path}: no column {target}; the file has {len(header)} columns")
            return target % len(header)
        if target in header:
            return header.index(target)
        raise ValueError(f"{self.path}: no column {target!r}; the columns are {', '.join(header)}")

    def _column(self, index: int) -> str:
        return repr(self.header[index]) if index < len(self.header) else f"{index + 1}"

    def _block(self, text: str, line: int, final: bool) -> tuple[int, str] | None:
        """Read one block's rows; returns a record left unfinished at its end, to carry into the next block."""
        if not text.strip():
            return None
        if '"' not in text:  # quoting is the csv module's to read: numpy's parser would keep the quotes
            parsed = self._fast(text)
            if parsed is not None:
                self._store(*parsed)
                return None
        records = _Records(text, line, self.path, final, self._column)
        batch: list[tuple[int, list[str]]] = []
        rows_per_batch = max(1, _CAREFUL_CELLS // len(self.header))
        for record in records:
            batch.append(record)
            if len(batch) == rows_per_batch:
                self._store(*self._careful(batch))
                batch = []
        if batch:
            self._store(*self._careful(batch))
        if records.error:
            raise ValueError(records.error)
        return records.pending

    # ---------------------------------------------------------------- the two parsers

    def _fast(self, text: str) -> tuple[np.ndarray, np.ndarray | None] | None:
        """Features and label ids of a block through numpy's parser; None when it refuses the block
        or a value is not finite, which sends the block to `_careful`, to be read or refused exactly."""
        # "-0" would come back as +0 from the integer parser: only the float parser keeps its sign
        if self.integers and "-0" not in text:
            table = self._loadtxt(text, np.int64)
            if table is not None:
                return self._columns(table) if table.shape[1] == len(self.header) else None
            self.integers = False  # the file has fractions (or worse): stop trying integers first
        table = self._loadtxt(text, np.float64)
        if table is None or table.shape[1] != len(self.header):
            return None
        features, labels = self._columns(table)
        return (features, labels) if np.isfinite(features).all() else None

    def _loadtxt(self, text: str, kind: Any) -> np.ndarray | None:
        with warnings.catch_warnings():
            # numpy before 2.3 reads "2.5" or "nan" as an integer by way of a float, with only a warning
            warnings.simplefilter("error", DeprecationWarning)
            try:
                return np.loadtxt(
                    io.StringIO(text), delimiter=",", comments=None, quotechar=None, dtype=kind, ndmin=2,
                    converters=self.converters,
                )
            except (ValueError, DeprecationWarning):
                return None

    def _columns(self, table: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The feature columns (a view when the label is the first or last column) and the label ids."""
        t = self.target_index
        if t is None:
            return table, None
        if t in (0, table.shape[1] - 1):
            features = table[:, 1:] if t == 0 else table[:, :-1]
        else:
            features = table[:, self.features]
        return features, table[:, t].astype(np.int64)

    def _careful(self, batch: list[tuple[int, list[str]]]) -> tuple[np.ndarray, np.ndarray | None]:
        """Features and label ids of csv-module records, or the exact error of the first bad one."""
        width = len(self.header)
        ragged = next((k for k, (_, cells) in enumerate(batch) if len(cells) != width), None)
        if ragged is not None:
            if ragged:
                self._careful(batch[:ragged])  # a bad value before the ragged row is the first problem
            line, cells = batch[ragged]
            raise ValueError(f"{self.path}, line {line}: expected {width} values like the header, got {len(cells)}")
        pick = self.features
        try:
            values = map(float, (cells[c] for _, cells in batch for c in pick))
            features = np.fromiter(values, dtype=np.float64, count=len(batch) * len(pick)).reshape(-1, len(pick))
        except ValueError:
            features = None
        if features is None or not np.isfinite(features).all():
            for line, cells in batch:  # slow, exact: the first bad cell's line, column and text
                for c in pick:
                    _number(cells[c], self.path, line, self.header[c])
        t = self.target_index
        if t is None:
            return features, None
        ids = [self.labels.setdefault(cells[t].strip(), len(self.labels)) for _, cells in batch]
        return features, np.array(ids, dtype=np.int64)

    # ---------------------------------------------------------------- the result

    def _store(self, features: np.ndarray, labels: np.ndarray | None) -> None:
        if features.dtype.kind == "i":
            big = max(int(features.max()), -int(features.min())) > _EXACT_IN_FLOAT32
            if big and self.rows.dtype == np.float32:
                if self.auto:
                    self.rows.widen()
                else:  # round as float() and then to float32, as the csv-module path does
                    features = features.astype(np.float64)
        elif self.auto and self.rows.dtype == np.float32 and not np.array_equal(features.astype(np.float32), features):
            self.rows.widen()
        estimate = 0
        if self.size and self.bytes_read:
            # rows so far scaled by the share of the file read, 2% over: usually one allocation in all
            estimate = int((self.rows.n + len(features)) * self.size / self.bytes_read * 1.02) + 16
        self.rows.add(features, labels, estimate)

    def _dataset(self) -> Dataset:
        X, first_seen = self.rows.finish()
        if first_seen is None:
            return Dataset(X, None, self.header, [])
        names = list(self.labels)
        present = np.flatnonzero(np.bincount(first_seen, minlength=len(names)))  # a refused block may have added some
        ordered = sorted(present, key=lambda i: _label_sort_key(names[i]))
        ids = np.zeros(len(names), dtype=np.int64)
        ids[ordered] = np.arange(len(ordered))
        y = ids[first_seen]
        return Dataset(X, y, [self.header[i] for i in self.features], [names[i] for i in ordered])

    def memory_detail(self) -> str:
        """What was being allocated when memory ran out, for the error message."""
        if self.rows is None or not self.rows.requested:
            return ""
        rows, dtype = self.rows.requested, np.dtype(self.rows.dtype)
        need = rows * self.rows.width * dtype.itemsize
        return f" (about {rows:,} rows x {self.rows.width} features, {_megabytes(need)} as {dtype.name})"


def _separator_hint(header: list[str]) -> str:
    """A hint for a file separated by something other than commas: its header reads as one column."""
    if len(header) == 1:
        for separator, name in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe")):
            if separator in header[0]:
                return f" (the file looks {name}-separated; load_csv reads commas between values)"
    return ""


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
    X: Any, y: Any, test_size: float = 0.2, seed: int | None = None, stratify: bool = True, inplace: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle and split into ``X_train, X_test, y_train, y_test``.

    With `stratify`, each class keeps its share in both parts (iris: 40/10 per species).

    Args:
        X: samples as rows, ``(n, ...)``.
        y: labels ``(n,)``.
        test_size: the share of samples in the test part, between 0 and 1.
        seed: seeds the shuffle.
        stratify: keep each class's share in both parts.
        inplace: reorder the rows of `X` and `y` in place (when they are numpy arrays) and
            return views of them: ``X_train`` is ``X[:n_train]``, ``X_test`` is ``X[n_train:]``.
            The same four arrays as without it, and no copy of the data: for data sets
            that fill a good part of the memory.
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
    if not inplace:
        return X[train], X[test], y[train], y[test]
    order = np.concatenate([train, test])
    _permute_rows(X, order)
    y[...] = y[order]  # labels are small next to X: a plain copy
    return X[: len(train)], X[len(train) :], y[: len(train)], y[len(train) :]


_PERMUTE_BLOCK_BYTES = 1 << 23


def _permute_rows(X: np.ndarray, order: np.ndarray) -> None:
    """``X[...] = X[order]`` in place, with a few blocks of rows of extra memory instead of a copy of X.

    Rows are placed a block of destinations at a time. The rows wanted there are copied
    out first; the block's other rows, not wanted there, move into the slots those
    leave behind (all after the block). `where` and `held` follow every row's moves.
    """
    n = len(order)
    block = max(1, _PERMUTE_BLOCK_BYTES // max(1, X[:1].nbytes))
    index = np.int32 if n < 2**31 else np.int64
    where = np.arange(n, dtype=index)  # where[r]: the slot now holding original row r
    held = np.arange(n, dtype=index)  # held[s]: the original row now in slot s
    for start in range(0, n, block):
        stop = min(start + block, n)
        wanted = order[start:stop]
        sources = where[wanted]  # all >= start: the slots before hold their final rows
        rows = X[sources]
        inside = sources < stop
        staying = np.zeros(stop - start, dtype=bool)
        staying[sources[inside] - start] = True
        displaced = start + np.flatnonzero(~staying)  # slots of this block whose rows belong elsewhere
        vacated = sources[~inside]  # as many slots after the block, freed by the wanted rows
        X[vacated] = X[displaced]
        moved = held[displaced]
        held[vacated] = moved
        where[moved] = vacated
        X[start:stop] = rows
        held[start:stop] = wanted
        where[wanted] = np.arange(start, stop, dtype=index)


def standardize(X_train: Any, *others: Any) -> tuple[np.ndarray, ...]:
    """Scale features to mean 0 and standard deviation 1 using the training data's statistics only.

    Returns the standardized `X_train` followed by each of `others` scaled the same
    way (constant features are only centred): new arrays, float32 for float32 input
    (the statistics are computed in float64 all the same), else float64. Each costs
    one array of its size; the statistics are summed a block of rows at a time.
    """
    X_train = _floating(X_train)
    mean = X_train.sum(axis=0, dtype=np.float64) / max(len(X_train), 1)
    squares = np.zeros_like(mean)
    rows = max(1, (1 << 23) // max(1, X_train[:1].nbytes * 2))
    for start in range(0, len(X_train), rows):
        centred = X_train[start : start + rows] - mean  # float64: no float32 rounding in the sum of squares
        squares += np.square(centred, out=centred).sum(axis=0)
    scale = np.sqrt(squares / max(len(X_train), 1))
    scale[scale == 0] = 1.0
    results = []
    for X in (X_train, *others):
        X = _floating(X)
        result = np.subtract(X, mean.astype(X.dtype), dtype=X.dtype)
        result /= scale.astype(X.dtype)
        results.append(result)
    return tuple(results)


def _floating(X: Any) -> np.ndarray:
    X = np.asarray(X)
    return X if X.dtype in (np.float32, np.float64) else X.astype(np.float64)


__all__ = ["Dataset", "load_csv", "load_iris", "make_seed_data", "standardize", "train_test_split"]
