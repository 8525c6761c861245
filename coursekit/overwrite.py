"""Autograde's cell restoring without the false alarm on every untouched test cell.

Why nbgrader warns on untouched submissions: ``generate_assignment`` records a locked cell's
checksum (and source) BEFORE ``ClearHiddenTests`` removes the ``### BEGIN HIDDEN TESTS`` block
(nbgrader ``GenerateAssignment.preprocessors``: "ClearHiddenTests must come after
ComputeChecksums and SaveCells"). So every released test cell with hidden tests differs from
its recorded checksum, and at autograde ``OverwriteCells`` logs ``Attribute 'checksum' for cell
... has changed!`` for it, then restores the recorded source: that restore is how the hidden
tests come back, not a sign of an edit.

:class:`OverwriteCells` keeps nbgrader's behaviour (every locked cell is still restored from the
gradebook) and only stays quiet when the submitted cell is exactly what the student was given,
the recorded source with its hidden-test block removed. A real edit still logs the warning.
``exercises/nbgrader_config.py`` puts it in ``Autograde.sanitize_preprocessors``.
"""

from __future__ import annotations

import copy

from nbgrader.api import MissingEntry
from nbgrader.preprocessors import ClearHiddenTests
from nbgrader.preprocessors import OverwriteCells as NbgraderOverwriteCells


class OverwriteCells(NbgraderOverwriteCells):
    """nbgrader's OverwriteCells, silent about cells submitted exactly as released."""

    def _as_released(self, cell) -> bool:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        try:
            source_cell = self.gradebook.find_source_cell(grade_id, self.notebook_id,
                                                          self.assignment_id)
        except MissingEntry:
            return False
        released = copy.deepcopy(cell)
        released.source = source_cell.source
        ClearHiddenTests(config=self.config)._remove_hidden_test_region(released)
        return released.source.strip() == cell.source.strip()

    def preprocess_cell(self, cell, resources, cell_index):
        self._quiet = cell.cell_type == "code" and self._as_released(cell)
        try:
            return super().preprocess_cell(cell, resources, cell_index)
        finally:
            self._quiet = False

    def report_change(self, name, attr, old, new) -> None:
        if attr == "checksum" and getattr(self, "_quiet", False):
            self.log.debug("Cell %s as released: hidden tests restored from the source", name)
            return
        super().report_change(name, attr, old, new)
