"""PyTorch's own OpInfo sample inputs against our ops: values and gradients, torch and HIPS autograd as oracles.

The samples are generated at run time from the installed torch
(``torch.testing._internal.common_methods_invocations.op_db``, each OpInfo's
``sample_inputs("cpu", torch.float64, requires_grad=True)``, with ``torch.manual_seed(0)``
before each OpInfo so the values are the same on every run). tests/opinfo_map.py says how
each sample becomes a call of ours, and which equivalences that uses.

For every sample: the forward value (shape, dtype, values to rtol 1e-10) and the gradient
with respect to every tensor torch differentiates, contracted with a seeded random
cotangent: ``torch.autograd.grad(out, inputs, cotangent)`` against
``tinygrad_softmax.grad([out], inputs, [cotangent])``. Where autograd.numpy has the same
function, HIPS autograd's ``make_vjp`` on the same arrays is a second oracle
(``test_op_hips``). A sample using a feature ours has no equivalent for (``out=``, ``dtype=``,
``alpha=``, ...) is skipped and counted by reason; ``test_accounting`` prints the counts
(``pytest -rP``) and checks that every sample was either run or skipped with a reason.

Boundary choices (relu, abs and sqrt at 0, ties in maximum/minimum/max/amax, clamp at its
bounds) follow docs/api.md, which chose PyTorch's in each case: the torch comparison needs no
exception for them. HIPS differs at some of them (clip's bounds get 0 there), but these random
samples never sit on a boundary.

A sample that shows a bug of ours is listed in KNOWN_BUGS and checked on its own, as a strict
xfail (``test_known_bug``): it is visible in every run, and the test fails once the bug is fixed,
so that the entry is removed.
"""

from __future__ import annotations

import functools
import warnings
import zlib
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pytest
from opinfo_map import BY_ID, OPS, Call, Leaf, OpMap, Skip  # tests/ is on sys.path: pytest puts it there

import tinygrad_softmax as tg

torch = pytest.importorskip("torch")
try:
    from torch.testing._internal.common_methods_invocations import op_db
except Exception as error:  # e.g. ModuleNotFoundError: expecttest, which torch's test helpers need
    pytest.skip(
        f"torch.testing._internal cannot be imported ({type(error).__name__}: {error}); "
        "pip install expecttest",
        allow_module_level=True,
    )

try:
    import autograd
    import autograd.numpy as anp
except ImportError:  # the HIPS checks skip, test by test
    autograd = anp = None

OPINFOS = {(op.name, op.variant_test_name): op for op in op_db}
RTOL = {"value": 1e-10, "grad": 1e-9}

# (op id, sample index) -> the bug; each is run on its own by test_known_bug as a strict xfail
# (emptied when fixed: logsumexp of a 0-d tensor, logsumexp samples 0, 5, 10; clip with an array bound
# that broadcasts x larger, clamp_min/clamp_max samples 2, 6, 7, 8; both have tests in test_ops_edges.py)
KNOWN_BUGS: dict[tuple[str, int], str] = {}


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny ops on several threads of a busy machine spin; one thread is faster (as in test_nn_torch)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ---------------------------------------------------------------------------- the samples


@functools.cache
def torch_samples(key: tuple[str, str]) -> tuple:
    """The OpInfo's samples as (input, args, kwargs), seeded; () when this torch has no such OpInfo."""
    opinfo = OPINFOS.get(key)
    if opinfo is None:
        return ()
    torch.manual_seed(0)
    return tuple(
        (s.input, tuple(s.args), dict(s.kwargs)) for s in opinfo.sample_inputs("cpu", torch.float64, requires_grad=True)
    )


def describe(x) -> str:
    """A sample's structure in one line: tensors as their shapes (and dtype when not float64)."""
    if isinstance(x, torch.Tensor):
        dtype = "" if x.dtype == torch.float64 else f" {str(x.dtype).removeprefix('torch.')}"
        return f"T{tuple(x.shape)}{dtype}"
    if isinstance(x, (list, tuple)):
        inner = ", ".join(describe(i) for i in x)
        return f"[{inner}]" if isinstance(x, list) else f"({inner})"
    if isinstance(x, dict):
        return "{" + ", ".join(f"{k}={describe(v)}" for k, v in x.items()) + "}"
    return repr(x)


