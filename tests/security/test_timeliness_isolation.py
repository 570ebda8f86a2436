"""Point 7 (platform part): one pipeline's bad SLA never stops the timeliness board for the others,
and a check whose name overflows the registry costs only its own record.

A real registry (SQLite) and a real Iceberg catalog; three pipelines of one intent with an SLA,
the middle one's SLA one the calendar cannot reach (``P9999Y``: year 12025, past what Python's
datetimes hold; built past the contract, as an onboarded version older than a contract cap
would be). The check marks that pipeline ``error`` with the reason, records the two others, and
keeps doing so on the next check when they turn late; ``chimera status`` shows all three.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from tests.security.corpus import file_source, good_intent

COVERS = ("7",)

BAD = "clock_files_middle"
GOOD = ["clock_files_first", "clock_files_last"]


@pytest.fixture
def home(tmp_path, monkeypatch):
    from airflow_provider_chimera.settings import load_settings

    data = good_intent()
    data["name"] = "clock"
    data["sources"] = [file_source()]
    template = data["sources"][0]["objects"][0]
    objects = []
    for name in ("first", "middle", "last"):
        obj = json.loads(json.dumps(template))
        obj["name"] = name
        obj["ingestion"]["target"]["table"] = f"clock_{name}"
        obj["ingestion"]["sla"] = {"fresh_within": "PT2H", "warn_after": "PT90M"}
        objects.append(obj)
    data["sources"][0]["objects"] = objects
    intents = tmp_path / "intents"
    intents.mkdir()
    (intents / "clock.json").write_text(json.dumps(data))
    for option, value in {
        "WAREHOUSE": tmp_path / "warehouse",
        "CATALOG_NAME": "chimera_test",
        "SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'registry.db'}",
        "STATE_DIR": tmp_path / "state",
        "INTENTS_DIR": intents,
        "SMTP_CONN_ID": "qa_timeliness_no_smtp",
        "EVENTS_KAFKA_CONN_ID": "qa_timeliness_no_kafka",
    }.items():
        monkeypatch.setenv(f"AIRFLOW__CHIMERA__{option}", str(value))
    monkeypatch.delenv("AIRFLOW__CHIMERA__TENANCY_FILE", raising=False)
    return load_settings()


def _pipelines(settings):
    """The folder's pipelines, the middle one's SLA replaced by one no calendar holds."""
    from airflow_provider_chimera.contract.model import Sla
    from airflow_provider_chimera.pipelines import discover

    out = []
    for pipeline in sorted(discover(settings.intents_dir).pipelines, key=lambda p: p.id):
        if pipeline.id == BAD:
            ingestion = pipeline.ingestion.model_copy(update={"sla": Sla.model_construct(fresh_within="P9999Y", warn_after=None)})
            pipeline = pipeline.model_copy(update={"object": pipeline.object.model_copy(update={"ingestion": ingestion})})
        out.append(pipeline)
    return out


def _states(registry) -> dict[str, tuple[str, str | None]]:
    from sqlalchemy import select

    from airflow_provider_chimera.registry.models import SlaStatusRow

    with registry.session(read_only=True) as session:
        return {row.pipeline_id: (row.state, row.reason) for row in session.scalars(select(SlaStatusRow))}


def test_a_bad_sla_marks_its_pipeline_error_and_the_others_are_checked(home):
    from airflow_provider_chimera.cli.app import app
    from airflow_provider_chimera.governance.sla_check import Channels, check_timeliness
    from airflow_provider_chimera.registry.audit import entries
    from airflow_provider_chimera.registry.db import open_registry
    from airflow_provider_chimera.pipelines.sync import sync_registry
    from airflow_provider_chimera.writer.catalog import chimera_catalog

    registry = open_registry(home)
    sync_registry(registry, home.intents_dir, actor="qa")
    pipelines, catalog, channels = _pipelines(home), chimera_catalog(home), Channels.of(home)
    start = dt.datetime.now(dt.UTC)

    report = check_timeliness(registry, catalog, pipelines, channels, now=start, actor="qa")

    assert sorted(report.checked) == sorted([*GOOD, BAD])
    assert [e.split(": ")[0] for e in report.errors] == [BAD]
    assert "fresh_within 'P9999Y'" in report.errors[0] and "cannot be assessed" in report.errors[0]
    states = _states(registry)
    assert {p: s for p, (s, _) in states.items()} == {GOOD[0]: "unknown", BAD: "error", GOOD[1]: "unknown"}
    assert "year 12025 is out of range" in states[BAD][1]
    assert states[GOOD[0]][1] is None

    # Three hours on: the good pipelines turn late (their notices fail: no such connections), the bad one stays in error.
    later = check_timeliness(registry, catalog, pipelines, channels, now=start + dt.timedelta(hours=3), actor="qa")
    assert sorted(later.changed) == GOOD
    assert {p: s for p, (s, _) in _states(registry).items()} == {GOOD[0]: "late", BAD: "error", GOOD[1]: "late"}
    with registry.session(read_only=True) as session:
        changes = [(e.details["pipeline"], e.details["to"], "reason" in e.details) for e in entries(session, action="sla.changed", limit=None)]
    assert sorted(changes) == sorted([(GOOD[0], "unknown", False), (BAD, "error", True), (GOOD[1], "unknown", False),
                                      (GOOD[0], "late", False), (GOOD[1], "late", False)])

    # The board shows every pipeline; the bad one with its reason.
    result = CliRunner().invoke(app, ["status", "--format", "json"])
    assert result.exit_code == 0, result.output
    board = {row["pipeline"]: row for row in json.loads(result.stdout)}
    assert {p: row["state"] for p, row in board.items()} == {GOOD[0]: "late", BAD: "error", GOOD[1]: "late"}
    assert "cannot be assessed" in board[BAD]["reason"] and "reason" not in board[GOOD[0]]
    registry.close()


def test_a_check_result_too_long_for_the_registry_costs_only_its_own_record(home, caplog):
    from sqlalchemy import select

    from airflow_provider_chimera.governance.checks import Check
    from airflow_provider_chimera.governance.results import save_check_results
    from airflow_provider_chimera.governance.soda import CheckResult
    from airflow_provider_chimera.registry.db import open_registry
    from airflow_provider_chimera.registry.models import CheckResultRow
    from airflow_provider_chimera.pipelines.sync import sync_registry

    registry = open_registry(home)
    sync_registry(registry, home.intents_dir, actor="qa")
    results = [
        CheckResult(Check(name="row_count", type="row_count", dataset="load", automatic=True), "passed"),
        CheckResult(Check(name="n" * 251, type="failed_rows", dataset="load", automatic=False), "failed"),
        CheckResult(Check(name="missing_id", type="missing", dataset="load", automatic=True, column="c" * 300), "passed"),
    ]

    recorded = save_check_results(GOOD[0], "manual__1", results, snapshot_id=None, published=False)

    assert recorded is False
    with registry.session(read_only=True) as session:
        assert session.scalars(select(CheckResultRow.check_name)).all() == ["row_count"]
    warnings = [r.getMessage() for r in caplog.records if "not recorded" in r.getMessage()]
    assert len(warnings) == 2
    assert any("check_results.check_name holds at most 250" in w for w in warnings)
    assert any("check_results.column holds at most 250" in w for w in warnings)
    registry.close()
