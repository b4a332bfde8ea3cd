"""Table-driven tests of every primitive op.

Each row is one op applied to inputs of given shapes. Every row is checked four ways:

* forward: values, shape and dtype equal numpy's;
* gradcheck: the library's own float64 central-difference check passes;
* an independent oracle: central differences of the *numpy* reference function
  (written here, not using the engine at all) equal the engine's backward;
* PyTorch (when installed): values and gradients equal torch's in float64 to 1e-12.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from tinygrad_softmax import Tensor, gradcheck

# ------------------------------------------------------------------ the oracle


def numeric_grads(
    ref: Callable[..., np.ndarray], arrays: list[np.ndarray], upstream: np.ndarray, eps: float = 1e-6
) -> list[np.ndarray]:
    """Central differences of ``sum(ref(*arrays) * upstream)`` w.r.t. each array.

    Works on copies of the arrays and never touches the engine.
    """
    grads = []
    for i, x in enumerate(arrays):
        grad = np.zeros_like(x, dtype=np.float64)
        for index in np.ndindex(*x.shape):
            values = []
            for step in (eps, -eps):
                shifted = [a.copy() for a in arrays]
                shifted[i][index] += step
                values.append(float(np.sum(np.asarray(ref(*shifted)) * upstream)))
            grad[index] = (values[0] - values[1]) / (2 * eps)
        grads.append(grad)
    return grads


# ------------------------------------------------------------------- the table

# How each input is drawn: "real" anywhere, "pos" in [0.5, 2], "nonzero" +-[0.5, 2].
DOMAINS = {
    "real": lambda rng, shape: rng.standard_normal(shape),
    "pos": lambda rng, shape: rng.uniform(0.5, 2.0, shape),
    "nonzero": lambda rng, shape: rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape),
}


@dataclass
class Case:
    id: str
    fn: Callable  # on Tensors
    ref: Callable  # on numpy arrays: the forward oracle
    shapes: tuple[tuple[int, ...], ...]
    domains: tuple[str, ...] = ()
    torch_fn: Callable | None = None  # on torch tensors; defaults to `fn` (same method names)

    def arrays(self, seed: int = 0) -> list[np.ndarray]:
        rng = np.random.default_rng(seed)
        domains = self.domains or ("real",) * len(self.shapes)
        return [np.asarray(DOMAINS[d](rng, s), dtype=np.float64) for d, s in zip(domains, self.shapes)]


def _shape_id(shapes):
    return "x".join(str(s).replace(" ", "") for s in shapes)


ELEMENTWISE_SHAPES = [(), (4,), (3, 1), (2, 3)]
BINARY_SHAPES = [
    ((), ()),
    ((4,), (4,)),
    ((3, 1), (3, 1)),
    ((2, 3), (2, 3)),
    ((3, 1), (1, 4)),  # both sides broadcast
    ((2, 3), (3,)),  # missing leading axis
    ((3,), (2, 3)),
    ((), (2, 3)),  # scalar with matrix
    ((2, 3), ()),
    ((4,), (3, 1)),  # row vector with column vector
    ((2, 1, 3), (4, 1)),  # batch
]
BINARY_OPS = {
    "add": (lambda a, b: a + b, ("real", "real")),
    "sub": (lambda a, b: a - b, ("real", "real")),
    "mul": (lambda a, b: a * b, ("real", "real")),
    "div": (lambda a, b: a / b, ("real", "nonzero")),
}
POW_EXPONENTS = [(2, "real"), (3, "real"), (0.5, "pos"), (1.5, "pos"), (-1, "nonzero"), (-2.0, "pos"), (0, "real")]


def _np_exp(a):
    return np.exp(a)


def _np_log(a):
    return np.log(a)


def _torch_dims(axis, ndim):
    return tuple(range(ndim)) if axis is None else axis


def _reduction(name, axis, keepdims):
    def fn(a):
        return getattr(a, name)(axis=axis, keepdims=keepdims)  # same signature on Tensor and ndarray

    def torch_fn(a):
        dims = _torch_dims(axis, a.ndim)
        if name == "max":  # amax shares ties evenly, like ours; torch.max(dim) picks one index
            import torch

            return torch.amax(a, dim=dims, keepdim=keepdims)
        return getattr(a, name)(dim=dims, keepdim=keepdims)

    return fn, torch_fn


REDUCTION_AXES = [
    ((), [None]),
    ((4,), [None, 0, -1, (0,)]),
    ((3, 1), [None, 0, 1, -2]),
    ((2, 3), [None, 0, 1, -1, (0, 1), (-1, 0)]),
    ((2, 3, 4), [None, 1, (0, 2), (-1, -3), (0, 1, 2)]),
]


def _transpose_torch(axes):
    def torch_fn(a):
        perm = tuple(reversed(range(a.ndim))) if axes is None else axes
        return a.permute(*perm)

    return torch_fn


def _torch_index(index):
    import torch

    def convert(part):
        return torch.as_tensor(part) if isinstance(part, np.ndarray) else part

    return tuple(convert(p) for p in index) if isinstance(index, tuple) else convert(index)


def _getitem(index):
    def fn(a):
        return a[index]

    def torch_fn(a):
        return a[_torch_index(index)]

    return fn, torch_fn


GETITEM_CASES = [
    ("int", (5,), 2),
    ("negative_int", (5,), -1),
    ("row", (4, 3), 1),
    ("two_ints", (4, 3), (1, 2)),
    ("slice", (4, 3), slice(1, 3)),
    ("strided_slices", (4, 3), (slice(None, None, 2), slice(1, None))),
    ("last_column", (4, 3), (slice(None), -1)),
    ("none", (4, 3), (None, slice(None), 1)),
    ("ellipsis", (2, 3, 4), (Ellipsis, 1)),
    ("ellipsis_slice", (2, 3, 4), (0, Ellipsis, slice(1, 3))),
    ("int_array", (5,), np.array([0, 2, 4])),
    ("int_array_rows", (4, 3), np.array([2, 0])),
    ("pick_per_row", (4, 3), (np.arange(4), np.array([2, 0, 1, 2]))),
    ("repeated_indices", (5,), np.array([1, 1, 3, 1, -4])),
    ("repeated_rows", (3, 2), np.array([0, 2, 0, 0])),
    ("bool_mask", (2, 3), np.array([[True, False, True], [False, True, True]])),
    ("bool_mask_rows", (4, 3), np.array([True, False, False, True])),
    ("column_vector", (3, 1), (slice(None), 0)),
    ("zero_d_from_0d", (), Ellipsis),
]

MATMUL_SHAPES = [
    ((4,), (4,)),
    ((3, 4), (4,)),
    ((4,), (4, 5)),
    ((3, 4), (4, 5)),
    ((3, 1), (1, 4)),  # outer product of column and row vectors
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((4,), (2, 4, 5)),
    ((2, 3, 4), (4,)),
]

RESHAPE_CASES = [
    ((2, 3), (3, 2)),
    ((2, 3), ((6,),)),
    ((2, 3), (-1,)),
    ((2, 3), (3, -1)),
    ((2, 3), ([1, 6],)),
    ((4,), (2, 2, 1)),
    ((), (1, 1)),
    ((1, 1), ((),)),
    ((2, 3, 4), ((6, -1),)),
]

TRANSPOSE_CASES = [
    ((2, 3), (), None),
    ((2, 3), (1, 0), (1, 0)),
    ((2, 3), ((1, 0),), (1, 0)),
    ((2, 3, 4), (2, 0, 1), (2, 0, 1)),
    ((2, 3, 4), ((1, 2, 0),), (1, 2, 0)),
    ((2, 3, 4), (-1, 0, 1), (-1, 0, 1)),
    ((2, 3, 4), (), None),
    ((3, 1), (), None),
    ((4,), (), None),
]


def build_cases() -> list[Case]:
    cases = []
    for name, (op, domains) in BINARY_OPS.items():
        for shapes in BINARY_SHAPES:
            cases.append(Case(f"{name}-{_shape_id(shapes)}", op, op, shapes, domains))
    for shape in ELEMENTWISE_SHAPES:
        sid = _shape_id([shape])
        cases.append(Case(f"neg-{sid}", lambda a: -a, lambda a: -a, (shape,)))
        cases.append(Case(f"exp-{sid}", lambda a: a.exp(), _np_exp, (shape,)))
        cases.append(Case(f"log-{sid}", lambda a: a.log(), _np_log, (shape,), ("pos",)))
        for p, domain in POW_EXPONENTS:
            cases.append(Case(f"pow{p}-{sid}", lambda a, p=p: a**p, lambda a, p=p: a**p, (shape,), (domain,)))
    for shapes in MATMUL_SHAPES:
        cases.append(Case(f"matmul-{_shape_id(shapes)}", lambda a, b: a @ b, lambda a, b: a @ b, shapes))
    cases.append(
        Case(
            "matmul-method",
            lambda a, b: a.matmul(b),
            lambda a, b: np.matmul(a, b),
            ((3, 4), (4, 2)),
            torch_fn=lambda a, b: a @ b,
        )
    )
    for name in ("sum", "mean", "max"):
        for shape, axes in REDUCTION_AXES:
            for axis in axes:
                for keepdims in (False, True):
                    fn, torch_fn = _reduction(name, axis, keepdims)
                    cid = f"{name}-{_shape_id([shape])}-axis{axis}-keepdims{keepdims}".replace(" ", "")
                    cases.append(Case(cid, fn, fn, (shape,), torch_fn=torch_fn))
    for i, (shape, args) in enumerate(RESHAPE_CASES):
        target = np.empty(shape).reshape(*args).shape

        def reshape(a, args=args):
            return a.reshape(*args)

        cases.append(
            Case(
                f"reshape{i}-{_shape_id([shape])}-to-{_shape_id([target])}",
                reshape,
                lambda a, target=target: a.reshape(target),
                (shape,),
                torch_fn=lambda a, target=target: a.reshape(target),
            )
        )
    for i, (shape, args, perm) in enumerate(TRANSPOSE_CASES):

        def transpose(a, args=args):
            return a.transpose(*args)

        cases.append(
            Case(
                f"transpose{i}-{_shape_id([shape])}-{perm}".replace(" ", ""),
                transpose,
                lambda a, perm=perm: np.transpose(a, perm),
                (shape,),
                torch_fn=_transpose_torch(perm),
            )
        )
    for shape in [(2, 3), (2, 3, 4), (4,)]:
        cases.append(
            Case(f"T-{_shape_id([shape])}", lambda a: a.T, lambda a: a.T, (shape,), torch_fn=_transpose_torch(None))
        )
    for name, shape, index in GETITEM_CASES:
        fn, torch_fn = _getitem(index)
        cases.append(Case(f"getitem-{name}", fn, fn, (shape,), torch_fn=torch_fn))
    return cases


CASES = build_cases()
CASE_IDS = [c.id for c in CASES]


def _tensors(arrays):
    return [Tensor(a, requires_grad=True) for a in arrays]


def _backward(case: Case, arrays, upstream):
    tensors = _tensors(arrays)
    out = case.fn(*tensors)
    out.backward(upstream)
    return out, [t.grad for t in tensors]


# ---------------------------------------------------------------------- tests


def test_table_covers_every_op():
    ops = {c.id.split("-")[0].rstrip("0123456789.") for c in CASES}
    assert ops >= {
        "add",
        "sub",
        "mul",
        "div",
        "neg",
        "pow",
        "exp",
        "log",
        "matmul",
        "sum",
        "mean",
        "max",
        "reshape",
        "transpose",
        "T",
        "getitem",
    }
    shapes = {s for c in CASES for s in c.shapes}
    assert {(), (4,), (3, 1), (2, 3)} <= shapes


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_forward_matches_numpy(case):
    arrays = case.arrays()
    out = case.fn(*_tensors(arrays))
    expected = np.asarray(case.ref(*arrays))
    assert isinstance(out, Tensor)
    assert out.shape == expected.shape
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.data, expected, rtol=1e-13, atol=1e-15)
    assert out.requires_grad


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_gradcheck(case):
    assert gradcheck(case.fn, _tensors(case.arrays(seed=1))) is True


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_backward_matches_independent_finite_differences(case):
    arrays = case.arrays(seed=2)
    upstream = np.random.default_rng(99).standard_normal(np.shape(case.ref(*arrays)))
    _, grads = _backward(case, arrays, upstream)
    expected = numeric_grads(case.ref, arrays, upstream)
    for array, grad, numeric in zip(arrays, grads, expected):
        assert grad is not None
        assert grad.shape == array.shape  # reduced back to the input's shape
        assert grad.dtype == np.float64
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_matches_torch(case):
    torch = pytest.importorskip("torch")
    arrays = case.arrays(seed=3)
    upstream = np.random.default_rng(7).standard_normal(np.shape(case.ref(*arrays)))
    out, grads = _backward(case, arrays, upstream)

    leaves = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    t_out = (case.torch_fn or case.fn)(*leaves)
    t_out.backward(torch.tensor(upstream, dtype=torch.float64))

    assert out.shape == tuple(t_out.shape)
    np.testing.assert_allclose(out.data, t_out.detach().numpy(), rtol=1e-12, atol=1e-12)
    for grad, leaf in zip(grads, leaves):
        np.testing.assert_allclose(grad, leaf.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", [c for c in CASES if len(c.shapes) == 2], ids=lambda c: c.id)
@pytest.mark.parametrize("which", [0, 1])
def test_binary_op_with_one_constant_input(case, which):
    """Only one side requires grad: it still gets the right gradient, the constant gets none."""
    arrays = case.arrays(seed=4)
    inputs = [Tensor(a, requires_grad=(i == which)) for i, a in enumerate(arrays)]
    upstream = np.random.default_rng(5).standard_normal(np.shape(case.ref(*arrays)))
    case.fn(*inputs).backward(upstream)
    expected = numeric_grads(case.ref, arrays, upstream)[which]
    np.testing.assert_allclose(inputs[which].grad, expected, rtol=1e-5, atol=1e-7)
    assert inputs[1 - which].grad is None


# -------------------------------------------------------------- op-specific


def test_op_names():
    a = Tensor(np.ones((2, 3)), requires_grad=True)
    b = Tensor(np.ones(3), requires_grad=True)
    assert (a + b).op == "add"
    assert (a - b).op == "sub"
    assert (a * b).op == "mul"
    assert (a / b).op == "div"
    assert (-a).op == "neg"
    assert (a**2).op == "pow"
    assert (a @ b).op == "matmul"
    assert a.exp().op == "exp"
    assert a.exp().log().op == "log"
    assert a.sum().op == "sum"
    assert a.mean().op == "mean"
    assert a.max().op == "max"
    assert a.reshape(-1).op == "reshape"
    assert a.T.op == "transpose"
    assert a[0].op == "getitem"


def test_max_ties_share_gradient_evenly():
    x = Tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.5, 0.5])


def test_max_ties_along_axis():
    x = Tensor([[2.0, 2.0, 2.0], [1.0, 5.0, 0.0], [4.0, 4.0, -1.0]], requires_grad=True)
    x.max(axis=1).backward(np.array([3.0, 1.0, 2.0]))
    np.testing.assert_allclose(x.grad, [[1.0, 1.0, 1.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0]], rtol=0, atol=1e-15)
    y = Tensor([[7.0, 1.0], [7.0, 7.0]], requires_grad=True)
    y.max(axis=0, keepdims=True).backward(np.ones((1, 2)))
    np.testing.assert_array_equal(y.grad, [[0.5, 0.0], [0.5, 1.0]])


def test_max_ties_match_torch_amax():
    torch = pytest.importorskip("torch")
    data = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0]])
    x = Tensor(data, requires_grad=True)
    x.max(axis=1).backward(np.array([1.0, 4.0]))
    tx = torch.tensor(data, requires_grad=True)
    torch.amax(tx, dim=1).backward(torch.tensor([1.0, 4.0], dtype=torch.float64))
    np.testing.assert_array_equal(x.grad, tx.grad.numpy())


def _unbroadcast(grad, shape):
    grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))
    return grad.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True)


@pytest.mark.parametrize(
    "a_shape, b_shape",
    [((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)), ((2, 3, 4), (2, 4, 5)), ((2, 1, 3, 4), (5, 4, 2))],
)
def test_matmul_gradients_are_g_bT_and_aT_g(rng, a_shape, b_shape):
    A, B = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    a, b = Tensor(A, requires_grad=True), Tensor(B, requires_grad=True)
    out = a @ b
    g = rng.standard_normal(out.shape)
    out.backward(g)
    np.testing.assert_allclose(a.grad, _unbroadcast(g @ np.swapaxes(B, -1, -2), a_shape), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(b.grad, _unbroadcast(np.swapaxes(A, -1, -2) @ g, b_shape), rtol=1e-12, atol=1e-12)


def test_matmul_vector_gradients(rng):
    A, v, w = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(3)
    a, x, y = (Tensor(t, requires_grad=True) for t in (A, v, w))
    (a @ x).backward(np.ones(3))  # (3, 4) @ (4,) -> (3,)
    np.testing.assert_allclose(a.grad, np.outer(np.ones(3), v), rtol=1e-12)
    np.testing.assert_allclose(x.grad, A.T @ np.ones(3), rtol=1e-12)
    a.zero_grad()
    (y @ a).backward(np.arange(4.0))  # (3,) @ (3, 4) -> (4,)
    np.testing.assert_allclose(a.grad, np.outer(w, np.arange(4.0)), rtol=1e-12)
    np.testing.assert_allclose(y.grad, A @ np.arange(4.0), rtol=1e-12)
    x.zero_grad()
    x2 = Tensor(v * 2, requires_grad=True)
    (x @ x2).backward()  # dot product -> 0-d
    np.testing.assert_allclose(x.grad, 2 * v, rtol=1e-12)
    np.testing.assert_allclose(x2.grad, v, rtol=1e-12)


def test_getitem_repeated_indices_add_up():
    x = Tensor(np.arange(5.0), requires_grad=True)
    x[np.array([1, 1, 3, 1])].backward(np.array([1.0, 10.0, 100.0, 1000.0]))
    np.testing.assert_array_equal(x.grad, [0.0, 1011.0, 0.0, 100.0, 0.0])


def test_getitem_picks_one_probability_per_row():
    probs = np.array([[0.1, 0.7, 0.2], [0.5, 0.25, 0.25], [0.3, 0.3, 0.4], [0.6, 0.2, 0.2]])
    labels = np.array([1, 0, 2, 0])
    a = Tensor(probs, requires_grad=True)
    picked = a[np.arange(4), labels]
    np.testing.assert_array_equal(picked.data, [0.7, 0.5, 0.4, 0.6])
    picked.log().sum().backward()
    expected = np.zeros_like(probs)
    expected[np.arange(4), labels] = 1 / probs[np.arange(4), labels]
    np.testing.assert_allclose(a.grad, expected, rtol=1e-15)


def test_getitem_with_a_list_and_a_label_index():
    a = Tensor([0.2, 0.5, 0.3], requires_grad=True)
    a[1].backward()
    np.testing.assert_array_equal(a.grad, [0.0, 1.0, 0.0])
    a.zero_grad()
    a[[0, 0, 2]].sum().backward()
    np.testing.assert_array_equal(a.grad, [2.0, 0.0, 1.0])


def test_getitem_with_tensor_index():
    a = Tensor(np.arange(6.0), requires_grad=True)
    idx = Tensor(np.array([5, 0, 5]))
    a[idx].sum().backward()
    np.testing.assert_array_equal(a.grad, [1.0, 0, 0, 0, 0, 2.0])


def test_getitem_boolean_mask_from_comparison():
    data = np.array([-1.0, 2.0, -3.0, 4.0])
    a = Tensor(data, requires_grad=True)
    a[data > 0].sum().backward()
    np.testing.assert_array_equal(a.grad, [0.0, 1.0, 0.0, 1.0])


def test_pow_zero_has_zero_gradient_even_at_zero():
    x = Tensor([0.0, 2.0, -1.0], requires_grad=True)
    y = x**0
    np.testing.assert_array_equal(y.data, [1.0, 1.0, 1.0])
    y.backward(np.ones(3))
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0])


def test_pow_with_numpy_scalar_exponent_keeps_dtype():
    x = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    y = x ** np.float64(2.0)
    assert y.dtype == np.float32
    y.backward(np.ones(2, dtype=np.float32))
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


def test_exp_reuses_its_output_and_log_of_exp_is_identity(rng):
    z = Tensor(rng.standard_normal(5), requires_grad=True)
    z.exp().log().sum().backward()
    np.testing.assert_allclose(z.grad, np.ones(5), rtol=1e-14)


def test_mean_gradient_is_one_over_count():
    x = Tensor(np.zeros((2, 3, 4)), requires_grad=True)
    x.mean(axis=(0, 2)).sum().backward()
    np.testing.assert_allclose(x.grad, np.full((2, 3, 4), 1 / 8), rtol=1e-15)


def test_shape_ops_and_reductions_compose(rng):
    X = rng.standard_normal((2, 3, 4))
    x = Tensor(X, requires_grad=True)

    def f(t):
        return (t.transpose(2, 0, 1).reshape(4, -1)[1:, ::2].max(axis=0, keepdims=True) * t.mean()).sum()

    assert gradcheck(f, [x])


# ------------------------------------------------------------------ errors


def test_matmul_shape_error_message():
    with pytest.raises(ValueError, match=r"matmul: shapes \(3, 4\) and \(5, 2\) are not aligned"):
        Tensor(np.ones((3, 4))) @ Tensor(np.ones((5, 2)))


@pytest.mark.parametrize("a_shape, b_shape", [((3, 4), (5,)), ((4,), (3, 2)), ((2, 3, 4), (3, 4, 5)), ((), (3,))])
def test_matmul_other_shape_errors_name_op_and_shapes(a_shape, b_shape):
    with pytest.raises(ValueError) as info:
        Tensor(np.ones(a_shape), requires_grad=True) @ np.ones(b_shape)
    message = str(info.value)
    assert message.startswith("matmul:")
    assert str(a_shape) in message and str(b_shape) in message


def test_broadcast_error_names_op_and_both_shapes():
    with pytest.raises(ValueError) as info:
        Tensor(np.ones((2, 3)), requires_grad=True) + Tensor(np.ones((4,)))
    message = str(info.value)
    assert "add" in message
    assert "(2, 3)" in message and "(4,)" in message


@pytest.mark.parametrize(
    "op, name", [(lambda a, b: a * b, "mul"), (lambda a, b: a - b, "sub"), (lambda a, b: a / b, "div")]
)
def test_other_broadcast_errors_name_op(op, name):
    with pytest.raises(ValueError, match=name):
        op(Tensor(np.ones((3,))), Tensor(np.ones((2,))))


def test_reshape_error_names_reshape():
    with pytest.raises(ValueError, match="reshape") as info:
        Tensor(np.ones((2, 3))).reshape(4, 2)
    assert "(2, 3)" in str(info.value)


def test_getitem_out_of_range_raises_index_error_naming_getitem():
    with pytest.raises(IndexError, match="getitem"):
        Tensor(np.ones(3), requires_grad=True)[5]
    with pytest.raises(IndexError, match="getitem"):
        Tensor(np.ones((2, 3)))[np.arange(2), np.array([0, 3])]


def test_reduction_bad_axis_names_the_op():
    with pytest.raises(ValueError, match="sum"):
        Tensor(np.ones((2, 3))).sum(axis=2)
    with pytest.raises(ValueError, match="max"):
        Tensor(np.ones((2, 3))).max(axis=(0, 5))


def test_transpose_bad_axes_names_transpose():
    with pytest.raises(ValueError, match="transpose"):
        Tensor(np.ones((2, 3))).transpose(0, 0)
