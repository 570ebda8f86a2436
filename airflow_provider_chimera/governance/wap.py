"""Write-audit-publish: a load is staged on a branch, checked, and published only if it passes.

The writer commits each load to the table's audit branch ``audit_<run id>``, started at main's
snapshot (:func:`~airflow_provider_chimera.writer.iceberg.start_branch`); readers of the table (its
``main`` branch) do not see it. :func:`audit_and_publish` then runs the pipeline's checks on the
staged snapshot (:mod:`.checks`, :mod:`.soda`), records their results (:mod:`.results`) and either

* publishes: main is fast-forwarded to the audited snapshot and the branch removed, in one atomic
  catalog commit that requires main to be where the load started from. If main has moved since
  (a concurrent commit: another window of a backfill, another pipeline's run, maintenance), the
  load is re-checked on the new base, never published unchecked and never failed for it:

  1. main's snapshots since the load's base are re-read: one that already holds this load (same
     run, same position) means it was published (nothing is committed twice); for an append that
     records a read position (``incremental``, ``stream``), one of another run of the same pipeline
     means that run read past this run's start, and the load is dropped with its data files
     (:class:`~airflow_provider_chimera.writer.conflicts.PositionMovedError`; exactly-once);
  2. otherwise the load is staged again on its branch from main's new snapshot: the same data
     files, replacing the same rows (a ``partitioned`` window, or everything for ``full``) --
     Iceberg's cherry-pick, for replaces too; a history (``mdm``/``reference``) load, whose
     versions depend on the ones it closes, is planned again against main's current versions;
  3. its checks run again on the re-staged snapshot, and it is published (fast-forward) if they
     pass, or rejected as below.

  This repeats while main keeps moving, within ``[chimera] commit_retry_attempts`` and
  ``commit_retry_seconds`` (:mod:`airflow_provider_chimera.writer.conflicts`); past them,
  :class:`PublishError` (transient) keeps the load on its branch and the task's retry loads again.
  A load that cannot be re-staged (``restage`` is ``None``) is not published when main moved:
  :class:`PublishError`, and the retry recomputes it.
* or rejects: main stays exactly as it was, the branch is kept ``[chimera] audit_retention_hours``
  for inspection (Iceberg's max ref age; a later load of the table removes it once that has
  passed), and :class:`QualityGateError` fails the task naming each failing check.

Read positions come from main's snapshots only (``IcebergWriter.last_position``), so an
unpublished load never moves a pipeline forward: its retry reads the same records again.
"""

from __future__ import annotations

from pyiceberg.exceptions import CommitFailedException

from airflow_provider_chimera.errors import FixRequired, Transient

import logging
import re
import time
from dataclasses import dataclass, replace

from airflow_provider_chimera.governance.checks import (
    Check,
    LoadCounts,
    for_load,
    iceberg_duckdb_type,
    pipeline_checks,
)
from airflow_provider_chimera.governance.results import save_check_results
from airflow_provider_chimera.governance.soda import CheckResult, run_checks
from airflow_provider_chimera.writer.iceberg import (
    AUDIT_PREFIX,
    MAIN,
    Branch,
    CommitResult,
)

_BRANCH_CHARS = re.compile(r"[^a-z0-9_]+")


class QualityGateError(FixRequired, RuntimeError):
    """A load failed its checks: it was not published, and its branch is kept for inspection."""

    def __init__(self, message: str, results: list[CheckResult]):
        super().__init__(message)
        self.results = results


class PublishError(Transient, RuntimeError):
    """A load passed its checks but could not be published as checked (main moved meanwhile)."""


@dataclass(frozen=True)
class Audit:
    """The checks of one published load."""

    results: list[CheckResult]
    snapshot_id: int

    def summary(self) -> dict[str, object]:
        """Counts per outcome and the checks that did not pass, for XCom."""
        counts = {outcome: sum(r.outcome == outcome for r in self.results) for outcome in ("passed", "failed", "warned", "error")}
        return {**counts, "not_passed": [r.describe() for r in self.results if r.outcome != "passed"]}


def combined(summaries: list[dict[str, object]]) -> dict[str, object]:
    """One summary of several loads' checks (a stream run's micro-batches)."""
    total: dict[str, object] = {outcome: sum(s[outcome] for s in summaries) for outcome in ("passed", "failed", "warned", "error")}
    total["not_passed"] = [line for s in summaries for line in s["not_passed"]]
    return total


