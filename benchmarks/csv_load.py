"""Load an MNIST-shaped CSV and train on it: wall time and peak memory, next to the file's size.

    python benchmarks/csv_load.py                  # 60,000 rows x (label + 784 pixels), ~110 MB; 3 runs each
    python benchmarks/csv_load.py --rows 6000      # a quick look (~11 MB)
    python benchmarks/csv_load.py --src /tmp/old   # measure another checkout's tinygrad_softmax (before/after)
    python benchmarks/csv_load.py --tracemalloc    # also the peak of traced (numpy and Python) allocations

The file is the shape of the MNIST CSVs courses download from Kaggle: a header
``label,pixel0,...,pixel783``, then one image per line, integers 0-255, about 19%
of the pixels inked (as in MNIST), drawn from a per-digit prototype so that the
classifier has something to learn. It is generated, seeded, into a temporary folder.

Every measurement runs in a fresh subprocess, so each peak is its own:

* ``load_csv``: ``load_csv(path, target="label")`` (float64, the default) and, when
  the checkout has the parameter, ``dtype="auto"`` (float32 when exact, what the CLI uses);
* ``train``: ``tinygrad-softmax train --data FILE --target label --epochs 1 --quiet``;
* ``python + import``: the interpreter with numpy and tinygrad_softmax imported, for scale.

Peak memory is the child's maximum resident set size (``os.wait4``'s ``ru_maxrss``, taken
by a small launcher process: Linux counts a parent's peak into its exec'd child's),
interpreter included; the table reports the median over runs and its ratio to the file
size. BLAS is pinned to one thread (``--threads``) as in ``benchmarks/run.py``: the
machine is shared and a multithreaded BLAS swings with the neighbours' load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PIXELS = 784
INKED = 0.19  # the share of nonzero pixels in MNIST

_LOAD_CHILD = r"""
import inspect, json, resource, sys, time
trace = sys.argv[3] == "1"
if trace:
    import tracemalloc
from tinygrad_softmax.datasets import load_csv
options = {} if sys.argv[2] == "default" else {"dtype": sys.argv[2]}
if options and "dtype" not in inspect.signature(load_csv).parameters:
    print(json.dumps({"skipped": "this checkout's load_csv has no dtype parameter"}))
    sys.exit(0)
if trace:
    tracemalloc.start()
start = time.perf_counter()
data = load_csv(sys.argv[1], target="label", **options)
seconds = time.perf_counter() - start
traced = tracemalloc.get_traced_memory()[1] if trace else None
print(json.dumps({"seconds": seconds, "traced": traced, "shape": list(data.X.shape), "dtype": str(data.X.dtype),
                  "classes": len(data.class_names)}))
"""

_IMPORT_CHILD = "import numpy, tinygrad_softmax.cli, tinygrad_softmax.datasets"

# Linux folds the parent's peak RSS into a child's ru_maxrss when the child execs, so a
# child of this (large) process would report at least this process's peak. A small
# launcher process starts each measured command instead and reports its peak.
_LAUNCHER = r"""
import json, os, subprocess, sys, time
start = time.perf_counter()
process = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(process.pid, 0)
seconds = time.perf_counter() - start
with open(sys.argv[1], "w") as report:
    json.dump({"seconds": seconds, "maxrss_kib": usage.ru_maxrss, "code": os.waitstatus_to_exitcode(status)}, report)
