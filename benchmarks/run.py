"""Benchmark tinygrad_softmax against hand-written numpy and its peers (issue 8).

    python benchmarks/run.py            # every workload, ~3 minutes
    python benchmarks/run.py --quick    # fewer, shorter rounds, ~30 seconds
    python benchmarks/run.py --only W1,W4 --json results.json

Peers run interleaved in one process: each round times one block of steps of every
peer in turn (rotating who goes first), and the table reports the median over rounds,
the interquartile spread and the ratio to hand-written numpy (the median of the
per-round ratios). W3 also reports the peak memory of one step (tracemalloc;
numpy-based peers only).

BLAS, OpenMP and torch are pinned to one thread unless --threads says otherwise: on a
shared 2-core machine a multithreaded BLAS swings by 10x whenever another process runs.
Optional peers (PyTorch, HIPS autograd, threadpoolctl for the BLAS report) are skipped,
with a note, when not installed.
"""

from __future__ import annotations

import argparse
import os
import sys


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds (~30 s)")
    parser.add_argument("--only", default="W1,W2,W3,W3-f32,W4,W5", help="comma-separated workloads (default: all)")
    parser.add_argument("--baseline", metavar="DIR", help="also run the tinygrad_softmax package in DIR (another "
                        "checkout's, e.g. `git worktree add /tmp/v01 <commit>` then /tmp/v01/tinygrad_softmax)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS / OpenMP / torch threads (default 1)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds per workload (default 15 quick, 21 full)")
    compile_group = parser.add_mutually_exclusive_group()
    compile_group.add_argument("--compile", dest="compile", action="store_true", default=None,
                               help="include torch.compile (default: on, off with --quick)")
    compile_group.add_argument("--no-compile", dest="compile", action="store_false")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    return parser.parse_args(argv)


ARGS = _parse_args(None if __name__ == "__main__" else [])

# Thread counts are read when the libraries load: set them before importing numpy.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = str(ARGS.threads)

import gc  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import workloads  # noqa: E402

if workloads.optional("tinygrad_softmax") is None:  # not installed: use the checkout this script is in
    sys.path.insert(1, os.path.dirname(HERE))

# The targets of issues 8 and 12, as ratios to hand-written numpy: (workload, peer, limit, what).
TARGETS = [
    ("W1", "tinygrad_softmax", 4.0, "time"),
    ("W1", "tinygrad_softmax fused", 2.5, "time"),
    ("W2", "tinygrad_softmax", 1.5, "time"),
    ("W2", "tinygrad_softmax fused", 1.15, "time"),
    ("W3", "tinygrad_softmax", 1.1, "time"),
    ("W3", "tinygrad_softmax fused", 1.1, "time"),
    ("W3-f32", "tinygrad_softmax", 1.1, "time"),
    ("W3-f32", "tinygrad_softmax fused", 1.1, "time"),
    ("W4", "tinygrad_softmax", 2.7, "time"),
    ("W5", "tinygrad_softmax", 3.5, "time"),
    ("W3", "tinygrad_softmax", 1.3, "peak memory"),
    ("W3", "tinygrad_softmax fused", 1.3, "peak memory"),
    ("W3-f32", "tinygrad_softmax", 1.3, "peak memory"),
    ("W3-f32", "tinygrad_softmax fused", 1.3, "peak memory"),
]

# ------------------------------------------------------------------ the machine


def pin_threads(threads: int) -> list[str]:
    """Pin every thread pool we can reach; return notes on what could not be pinned."""
    notes = []
    torch = workloads.optional("torch")
    if torch is not None:
        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(threads)
        except RuntimeError:  # only settable before torch's first parallel work
            pass
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        notes.append("threadpoolctl not installed: BLAS threads pinned by environment variables only")
    else:
        threadpool_limits(threads)
    return notes


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_average": [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "threads_requested": ARGS.threads,
        "env": {k: os.environ.get(k, "unset") for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")},
    }
    try:
        import tinygrad_softmax

        info["tinygrad_softmax"] = tinygrad_softmax.__version__
    except ImportError:
        info["tinygrad_softmax"] = "not installed"
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        info["blas"] = "unknown (pip install threadpoolctl to report the BLAS library, kernel and threads)"
    else:
        info["blas"] = [
            f"{p.get('internal_api')} {p.get('version')} kernel={p.get('architecture', '?')} "
            f"threads={p.get('num_threads')} ({os.path.basename(p.get('filepath', ''))})"
            for p in threadpool_info()
        ]
    torch = workloads.optional("torch")
    info["torch"] = f"{torch.__version__}, {torch.get_num_threads()} thread(s)" if torch else "not installed"
    hips = workloads.optional("autograd")
    info["hips_autograd"] = getattr(hips, "__version__", "installed") if hips else "not installed"
    if not info["hips_autograd"] or info["hips_autograd"] == "installed":
        try:
            from importlib.metadata import version

            info["hips_autograd"] = version("autograd")
        except Exception:
            pass
    return info


def machine_line(info: dict[str, Any]) -> str:
    blas = info["blas"] if isinstance(info["blas"], str) else "; ".join(info["blas"])
    env = ", ".join(f"{k}={v}" for k, v in info["env"].items())
    return (
        f"machine: {info['cpu']}, {info['usable_cores']} cores, Python {info['python']}, numpy {info['numpy']}, "
        f"BLAS: {blas}, torch {info['torch']}, autograd {info['hips_autograd']}, {env}"
    )


# ------------------------------------------------------------------- measuring


def time_block(step: Any, count: int) -> float:
    """Seconds per step over `count` consecutive steps."""
    start = time.perf_counter()
    for _ in range(count):
        step()
    return (time.perf_counter() - start) / count


def peak_memory(step: Any) -> int:
    """Bytes allocated at the peak of one step, above what was allocated before it."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        step()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def cross_check(work: workloads.Workload) -> list[str]:
    """Run one step of every peer from the same start; drop (with a note) any that disagrees with numpy."""
    results = []
    for peer in work.peers:
        peer.step()
        results.append(np.array(peer.result(), dtype=np.float64))
    reference = results[0]
    tolerance = 1e-4 if work.data.get("W", np.zeros(1, np.float64)).dtype == np.float32 else 1e-9
    notes, kept = [], []
    for peer, result in zip(work.peers, results):
        if np.allclose(result, reference, rtol=tolerance, atol=tolerance):
            kept.append(peer)
        else:
            error = np.max(np.abs(result - reference))
            notes.append(f"{peer.name}: dropped, its step disagrees with numpy's (max abs diff {error:.3g})")
    work.peers = kept
    return notes


def measure(work: workloads.Workload, rounds: int, block_seconds: float) -> list[dict[str, Any]]:
    counts = []
    for peer in work.peers:
        per_step = time_block(peer.step, 3)  # warm up caches and lazy initialisation
        per_step = time_block(peer.step, max(1, int(0.02 / max(per_step, 1e-9))))
        counts.append(max(1, round(block_seconds / per_step)))
    # Objects that exist now (torch's modules, torch.compile's caches, the data) leave the
    # collector's view: otherwise every peer's full collections scan torch's ~150,000
    # objects, which a 2,000-op graph triggers (W4 medians moved by 30%, spread +-60%).
    # Each peer's own objects are still collected, and that cost is measured.
    gc.collect()
    gc.freeze()
    samples: list[list[float]] = [[] for _ in work.peers]
    for r in range(rounds):
        for offset in range(len(work.peers)):  # rotate who goes first in each round
            index = (r + offset) % len(work.peers)
            samples[index].append(time_block(work.peers[index].step, counts[index]) / work.per)
    rows = []
    for peer, times, count in zip(work.peers, samples, counts):
        q1, _, q3 = statistics.quantiles(times, n=4, method="inclusive") if len(times) > 1 else times * 3
        rows.append({
            "peer": peer.name,
            "median_s": statistics.median(times),
            "iqr_s": q3 - q1,
            "min_s": min(times),
            "steps_per_block": count,
            "samples": len(times),
        })
    # The ratio is the median of per-round ratios: a peer's block and numpy's block of the
    # same round ran seconds apart, so load from other processes mostly cancels out.
    for row, times in zip(rows, samples):
        row["ratio"] = statistics.median(t / base for t, base in zip(times, samples[0]))
    if work.key.startswith("W3"):
        base_peak = None
        for peer, row in zip(work.peers, rows):
            if peer.numpy_memory:
                row["peak_bytes"] = peak_memory(peer.step)
                base_peak = base_peak or row["peak_bytes"]
                row["peak_ratio"] = row["peak_bytes"] / base_peak
    return rows


# ------------------------------------------------------------------- reporting


def format_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} us" if seconds < 1e-5 else f"{seconds * 1e6:.1f} us"
    return f"{seconds * 1e3:.2f} ms"


def table(work: workloads.Workload, rows: list[dict[str, Any]], info: dict[str, Any]) -> str:
    memory = work.key.startswith("W3")
    lines = [f"### {work.title}", "", machine_line(info), ""]
    header = f"| peer | median per {work.unit} | spread (IQR) | vs numpy |"
    rule = "|---|---:|---:|---:|"
    if memory:
        header += " peak memory | vs numpy |"
        rule += "---:|---:|"
    lines += [header, rule]
    for row in rows:
        line = (
            f"| {row['peer']} | {format_time(row['median_s'])} | "
            f"±{100 * row['iqr_s'] / 2 / row['median_s']:.1f}% | {row['ratio']:.2f}x |"
        )
        if memory:
            if "peak_bytes" in row:
                line += f" {row['peak_bytes'] / 2**20:.2f} MiB | {row['peak_ratio']:.2f}x |"
            else:
                line += " n/a (not numpy) | |"
        lines.append(line)
    for note in work.skipped:
        lines.append(f"\nskipped: {note}")
    return "\n".join(lines)


def summary(results: list[tuple[workloads.Workload, list[dict[str, Any]]]]) -> str:
    peers: list[str] = []
    for _, rows in results:
        peers += [r["peer"] for r in rows if r["peer"] not in peers]
    lines = ["| workload | " + " | ".join(peers) + " |", "|---|" + "---|" * len(peers)]
    for work, rows in results:
        by_peer = {r["peer"]: r for r in rows}
        cells = []
        for peer in peers:
            row = by_peer.get(peer)
            if row is None:
                cells.append("-")
            elif row is rows[0]:
                cells.append(f"{format_time(row['median_s'])} (1.0x)")
            else:
                cells.append(f"{row['ratio']:.2f}x")
        lines.append(f"| {work.key} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def target_report(results: list[tuple[workloads.Workload, list[dict[str, Any]]]]) -> str:
    found = {(work.key, row["peer"]): row for work, rows in results for row in rows}
    lines = ["| workload | peer | measure | ratio to numpy | target | |", "|---|---|---|---:|---:|---|"]
    for key, peer, limit, what in TARGETS:
        row = found.get((key, peer))
        if row is None:
            continue
        ratio = row["ratio"] if what == "time" else row.get("peak_ratio")
        if ratio is None:
            continue
        verdict = "met" if ratio <= limit else "not met"
        lines.append(f"| {key} | {peer} | {what} | {ratio:.2f}x | <= {limit}x | {verdict} |")
    return "\n".join(lines)


def load_baseline(directory: str) -> str:
    """Import the tinygrad_softmax package in `directory` as `tinygrad_softmax_baseline`, beside this one.

    A copy under the new name, with the package's own module names ("tinygrad_softmax.ops"...)
    renamed in its source, so that it behaves as it does when installed.
    """
    import shutil
    import tempfile
    from pathlib import Path

    source = Path(directory)
    if not (source / "__init__.py").exists():
        raise SystemExit(f"--baseline {directory}: not a package folder (no __init__.py)")
    target = Path(tempfile.mkdtemp(prefix="tgs-baseline-")) / "tinygrad_softmax_baseline"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    for path in target.rglob("*.py"):
        path.write_text(path.read_text().replace("tinygrad_softmax.", "tinygrad_softmax_baseline."))
    sys.path.insert(0, str(target.parent))
    module = importlib.import_module("tinygrad_softmax_baseline")
    print(f"- baseline: {source} (version {getattr(module, '__version__', '?')})")
    return "tinygrad_softmax_baseline"


def main() -> int:
    quick = ARGS.quick
    rounds = ARGS.rounds or (15 if quick else 21)
    block_seconds = 0.04 if quick else 0.06
    notes = pin_threads(ARGS.threads)
    compile_torch = ARGS.compile if ARGS.compile is not None else not quick
    compile_note = "" if compile_torch else "off (its first compile takes ~20 s here; pass --compile)"
    if compile_torch and workloads.optional("torch") is None:
        compile_torch = False
    selected = [k.strip() for k in ARGS.only.split(",") if k.strip()]
    unknown = sorted(set(selected) - {"W1", "W2", "W3", "W3-f32", "W4", "W5"})
    if unknown:
        print(f"unknown workload(s) {unknown}; choose from W1, W2, W3, W3-f32, W4, W5", file=sys.stderr)
        return 2
    baseline = load_baseline(ARGS.baseline) if ARGS.baseline else None
    started = time.perf_counter()
    info = machine_info()
    print(f"# tinygrad_softmax benchmarks ({'quick' if quick else 'full'}: {rounds} interleaved rounds)\n")
    for key, value in info.items():
        print(f"- {key}: {value}")
    for note in notes:
        print(f"- note: {note}")
    print()
    results = []
    for work in workloads.build(selected, compile_torch, compile_note, baseline):
        work.skipped += cross_check(work)
        rows = measure(work, rounds, block_seconds)
        results.append((work, rows))
        print(table(work, rows, info), end="\n\n", flush=True)
    print("### Summary: median per step (W4, W5: per op), ratio to hand-written numpy\n")
    print(machine_line(info), end="\n\n")
    print(summary(results))
    print("\n### Targets (issues 8 and 12)\n")
    print(target_report(results))
    info["load_average_end"] = [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None
    print(f"\nload average at start {info['load_average']}, at end {info['load_average_end']}; "
          f"total {time.perf_counter() - started:.0f} s")
    if ARGS.json:
        payload = {"machine": info, "quick": quick, "rounds": rounds,
                   "workloads": [{"key": w.key, "title": w.title, "skipped": w.skipped, "rows": r}
                                 for w, r in results]}
        with open(ARGS.json, "w") as file:
            json.dump(payload, file, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