def audit_branch(run_id: str, retention_hours: int) -> Branch:
    """The branch a run stages its loads on: ``audit_<run id>`` in ``[a-z0-9_]``, kept
    ``retention_hours`` after its last snapshot when not published."""
    name = AUDIT_PREFIX + _BRANCH_CHARS.sub("_", run_id.lower()).strip("_")
    return Branch(name[:200], max_age_ms=max(1, retention_hours * 3_600_000))


def audit_and_publish(
    pipeline, writer, result: CommitResult, counts: LoadCounts, run_id: str, branch: Branch, log: logging.Logger
) -> Audit:
    """Check the load ``result`` staged on ``branch``, record the results, and publish it or reject it."""
    from airflow_provider_chimera.writer.conflicts import CommitConflictError, PositionMovedError, retry_commits
    from airflow_provider_chimera.writer.iceberg import settled

    current = {"result": result, "results": _audit(pipeline, writer, result, run_id, branch, counts, log)}

    def publish_checked(tried: int) -> Audit:
        staged = current["result"]
        if tried > 1:
            table = writer.load()
            main = table.metadata.refs.get(MAIN)
            if (main.snapshot_id if main else None) != staged.base_snapshot_id:
                if staged.restage is None:
                    raise PublishError(_moved(writer, staged, main.snapshot_id if main else None))
                landed = settled(table, staged.base_snapshot_id, staged.info, staged.positional, writer.name) if staged.info else None
                if landed is not None:
                    drop(writer, staged, delete_files=False)
                    return Audit(current["results"], landed.snapshot_id)
                staged = current["result"] = staged.restage()
                log.info(
                    "%s: main moved; the load is staged again as snapshot %s on main's snapshot %s, and checked again",
                    pipeline.id, staged.snapshot_id, staged.base_snapshot_id,
                )
                current["results"] = _audit(pipeline, writer, staged, run_id, branch, counts, log)
        publish(writer, staged)
        return Audit(current["results"], staged.snapshot_id)

    try:
        audit = retry_commits(writer.name, publish_checked, what="publish")
    except PositionMovedError:
        drop(writer, current["result"], delete_files=True)
        raise
    except (PublishError, CommitConflictError) as exc:
        keep(writer, current["result"], branch)
        save_check_results(pipeline.id, run_id, current["results"], snapshot_id=current["result"].snapshot_id, published=False)
        if isinstance(exc, PublishError):
            raise
        raise PublishError(str(exc)) from exc
    save_check_results(pipeline.id, run_id, audit.results, snapshot_id=audit.snapshot_id, published=True)
    return audit


def _audit(pipeline, writer, result: CommitResult, run_id: str, branch: Branch, counts: LoadCounts, log: logging.Logger) -> list[CheckResult]:
    """Run the pipeline's checks on the staged load; raises :class:`QualityGateError` (the load
    kept on its branch) when a blocking check fails."""
    table = writer.load()
    started = time.monotonic()
    try:
        columns = {f.name: iceberg_duckdb_type(f.field_type) for f in table.schema().fields}
        checks = for_load(pipeline_checks(pipeline), counts, columns, pipeline.ingestion.row_count_tolerance)
        checks = [_as_stored(pipeline, check) for check in checks]
        results = run_checks(table, result.snapshot_id, result.data_files, checks)
    except Exception:
        keep(writer, result, branch)  # unchecked: never published, kept for a look
        raise
    log.info("%s: %d check(s) of snapshot %s ran in %.2f s", pipeline.id, len(results), result.snapshot_id, time.monotonic() - started)
    for item in results:
        if item.outcome == "passed":
            log.info("%s: check %s", pipeline.id, item.describe())
        else:
            log.warning("%s: check %s", pipeline.id, item.describe())
    failing = [item for item in results if item.blocking]
    if failing:
        keep(writer, result, branch)
        save_check_results(pipeline.id, run_id, results, snapshot_id=result.snapshot_id, published=False)
        hours = (branch.max_age_ms or 0) / 3_600_000
        lines = "\n".join(f"  - {item.describe()}" for item in failing)
        raise QualityGateError(
            f"{pipeline.id}: {len(failing)} of {len(results)} check(s) failed on the load staged as snapshot "
            f"{result.snapshot_id} of {writer.name}; it was not published (main is unchanged) and stays on branch "
            f"{result.branch} for {hours:g} h:\n{lines}",
            results,
        )
    return results


