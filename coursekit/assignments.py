"""What an assignment is, and where the course lives in the repository.

One rule: an assignment is a folder ``exercises/source/<name>/`` holding ``<name>.ipynb`` (its
notebook; data files and further notebooks may sit beside it). Folders whose names start with
``.`` or ``_`` are not assignments. A folder that holds notebooks but not ``<name>.ipynb`` is
not an assignment either (the test harness's ``harness.misnamed_folders`` lists those, so a test can
refuse them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: The instructors' nbgrader course (run every nbgrader command there).
COURSE = REPO / "exercises"
COURSE_CONFIG = COURSE / "nbgrader_config.py"
SOURCE_ROOT = COURSE / "source"
#: The mutant banks of the course's assignments (one ``<name>.py`` each).
MUTANT_ROOT = REPO / "tests" / "mutants"


@dataclass(frozen=True)
class Assignment:
    """One nbgrader assignment: its source folder and (for the tests) its mutant bank."""

    name: str
    source_dir: Path
    mutant_bank: Path | None = None

    @property
    def notebook(self) -> Path:
        return self.source_dir / f"{self.name}.ipynb"

    def __str__(self) -> str:
        return self.name


def candidate_folders(source_root: Path) -> list[Path]:
    """The folders of ``source_root`` that may be assignments (not starting with . or _)."""
    if not source_root.is_dir():
        return []
    return sorted(d for d in source_root.iterdir()
                  if d.is_dir() and not d.name.startswith((".", "_")))


def discover_assignments(source_root: Path = SOURCE_ROOT,
                         mutant_root: Path | None = MUTANT_ROOT) -> list[Assignment]:
    """Every assignment in ``source_root``, by name (see the module docstring)."""
    return [
        Assignment(d.name, d, None if mutant_root is None else mutant_root / f"{d.name}.py")
        for d in candidate_folders(source_root)
        if (d / f"{d.name}.ipynb").is_file()
    ]