"""


def write_mnist_like(path: Path, rows: int, seed: int = 0, chunk: int = 4096) -> None:
    """Write ``rows`` MNIST-shaped lines (label first, then 784 integers 0-255) under a Kaggle header.

    The text is assembled with numpy, a fixed-width slot of 3 digits and a separator per
    value with the unused digit bytes masked out, so 110 MB take seconds, not minutes.
    """
    rng = np.random.default_rng(seed)
    # ink probability per digit and pixel: mean INKED, a few pixels nearly always on
    prototypes = rng.random((10, PIXELS)) ** 3 * (INKED / 0.25)
    with open(path, "wb") as file:
        file.write(("label," + ",".join(f"pixel{i}" for i in range(PIXELS)) + "\n").encode())
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            labels = rng.integers(0, 10, size=n)
            inked = rng.random((n, PIXELS)) < prototypes[labels]
            values = np.zeros((n, PIXELS + 1), dtype=np.int64)
            values[:, 0] = labels
            values[:, 1:][inked] = rng.integers(1, 256, size=int(inked.sum()))
            file.write(_format_rows(values))


def _format_rows(values: np.ndarray) -> bytes:
    """CSV bytes of a ``(n, m)`` array of integers 0..999: commas between values, a newline after each row."""
    digits = 1 + (values >= 10) + (values >= 100)
    hundreds, tens, ones = values // 100, values // 10 % 10, values % 10
    slots = np.empty((*values.shape, 4), dtype=np.uint8)
    slots[..., 0] = np.select([digits == 3, digits == 2], [hundreds, tens], ones) + ord("0")
    slots[..., 1] = np.where(digits == 3, tens, ones) + ord("0")
    slots[..., 2] = ones + ord("0")
    slots[..., 3] = ord(",")
    slots[:, -1, 3] = ord("\n")
    used = np.ones(slots.shape, dtype=bool)
    used[..., 1] = digits >= 2
    used[..., 2] = digits == 3
    return slots[used].tobytes()


def _run_child(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run a command through the launcher; its wall time (s), peak RSS (MB) and stdout. Exits on a failure."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        done = subprocess.run([sys.executable, "-c", _LAUNCHER, str(report), *argv], env=env, capture_output=True,
                              text=True)  # fmt: skip
        measured = json.loads(report.read_text()) if report.exists() else {"code": done.returncode}
    if done.returncode != 0 or measured["code"] != 0:
        raise SystemExit(f"{' '.join(argv[:4])}... failed with exit code {measured['code']}:\n{done.stderr}")
    return measured["seconds"], measured["maxrss_kib"] / 1024, done.stdout  # ru_maxrss is in KiB on Linux


def _environment(src: str | None, threads: int) -> dict[str, str]:
    env = dict(os.environ)
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[variable] = str(threads)
    if src:
        env["PYTHONPATH"] = os.pathsep.join([str(Path(src).resolve()), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=60_000, help="images in the file (default 60,000)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each measurement; the median is reported")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--src", help="a checkout whose tinygrad_softmax to measure (default: the installed one)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS / OpenMP threads (default 1)")
    parser.add_argument("--tracemalloc", action="store_true", help="one more load run under tracemalloc")
    parser.add_argument("--skip-train", action="store_true", help="measure load_csv only")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)

    env = _environment(args.src, args.threads)
    where = subprocess.run(
        [sys.executable, "-c", "import tinygrad_softmax; print(tinygrad_softmax.__file__)"],
        env=env, capture_output=True, text=True, check=True, cwd=tempfile.gettempdir(),
    ).stdout.strip()
    print(f"tinygrad_softmax from {where}")
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="csv_load_") as folder:
        path = Path(folder) / "mnist_like.csv"
        start = time.perf_counter()
        write_mnist_like(path, args.rows, seed=args.seed)
        size_mb = path.stat().st_size / 2**20
        took = time.perf_counter() - start
        print(f"wrote {args.rows:,} rows x {PIXELS + 1} columns, {size_mb:.1f} MB, in {took:.1f} s")

        python = [sys.executable]
        cases: dict[str, list[str]] = {
            "python + import": [*python, "-c", _IMPORT_CHILD],
            "load_csv (float64)": [*python, "-c", _LOAD_CHILD, str(path), "default", "0"],
            'load_csv (dtype="auto")': [*python, "-c", _LOAD_CHILD, str(path), "auto", "0"],
        }
        if not args.skip_train:
            cases["train --epochs 1"] = [
                *python, "-m", "tinygrad_softmax", "train", "--data", str(path), "--target", "label",
                "--epochs", "1", "--quiet",
            ]
        for name, command in cases.items():
            runs = []
            for _ in range(args.runs):
                seconds, peak_mb, stdout = _run_child(command, env)
                detail = json.loads(stdout) if "load_csv" in name else {}
                if "skipped" in detail:
                    break
                if "load_csv" in name:
                    seconds = detail["seconds"]  # the call itself, without the interpreter's start-up
                runs.append({"seconds": seconds, "peak_mb": peak_mb, "detail": detail, "stdout": stdout.strip()})
            if not runs:
                print(f"{name}: skipped ({detail['skipped']})")
                continue
            results[name] = {
                "seconds": statistics.median(r["seconds"] for r in runs),
                "peak_mb": statistics.median(r["peak_mb"] for r in runs),
                "runs": runs,
            }
            if args.tracemalloc and "load_csv" in name:
                option = "default" if "float64" in name else "auto"
                _, _, stdout = _run_child([*python, "-c", _LOAD_CHILD, str(path), option, "1"], env)
                results[name]["traced_mb"] = json.loads(stdout)["traced"] / 2**20

    print(f"\nfile: {size_mb:.1f} MB; medians of {args.runs} runs; peak = max RSS of the process\n")
    print(f"{'':26} {'time (s)':>9} {'peak (MB)':>10} {'peak / file':>12} {'traced (MB)':>12}")
    for name, result in results.items():
        traced = f"{result['traced_mb']:12.0f}" if "traced_mb" in result else f"{'':12}"
        ratio = result["peak_mb"] / size_mb
        print(f"{name:26} {result['seconds']:9.2f} {result['peak_mb']:10.0f} {ratio:11.2f}x {traced}")
    for name, result in results.items():
        last = result["runs"][-1]
        if last["detail"]:
            print(f"{name}: X {tuple(last['detail']['shape'])} {last['detail']['dtype']}, "
                  f"{last['detail']['classes']} classes")
        elif "train" in name:
            print(f"{name}: {' / '.join(last['stdout'].splitlines())}")
    if args.json:
        summary = {"file_mb": size_mb, "rows": args.rows, "source": where, "results": results}
        Path(args.json).write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