def _moved(writer, result: CommitResult, main: int | None) -> str:
    return (
        f"{writer.name}: the load staged as snapshot {result.snapshot_id} on branch {result.branch} was not published: "
        f"main moved from snapshot {result.base_snapshot_id} to {main} since the load started; the load stays on its "
        "branch, and a retry loads again from main's position"
    )


class MainMoved(CommitFailedException):
    """Main is no longer where the staged load started from: a conflict, re-checked and retried."""


def publish(writer, result: CommitResult) -> None:
    """Fast-forward main to the staged snapshot and remove its branch, in one commit that requires
    main to be where the load started from."""
    from pyiceberg.table.update.snapshot import ManageSnapshots

    from airflow_provider_chimera.writer.aging import delete_manifest_lists, expire_oldest

    table = writer.load()
    refs = table.metadata.refs
    main = refs[MAIN].snapshot_id if MAIN in refs else None
    where = f"{writer.name}: the load staged as snapshot {result.snapshot_id} on branch {result.branch}"
    head = refs.get(result.branch)
    if head is None or head.snapshot_id != result.snapshot_id:
        raise PublishError(f"{where} was not published: the branch no longer points at it")
    if main != result.base_snapshot_id:
        raise MainMoved(_moved(writer, result, main))
    if not _descends(table, result.snapshot_id, result.base_snapshot_id):
        raise PublishError(f"{where} was not published: it does not descend from main's snapshot {main}")
    # A CommitFailedException (main changed while publishing) is a conflict: audit_and_publish retries.
    with table.transaction() as txn:
        manage = ManageSnapshots(txn)
        manage.set_current_snapshot(snapshot_id=result.snapshot_id)  # requires main == base
        manage.remove_branch(result.branch)
        manage.commit()
        # The same commit expires main's oldest snapshots beyond the table's count (writer.aging).
        expired = expire_oldest(txn)
    delete_manifest_lists(table.io, expired, writer.name)


def drop(writer, result: CommitResult, delete_files: bool) -> None:
    """Remove a load's branch (its data is on main already, or must never be), and with
    ``delete_files`` its data files, which nothing else references: no orphan files."""
    from airflow_provider_chimera.writer.conflicts import retry_commits

    def remove(tried: int) -> None:
        table = writer.load()
        if result.branch in table.metadata.refs:
            table.manage_snapshots().remove_branch(result.branch).commit()

    retry_commits(writer.name, remove, what="branch removal")
    if delete_files:
        io = writer.load().io
        for path in result.data_files:
            try:
                io.delete(path)
            except FileNotFoundError:
                pass


def keep(writer, result: CommitResult, branch: Branch) -> None:
    """Keep a rejected load's branch for ``branch.max_age_ms`` after its snapshot (a branch
    started on an empty table was created by the write, without that age)."""
    from airflow_provider_chimera.writer.conflicts import retry_commits

    def set_age(tried: int) -> None:
        table = writer.load()
        ref = table.metadata.refs.get(result.branch) if table is not None and result.branch else None
        if ref is not None and ref.max_ref_age_ms != branch.max_age_ms:
            table.manage_snapshots().create_branch(ref.snapshot_id, result.branch, max_ref_age_ms=branch.max_age_ms).commit()

    retry_commits(writer.name, set_age, what="branch retention")


def _as_stored(pipeline, check: Check) -> Check:
    """The schema check expects classified columns as the table stores them: dropped ones not at
    all, keyed-hashed, masked and encrypted ones as text (``governance.protect``)."""
    if check.type != "schema" or not pipeline.ingestion.classification:
        return check
    from airflow_provider_chimera.governance.protect import as_stored

    return replace(check, columns=tuple(as_stored(pipeline, list(check.columns))))


def _descends(table, snapshot_id: int, ancestor_id: int | None) -> bool:
    """Whether ``ancestor_id`` (``None``: the empty table) is an ancestor of ``snapshot_id``."""
    snapshot = table.snapshot_by_id(snapshot_id)
    while snapshot is not None:
        parent = snapshot.parent_snapshot_id
        if parent == ancestor_id:
            return True
        snapshot = table.snapshot_by_id(parent) if parent is not None else None
    return False
