"""The course's grading machinery: one home for what an assignment is, its cell kinds and
markers, what counts as a leak, how nbgrader is run, the sandbox every submission runs in and
the workers that grade a class, and the grading result every stage after them reads
(``coursekit.result``). The Makefile (``python -m coursekit ...``), the tests, the benchmarks and
the book extension all stand on it; ``vgcourse`` is what students import. The harness of
the tests and benchmarks (broken cases, mutant banks, the class builder and score reader) is
not part of this package: it is the repository's top-level ``harness`` package, never installed.
"""

import sys

# jsonschema, which nbformat imports, builds the whole grammar of RFC 3987 at import when
# rfc3987-syntax is installed (jupyter_events asks for it): 1.1 to 1.6 s of CPU in every grading
# process, for the "iri" string format that no notebook schema uses. Without the module,
# jsonschema leaves that one format unchecked.
sys.modules.setdefault("rfc3987_syntax", None)
