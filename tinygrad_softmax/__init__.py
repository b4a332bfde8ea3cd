"""tinygrad_softmax: a small reverse-mode autodiff framework on numpy.

    >>> import numpy as np
    >>> from tinygrad_softmax import Tensor
    >>> W = Tensor(np.ones((3, 5)), requires_grad=True)
    >>> loss = (W @ np.ones(5)).exp().sum().log()
    >>> loss.backward()
    >>> W.grad.shape
    (3, 5)
"""

from .autograd import BackwardError, grad
from .function import Context, Function
from .functional import concatenate, maximum, minimum, stack, where
from .grad_mode import Scope, detect_anomaly, enable_grad, is_grad_enabled, no_grad, scope
from .gradcheck import GradcheckError, gradcheck, jacobian, numeric_gradient
from .tensor import Tensor, register_op, unregister_op

__all__ = [
    "BackwardError",
    "Context",
    "Function",
    "GradcheckError",
    "Scope",
    "Tensor",
    "concatenate",
    "detect_anomaly",
    "enable_grad",
    "grad",
    "gradcheck",
    "is_grad_enabled",
    "jacobian",
    "maximum",
    "minimum",
    "no_grad",
    "numeric_gradient",
    "register_op",
    "scope",
    "stack",
    "unregister_op",
    "where",
]

__version__ = "0.2.0"
