# ruff: noqa
# A hostile cell: everything it tries outside its own notebook, reported as JSON on stdout.
import glob
import json
import os
import socket
import sqlite3

import vgcourse.grading

COURSE = os.environ.get("HOSTILE_COURSE") or "{course}"
report = {}


def attempt(name, action):
    try:
        report[name] = "ALLOWED " + repr(action())[:60]
    except Exception as err:
        report[name] = "denied " + type(err).__name__


def found(pattern):
    hits = glob.glob(pattern, recursive=True)
    if not hits:
        raise FileNotFoundError(pattern)
    return hits


def write_gradebook():
    db = sqlite3.connect(COURSE + "/gradebook.db")
    db.execute("UPDATE grade SET auto_score = 99")
    db.commit()


def lock_gradebook():
    db = sqlite3.connect(COURSE + "/gradebook.db", isolation_level=None)
    db.execute("BEGIN EXCLUSIVE")
    globals()["_lock"] = db


attempt("read_source", lambda: open(COURSE + "/source/ps1_sigmoid_decay/ps1_sigmoid_decay.ipynb").read())
attempt("list_course", lambda: os.listdir(COURSE))
attempt("find_notebooks", lambda: found("/work/**/source/**/*.ipynb") + found("/tmp/**/*.ipynb"))
attempt("read_other_student", lambda: open(COURSE + "/submitted/honest/ps1_sigmoid_decay/ps1_sigmoid_decay.ipynb").read())
attempt("read_gradebook", lambda: open(COURSE + "/gradebook.db", "rb").read(16))
attempt("write_gradebook", write_gradebook)
attempt("lock_gradebook", lock_gradebook)
attempt("append_config", lambda: open(COURSE + "/nbgrader_config.py", "a").write("\nopen('/tmp/pwned', 'w')\n"))
attempt("edit_vgcourse", lambda: open(vgcourse.grading.__file__, "a").write("\ncheck_close = lambda *a, **k: None\n"))
attempt("write_outside", lambda: open("/work/pwned", "w").write("x"))
attempt("network_loopback", lambda: socket.create_connection(("127.0.0.1", 22), timeout=3))
attempt("network_outside", lambda: socket.create_connection(("1.1.1.1", 53), timeout=3))
attempt("shipped_file_readable", lambda: open("vgcourse/grading.py").read())
report["grading_module"] = "SHADOWED" if hasattr(vgcourse.grading, "SHADOWED") else "real"
report["uid"] = os.getuid()
print("HOSTILE-REPORT " + json.dumps(report))
