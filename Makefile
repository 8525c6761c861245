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

.PHONY: all book test lint release autograde feedback grades bench clean distclean FORCE

all: book

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (vgcourse)" >/dev/null
	touch $(STAMP)

venv: $(STAMP)

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

release: $(STAMP)
	@test -n "$(ASSIGNMENTS)" || { echo "No assignment in exercises/source/"; exit 1; }
	@for a in $(ASSIGNMENTS); do \
	  echo "== nbgrader generate_assignment $$a"; \
	  ( $(NBGRADER) generate_assignment "$$a" --force ) || exit 1; \
	done
	@echo "Student versions: exercises/release/<assignment>/ (assignments recorded in exercises/gradebook.db)"

# Grades every submission of exercises/submitted/ concurrently (coursekit.batch): JOBS=N workers
# (default: the CPU count), SCHEDULER=local for a Dask LocalCluster or SCHEDULER=tcp://host:8786
# for an existing Dask scheduler; already-graded submissions are skipped unless FORCE=1.
autograde: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" JUPYTER_PLATFORM_DIRS=1 JOBS="$(JOBS)" SCHEDULER="$(SCHEDULER)" \
	  FORCE="$(FORCE)" $(BIN)/python -m coursekit.batch --course exercises

feedback: $(STAMP)
	@for a in $(ASSIGNMENTS); do \
	  ls -d exercises/autograded/*/$$a >/dev/null 2>&1 || continue; \
	  echo "== nbgrader generate_feedback $$a"; \
	  ( $(NBGRADER) generate_feedback "$$a" --force ) || exit 1; \
	done
	@echo "Feedback: exercises/feedback/<student>/<assignment>/<assignment>.html"

# One row per student per assignment handed in, with a status and the submission timestamp
# (coursekit.exports); ROSTER=students.txt (or ROSTER=gradebook) adds `missing` rows.
grades: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" JUPYTER_PLATFORM_DIRS=1 $(BIN)/python -m coursekit.exports \
	  --course exercises $(if $(ROSTER),--roster "$(ROSTER)")

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_train.py
	$(BIN)/python benchmarks/bench_pipeline.py
	$(BIN)/python benchmarks/bench_grading.py

clean:
	rm -rf _build exercises/release exercises/autograded exercises/feedback exercises/gradebook.db exercises/grades.csv exercises/grading

distclean: clean
	rm -rf $(VENV)

FORCE:
