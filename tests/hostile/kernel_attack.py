# ruff: noqa
# A hostile cell: every in-kernel trick that could turn a failing test into a passing one.
import numpy as np
import torch

import vgcourse.grading as grading


def passes(*args, **kwargs):
    return None

for name in ("check_close", "check_equal", "check_finite", "check_shape", "check_type"):
    setattr(grading, name, passes)
check_close = check_equal = check_finite = check_shape = check_type = passes
np.allclose = lambda *args, **kwargs: True
np.testing.assert_allclose = passes
torch.allclose = lambda *args, **kwargs: True
ip = get_ipython()
ip.input_transformers_post.append(lambda lines: ["pass\n"] if '"""Check' in "".join(lines) else lines)
ip.set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: None)
type(ip).showtraceback = lambda *args, **kwargs: None


def sigmoid(x):
    """Return whatever the test expects, read off the caller's frame."""
    import sys
    frame = sys._getframe(1)
    return frame.f_locals.get("expected", frame.f_globals.get("expected", x))
