"""Which files a file or PDF source may open: those below its base location and its team's roots.

Validation already refuses absolute, URL and ``..`` paths (:mod:`~airflow_provider_chimera.contract.source_rules`);
what only shows at run time is checked here: the base a placeholder resolves to, and each file a
glob matched, taken through every symbolic link (``os.path.realpath``). A file whose real
location is outside the base, outside the team's ``file_roots`` or inside a system folder
(``/proc``, ``/sys``, ``/dev``) stops the read naming it, before a byte of it is read: nothing of
it reaches the table, the quarantine or a log. The check is repeated right before each file is
opened, and the real path is what is opened, so a link swapped in after listing is caught too.
"""

from __future__ import annotations

import os
import posixpath

import fsspec
from fsspec.implementations.local import LocalFileSystem

from airflow_provider_chimera.contract.source_rules import PATH_HINT, forbidden_local, object_path_problems
from airflow_provider_chimera.sources.base import SourceRefusedError
from airflow_provider_chimera.tenancy.authorize import within_roots


def _real(path: str) -> str:
    """The real location of a local ``path``, links followed (POSIX's leading ``//`` made ``/``)."""
    return os.path.realpath("/" + path.lstrip("/"))


def _inside(path: str, folder: str) -> bool:
    folder = folder.rstrip("/") or "/"
    return path == folder or path.startswith(folder if folder == "/" else folder + "/")


class Confinement:
    """The files of one source's base location that may be read.

    ``roots`` are the team's ``file_roots`` (URLs) when the base comes from the intent; ``None``
    when it does not matter (single-team mode, or a platform-owned Airflow connection's base).
    """

    def __init__(self, fs: fsspec.AbstractFileSystem, base: str, roots: tuple[str, ...] | None, where: str):
        self.fs = fs
        self.where = where
        self.local = isinstance(fs, LocalFileSystem)
        if self.local:
            self.base = _real(base)
            if forbidden_local(self.base) or forbidden_local(posixpath.normpath(base)):
                raise SourceRefusedError(f"{where}: base location {base!r} is a system folder; no source may read it")
            self.roots = None if roots is None else tuple(self._real_root(r) for r in roots if r.startswith("file://"))
        else:
            self.base = posixpath.normpath(base) if base else base
            self.roots = roots
        if not self._in_roots(self.base):
            raise SourceRefusedError(
                f"{where}: base location {self._url(self.base)!r} is not under the team's file roots "
                f"({', '.join(roots or ())}); use a folder of your team's landing area"
            )

    @staticmethod
    def _real_root(root: str) -> str:
        return _real(root[len("file://") :] or "/")

    def _url(self, path: str) -> str:
        return f"file://{path}" if self.local else self.fs.unstrip_protocol(path)

    def _in_roots(self, path: str) -> bool:
        if self.roots is None:
            return True
        if self.local:
            return any(_inside(path, root) for root in self.roots)
        return within_roots(self.fs.unstrip_protocol(path), self.roots)

    def check(self, path: str) -> str:
        """What to open for ``path`` (a file a glob matched): its real location on a local disk, the
        name itself on an object store; raise :class:`SourceRefusedError` naming it if it may not be read."""
        if self.local:
            real = _real(path)
            if forbidden_local(real):
                raise SourceRefusedError(f"{self.where}: {path!r} leads to the system file {real!r}; remove it from the landing folder")
        else:
            real = posixpath.normpath(path)  # object stores have no links: the name is the location
        if not _inside(real, self.base) or not self._in_roots(real):
            raise SourceRefusedError(
                f"{self.where}: {path!r} leads to {real!r}, outside the source's base location {self.base!r} "
                "or the team's file roots; remove the link or the file from the landing folder"
            )
        return real if self.local else path

    def open(self, path: str, mode: str = "rb"):
        """``path`` checked again and opened at its real location."""
        return self.fs.open(self.check(path), mode)


def checked_pattern(pattern: str, where: str) -> str:
    """An object's ``path`` (or an ``adopt_from`` glob) if it stays below the base; else raise."""
    problems = object_path_problems(pattern)
    if problems:
        raise SourceRefusedError(f"{where}: {problems[0]}; {PATH_HINT}")
    return pattern