def to_leaves(structure, diff: list):
    """The sample with each torch tensor replaced by a Leaf; `diff` collects the differentiable ones."""
    if isinstance(structure, torch.Tensor):
        wants = structure.requires_grad and structure.dtype.is_floating_point
        leaf = Leaf(structure.detach().numpy().copy(), wants, len(diff) if wants else -1)
        if wants:
            diff.append(structure)
        return leaf
    if isinstance(structure, (list, tuple)):
        return type(structure)(to_leaves(item, diff) for item in structure)
    if isinstance(structure, dict):
        return {key: to_leaves(value, diff) for key, value in structure.items()}
    return structure


def resolve(structure, values: dict):
    """Leaf objects replaced: by values[index] for the differentiable ones, else by their arrays."""
    if isinstance(structure, Leaf):
        return values.get(structure.index, structure.array) if structure.index >= 0 else structure.array
    if isinstance(structure, (list, tuple)):
        return type(structure)(resolve(item, values) for item in structure)
    if isinstance(structure, dict):
        return {key: resolve(value, values) for key, value in structure.items()}
    return structure


# ---------------------------------------------------------------------------- comparing


def mismatch(ours, ref, what: str, rtol: float, integer=False) -> str | None:
    """Why `ours` is not `ref` (shape, dtype, values; nan where nan, inf where inf), or None."""
    ours, ref = np.asarray(ours), np.asarray(ref)
    if ours.shape != ref.shape:
        return f"{what}: shape {ours.shape}, expected {ref.shape}"
    if integer:
        if ours.dtype.kind not in "iu":
            return f"{what}: dtype {ours.dtype}, expected an integer dtype"
        if not np.array_equal(ours, ref):
            return f"{what}: {ours.ravel()[:8]} where expected {ref.ravel()[:8]}"
        return None
    if ours.dtype != ref.dtype:
        return f"{what}: dtype {ours.dtype}, expected {ref.dtype}"
    finite = ref[np.isfinite(ref)]
    atol = 1e-12 * (1.0 + (np.max(np.abs(finite)) if finite.size else 0.0))
    close = np.isclose(ours, ref, rtol=rtol, atol=atol, equal_nan=True)
    if close.all():
        return None
    worst = np.unravel_index(np.argmin(close), close.shape) if close.ndim else ()
    return (
        f"{what}: {np.count_nonzero(~close)} of {close.size} differ; "
        f"at {tuple(int(i) for i in worst)} ours {ours[worst]!r}, expected {ref[worst]!r}"
    )


@dataclass
class OpResult:
    generated: int = 0
    run: int = 0
    skipped: Counter = field(default_factory=Counter)
    partial: Counter = field(default_factory=Counter)  # run, but some torch gradient not compared
    known: list = field(default_factory=list)  # KNOWN_BUGS indices met
    failures: list = field(default_factory=list)  # (sample, message): vs torch
    hips_run: int = 0
    hips_skipped: Counter = field(default_factory=Counter)
    hips_failures: list = field(default_factory=list)  # (sample, message): vs HIPS


def cotangent(op: OpMap, index: int, shape: tuple) -> np.ndarray:
    return np.random.default_rng([zlib.crc32(op.id.encode()), index]).standard_normal(shape)


def run_sample(op: OpMap, index: int, sample: tuple, result: OpResult) -> list[str]:
    """Runs one sample through torch, ours and HIPS; returns the torch failures, records the rest."""
    if op.derive is not None:
        derived = op.derive(*sample)
        if isinstance(derived, str):
            raise Skip(derived)
        sample = derived
    x, args, kwargs = sample
    diff: list = []
    leaves = to_leaves((x, args, kwargs), diff)
    call: Call = op.translate(*leaves)  # may raise Skip

    opinfo = OPINFOS[op.opinfo]
    with torch.no_grad() if op.output == "index" else torch.enable_grad():
        torch_out = opinfo(x, *args, **kwargs)
    torch_indices = None
    if op.output == "value_indices":
        torch_out, torch_indices = torch_out
    ref = torch_out.detach().numpy()
    failures = []

    ours_leaves = {i: tg.Tensor(t.detach().numpy().copy(), requires_grad=True) for i, t in enumerate(diff)}
    for i in call.constants:
        del ours_leaves[i]
    try:
        out = op.ours(*resolve(call.operands, ours_leaves), **resolve(call.params, ours_leaves))
    except Exception as error:
        return [f"ours raised {type(error).__name__}: {error}"]
    indices = None
    if op.output == "value_indices":
        out, indices = out
    failures.append(mismatch(out.data, ref, "value", RTOL["value"], integer=op.output == "index"))
    if torch_indices is not None:
        failures.append(mismatch(indices.data, torch_indices.numpy(), "indices", 0, integer=True))

    seed = cotangent(op, index, ref.shape)
    if op.output != "index" and diff:
        torch_grads = torch.autograd.grad(
            torch_out, diff, torch.from_numpy(seed), allow_unused=True
        ) if torch_out.requires_grad else [None] * len(diff)
        torch_grads = [np.zeros(t.shape) if g is None else g.numpy() for t, g in zip(diff, torch_grads)]
        compared = sorted(ours_leaves)
        if out.requires_grad and compared:
            try:
                ours_grads = tg.grad([out], [ours_leaves[i] for i in compared], [seed], allow_unused=True)
            except Exception as error:
                return [f for f in failures if f] + [f"ours' backward raised {type(error).__name__}: {error}"]
        else:
            ours_grads = [None] * len(compared)
        for i, g in zip(compared, ours_grads):
            g = np.zeros(diff[i].shape) if g is None else g
            failures.append(mismatch(g, torch_grads[i], f"grad of input {i}", RTOL["grad"]))
        for reason in set(call.constants.values()):
            result.partial[reason] += 1

    if op.hips is not None and anp is not None:
        reason = op.hips_skip(call) if op.hips_skip else None
        if reason:
            result.hips_skipped[reason] += 1
        else:
            hips_sample(op, f"sample {index}: {describe(sample)}", call, diff, out, ours_leaves, seed, result)
    return [f for f in failures if f]


