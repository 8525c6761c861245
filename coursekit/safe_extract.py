"""Extracting an LMS download member by member, skipping what is unsafe (for ``zip_collect``).

nbgrader's ``ExtractorPlugin`` unpacks each archive whole (setuptools' ``unpack_archive``):
one unreadable archive or member stops the collection of the whole class, and nothing is
reported per member. :class:`SafeExtractor` (``coursekit.collect`` runs ``nbgrader
zip_collect`` with it) writes the same layout (``extracted/<folder>/<archive stem>/<member>``,
archives inside archives into their own folder, other files copied) but skips, with a reason
logged as ``Skipped <member>: <reason>``:

- a member whose path is absolute, has a ``..`` part, a backslash or a drive letter, or that
  would land outside its folder;
- a symbolic link (a zip member marked as one, a tar link, a link in the download folder);
- a member larger than ``max_member_bytes`` (counted while it is copied, not taken from the
  archive's own claim), or past ``max_total_bytes`` for the whole download (both
  ``SafeExtractor`` settings; :data:`MAX_MEMBER_BYTES` and :data:`MAX_TOTAL_BYTES` by default);
- a member or an archive that cannot be read (bad CRC, truncated, not an archive).

Everything else of the class is extracted.
"""

from __future__ import annotations

import os
import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from nbgrader.plugins import ExtractorPlugin
from traitlets import Integer

#: The largest member extracted (a notebook with its outputs is well under this).
MAX_MEMBER_BYTES = 64 * 2**20
#: The most a whole download may extract.
MAX_TOTAL_BYTES = 4 * 2**30
#: Archives inside archives are extracted this deep at most.
MAX_DEPTH = 3
_CHUNK = 2**20


def unsafe_member_name(name: str) -> str | None:
    """Why the archive member path ``name`` is unsafe to extract, or ``None`` when it is a
    plain relative path (``folder/file.ipynb``)."""
    if not name or "\\" in name or "\0" in name:
        return "its path holds a backslash or a NUL, or is empty"
    path = PurePosixPath(name)
    if path.is_absolute() or (path.parts and path.parts[0].endswith(":")):
        return "its path is absolute"
    if ".." in path.parts:
        return "its path climbs out of the folder ('..')"
    return None


class SafeExtractor(ExtractorPlugin):
    """An nbgrader extractor that skips unsafe or unreadable members (module docstring)."""

    max_member_bytes = Integer(MAX_MEMBER_BYTES, help="The largest member extracted.").tag(
        config=True)
    max_total_bytes = Integer(MAX_TOTAL_BYTES, help="The most one download extracts.").tag(
        config=True)

    def extract(self, archive_path: str, extracted_path: str) -> None:
        self._total = 0
        if not os.path.isdir(archive_path) or not os.listdir(archive_path):
            self.log.warning("No files found in directory: %s", archive_path)
            return
        for root, _, files in os.walk(archive_path):
            target = Path(extracted_path) / os.path.relpath(root, archive_path)
            for name in sorted(files):
                self._one(Path(root) / name, target, os.path.join(os.path.relpath(root,
                          archive_path), name), depth=0)

    def _skip(self, member: str, reason: str) -> None:
        self.log.warning("Skipped %s: %s", member, reason)

    def _one(self, path: Path, target: Path, label: str, depth: int) -> None:
        """Extract the archive at ``path`` into ``target/<stem>/`` or copy the file."""
        if path.is_symlink():
            return self._skip(label, "it is a symbolic link")
        stem, ext = os.path.splitext(path.name)
        if ext in self.zip_ext and depth < MAX_DEPTH:
            stem = stem[:-4] if stem.endswith(".tar") else stem
            self.log.info("Extracting from: %s", path)
            try:
                if zipfile.is_zipfile(path):
                    return self._zip(path, target / stem, label, depth)
                if tarfile.is_tarfile(path):
                    return self._tar(path, target / stem, label, depth)
            except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError) as err:
                return self._skip(label, f"the archive cannot be read ({err})"[:300])
            return self._skip(label, "it is not a zip or tar archive")
        with open(path, "rb") as f:
            self._write(f, target / path.name, label)
        return None

    def _write(self, source, dest: Path, label: str) -> bool:
        """Copy the stream ``source`` into ``dest`` within the size limits."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with open(dest, "wb") as out:
            while chunk := source.read(_CHUNK):
                written += len(chunk)
                self._total += len(chunk)
                if written > self.max_member_bytes or self._total > self.max_total_bytes:
                    break
                out.write(chunk)
        if written > self.max_member_bytes or self._total > self.max_total_bytes:
            dest.unlink()
            limit = ("the download's total" if written <= self.max_member_bytes
                     else f"{self.max_member_bytes} bytes")
            self._skip(label, f"it is too large (past {limit})")
            return False
        return True

    def _place(self, folder: Path, name: str, label: str) -> Path | None:
        why = unsafe_member_name(name)
        dest = (folder / name).resolve() if why is None else None
        if dest is not None and not dest.is_relative_to(folder.resolve()):
            why = "its path leads outside the folder"
        if why:
            self._skip(label, why)
            return None
        return dest

    def _zip(self, path: Path, folder: Path, label: str, depth: int) -> None:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                member = f"{label}:{info.filename}"
                if info.is_dir():
                    continue
                if stat.S_ISLNK(info.external_attr >> 16):
                    self._skip(member, "it is a symbolic link")
                    continue
                dest = self._place(folder, info.filename, member)
                if dest is None:
                    continue
                try:
                    with zf.open(info) as src:
                        ok = self._write(src, dest, member)
                except (OSError, zipfile.BadZipFile, EOFError, RuntimeError) as err:
                    dest.unlink(missing_ok=True)
                    self._skip(member, f"it cannot be read ({err})"[:300])
                    continue
                if ok and os.path.splitext(dest.name)[1] in self.zip_ext:
                    self._nested(dest, member, depth)

    def _tar(self, path: Path, folder: Path, label: str, depth: int) -> None:
        with tarfile.open(path) as tf:
            for info in tf:
                member = f"{label}:{info.name}"
                if info.isdir():
                    continue
                if not info.isfile():
                    self._skip(member, "it is a link or a special file")
                    continue
                dest = self._place(folder, info.name, member)
                src = tf.extractfile(info) if dest is not None else None
                if src is not None and self._write(src, dest, member) \
                        and os.path.splitext(dest.name)[1] in self.zip_ext:
                    self._nested(dest, member, depth)

    def _nested(self, dest: Path, member: str, depth: int) -> None:
        """An archive inside an archive: extracted into its own folder beside it."""
        if depth + 1 < MAX_DEPTH:
            self._one(dest, dest.parent, member, depth + 1)
        else:
            self._skip(member, f"archives nested more than {MAX_DEPTH} deep")
        dest.unlink(missing_ok=True)
