"""A file that looks for the checker around it: in the child it must find a plain script.

It prints (the report shows the file's prints) which checker modules are loaded and which
frames of its caller's stack come from the checker.
"""

import inspect
import os
import sys

from tinygrad_softmax import Function

MODULES = ("tinygrad_softmax.course", "tinygrad_softmax.exercises", "tinygrad_softmax.cli")
FOLDERS = (f"{os.sep}course{os.sep}", f"{os.sep}exercises{os.sep}", "checker")


class Spy(Function):
    @staticmethod
    def forward(ctx, x):
        if not getattr(Spy, "told", False):
            Spy.told = True
            modules = sorted(m for m in sys.modules if m.startswith(MODULES))
            frames = [f.filename for f in inspect.stack()[1:] if any(w in f.filename for w in FOLDERS)]
            print("spied: modules", modules, "frames", frames)
        return x * 1.0

    @staticmethod
    def backward(ctx, grad):
        return grad
