"""Collecting submissions downloaded from an LMS (Canvas, Moodle) with ``nbgrader zip_collect``.

nbgrader's ``FileNameCollectorPlugin`` matches ``named_regexp`` against the ABSOLUTE path of
each extracted file (``re.match`` from its start), so a recipe written for a file name, such as
``^(?P<student_id>[^_]+)_...``, matches nothing, and ``zip_collect`` then logs a warning per file
and exits 0 with nothing collected. :class:`LMSFileNameCollector` (set as
``c.ZipCollectApp.collector_plugin``) matches the regexp against the path relative to the
extracted folder instead (``doejane_12345_678901_ps1_sigmoid_decay.ipynb``, or
``Jane Doe_1234_assignsubmission_file_/ps1_sigmoid_decay.ipynb`` for Moodle's folders), after
dropping a browser's `` (1)`` copy suffix; a ``late`` group that matched (Canvas' ``_LATE``) and
no ``timestamp`` group give the submission the collection time as its timestamp, so nbgrader
counts it late (an upper bound on how late it was).

What cannot be collected safely is skipped for that student, with a reason in the collect
report, and the rest of the class is collected: an unsafe or unreadable archive member
(``coursekit.safe_extract.SafeExtractor``, the extractor ``collect`` runs nbgrader with), a
student id that is not a plain name, and two files of one student matching the same notebook
in one attempt (which makes plain nbgrader abort the whole collection).

``python -m coursekit.collect ASSIGNMENT [--course exercises]`` runs the real
``nbgrader zip_collect ASSIGNMENT --force`` and fails when it collected no file.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from datetime import datetime, timezone
from pathlib import Path

from nbgrader.plugins import FileNameCollectorPlugin

from coursekit.assignments import COURSE
from coursekit.nbgrader_run import run_nbgrader

#: A browser's copy suffix before the extension: ``name (1).ipynb`` -> ``name.ipynb``.
COPY_SUFFIX = re.compile(r" \(\d+\)(?=\.[^./]+$)")


class LMSFileNameCollector(FileNameCollectorPlugin):
    """``FileNameCollectorPlugin`` matching the path relative to the extracted folder."""

    def _relative(self, submitted_file: str) -> str:
        """The path inside the download: relative to ``extracted/``, without the folder that
        nbgrader's extractor names after each archive (``extracted/<archive stem>/``)."""
        app = self.parent
        if app is None:
            return os.path.basename(submitted_file)
        extracted = Path(app._format_collect_path(app.extracted_directory))
        archives = Path(app._format_collect_path(app.archive_directory))
        parts = Path(os.path.relpath(submitted_file, extracted)).parts
        stems = {p.stem for p in archives.iterdir()} if archives.is_dir() else set()
        if len(parts) > 1 and parts[0] in stems:
            parts = parts[1:]
        return "/".join(parts)

    def _info(self, submitted_file: str, quiet: bool = False) -> dict | None:
        """What the recipe reads from one extracted file (``quiet``: without logging)."""
        name = COPY_SUFFIX.sub("", self._relative(submitted_file))
        if os.path.splitext(name)[1] not in self.valid_ext:
            return None
        if quiet:
            found = re.match(self.named_regexp, name) if self.named_regexp else None
            info = found.groupdict() if found else None
        else:
            info = self._match(name)
        if not info:
            return None
        late = info.pop("late", None)
        if late and not info.get("timestamp"):
            info["timestamp"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f %Z")
        return {k: v for k, v in info.items() if v is not None}

    def _duplicates(self) -> dict[str, list[str]]:
        """extracted file -> every file of the same student matching the same notebook, for
        the files that share their (student, notebook) with another (one attempt, two files)."""
        if getattr(self, "_dups", None) is not None or self.parent is None:
            return getattr(self, "_dups", None) or {}
        groups: dict[tuple[str, str], list[str]] = {}
        extracted = self.parent._format_collect_path(self.parent.extracted_directory)
        for root, _, files in os.walk(extracted):
            for name in files:
                path = os.path.join(root, name)
                info = self._info(path, quiet=True)
                if info and "student_id" in info and "file_id" in info:
                    key = (info["student_id"], os.path.splitext(info["file_id"])[0]
                           + os.path.splitext(path)[1])
                    groups.setdefault(key, []).append(path)
        self._dups = {p: ps for ps in groups.values() if len(ps) > 1 for p in ps}
        return self._dups

    def collect(self, submitted_file: str) -> dict | None:
        info = self._info(submitted_file)
        if not info:
            return None
        why = unsafe_student_id(str(info.get("student_id", "")))
        same = self._duplicates().get(submitted_file)
        if same:
            names = ", ".join(self._relative(p) for p in same)
            why = (f"student {info.get('student_id')} handed in {len(same)} files for "
                   f"{info.get('file_id')} in one attempt ({names}); none of them is collected")
        if why:
            self.log.warning("Skipped %s: %s", self._relative(submitted_file), why)
            return None
        return info


def unsafe_student_id(student_id: str) -> str | None:
    """Why ``student_id`` cannot name a student's folder (and page), or ``None``: it must be
    1 to 100 letters (of any script), digits, ``.``, ``_``, ``-``, ``@`` or ``+``, not
    starting with ``.``."""
    if not 0 < len(student_id) <= 100 or student_id.startswith(".") \
            or not all(ch.isalnum() or ch in "._-@+" for ch in student_id):
        return f"the student id {student_id[:100]!r} is not a plain name"
    return None


def collect(course: Path, assignment: str) -> tuple[int, str]:
    """Run ``nbgrader zip_collect ASSIGNMENT --force`` in ``course``: (files collected, log)."""
    done = run_nbgrader(["zip_collect", assignment, "--force",
                         "--ZipCollectApp.extractor_plugin=coursekit.safe_extract.SafeExtractor"],
                        course, limit_s=None)
    log = done.stdout + done.stderr
    if done.returncode != 0:
        raise RuntimeError(f"nbgrader zip_collect {assignment} failed (exit {done.returncode}):\n"
                           f"{log[-4000:]}")
    found = re.findall(r"(\d+) files collected", log)
    return (int(found[-1]) if found else 0), log


def main(argv: list[str] | None = None) -> int:
    """``python -m coursekit.collect ASSIGNMENT``: collect, and fail when nothing was collected."""
    parser = argparse.ArgumentParser(description="Collect an LMS download with zip_collect.")
    parser.add_argument("assignment")
    parser.add_argument("--course", type=Path, default=COURSE)
    args = parser.parse_args(argv)
    count, log = collect(args.course, args.assignment)
    skipped = [ln for ln in log.splitlines() if "Skipped" in ln or "did not match" in ln]
    print("Collect report (what was not collected, and why):\n" + "\n".join(skipped)
          if skipped else "Collect report: every file of the download was collected")
    if count == 0:
        print(f"ERROR: no file collected for {args.assignment} from "
              f"{args.course}/downloaded/{args.assignment}/archive/ (check the archive and "
              "FileNameCollectorPlugin.named_regexp in nbgrader_config.py)", file=sys.stderr)
        return 1
    print(f"{count} files collected into {args.course}/submitted/<student>/{args.assignment}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
