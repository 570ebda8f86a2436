"""Commits that lose a race: retried from a fresh read of the table, with a bounded backoff.

Iceberg commits are optimistic: a commit states what it expects the table's metadata to be, and
the catalog refuses it (:class:`~pyiceberg.exceptions.CommitFailedException`) when another commit
landed first. Several tasks commit to one table at once on a cluster: the windows of a backfill,
stream micro-batches, maintenance. :func:`retry_commits` is the one place every Chimera commit
path goes through (appends, replaces, history writes, quarantine appends, WAP publishing,
maintenance rewrites and expiry):

* a commit that conflicts is tried again, each time from the table as it is now, after a wait
  that doubles from :data:`FIRST_WAIT` up to :data:`LONGEST_WAIT`, with full jitter so that the
  losers of one race do not meet again;
* before each new try, ``revalidate`` re-reads what the commit relies on (the pipeline's position
  in main's snapshot summaries): it returns the result when the run's data is already committed
  (a commit whose answer was lost; nothing is committed twice), or raises when the commit must
  not happen any more (another run of the pipeline read past this run's position);
* the tries stop at ``[chimera] commit_retry_attempts`` or ``commit_retry_seconds``, whichever
  comes first, with :class:`CommitConflictError` (transient: Airflow retries the task, which
  reads again from the position the table records).

pyiceberg would retry a refused commit itself (the table's ``commit.retry.*`` properties) by
applying the same snapshot to the new metadata: a plan made against a table that moved (for a
history commit, versions that changed; for any load, data files written under a partition spec
the table no longer has, where pyiceberg fails with ``IndexError``). Chimera creates its tables
with :data:`NO_CATALOG_RETRIES`, so that every retry is this loop's, from the table as it is.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from pyiceberg.exceptions import BadRequestError, CommitFailedException, ValidationException

from airflow_provider_chimera.errors import FixRequired, Transient

log = logging.getLogger(__name__)

T = TypeVar("T")

# Table properties that leave every commit retry to retry_commits (see the module's docstring).
NO_CATALOG_RETRIES = {"commit.retry.num-retries": "0"}
FIRST_WAIT = 0.1  # seconds before the second try
LONGEST_WAIT = 5.0  # the most one wait grows to
# The catalog's refusals of a snapshot whose sequence number was taken from metadata that moved.
STALE_SEQUENCE = ("older than last sequence number", "greater than last sequence number")


class CommitConflictError(Transient, RuntimeError):
    """A commit kept losing to concurrent commits to its table until the retry caps."""


class PositionMovedError(FixRequired, RuntimeError):
    """Another run of the pipeline committed past the position this run read from: committing
    this run's rows now would load some records twice."""


class PartitionSpecChangedError(PositionMovedError):
    """The table's partition spec changed after this run wrote its data files (another run's
    first load of a new table added it): the files cannot be committed under the new spec, so the
    load is dropped and written again, as when the position moved."""


def is_conflict(exc: BaseException) -> bool:
    """Whether ``exc`` says another commit to the table landed first (and this one did not).

    The catalog's refusal, pyiceberg's conflict validation, and the catalog's checks that a new
    snapshot's sequence number follows the table's (a snapshot built on metadata that moved
    meanwhile, as when two runs commit to their own audit branches at once): the SQL catalog
    raises them as a ``ValueError``, a REST catalog answers them with HTTP 400 (Iceberg's server
    checks only the branch's own snapshot before applying the update, so its
    ``ValidationException`` reaches pyiceberg as :class:`~pyiceberg.exceptions.BadRequestError`).
    The check has two wordings: "older than last sequence number" for a snapshot with a parent,
    and "greater than last sequence number" for a new table's first load (staged with no parent,
    so Iceberg lets it lower the table's last sequence number, and then finds a newer run's
    snapshot above it). Either way nothing was committed.
    """
    if isinstance(exc, (CommitFailedException, ValidationException)):
        return True
    return isinstance(exc, (ValueError, BadRequestError)) and any(stale in str(exc) for stale in STALE_SEQUENCE)


@dataclass(frozen=True)
class Backoff:
    """How long a commit keeps trying: ``attempts`` tries in all, within ``seconds``."""

    attempts: int = 20
    seconds: float = 300.0
    first_wait: float = FIRST_WAIT
    longest_wait: float = LONGEST_WAIT

    @classmethod
    def configured(cls, settings=None) -> Backoff:
        """The ``[chimera] commit_retry_attempts`` and ``commit_retry_seconds`` options (of
        ``settings``, else read now)."""
        if settings is None:
            from airflow_provider_chimera.settings import load_settings

            settings = load_settings()
        return cls(attempts=max(1, settings.commit_retry_attempts), seconds=max(0.0, float(settings.commit_retry_seconds)))

    def wait(self, tried: int) -> float:
        """The wait after ``tried`` failed tries: up to ``first_wait * 2**(tried-1)``, capped, jittered."""
        return random.uniform(0, min(self.longest_wait, self.first_wait * 2 ** (tried - 1)))


def retry_commits(
    name: str,
    commit: Callable[[int], T],
    *,
    revalidate: Callable[[], T | None] | None = None,
    backoff: Backoff | None = None,
    what: str = "commit",
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """``commit(try_number)``, tried again while it conflicts with concurrent commits to table ``name``.

    ``commit`` must work from the table as it is now on every try (re-load it; the first try may
    use what the caller already holds). ``revalidate`` runs before each new try: a result means
    the commit already happened (returned as it is), ``None`` to try again; it raises to stop.
    """
    backoff = backoff or Backoff.configured()
    started = clock()
    tried = 0
    while True:
        tried += 1
        try:
            return commit(tried)
        except Exception as exc:
            if not is_conflict(exc):
                raise
            elapsed = clock() - started
            pause = backoff.wait(tried)
            if tried >= backoff.attempts or elapsed + pause > backoff.seconds:
                raise CommitConflictError(
                    f"{name}: the {what} lost to concurrent commits to the table {tried} time(s) in {elapsed:.1f} s "
                    f"(caps: [chimera] commit_retry_attempts={backoff.attempts}, commit_retry_seconds={backoff.seconds:g}); "
                    f"nothing was committed, and a retry of the task starts again from the table's position. "
                    f"Last conflict: {exc}"
                ) from exc
            log.warning(
                "%s: the %s conflicted with a concurrent commit (try %d of %d): %s; retrying in %.2f s",
                name, what, tried, backoff.attempts, exc, pause,
            )
            sleep(pause)
        if revalidate is not None:
            done = revalidate()
            if done is not None:
                log.info("%s: the %s had already landed; not committing it again", name, what)
                return done
