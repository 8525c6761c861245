# ruff: noqa
# A hostile cell: floods aimed at the trusted side. It fills the host folder of the kernel's
# sockets and makes every later test cell hand out far more observations than any test has.
import os
import sys

import vgcourse.grading as grading

connection = sys.argv[sys.argv.index("-f") + 1] if "-f" in sys.argv else "/tmp/x.json"
written = 0
try:
    with open(os.path.join(os.path.dirname(connection), "filler"), "wb") as f:
        for _ in range(3 * 1024):
            f.write(b"x" * 2**20)
            f.flush()
            written += 2**20
except OSError as err:
    print(f"the socket folder took {written} bytes, then {type(err).__name__}")
real_observe = observe


def observe(name, value, **kwargs):
    for i in range(500):
        grading._publish({"name": f"{name} #{i}", "value": {"type": "str", "value": "z" * 4096}})
    real_observe(name, value, **kwargs)
