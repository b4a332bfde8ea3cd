"""``python -m tinygrad_softmax``: the same as the ``tinygrad-softmax`` command."""

import sys

from .cli import main

sys.exit(main())