def hips_sample(op, label, call, diff, out, ours_leaves, seed, result):
    """HIPS autograd on the same arrays: its value and vjp against ours (recorded in `result`)."""
    compared = sorted(ours_leaves)
    arrays = tuple(diff[i].detach().numpy().copy() for i in compared)

    def f(values):
        given = dict(zip(compared, values))
        return op.hips(anp, *resolve(call.operands, given), **resolve(call.params, given))

    try:
        if op.output == "index" or not compared:
            value, grads = f(arrays), None
        else:
            vjp, value = autograd.make_vjp(f)(arrays)
            grads = vjp(seed.reshape(np.shape(value)))
    except Exception as error:
        result.hips_skipped[f"HIPS raised {type(error).__name__}: {str(error)[:60]}"] += 1
        return
    result.hips_run += 1
    problems = [mismatch(out.data, value, "value vs HIPS", RTOL["value"], integer=op.output == "index")]
    if grads is not None and out.requires_grad:
        try:
            ours_grads = tg.grad([out], [ours_leaves[i] for i in compared], [seed], allow_unused=True)
        except Exception:  # reported by the torch comparison
            return
        for i, ours_g, hips_g in zip(compared, ours_grads, grads):
            ours_g = np.zeros(diff[i].shape) if ours_g is None else ours_g
            problems.append(mismatch(ours_g, np.asarray(hips_g, dtype=np.float64), f"grad of input {i} vs HIPS",
                                     RTOL["grad"]))
    result.hips_failures += [(label, p) for p in problems if p]


@functools.cache
def run_op(op_id: str) -> OpResult:
    op = BY_ID[op_id]
    samples = torch_samples(op.opinfo)
    result = OpResult(generated=len(samples))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # nan from sqrt/log/pow of negatives, as torch
        for index, sample in enumerate(samples):
            before = len(result.hips_failures)
            try:
                failures = run_sample(op, index, sample, result)
            except Skip as skip:
                result.skipped[str(skip)] += 1
                continue
            if (op_id, index) in KNOWN_BUGS:
                result.known.append(index)
                del result.hips_failures[before:]  # test_known_bug reports it
                continue
            result.run += 1
            label = f"sample {index}: {describe(sample)}"
            result.failures += [(label, f) for f in failures]
    return result


def failure_text(op_id: str, failures: list) -> str:
    lines = [f"{op_id}: {len(failures)} mismatch(es)"] + [f"  {where}: {what}" for where, what in failures[:25]]
    return "\n".join(lines)


# ---------------------------------------------------------------------------- the tests


@pytest.mark.parametrize("op_id", [op.id for op in OPS])
def test_op(op_id):
    result = run_op(op_id)
    if not result.generated:
        pytest.skip(f"this torch has no OpInfo {BY_ID[op_id].opinfo}")
    assert not result.failures, failure_text(op_id, result.failures)


@pytest.mark.parametrize("op_id", [op.id for op in OPS if op.hips is not None])
def test_op_hips(op_id):
    if anp is None:
        pytest.skip("HIPS autograd is not installed (pip install autograd)")
    result = run_op(op_id)
    if not result.hips_run:
        pytest.skip(f"no sample of {op_id} ran under HIPS: {dict(result.hips_skipped)}")
    assert not result.hips_failures, failure_text(op_id + " vs HIPS", result.hips_failures)


@pytest.mark.parametrize(
    "key", [pytest.param(key, id=f"{key[0]}-{key[1]}", marks=pytest.mark.xfail(strict=True, reason=reason))
            for key, reason in KNOWN_BUGS.items()] or [pytest.param(None, marks=pytest.mark.skip("no known bug"))]
)
def test_known_bug(key):
    op_id, index = key
    op = BY_ID[op_id]
    sample = torch_samples(op.opinfo)[index]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        failures = run_sample(op, index, sample, OpResult())
    assert not failures, f"{op_id} sample {index} {describe(sample)}: " + "; ".join(failures)


def clear_error_or_torch(call_ours, call_torch, inputs):
    """Ours either refuses with a clear ValueError/TypeError naming the op, or matches torch's value and gradients."""
    leaves = [tg.Tensor(t.detach().numpy().copy(), requires_grad=True) for t in inputs]
    try:
        out = call_ours(*leaves)
    except (ValueError, TypeError):
        return  # a clear refusal is acceptable: numpy has no such call
    expected = call_torch(*inputs)
    assert mismatch(out.data, expected.detach().numpy(), "value", RTOL["value"]) is None
    seed = np.random.default_rng(0).standard_normal(expected.shape)
    ours = tg.grad([out], leaves, [seed], allow_unused=True)
    theirs = torch.autograd.grad(expected, inputs, torch.from_numpy(seed), allow_unused=True)
    for i, (g, h) in enumerate(zip(ours, theirs)):
        assert mismatch(np.zeros(inputs[i].shape) if g is None else g, h.numpy(), f"grad {i}", RTOL["grad"]) is None


def test_clip_with_tensor_bounds_is_refused_clearly_or_differentiated():
    """torch.clamp differentiates tensor bounds; ours takes bounds as constants, so a Tensor bound must be
    refused with a clear error (or get its gradient), never a RecursionError."""
    x, (low, high), _ = torch_samples(BY_ID["clamp"].opinfo)[0]
    clear_error_or_torch(lambda a, lo, hi: a.clip(lo, hi), torch.clamp, [x, low, high])


@pytest.mark.parametrize("name", ["max", "min"])
def test_reduction_with_dim_of_a_0d_tensor_is_refused_clearly(name):
    """torch.max(x0d, 0) works; numpy has no axis 0 on a 0-d array, so ours may refuse, but as sum(axis=0)
    does (AxisError naming the op), not with "ZeroDivisionError: integer modulo by zero"."""
    x, args, _ = torch_samples(BY_ID[f"{name}.reduction_with_dim"].opinfo)[2]
    assert x.ndim == 0 and args == (0,)
    clear_error_or_torch(lambda a: getattr(a, name)(axis=0, return_indices=True)[0],
                         lambda a: getattr(torch, name)(a, 0)[0], [x])


# Ops whose every OpInfo sample uses a torch-only argument: the accounting must say so.
ALL_SKIPPED = {"div.trunc_rounding", "div.floor_rounding", "softmax.with_dtype", "log_softmax.with_dtype"}


def test_accounting():
    """Every generated sample was run, skipped with a reason, or is a listed known bug; prints the table."""
    rows, totals = [], Counter()
    for op in OPS:
        r = run_op(op.id)
        assert r.generated == r.run + sum(r.skipped.values()) + len(r.known), op.id
        assert all(reason for reason in r.skipped), op.id
        if r.generated and op.id not in ALL_SKIPPED:
            assert r.run, f"{op.id}: no sample ran: {dict(r.skipped)}"
        totals.update(generated=r.generated, run=r.run, skipped=sum(r.skipped.values()), known=len(r.known),
                      hips=r.hips_run)
        skipped = "; ".join(f"{n} {reason}" for reason, n in sorted(r.skipped.items()))
        partial = "; ".join(f"{n} {reason}" for reason, n in sorted(r.partial.items()))
        hips = "-" if op.hips is None else str(r.hips_run)
        if r.hips_skipped:
            hips += " (" + "; ".join(f"{n} {reason}" for reason, n in sorted(r.hips_skipped.items())) + ")"
        rows.append(f"{op.id:34} {r.generated:4} {r.run:4} {len(r.known):5} {hips:>5}  {skipped}"
                    + (f" | partial: {partial}" if partial else ""))
    print(f"\n{'op':34} {'gen':>4} {'run':>4} {'xfail':>5} {'hips':>5}  skipped (by reason)")
    print("\n".join(rows))
    print(f"total: {dict(totals)}")
    assert totals["run"] >= 500, totals  # torch 2.13 gives about 600 runnable samples here
