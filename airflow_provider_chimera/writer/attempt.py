"""The data files of one write attempt: deleted again when the attempt fails before its commit.

A write streams its rows into Parquet data files in the table's folder before it commits the
snapshot that references them. An attempt that fails in between (a source error, a failed check
before the commit, a timeout, a conflicting commit) would leave those files behind, referenced
by no snapshot, for ever. :func:`attempt` records every file the write adds and deletes them when
the attempt fails before or in its commit; once the commit has been sent, only a commit the
catalog refused (:class:`~pyiceberg.exceptions.CommitFailedException`, or conflicts retried until
the caps of :mod:`.conflicts`, or a run whose position another run moved meanwhile) counts as
failed: after any other error the commit may have happened, and its files are left alone. Files of an attempt
killed outright (``SIGKILL``, a lost worker) cannot be deleted by it; the orphan-file sweep of
``chimera_maintenance`` removes them (:mod:`airflow_provider_chimera.maintenance.orphans`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from pyiceberg.exceptions import CommitFailedException
from pyiceberg.io import FileIO

log = logging.getLogger(__name__)

F = TypeVar("F")


class Attempt:
    """The files one write attempt added, until it commits."""

    def __init__(self, io: FileIO, name: str):
        self.io = io
        self.name = name
        self.paths: list[str] = []
        self.committing = False

    def written(self, files: Iterable[F]) -> list[F]:
        """Record data files (anything with ``file_path``) the attempt wrote; returns them as a list."""
        files = list(files)
        self.paths.extend(f.file_path for f in files)  # type: ignore[attr-defined]
        return files

    def opening(self, path: str) -> None:
        """Record a data file about to be written (deleted with the others, even half-written)."""
        self.paths.append(path)

    def commit_next(self) -> None:
        """Mark that the commit is about to be sent (the last statement before it)."""
        self.committing = True

    def discard(self) -> int:
        """Delete the recorded files (a file already gone is fine); how many were deleted."""
        deleted = 0
        for path in self.paths:
            try:
                self.io.delete(path)
                deleted += 1
            except FileNotFoundError:
                pass
            except Exception as exc:  # the orphan sweep gets it later
                log.warning("%s: could not delete %s of a failed attempt: %s", self.name, path, exc)
        if deleted:
            log.info("%s: deleted %d data file(s) of the failed attempt", self.name, deleted)
        self.paths.clear()
        return deleted


@contextmanager
def attempt(io: FileIO, name: str) -> Iterator[Attempt]:
    """Track one write attempt on table ``name``; its files are deleted if it fails before its commit."""
    current = Attempt(io, name)
    try:
        yield current
    except BaseException as exc:
        if not current.committing or isinstance(exc, CommitFailedException) or _never_landed(exc):
            current.discard()
        raise


def _never_landed(exc: BaseException) -> bool:
    """Errors that guarantee the commit did not happen (:mod:`.conflicts`)."""
    from airflow_provider_chimera.writer.conflicts import CommitConflictError, PositionMovedError, is_conflict

    return isinstance(exc, (CommitConflictError, PositionMovedError)) or is_conflict(exc)
