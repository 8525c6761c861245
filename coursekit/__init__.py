"""The course's grading machinery: one home for what an assignment is, its cell kinds and
markers, what counts as a leak, how nbgrader is run, the sandbox every submission runs in and
the workers that grade a class. The Makefile (``python -m coursekit ...``), the tests, the
benchmarks and the book extension all stand on it; ``vgcourse`` is what students import.
"""
