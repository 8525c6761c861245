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
ASSIGNMENTS := $(notdir $(wildcard exercises/source/ps*))
# The course's networks are tiny: one BLAS thread per process is faster than several on a
# 2-core machine (and the book build, nbgrader and pytest each run one kernel at a time).
export OMP_NUM_THREADS ?= 1

.PHONY: all book test lint student release autograde feedback grades bench clean distclean FORCE

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

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

# --- Instructor targets: the real nbgrader command line, run in exercises/ --------------------
# (exercises/nbgrader_config.py). nbgrader calls `alembic` from PATH when it opens the
# gradebook, so the venv's bin goes first on PATH. Each works on every exercises/source/ps*.
NBGRADER = cd exercises && PATH="$(CURDIR)/$(BIN):$$PATH" JUPYTER_PLATFORM_DIRS=1 "$(CURDIR)/$(BIN)/nbgrader"

# Lists the submitted notebooks that are not valid JSON, by name. nbgrader itself also logs
# them by student and still grades everyone else, then exits 1; `make autograde` does the same.
define CHECK_SUBMISSIONS
import glob, json
for path in sorted(glob.glob("exercises/submitted/*/*/*.ipynb")):
    try:
        with open(path, encoding="utf-8") as f:
            json.load(f)
    except (ValueError, UnicodeDecodeError) as err:
        print(f"NOT A VALID NOTEBOOK (cannot be graded): {path}: {err}")
endef
export CHECK_SUBMISSIONS

release: $(STAMP)
	@test -n "$(ASSIGNMENTS)" || { echo "No assignment in exercises/source/"; exit 1; }
	@for a in $(ASSIGNMENTS); do \
	  echo "== nbgrader generate_assignment $$a"; \
	  ( $(NBGRADER) generate_assignment "$$a" --force ) || exit 1; \
	done
	@echo "Student versions: exercises/release/<assignment>/ (assignments recorded in exercises/gradebook.db)"

autograde: $(STAMP)
	@test -n "$$(ls -d exercises/submitted/*/* 2>/dev/null)" || { \
	  echo "No submissions: put them in exercises/submitted/<student>/<assignment>/<assignment>.ipynb"; exit 1; }
	@$(BIN)/python -c "$$CHECK_SUBMISSIONS"
	@status=0; for a in $(ASSIGNMENTS); do \
	  ls -d exercises/submitted/*/$$a >/dev/null 2>&1 || continue; \
	  echo "== nbgrader autograde $$a (every student in exercises/submitted/)"; \
	  ( $(NBGRADER) autograde "$$a" --create ) || status=1; \
	done; \
	if [ $$status -ne 0 ]; then \
	  echo "Some submissions could not be graded (named above, see the ERROR lines); every other one was graded."; fi; \
	exit $$status

feedback: $(STAMP)
	@for a in $(ASSIGNMENTS); do \
	  ls -d exercises/autograded/*/$$a >/dev/null 2>&1 || continue; \
	  echo "== nbgrader generate_feedback $$a"; \
	  ( $(NBGRADER) generate_feedback "$$a" --force ) || exit 1; \
	done
	@echo "Feedback: exercises/feedback/<student>/<assignment>/<assignment>.html"

grades: $(STAMP)
	$(NBGRADER) export --to grades.csv
	@echo "Grades: exercises/grades.csv (one row per student per assignment)"

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_train.py
	$(BIN)/python benchmarks/bench_pipeline.py

clean:
	rm -rf _build exercises/release exercises/autograded exercises/feedback exercises/gradebook.db exercises/grades.csv

distclean: clean
	rm -rf $(VENV) $(STUDENT_VENV)

FORCE:
