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

clean:
	rm -rf _build exercises/release exercises/autograded exercises/feedback exercises/gradebook.db exercises/grades.csv

distclean: clean
	rm -rf $(VENV)

FORCE:
