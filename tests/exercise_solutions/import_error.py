"""A file that cannot be imported: the module name is misspelt."""

import numpy as np

from tinygrad_softmax import Functoin  # noqa: F401  (misspelt on purpose)


class Sigmoid:
    def forward(self, x):
        return 1 / (1 + np.exp(-x))
