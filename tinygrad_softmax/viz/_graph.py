"""Walking a graph: its tensors in order, the paths to a tensor, and the boxes a picture draws."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..grad_mode import Scope
from ..tensor import Tensor
from ._text import op_title

# Composites that subtract a constant per-row max before exp (functional.softmax, log_softmax, cross_entropy).
SHIFT_SCOPES = frozenset({"softmax", "log_softmax", "cross_entropy"})
# Composites whose one constant array operand of a `mul` is the target distribution y.
TARGET_SCOPES = frozenset({"categorical_crossentropy", "cross_entropy"})


def graph_nodes(output: Tensor) -> list[Tensor]:
    """Every tensor `output` was computed from (itself included), inputs before their users.

    Iterative (no recursion limit), and the same order on every run of the same
    code, so the numbered node ids in the DOT text are stable.
    """
    order: list[Tensor] = []
    seen: set[int] = {id(output)}
    stack: list[tuple[Tensor, int]] = [(output, 0)]
    while stack:
        node, next_parent = stack[-1]
        parents = node.parents
        if next_parent < len(parents):
            stack[-1] = (node, next_parent + 1)
            parent = parents[next_parent]
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append((parent, 0))
        else:
            stack.pop()
            order.append(node)
    return order


def reaching(nodes: list[Tensor], targets: list[Tensor]) -> set[int]:
    """ids of the nodes from which some target can be reached by following parents (targets included)."""
    reach = {id(t) for t in targets}
    for node in nodes:  # inputs first, so parents are decided before their users
        if any(id(p) in reach for p in node.parents):
            reach.add(id(node))
    return reach


def outermost_scope(node: Tensor) -> Scope | None:
    scope = node.scope
    while scope is not None and scope.parent is not None:
        scope = scope.parent
    return scope


def _scope_names(node: Tensor) -> set[str]:
    names, scope = set(), node.scope
    while scope is not None:
        names.add(scope.name)
        scope = scope.parent
    return names


def is_constant(t: Tensor) -> bool:
    return t.op is None and not t.requires_grad


def constant_roles(nodes: list[Tensor]) -> dict[int, tuple[str, Tensor]]:
    """What the unnamed constants made inside the library's composites are, by id.

    ``("shift", x)``: the per-row max of x that softmax subtracts (a constant, so no
    gradient flows through it); ``("target", p)``: the target distribution y that the
    cross-entropy multiplies with log p. The library passes both as plain arrays, so
    they arrive unnamed; each is recognised by where it is used and, for the shift,
    by its values, so a user's own ``scope("softmax")`` is never misread.
    """
    roles: dict[int, tuple[str, Tensor]] = {}
    for node in nodes:
        parents = node.parents
        if len(parents) != 2 or not any(is_constant(p) and not p.name for p in parents):
            continue
        scopes = _scope_names(node)
        first, second = parents
        if node.op == "sub" and scopes & SHIFT_SCOPES and is_constant(second) and not second.name:
            if id(second) not in roles and _is_max_of(second.data, first.data):
                roles[id(second)] = ("shift", first)
        elif node.op == "mul" and scopes & TARGET_SCOPES:
            for target, other in ((second, first), (first, second)):
                if is_constant(target) and not target.name and target.shape == other.shape and target.size > 1:
                    roles.setdefault(id(target), ("target", other))
                    break
    return roles


def _is_max_of(shift: np.ndarray, x: np.ndarray) -> bool:
    """`shift` is x's max along one axis, kept as a size-1 axis (non-finite maxima replaced by 0)."""
    if x.ndim == 0 or shift.ndim != x.ndim:
        return False
    for axis in range(x.ndim):
        if shift.shape[axis] != 1 or shift.shape[:axis] + shift.shape[axis + 1:] != x.shape[:axis] + x.shape[axis + 1:]:
            continue
        expected = np.max(x, axis=axis, keepdims=True) if x.shape[axis] else np.zeros(shift.shape)
        expected = np.where(np.isfinite(expected), expected, 0)
        if np.array_equal(expected, shift):
            return True
    return False


@dataclass
class Step:
    """One box of a picture that computes something: a primitive op, or a whole composite.

    Attributes:
        key: the DOT node id of the box (``op5``, ``group1``).
        title: what the box says (``matmul``, ``sum(axis=-1)``, ``softmax``).
        inputs: the tensors flowing in, in the op's argument order (a composite: in the
            order its primitives first use them).
        outputs: the tensors it produces that are drawn (a primitive: exactly one).
        composite: True for a collapsed `scope`.
        scope: the composite's `Scope` (None for a primitive).
        members: every tensor computed inside the composite (empty for a primitive).
    """

    key: str
    title: str
    inputs: list[Tensor]
    outputs: list[Tensor]
    composite: bool = False
    scope: Scope | None = None
    members: list[Tensor] = field(default_factory=list)

    @property
    def output(self) -> Tensor:
        """The step's main output: a primitive's result, a composite's last drawn output."""
        return self.outputs[-1]


def graph_steps(nodes: list[Tensor], collapse: bool = False) -> tuple[list[Step], set[int]]:
    """The op boxes to draw for `nodes` (from `graph_nodes`), and the ids of tensors hidden inside composites.

    With `collapse`, each outermost scope is one `Step`. The constants made inside it
    are drawn as its inputs when they are data a reader needs (the target y), and stay
    hidden when they are internal (softmax's max shift, a scalar such as 0.5).
    """
    steps: list[Step] = []
    hidden: set[int] = set()
    groups: dict[int, Step] = {}
    roles = constant_roles(nodes) if collapse else {}
    for index, t in enumerate(nodes):
        scope = outermost_scope(t) if collapse else None
        if scope is None:
            if t.op is not None:
                steps.append(Step(f"op{index}", op_title(t), list(t.parents), [t]))
            continue
        step = groups.get(id(scope))
        if step is None:
            step = Step(f"group{len(groups)}", scope.name, [], [], composite=True, scope=scope)
            groups[id(scope)] = step
            steps.append(step)
        step.members.append(t)
    output = nodes[-1]
    for step in groups.values():
        data = [m for m in step.members if is_constant(m) and m.size > 1 and roles.get(id(m), ("",))[0] != "shift"]
        member_ids = {id(m) for m in step.members if all(m is not d for d in data)}
        used_outside = _used_outside(nodes, member_ids)
        computed = []
        for m in step.members:
            if id(m) not in member_ids:
                continue
            if id(m) in used_outside or m is output:
                step.outputs.append(m)
            else:
                hidden.add(id(m))
            computed.append(m)
        for m in computed:
            for p in m.parents:
                if id(p) not in member_ids and all(p is not q for q in step.inputs):
                    step.inputs.append(p)
    return steps, hidden


def _used_outside(nodes: list[Tensor], member_ids: set[int]) -> set[int]:
    used: set[int] = set()
    for t in nodes:
        if id(t) not in member_ids:
            used.update(id(p) for p in t.parents if id(p) in member_ids)
    return used
