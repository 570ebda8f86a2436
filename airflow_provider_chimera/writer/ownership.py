"""Which pipeline owns an Iceberg table, and the check every write passes first.

Every table Chimera creates carries the table property ``chimera.pipeline`` naming the pipeline
that created it: the target table and its ``<table>__quarantine`` table alike. Before a run
writes anything, :func:`claim_tables` checks both: a table that is missing (the run creates it)
or that its own pipeline owns may be written; a table another pipeline owns, or one created
outside Chimera (no ``chimera.pipeline`` property), stops the run with a
:class:`TableOwnershipError` that names the owner and how to adopt the table. An intent cannot
write into another team's tables or quarantine tables by naming them.

Adoption is explicit and audited: one run with the DAG run conf ``{"adopt_table": true}`` takes
the tables over (the property is set to the pipeline) and writes an audit entry
``table.adopted`` naming the table and its previous owner. A quarantine table without an owner
beside a target its pipeline owns (created before quarantine tables carried the property) is
claimed without adoption: no other pipeline can have written it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.table import Table

from airflow_provider_chimera.errors import FixRequired
from airflow_provider_chimera.writer.iceberg import PIPELINE as OWNER
from airflow_provider_chimera.writer.quarantine import SUFFIX

log = logging.getLogger(__name__)

ADOPT_KEY = "adopt_table"
ADOPTED = "table.adopted"  # the audit action


class TableOwnershipError(FixRequired, PermissionError):
    """A run would write into a table another pipeline, or no pipeline, created. Terminal: retries
    cannot help; the intent must name another table, or the table be adopted on purpose."""


@dataclass(frozen=True)
class Claim:
    """One table a run may write: ``previous_owner`` set when the run adopted it."""

    table: str
    exists: bool
    adopted: bool = False
    previous_owner: str | None = None


def owner_of(table: Table) -> str | None:
    """The pipeline that owns ``table`` (``None``: created outside Chimera)."""
    return table.properties.get(OWNER) or None


def wants_adoption(conf: dict[str, Any]) -> bool:
    """Whether the DAG run conf asks to adopt the target tables (``{"adopt_table": true}``)."""
    return conf.get(ADOPT_KEY) is True


def claim_tables(
    catalog: Catalog,
    pipeline: str,
    namespace: str,
    table: str,
    *,
    adopt: bool = False,
    audit: Callable[[Claim], None] | None = None,
    where: str = "",
) -> list[Claim]:
    """Check that ``pipeline`` may write ``<namespace>.<table>`` and its quarantine table.

    With ``adopt``, a table of another or no owner is taken over: ``audit(claim)`` is called
    first (an adoption that cannot be audited does not happen), then the property is set.
    Without it such a table raises :class:`TableOwnershipError`; ``where`` (the intent file and
    pipeline) prefixes the message.
    """
    target = _load(catalog, (namespace, table))
    owns_target = target is not None and owner_of(target) == pipeline
    claims = [_claim(target, f"{namespace}.{table}", pipeline, adopt, audit, where)]
    quarantine = _load(catalog, (namespace, table + SUFFIX))
    if quarantine is not None and owner_of(quarantine) is None and owns_target:
        _set_owner(quarantine, pipeline)  # an older quarantine table of its own target
        log.info("%s: quarantine table %s%s now carries %s", pipeline, f"{namespace}.{table}", SUFFIX, OWNER)
        claims.append(Claim(f"{namespace}.{table}{SUFFIX}", exists=True))
    else:
        claims.append(_claim(quarantine, f"{namespace}.{table}{SUFFIX}", pipeline, adopt, audit, where))
    return claims


def _claim(
    table: Table | None, name: str, pipeline: str, adopt: bool, audit: Callable[[Claim], None] | None, where: str
) -> Claim:
    if table is None:
        return Claim(name, exists=False)
    owner = owner_of(table)
    if owner == pipeline:
        return Claim(name, exists=True)
    if not adopt:
        raise TableOwnershipError(refusal(name, owner, pipeline, where))
    claim = Claim(name, exists=True, adopted=True, previous_owner=owner)
    if audit is not None:
        audit(claim)
    _set_owner(table, pipeline)
    log.warning("%s: adopted table %s (previous owner: %s)", pipeline, name, owner or "none, created outside Chimera")
    return claim


def refusal(name: str, owner: str | None, pipeline: str, where: str) -> str:
    prefix = f"{where}: " if where else f"pipeline {pipeline}: "
    held = f"is owned by pipeline {owner}" if owner else f"was not created by Chimera (it has no {OWNER} property)"
    return (
        f"{prefix}table {name} {held}, so pipeline {pipeline} may not write into it. Name another target "
        f"table in the intent, or, if this pipeline is to take the table over, trigger its DAG once with "
        f"the run conf {{\"{ADOPT_KEY}\": true}} (airflow dags trigger {pipeline} --conf '{{\"{ADOPT_KEY}\": true}}'); "
        f"the adoption is recorded in the audit log as {ADOPTED}"
    )


def _load(catalog: Catalog, identifier: tuple[str, str]) -> Table | None:
    try:
        return catalog.load_table(identifier)
    except NoSuchTableError:
        return None


def _set_owner(table: Table, pipeline: str) -> None:
    with table.transaction() as txn:
        txn.set_properties({OWNER: pipeline})


def claim_pipeline_tables(catalog: Catalog, pipeline, run_id: str, conf: dict[str, Any]) -> list[Claim]:
    """:func:`claim_tables` for ``pipeline``'s target, adopting when the run conf says so
    (``adopt_table``, or ``adopt_from``: stating where an adopted table's data ends adopts it too),
    each adoption recorded in the registry's audit log as ``table.adopted``."""
    from airflow_provider_chimera.ingest.resume import ADOPT_KEY as ADOPT_FROM

    target = pipeline.ingestion.target

    def audit(claim: Claim) -> None:
        from airflow_provider_chimera.registry.audit import record
        from airflow_provider_chimera.registry.db import open_registry

        with open_registry() as registry:
            record(
                registry, None, ADOPTED, intent=pipeline.intent, intent_hash=pipeline.intent_hash,
                details={"pipeline": pipeline.id, "table": claim.table, "previous_owner": claim.previous_owner, "run_id": run_id},
            )

    return claim_tables(
        catalog, pipeline.id, pipeline.target_namespace, target.table,
        adopt=wants_adoption(conf) or conf.get(ADOPT_FROM) is not None,
        audit=audit, where=f"{pipeline.intent_file}: pipeline {pipeline.id}",
    )
