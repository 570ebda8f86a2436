"""A registry seeded with a fleet of pipelines for the UI's tests and ``bench/ui_board.py``:
teams, intents, sources, objects, pipelines, runs (with rows, errors and quarantined records),
quality results and SLA states, written with SQLAlchemy Core in a few bulk inserts; and
``GrantsAuthManager``, Airflow's simple auth manager with per-user DAG grants."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

from sqlalchemy import insert

from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

from airflow_provider_chimera.registry.db import Registry
from airflow_provider_chimera.registry.models import (
    CheckResultRow,
    IntentRow,
    IntentVersionRow,
    ObjectRow,
    PipelineRow,
    RunRow,
    SlaStatusRow,
    SourceRow,
    TeamRow,
)

SOURCE_TYPES = ("postgres", "mysql", "kafka", "file", "mongodb")
SLA_STATES = ("on_time", "on_time", "on_time", "warning", "late", "unknown")
T0 = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def pipeline_id(index: int) -> str:
    return f"fleet{index // 10:04d}_src_obj{index % 10}"


def seed_fleet(
    registry: Registry,
    pipelines: int,
    *,
    runs: int = 12,
    checks: int = 3,
    teams: int = 20,
    names: dict[int, str] | None = None,
    errors: dict[int, str] | None = None,
) -> list[str]:
    """Seed ``pipelines`` pipelines (10 per intent) with ``runs`` runs and ``checks`` checks per run;
    the pipeline ids. Every 7th pipeline's last run failed; ``names`` overrides intent names by
    intent index, ``errors`` the last run's error by pipeline index."""
    names, errors = names or {}, errors or {}
    intents = -(-pipelines // 10)
    team_rows = [{"id": t + 1, "name": f"team{t:02d}", "support_email": f"team{t:02d}@example.com"} for t in range(teams)]
    intent_rows, version_rows, source_rows, object_rows, pipeline_rows = [], [], [], [], []
    run_rows, check_rows, sla_rows, ids = [], [], [], []
    for i in range(intents):
        name = names.get(i, f"fleet{i:04d}")
        content = json.dumps({"version": 1, "name": name})
        intent_rows.append({"id": i + 1, "name": name, "file": f"team/{name}.json", "team_id": i % teams + 1,
                            "status": "valid", "current_hash": f"{i:064x}"})
        version_rows.append({"intent_id": i + 1, "content_hash": f"{i:064x}", "content": content})
        source_rows.append({"id": i + 1, "intent_id": i + 1, "name": "src", "type": SOURCE_TYPES[i % len(SOURCE_TYPES)],
                            "connection": "conn_id:src"})
    for p in range(pipelines):
        pid = pipeline_id(p)
        ids.append(pid)
        intent = p // 10
        object_rows.append({"id": p + 1, "source_id": intent + 1, "name": f"obj{p % 10}", "has_ingestion": True})
        pipeline_rows.append({"pipeline_id": pid, "intent_id": intent + 1, "source_id": intent + 1, "object_id": p + 1,
                              "target_table": f"{names.get(intent, f'fleet{intent:04d}')}.obj{p % 10}",
                              "status": "active", "intent_hash": f"{intent:064x}"})
        for r in range(runs):
            last = r == runs - 1
            failed = last and p % 7 == 0
            run_id = f"scheduled__{(T0 + dt.timedelta(hours=r)).isoformat()}"
            run_rows.append({
                "pipeline_id": pid, "run_id": run_id, "state": "failed" if failed else "success",
                "rows": None if failed else 1000 + (p * 37 + r * 101) % 500, "snapshot_id": 10**18 + r,
                "started_at": T0 + dt.timedelta(hours=r), "ended_at": T0 + dt.timedelta(hours=r, minutes=2),
                "attempt": 1, "rows_read": 1000, "bytes_written": 65536, "cpu_seconds": 1.5, "peak_rss_kib": 204800,
                "error": errors.get(p, "SourceUnavailable: connection refused\nTraceback ...") if failed else None,
                "quarantined_rows": (p + r) % 4,
            })
            for c in range(checks):
                check_rows.append({
                    "pipeline_id": pid, "run_id": run_id, "checked_at": T0 + dt.timedelta(hours=r), "check_name": f"check{c}",
                    "check_type": "row_count", "automatic": True, "outcome": "failed" if (failed and c == 0) else "passed",
                    "diagnostics": {}, "published": not failed,
                })
        sla_rows.append({"pipeline_id": pid, "state": SLA_STATES[p % len(SLA_STATES)], "since": T0, "checked_at": T0})
    with registry.session() as session:
        for table, rows in (
            (TeamRow, team_rows), (IntentRow, intent_rows), (IntentVersionRow, version_rows), (SourceRow, source_rows),
            (ObjectRow, object_rows), (PipelineRow, pipeline_rows), (RunRow, run_rows), (CheckResultRow, check_rows),
            (SlaStatusRow, sla_rows),
        ):
            for start in range(0, len(rows), 5000):
                session.execute(insert(table.__table__), rows[start : start + 5000])
    return ids


ALL = "*"


class GrantsAuthManager(SimpleAuthManager):
    """Airflow's simple auth manager, with the DAGs each user may read and edit named per user
    (``ALL`` for every DAG): a stand-in for FAB/Keycloak roles, which the unit tier does not have.
    ``known_dags`` stands for the DAGs of Airflow's metadata database."""

    known_dags: Iterable[str] = ()

    def __init__(self, read: dict[str, set[str] | str], edit: dict[str, set[str] | str]):
        super().__init__()
        self.read, self.edit = read, edit

    def is_authorized_dag(self, *, method, user, access_entity=None, details=None) -> bool:
        granted = (self.read if method == "GET" else self.edit).get(user.username, set())
        dag_id = details.id if details is not None else None
        return granted == ALL or (dag_id is not None and dag_id in granted)

    def get_authorized_dag_ids(self, *, user, method="GET", session=None) -> set[str]:
        granted = (self.read if method == "GET" else self.edit).get(user.username, set())
        return set(self.known_dags) if granted == ALL else set(granted)
