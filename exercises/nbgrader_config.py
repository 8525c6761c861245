"""nbgrader configuration of the course (nbgrader 0.9).

Run every nbgrader command from this folder (the Makefile's instructor targets do):
``make release``, ``make autograde``, ``make feedback``, ``make grades``. Assignments live in
``source/<assignment>/<assignment>.ipynb``; students' work goes in
``submitted/<student>/<assignment>/``. ``release/``, ``submitted/``, ``autograded/``,
``feedback/``, ``gradebook.db`` and ``grades.csv`` are generated and git-ignored.

The test suite (``tests/test_autograder.py``) grades every assignment with a copy of this file
(plus a shorter ``Execute.timeout``), so what is set here is what the tests prove.
"""

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = "vgcourse"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"

# ---------------------------------------------------------------------------------------------
# Execution. CPU PyTorch: one cell may take at most 120 s. A cell that runs longer (an infinite
# loop) is interrupted (`interrupt_on_timeout`), gets a `CellTimeoutError` output and so scores
# zero if it is a test cell; the kernel is then still alive, so the following cells run and are
# graded, and the batch goes on with the next student.
# ---------------------------------------------------------------------------------------------
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
c.Execute.startup_timeout = 120
c.Execute.execute_retries = 0
# After a cell's reply, nbclient waits this long for its remaining output; if that runs out it
# raises and nbgrader drops the WHOLE submission (it is reported, not graded). The default, 4 s,
# is too short on a loaded machine (seen on 2 shared cores after an interrupted `import torch`).
c.Execute.iopub_timeout = 60

# ---------------------------------------------------------------------------------------------
# Warnings policy. nbgrader 0.9 (`nbgrader.utils.determine_grade`) scores a test cell 0 as soon
# as it has ANY stderr stream output, and Python prints warnings (a PyTorch UserWarning, a NumPy
# RuntimeWarning) to stderr. Two layers keep a warning from zeroing a correct answer:
#  1. the grading kernel starts with `warnings.showwarning` writing to stdout, so the warning is
#     still shown in the feedback but is not stderr;
#  2. what still reaches stderr and looks like a warning (C++ `[W ...]` lines, a library that
#     prints "...Warning: ..." itself) is dropped by nbgrader's IgnorePattern preprocessor before
#     the cell is scored.
# Real errors are `error` outputs, not stderr, so neither layer can turn a failing test into a
# passing one.
# ---------------------------------------------------------------------------------------------
_WARNINGS_TO_STDOUT = (
    "import sys as _vg_sys, warnings as _vg_warnings; "
    "_vg_warnings.showwarning = (lambda message, category, filename, lineno, file=None, "
    "line=None, _w=_vg_warnings, _s=_vg_sys: _s.stdout.write("
    "_w.formatwarning(message, category, filename, lineno, line))); "
    "del _vg_sys, _vg_warnings"
)
c.Execute.extra_arguments = [f"--IPKernelApp.exec_lines={_WARNINGS_TO_STDOUT}"]
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"(?m)(\w*Warning: |^\[W[ \d])"

# ---------------------------------------------------------------------------------------------
# What students receive. The def line and docstring of each answer cell stay outside
# `### BEGIN SOLUTION`, so the stub below is inserted under them with their indentation.
# ---------------------------------------------------------------------------------------------
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearSolutions.enforce_metadata = True
c.ClearHiddenTests.begin_test_delimeter = "BEGIN HIDDEN TESTS"
c.ClearHiddenTests.end_test_delimeter = "END HIDDEN TESTS"

# ---------------------------------------------------------------------------------------------
# Autograding. Locked and test cells are restored from the gradebook (their checksums were
# recorded by `generate_assignment`), so an edited test cell gains nothing. A deleted test cell
# is added back and run (`add_missing_cells`), so deleting a test cannot dodge it either.
# ---------------------------------------------------------------------------------------------
# A released test cell differs from its recorded checksum because its hidden tests were cleared
# after the checksum was taken; coursekit.overwrite.OverwriteCells restores it just the same but
# logs "Attribute 'checksum' ... has changed!" only for a cell the student really edited.
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "coursekit.overwrite.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.OverwriteCells.add_missing_cells = True
c.Autograde.create_student = True
# Keep tracebacks in the feedback short enough to read.
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100

# ---------------------------------------------------------------------------------------------
# What the instructor's browser shows. A student's outputs and markdown are theirs: a
# `_repr_html_`, a Javascript output or raw HTML in a written answer would run script in the
# formgrader with the instructor's Jupyter session. coursekit.gradebook writes every graded
# notebook into autograded/ through coursekit.sanitize.sanitize_notebook; as a second layer the
# formgrader's and generate_feedback's exporter sanitizes HTML outputs and drops JavaScript
# (`sanitize_html`), and renders markdown with raw HTML shown as text and nh3 over the result
# (the formgrade template's markdown cells do not go through `sanitize_html`).
# ---------------------------------------------------------------------------------------------
c.HTMLExporter.sanitize_html = True
c.HTMLExporter.filters = {"markdown2html": "coursekit.sanitize.nbconvert_markdown2html"}
