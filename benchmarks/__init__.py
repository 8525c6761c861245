"""The course's benchmarks. Run each from the repository's root as a module
(``.venv/bin/python -m benchmarks.bench_grading``, or ``make bench`` for all), so that it
imports the test harness (``harness/``, never installed) and its sibling modules as the tests
do; each writes its record into ``benchmarks/results/``."""
