"""How PyTorch's OpInfo samples translate to tinygrad_softmax calls, and to HIPS autograd's numpy.

Used by tests/test_opinfo_samples.py; imports neither torch nor autograd, so it holds no
test itself. A sample reaches a translator as ``(input, args, kwargs)`` whose tensors are
:class:`Leaf` objects (the tensor as a numpy array, and whether torch differentiates it).
A translator returns a :class:`Call`: the operands and keyword parameters of our function,
still holding Leaf objects, which the harness turns into our Tensors (differentiable leaves),
plain arrays (the others) or HIPS's traced values. It raises :class:`Skip` with a reason when
the sample uses something ours has no equivalent for; the harness counts each reason.

Translations that are exact equivalences, not skips:

- torch reduces over every dim for ``dim=()`` (sum, mean, amax, amin): ``axis=None``;
- torch lets ``dim=0`` or ``-1`` name the one "dim" of a 0-d tensor, which numpy has not:
  for reductions that is reducing over nothing, ``axis=None`` on a 0-d array; where there is
  no such equivalent (``max(dim)`` with indices, softmax, transpose) the sample is skipped;
- torch's ``squeeze(dim)`` ignores dims whose length is not 1, where numpy (and ours) raise:
  only the length-1 dims are passed on;
- ``correction``/``unbiased`` are numpy's ``ddof`` (torch's default is ``ddof=1``);
- ``nn.functional.pad``'s flat tuple (last dim first) becomes numpy's per-axis pairs;
- cross-entropy's class dim is torch's dim 1 (dim 0 for one unbatched sample): ``axis=1``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import tinygrad_softmax as tg
from tinygrad_softmax import functional as F


# not an error: a sample ours cannot express
class Skip(Exception):  # noqa: N818
    """The sample needs a feature ours has no equivalent for; the message is the counted reason."""


@dataclass(eq=False)
class Leaf:
    """One tensor of a torch sample: its values, and whether torch computes its gradient."""

    array: np.ndarray
    diff: bool
    index: int  # position among the sample's differentiable tensors, or -1

    @property
    def shape(self) -> tuple:
        return self.array.shape

    @property
    def ndim(self) -> int:
        return self.array.ndim


@dataclass
class Call:
    """Our function's operands and parameters for one sample (Leaf objects not yet resolved)."""

    operands: tuple
    params: dict = field(default_factory=dict)
    # differentiable torch tensors that ours takes as constants: index -> reason; their
    # gradient is not compared (the harness counts these samples as "partial")
    constants: dict = field(default_factory=dict)


@dataclass
class OpMap:
    """One mapped OpInfo: which samples, how to translate them, our function and HIPS's."""

    id: str  # the test id
    opinfo: tuple[str, str]  # (OpInfo name, variant_test_name)
    translate: Callable[[Any, tuple, dict], Call]
    ours: Callable[..., Any]
    hips: Callable[..., Any] | None = None  # takes (anp, *operands, **params)
    output: str = "value"  # "value", "value_indices" (values and indices), "index" (no gradient)
    # a derived variant: maps the torch sample (input, args, kwargs) to the one torch runs
    # and ours translates, or returns a skip reason
    derive: Callable[[Any, tuple, dict], tuple | str] | None = None
    note: str = ""
    # a reason not to ask HIPS about this sample (a known limitation of HIPS, not of ours), or None
    hips_skip: Callable[[Call], str | None] | None = None


def _has_zeros(call: Call) -> str | None:
    if np.any(call.operands[0].array == 0):
        return "input holds zeros: HIPS's prod gradient divides by x (nan); ours and torch do not"
    return None


# ---------------------------------------------------------------------------- argument helpers


def _bind(args: tuple, kwargs: dict, names: tuple[str, ...], defaults: dict, ignore_none=()) -> dict:
    """torch's positional and keyword arguments by name; a keyword ours lacks is a Skip."""
    if len(args) > len(names):
        raise Skip(f"{len(args)} positional arguments")
    bound = dict(defaults)
    bound.update(zip(names, args))
    for key, value in kwargs.items():
        if key not in names:
            raise Skip(f"{key}= (no equivalent)")
        bound[key] = value
    for key in ignore_none:
        if bound.get(key, "absent") is None:
            bound[key] = defaults.get(key)
    return bound


def _no_args(args: tuple, kwargs: dict) -> None:
    if args or kwargs:
        raise Skip(f"arguments {list(args)} {sorted(kwargs)} (no equivalent)")


def reduce_axis(dim, ndim: int):
    """torch's ``dim`` for a reduction as numpy's ``axis`` (see the module docstring)."""
    if dim is None:
        return None
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    if not dims:
        return None  # torch: dim=() reduces every dim
    if ndim == 0:
        if all(d in (0, -1) for d in dims):
            return None
        raise Skip("dim out of range for a 0-d tensor")
    return dims if isinstance(dim, (tuple, list)) else dim


def _int_dim_not_0d(x: Leaf, dim: int) -> int:
    if x.ndim == 0:
        raise Skip("dim on a 0-d tensor (numpy has no axis 0 there)")
    return dim


# ---------------------------------------------------------------------------- translators


def t_unary(x, args, kwargs):
    _no_args(args, kwargs)
    return Call((x,))


def t_binary(x, args, kwargs):
    if "alpha" in kwargs:
        raise Skip("alpha= (torch-only)")
    if "rounding_mode" in kwargs:
        raise Skip("rounding_mode= (torch-only)")
    if len(args) != 1 or kwargs:
        raise Skip(f"arguments {list(args)} {sorted(kwargs)} (no equivalent)")
    return Call((x, args[0]))


def t_rbinary(x, args, kwargs):
    """``x.__rpow__(other)`` is ``other ** x``."""
    call = t_binary(x, args, kwargs)
    return Call(call.operands[::-1])


def t_where(x, args, kwargs):
    condition, other = args
    _no_args((), kwargs)
    return Call((condition, x, other))


def t_sum_like(x, args, kwargs):
    if "dtype" in kwargs:
        raise Skip("dtype= (torch-only)")
    b = _bind(args, kwargs, ("dim", "keepdim"), {"dim": None, "keepdim": False})
    return Call((x,), {"axis": reduce_axis(b["dim"], x.ndim), "keepdims": bool(b["keepdim"])})


def t_prod(x, args, kwargs):
    return t_sum_like(x, args, kwargs)


def t_max_with_dim(x, args, kwargs):
    b = _bind(args, kwargs, ("dim", "keepdim"), {"keepdim": False})
    return Call((x,), {"axis": _int_dim_not_0d(x, b["dim"]), "keepdims": bool(b["keepdim"])})


def t_var_std(x, args, kwargs):
    b = _bind(args, kwargs, ("unbiased",) if args else ("dim", "unbiased", "keepdim", "correction"), {})
    for key in ("dim", "unbiased", "keepdim", "correction"):
        b.setdefault(key, None)
    if b["correction"] is not None:
        ddof = b["correction"]
    else:
        ddof = 1 if b["unbiased"] is None or b["unbiased"] else 0
    return Call((x,), {"axis": reduce_axis(b["dim"], x.ndim), "ddof": ddof, "keepdims": bool(b["keepdim"])})


def t_argmax(x, args, kwargs):
    b = _bind(args, kwargs, ("dim", "keepdim"), {"dim": None, "keepdim": False})
    return Call((x,), {"axis": reduce_axis(b["dim"], x.ndim), "keepdims": bool(b["keepdim"])})


def t_logsumexp(x, args, kwargs):
    b = _bind(args, kwargs, ("dim", "keepdim"), {"keepdim": False})
    return Call((x,), {"axis": reduce_axis(b["dim"], x.ndim), "keepdims": bool(b["keepdim"])})


def t_cat(tensors, args, kwargs):
    b = _bind(args, kwargs, ("dim",), {"dim": 0})
    if len({t.ndim for t in tensors}) > 1 and any(t.shape == (0,) for t in tensors):
        raise Skip("cat's legacy skipping of 1-D empty tensors (torch-only)")
    return Call((list(tensors),), {"axis": b["dim"]})


def t_stack(tensors, args, kwargs):
    b = _bind(args, kwargs, ("dim",), {"dim": 0})
    return Call((list(tensors),), {"axis": b["dim"]})


def t_squeeze(x, args, kwargs):
    b = _bind(args, kwargs, ("dim",), {"dim": None})
    dim = b["dim"]
    if dim is None:
        return Call((x,), {})
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    if x.ndim == 0:
        if all(d in (0, -1) for d in dims):
            return Call((x,), {})
        raise Skip("dim out of range for a 0-d tensor")
    # torch ignores a named dim whose length is not 1; numpy refuses it
    kept = tuple(d % x.ndim for d in dims if x.shape[d] == 1)
    return Call((x,), {"axis": kept if isinstance(dim, (tuple, list)) or not kept else kept[0]})


def t_unsqueeze(x, args, kwargs):
    b = _bind(args, kwargs, ("dim",), {})
    return Call((x,), {"axis": b["dim"]})


def t_shape_arg(x, args, kwargs):
    b = _bind(args, kwargs, ("shape",), {})
    shape = b["shape"]
    return Call((x,), {"shape": tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)})


def t_flatten(x, args, kwargs):
    b = _bind(args, kwargs, ("start_dim", "end_dim"), {"start_dim": 0, "end_dim": -1})
    if b["start_dim"] != 0 or b["end_dim"] not in (-1, x.ndim - 1):
        raise Skip("flatten(start_dim, end_dim): ours flattens every axis")
    return Call((x,))


def t_transpose(x, args, kwargs):
    b = _bind(args, kwargs, ("dim0", "dim1"), {})
    _int_dim_not_0d(x, b["dim0"])
    return Call((x,), {"axis1": b["dim0"], "axis2": b["dim1"]})


def t_permute(x, args, kwargs):
    b = _bind(args, kwargs, ("dims",), {})
    return Call((x,), {"axes": tuple(b["dims"])})


def t_pad(x, args, kwargs):
    b = _bind(args, kwargs, ("pad", "mode", "value"), {"mode": "constant", "value": None})
    if b["mode"] != "constant":
        raise Skip(f"mode={b['mode']!r}")
    flat = list(b["pad"])
    if any(p < 0 for p in flat):
        raise Skip("negative padding (torch crops; np.pad has no cropping)")
    pairs = [(0, 0)] * x.ndim
    for i in range(len(flat) // 2):
        pairs[x.ndim - 1 - i] = (flat[2 * i], flat[2 * i + 1])
    value = 0.0 if b["value"] is None else b["value"]
    return Call((x,), {"pad_width": tuple(pairs), "constant_values": value})


def _bound(value, low_high: str, constants: dict):
    if isinstance(value, Leaf) and value.diff:
        constants[value.index] = f"gradient w.r.t. a tensor {low_high} bound (ours takes bounds as constants)"
    return value


def t_clamp(x, args, kwargs):
    b = _bind(args, kwargs, ("min", "max"), {"min": None, "max": None})
    if b["min"] is None and b["max"] is None:
        raise Skip("clamp without bounds")
    constants: dict = {}
    low = _bound(b["min"], "min", constants)
    high = _bound(b["max"], "max", constants)
    return Call((x,), {"low": low, "high": high}, constants)


def t_clamp_min(x, args, kwargs):
    b = _bind(args, kwargs, ("min",), {})
    constants: dict = {}
    return Call((x,), {"low": _bound(b["min"], "min", constants)}, constants)


def t_clamp_max(x, args, kwargs):
    b = _bind(args, kwargs, ("max",), {})
    constants: dict = {}
    return Call((x,), {"high": _bound(b["max"], "max", constants)}, constants)


def t_softmax(x, args, kwargs):
    if "dtype" in kwargs:
        raise Skip("dtype= (torch-only)")
    b = _bind(args, kwargs, ("dim",), {})
    return Call((x,), {"axis": _int_dim_not_0d(x, b["dim"])})


def t_cross_entropy(x, args, kwargs):
    b = _bind(
        args,
        kwargs,
        ("target", "weight", "size_average", "ignore_index", "reduce", "reduction", "label_smoothing"),
        {"weight": None, "ignore_index": -100, "reduction": "mean", "label_smoothing": 0.0},
    )
    if b.get("size_average") is not None or b.get("reduce") is not None:
        raise Skip("size_average=/reduce= (deprecated, torch-only)")
    params = {
        "axis": 0 if x.ndim == 1 else 1,
        "reduction": b["reduction"],
        "weight": b["weight"],
        "ignore_index": b["ignore_index"],
        "label_smoothing": b["label_smoothing"],
    }
    return Call((x, b["target"]), params)


def t_bce_logits(x, args, kwargs):
    b = _bind(
        args,
        kwargs,
        ("target", "weight", "size_average", "reduce", "reduction", "pos_weight"),
        {"weight": None, "reduction": "mean", "pos_weight": None},
    )
    if b.get("size_average") is not None or b.get("reduce") is not None:
        raise Skip("size_average=/reduce= (deprecated, torch-only)")
    return Call((x, b["target"]), {"weight": b["weight"], "pos_weight": b["pos_weight"], "reduction": b["reduction"]})


def t_mse(x, args, kwargs):
    b = _bind(args, kwargs, ("target", "size_average", "reduce", "reduction"), {"reduction": "mean"})
    if b.get("size_average") is not None or b.get("reduce") is not None:
        raise Skip("size_average=/reduce= (deprecated, torch-only)")
    return Call((x, b["target"]), {"reduction": b["reduction"]})


# ---------------------------------------------------------------------------- derived variants


def d_scalar_exponent(x, args, kwargs):
    """``pow(tensor, tensor)`` samples whose exponent is 0-d, rerun as ``tensor ** float``."""
    (exponent,) = args
    if exponent.ndim != 0:
        return "exponent is not a 0-d tensor (no scalar version of this sample)"
    return x, (exponent.item(),), kwargs


def d_scalar_base(x, args, kwargs):
    """``x.__rpow__(base)`` samples whose base is 0-d, rerun as ``float ** tensor``."""
    (base,) = args
    if base.ndim != 0:
        return "base is not a 0-d tensor (no scalar version of this sample)"
    return x, (base.item(),), kwargs


def d_label_smoothing(x, args, kwargs):
    """Every cross-entropy sample again with ``label_smoothing=0.3`` (OpInfo has none)."""
    return x, args, {**kwargs, "label_smoothing": 0.3}


# ---------------------------------------------------------------------------- HIPS references


def h_logsumexp(anp, x, axis=None, keepdims=False):
    m = anp.max(x, axis=axis, keepdims=True)
    m = anp.where(anp.isfinite(m), m, 0.0)
    out = anp.log(anp.sum(anp.exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        out = anp.squeeze(out, axis=axis) if axis is not None else anp.reshape(out, ())
    return out


def h_softmax(anp, x, axis):
    return anp.exp(x - h_logsumexp(anp, x, axis=axis, keepdims=True))


def h_log_softmax(anp, x, axis):
    return x - h_logsumexp(anp, x, axis=axis, keepdims=True)


def h_mse(anp, a, b, reduction="mean"):
    err = (a - b) ** 2
    return {"mean": anp.mean, "sum": anp.sum}.get(reduction, lambda e: e)(err)


def _anp_fn(name):
    return lambda anp, *xs, **kw: getattr(anp, name)(*xs, **kw)


def _ours_clip(x, low=None, high=None):
    return x.clip(low, high)


def _ours_cross_entropy(x, target, axis, **kw):
    return F.cross_entropy(x, target, axis=axis, **kw)


BINARY = {
    "add": (lambda a, b: a + b, "add"),
    "sub": (lambda a, b: a - b, "subtract"),
    "mul": (lambda a, b: a * b, "multiply"),
    "div": (lambda a, b: a / b, "divide"),
    "pow": (lambda a, b: a**b, "power"),
}

OPS: list[OpMap] = [
    # elementwise, one input. Boundary choices (relu and abs at 0, sqrt at 0) are PyTorch's,
    # as docs/api.md documents; the random samples do not hit them.
    OpMap("relu", ("nn.functional.relu", ""), t_unary, lambda x: x.relu(), lambda anp, x: anp.maximum(x, 0.0)),
    OpMap("sigmoid", ("sigmoid", ""), t_unary, lambda x: x.sigmoid(), lambda anp, x: 0.5 * (anp.tanh(x / 2) + 1)),
    OpMap("tanh", ("tanh", ""), t_unary, lambda x: x.tanh(), _anp_fn("tanh")),
    OpMap("abs", ("abs", ""), t_unary, lambda x: x.abs(), _anp_fn("abs")),
    OpMap("sqrt", ("sqrt", ""), t_unary, lambda x: x.sqrt(), _anp_fn("sqrt")),
    OpMap("exp", ("exp", ""), t_unary, lambda x: x.exp(), _anp_fn("exp")),
    OpMap("log", ("log", ""), t_unary, lambda x: x.log(), _anp_fn("log")),
    OpMap("log1p", ("log1p", ""), t_unary, lambda x: x.log1p(), _anp_fn("log1p")),
    OpMap("neg", ("neg", ""), t_unary, lambda x: -x, _anp_fn("negative")),
    OpMap("square", ("square", ""), t_unary, lambda x: x**2.0, _anp_fn("square"), note="Tensor ** 2.0 (ops.Pow)"),
    # elementwise, two inputs. Ties in maximum/minimum: half to each, as PyTorch (documented).
    OpMap("maximum", ("maximum", ""), t_binary, tg.maximum, _anp_fn("maximum")),
    OpMap("minimum", ("minimum", ""), t_binary, tg.minimum, _anp_fn("minimum")),
    OpMap("max.binary", ("max", "binary"), t_binary, tg.maximum, _anp_fn("maximum")),
    OpMap("min.binary", ("min", "binary"), t_binary, tg.minimum, _anp_fn("minimum")),
    OpMap("where", ("where", ""), t_where, tg.where, _anp_fn("where")),
    *[
        OpMap(name, (name, "no_rounding_mode" if name == "div" else ""), t_binary, ours, _anp_fn(hips))
        for name, (ours, hips) in BINARY.items()
    ],
    OpMap("true_divide", ("true_divide", ""), t_binary, BINARY["div"][0], _anp_fn("divide")),
    OpMap("div.trunc_rounding", ("div", "trunc_rounding"), t_binary, BINARY["div"][0]),
    OpMap("div.floor_rounding", ("div", "floor_rounding"), t_binary, BINARY["div"][0]),
    OpMap(
        "pow.scalar_exponent", ("pow", ""), t_binary, BINARY["pow"][0], _anp_fn("power"),
        derive=d_scalar_exponent, note="Tensor ** float (ops.Pow), from the 0-d exponents of pow's samples",
    ),
    OpMap("__rpow__", ("__rpow__", ""), t_rbinary, BINARY["pow"][0], _anp_fn("power")),
    OpMap(
        "__rpow__.scalar_base", ("__rpow__", ""), t_rbinary, BINARY["pow"][0], _anp_fn("power"),
        derive=d_scalar_base, note="float ** Tensor (ops.Power), from the 0-d bases of __rpow__'s samples",
    ),
    OpMap("matmul", ("matmul", ""), t_binary, lambda a, b: a @ b, _anp_fn("matmul")),
    OpMap("mm", ("mm", ""), t_binary, lambda a, b: a @ b, _anp_fn("matmul")),
    OpMap("mv", ("mv", ""), t_binary, lambda a, b: a @ b, _anp_fn("matmul")),
    OpMap("dot", ("dot", ""), t_binary, lambda a, b: a @ b, _anp_fn("matmul")),
    OpMap("bmm", ("bmm", ""), t_binary, lambda a, b: a @ b, _anp_fn("matmul")),
    # reductions. Tied maxima share the gradient evenly (amax, and max without dim), as PyTorch.
    OpMap("sum", ("sum", ""), t_sum_like, lambda x, **k: x.sum(**k), _anp_fn("sum")),
    OpMap("mean", ("mean", ""), t_sum_like, lambda x, **k: x.mean(**k), _anp_fn("mean")),
    OpMap("amax", ("amax", ""), t_sum_like, lambda x, **k: x.max(**k), _anp_fn("max")),
    OpMap("amin", ("amin", ""), t_sum_like, lambda x, **k: x.min(**k), _anp_fn("min")),
    OpMap("max.reduction_no_dim", ("max", "reduction_no_dim"), t_unary, lambda x: x.max(), _anp_fn("max")),
    OpMap("min.reduction_no_dim", ("min", "reduction_no_dim"), t_unary, lambda x: x.min(), _anp_fn("min")),
    OpMap(
        "max.reduction_with_dim", ("max", "reduction_with_dim"), t_max_with_dim,
        lambda x, **k: x.max(return_indices=True, **k), output="value_indices",
    ),
    OpMap(
        "min.reduction_with_dim", ("min", "reduction_with_dim"), t_max_with_dim,
        lambda x, **k: x.min(return_indices=True, **k), output="value_indices",
    ),
    OpMap("prod", ("prod", ""), t_prod, lambda x, **k: x.prod(**k), _anp_fn("prod"), hips_skip=_has_zeros),
    OpMap("var", ("var", ""), t_var_std, lambda x, **k: x.var(**k), _anp_fn("var")),
    OpMap("var.unbiased", ("var", "unbiased"), t_var_std, lambda x, **k: x.var(**k), _anp_fn("var")),
    OpMap("std", ("std", ""), t_var_std, lambda x, **k: x.std(**k), _anp_fn("std")),
    OpMap("std.unbiased", ("std", "unbiased"), t_var_std, lambda x, **k: x.std(**k), _anp_fn("std")),
    OpMap("argmax", ("argmax", ""), t_argmax, lambda x, **k: x.argmax(**k), _anp_fn("argmax"), output="index"),
    OpMap("argmin", ("argmin", ""), t_argmax, lambda x, **k: x.argmin(**k), _anp_fn("argmin"), output="index"),
    OpMap("logsumexp", ("logsumexp", ""), t_logsumexp, lambda x, **k: x.logsumexp(**k), h_logsumexp),
    # shapes
    OpMap("cat", ("cat", ""), t_cat, tg.concatenate, _anp_fn("concatenate")),
    OpMap("stack", ("stack", ""), t_stack, tg.stack, _anp_fn("stack")),
    OpMap("squeeze", ("squeeze", ""), t_squeeze, lambda x, **k: x.squeeze(**k), _anp_fn("squeeze")),
    OpMap("squeeze.multiple", ("squeeze", "multiple"), t_squeeze, lambda x, **k: x.squeeze(**k), _anp_fn("squeeze")),
    OpMap("unsqueeze", ("unsqueeze", ""), t_unsqueeze, lambda x, axis: x.unsqueeze(axis), _anp_fn("expand_dims")),
    OpMap(
        "broadcast_to", ("broadcast_to", ""), t_shape_arg, lambda x, shape: x.broadcast_to(shape),
        # HIPS's broadcast_to cannot add leading axes; adding zeros broadcasts the same way
        lambda anp, x, shape: x + anp.zeros(shape),
    ),
    OpMap("flatten", ("flatten", ""), t_flatten, lambda x: x.flatten(), _anp_fn("ravel")),
    OpMap("ravel", ("ravel", ""), t_unary, lambda x: x.ravel(), _anp_fn("ravel")),
    OpMap("transpose", ("transpose", ""), t_transpose, lambda x, **k: x.swapaxes(**k), _anp_fn("swapaxes")),
    OpMap("permute", ("permute", ""), t_permute, lambda x, axes: x.transpose(*axes), _anp_fn("transpose")),
    OpMap("reshape", ("reshape", ""), t_shape_arg, lambda x, shape: x.reshape(shape), _anp_fn("reshape")),
    OpMap(
        "pad.constant", ("nn.functional.pad", "constant"), t_pad, lambda x, **k: x.pad(**k),
        lambda anp, x, **k: anp.pad(x, mode="constant", **k),
    ),
    # clamp: the bounds pass the gradient at exactly low or high, as torch.clamp (documented);
    # HIPS gives 0 there, but the random samples never sit on a bound.
    OpMap("clamp", ("clamp", ""), t_clamp, _ours_clip, lambda anp, x, low=None, high=None: anp.clip(x, low, high)),
    OpMap("clamp_min", ("clamp_min", ""), t_clamp_min, _ours_clip, lambda anp, x, low: anp.clip(x, low, None)),
    OpMap("clamp_max", ("clamp_max", ""), t_clamp_max, _ours_clip, lambda anp, x, high: anp.clip(x, None, high)),
    # functional
    OpMap("softmax", ("softmax", ""), t_softmax, F.softmax, h_softmax),
    OpMap("softmax.with_dtype", ("softmax", "with_dtype"), t_softmax, F.softmax),
    OpMap("log_softmax", ("log_softmax", ""), t_softmax, F.log_softmax, h_log_softmax),
    OpMap("log_softmax.with_dtype", ("log_softmax", "with_dtype"), t_softmax, F.log_softmax),
    OpMap("cross_entropy", ("nn.functional.cross_entropy", ""), t_cross_entropy, _ours_cross_entropy),
    OpMap(
        "cross_entropy.label_smoothing", ("nn.functional.cross_entropy", ""), t_cross_entropy,
        _ours_cross_entropy, derive=d_label_smoothing, note="every cross_entropy sample with label_smoothing=0.3",
    ),
    OpMap(
        "binary_cross_entropy_with_logits", ("nn.functional.binary_cross_entropy_with_logits", ""), t_bce_logits,
        F.binary_cross_entropy_with_logits,
    ),
    OpMap("mse_loss", ("nn.functional.mse_loss", ""), t_mse, F.mse_loss, h_mse),
]

BY_ID = {op.id: op for op in OPS}
assert len(BY_ID) == len(OPS), "duplicate op ids"
