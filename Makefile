# The course's commands. `make book` and `make test` do all set-up on a fresh clone:
# they (re)create .venv from requirements.txt when it is missing or stale.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The execution cache is keyed on the helper package and the pinned requirements:
# when either changes, cached chapter outputs are discarded (jupyter-cache only
# hashes the notebooks' own code, not what they import).
CACHE_KEY := _build/.cache-key
# The course's networks are tiny: one BLAS thread per process is faster than several on a
# 2-core machine (and the book build, nbgrader and pytest each run one kernel at a time).
export OMP_NUM_THREADS ?= 1

.PHONY: all venv book pdf test check lint student release autograde feedback grades similarity bench clean distclean FORCE

all: book

$(STAMP): requirements.txt pyproject.toml coursekit/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (vgcourse)" >/dev/null
	touch $(STAMP)

venv: $(STAMP)

# A light set-up for students: JupyterLab and the course package (requirements-student.txt),
# nothing of the book, grading or test tooling. Then: .venv-student/bin/jupyter lab
STUDENT_VENV := .venv-student
student:
	test -x $(STUDENT_VENV)/bin/python || $(PYTHON) -m venv $(STUDENT_VENV)
	$(STUDENT_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(STUDENT_VENV)/bin/python -m pip install --quiet -r requirements-student.txt
	@echo "Start JupyterLab with: $(STUDENT_VENV)/bin/jupyter lab"

$(CACHE_KEY): FORCE | $(STAMP)
	@mkdir -p _build
	@key=$$(cat requirements.txt $$(find vgcourse -name '*.py' | sort) | sha256sum | cut -c1-16); \
	if [ "$$(cat $@ 2>/dev/null)" != "$$key" ]; then \
	  echo "vgcourse or requirements changed: clearing the execution cache"; \
	  rm -rf _build/.jupyter_cache; echo "$$key" > $@; fi

book: $(STAMP) $(CACHE_KEY)
	$(BIN)/jupyter-book build book/ --path-output . -W -n --keep-going
	@echo "Book: file://$(CURDIR)/_build/html/index.html"

# The whole book as one PDF (_build/latex/vanishing-gradients.pdf), built offline with Sphinx's
# LaTeX and Debian's TeX Live, XeLaTeX (apt: texlive-latex-recommended texlive-latex-extra
# texlive-fonts-recommended texlive-xetex fonts-freefont-otf latexmk), then the HTML again,
# which offers it for download.
pdf: $(STAMP) $(CACHE_KEY)
	$(BIN)/jupyter-book build book/ --builder pdflatex --path-output . -W -n --keep-going
	$(BIN)/jupyter-book build book/ --path-output . -W -n --keep-going
	@echo "PDF: $(CURDIR)/_build/latex/vanishing-gradients.pdf"

# The whole suite (what CI runs). It builds the book with the shared execution cache, so it
# depends on the cache's key: a vgcourse edit cannot pass on chapter outputs cached before it.
test: $(STAMP) $(CACHE_KEY)
	$(BIN)/python -m pytest

# The fast lane: every test that needs no book build, no kernel, no nbgrader subprocess and no
# browser (markers in pyproject.toml; tests/conftest.py marks a test using a book or class
# fixture `slow`), including the grading stages on hand-built results. About a minute.
FAST := not slow and not kernel and not browser
check: $(STAMP)
	$(BIN)/python -m pytest -m "$(FAST)" -q

lint: $(STAMP)
	$(BIN)/ruff check .

# --- Instructor targets: the real nbgrader command line, run in exercises/ --------------------
# (exercises/nbgrader_config.py) by `python -m coursekit`, once per assignment
# (exercises/source/<name>/<name>.ipynb), with the venv's bin first on PATH (nbgrader calls
# `alembic` when it opens the gradebook).
# `autograde` grades every submission of exercises/submitted/ concurrently, each in its own
# sandbox (coursekit.batch): JOBS=N workers (default: the CPU count), SCHEDULER=local for a Dask
# LocalCluster or SCHEDULER=tcp://host:8786 for an existing Dask scheduler; already-graded
# submissions are skipped unless FORCE=1; SANDBOX=off grades without the sandbox (trusted
# submissions only). Kernels are forked from a warm template per worker (coursekit.warm_kernels);
# KERNELS=fresh starts a new sandboxed interpreter for each instead. `grades` writes one row per student per assignment handed in, with a
# status and the submission timestamp; ROSTER=students.txt adds `missing` rows. With an LMS
# roster (exercises/lms_roster.csv, or LMS_ROSTER=file) it also writes the Canvas and Moodle
# imports in exercises/lms/ (coursekit.lms).
release autograde feedback grades: $(STAMP)
	@JOBS="$(JOBS)" SCHEDULER="$(SCHEDULER)" FORCE="$(FORCE)" SANDBOX="$(SANDBOX)" ROSTER="$(ROSTER)" \
	  LMS_ROSTER="$(LMS_ROSTER)" COURSEKIT_KERNELS="$(KERNELS)" $(BIN)/python -m coursekit $@

# A similarity report between the submissions of each assignment (ASSIGNMENT=name for one):
# exercises/similarity/<assignment>.html, for the instructor's judgement (coursekit.similarity).
similarity: $(STAMP)
	$(BIN)/python -m coursekit similarity $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT))

# Run from the root as modules, so that they import the test harness (harness/) as the tests do.
bench: $(STAMP)
	$(BIN)/python -m benchmarks.bench_train
	$(BIN)/python -m benchmarks.bench_pipeline
	$(BIN)/python -m benchmarks.bench_grading
	$(BIN)/python -m benchmarks.bench_sandbox

clean:
	rm -rf _build exercises/release exercises/autograded exercises/feedback exercises/gradebook.db exercises/grades.csv exercises/grading \
	  exercises/lms exercises/similarity

distclean: clean
	rm -rf $(VENV) $(STUDENT_VENV)

FORCE:
