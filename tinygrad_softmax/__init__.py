"""tinygrad_softmax: a small reverse-mode autodiff framework on numpy.

    >>> import numpy as np
    >>> from tinygrad_softmax import Tensor
    >>> W = Tensor(np.ones((3, 5)), requires_grad=True)
    >>> loss = (W @ np.ones(5)).exp().sum().log()
    >>> loss.backward()
    >>> W.grad.shape
    (3, 5)
"""

from .function import (
    Context,
    Function,
    Scope,
    detect_anomaly,
    enable_grad,
    is_grad_enabled,
    no_grad,
    register_op,
    scope,
    unregister_op,
)
from .gradcheck import GradcheckError, gradcheck, jacobian
from .tensor import Tensor

__all__ = [
    "Context",
    "Function",
    "GradcheckError",
    "Scope",
    "Tensor",
    "detect_anomaly",
    "enable_grad",
    "gradcheck",
    "is_grad_enabled",
    "jacobian",
    "no_grad",
    "register_op",
    "scope",
    "unregister_op",
]

# Imported for its effect: viz adds Tensor.graph() (the engine itself never imports viz).
from . import viz  # noqa: F401

__version__ = "0.1.0"
