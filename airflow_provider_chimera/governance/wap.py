"""Write-audit-publish: a load is staged on a branch, checked, and published only if it passes.

The writer commits each load to the table's audit branch ``audit_<run id>``, started at main's
snapshot (:func:`~airflow_provider_chimera.writer.iceberg.start_branch`); readers of the table (its
``main`` branch) do not see it. :func:`audit_and_publish` then runs the pipeline's checks on the
staged snapshot (:mod:`.checks`, :mod:`.soda`), records their results (:mod:`.results`) and either

* publishes: main is fast-forwarded to the audited snapshot and the branch removed, in one atomic
  catalog commit that requires main to be where the load started from. If main has moved since (a
  concurrent commit), nothing is published and :class:`PublishError` says so: moving main anyway
  would drop that commit, and merging would publish data nobody checked.
* or rejects: main stays exactly as it was, the branch is kept ``[chimera] audit_retention_hours``
  for inspection (Iceberg's max ref age; a later load of the table removes it once that has
  passed), and :class:`QualityGateError` fails the task naming each failing check.

Read positions come from main's snapshots only (``IcebergWriter.last_position``), so an
unpublished load never moves a pipeline forward: its retry reads the same records again.
"""

from __future__ import annotations

from airflow_provider_chimera.errors import FixRequired
from airflow_provider_chimera.errors import Transient

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
    try:
        publish(writer, result)
    except PublishError:
        keep(writer, result, branch)
        save_check_results(pipeline.id, run_id, results, snapshot_id=result.snapshot_id, published=False)
        raise
    save_check_results(pipeline.id, run_id, results, snapshot_id=result.snapshot_id, published=True)
    return Audit(results, result.snapshot_id)


def publish(writer, result: CommitResult) -> None:
    """Fast-forward main to the staged snapshot and remove its branch, in one commit that requires
    main to be where the load started from."""
    from pyiceberg.exceptions import CommitFailedException
    from pyiceberg.table.update.snapshot import ManageSnapshots

    table = writer.load()
    refs = table.metadata.refs
    main = refs[MAIN].snapshot_id if MAIN in refs else None
    where = f"{writer.name}: the load staged as snapshot {result.snapshot_id} on branch {result.branch}"
    head = refs.get(result.branch)
    if head is None or head.snapshot_id != result.snapshot_id:
        raise PublishError(f"{where} was not published: the branch no longer points at it")
    if main != result.base_snapshot_id:
        raise PublishError(
            f"{where} was not published: main moved from snapshot {result.base_snapshot_id} to {main} since the "
            "load started; the load stays on its branch, and a retry loads again from main's position"
        )
    if not _descends(table, result.snapshot_id, result.base_snapshot_id):
        raise PublishError(f"{where} was not published: it does not descend from main's snapshot {main}")
    try:
        with table.transaction() as txn:
            manage = ManageSnapshots(txn)
            manage.set_current_snapshot(snapshot_id=result.snapshot_id)  # requires main == base
            manage.remove_branch(result.branch)
            manage.commit()
    except CommitFailedException as exc:
        raise PublishError(f"{where} was not published: main changed while publishing ({exc})") from exc


def keep(writer, result: CommitResult, branch: Branch) -> None:
    """Keep a rejected load's branch for ``branch.max_age_ms`` after its snapshot (a branch
    started on an empty table was created by the write, without that age)."""
    table = writer.load()
    ref = table.metadata.refs.get(result.branch) if table is not None and result.branch else None
    if ref is not None and ref.max_ref_age_ms != branch.max_age_ms:
        table.manage_snapshots().create_branch(ref.snapshot_id, result.branch, max_ref_age_ms=branch.max_age_ms).commit()


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
