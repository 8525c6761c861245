"""The course's grading machinery: one home for what an assignment is, its cell kinds and
markers, what counts as a leak, how nbgrader is run, the sandbox every submission runs in and
the workers that grade a class, and the grading result every stage after them reads
(``coursekit.result``). The Makefile (``python -m coursekit ...``), the tests, the benchmarks and
the book extension all stand on it; ``vgcourse`` is what students import. The harness of
the tests and benchmarks (broken cases, mutant banks, the class builder and score reader) is
not part of this package: it is the repository's top-level ``harness`` package, never installed.
"""
