"""`chimera catalog show URN` prints an entity's aspects from DataHub Lite."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from airflow_provider_chimera.cli.app import app
from airflow_provider_chimera.metadata.lineage import emit_run_lineage
from airflow_provider_chimera.settings import load_settings
from tests.helpers import pipeline_for, single_object_source

runner = CliRunner()
TARGET_URN = "urn:li:dataset:(urn:li:dataPlatform:iceberg,qa.customers,PROD)"


def test_show_prints_the_aspects_and_fails_for_an_unknown_urn(settings, tmp_path, monkeypatch):
    from airflow_provider_chimera.metadata.destination import select_destination
    from airflow_provider_chimera.metadata.queue import write_queued
    from airflow_provider_chimera.registry.db import open_registry

    monkeypatch.setenv("AIRFLOW__CHIMERA__DATAHUB_LITE_PATH", str(tmp_path / "lite.duckdb"))
    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", f"sqlite:///{tmp_path / 'registry.db'}")
    monkeypatch.delenv("AIRFLOW_CONN_DATAHUB_REST_DEFAULT", raising=False)
    pipeline = pipeline_for(single_object_source("postgres", {"uri": "postgresql://db/crm"}, "public.customers", {"type": "full"}, "customers"))
    assert emit_run_lineage(pipeline, 1, load_settings())  # queued; DataHub Lite's writer writes it
    with open_registry() as registry:
        write_queued(registry, select_destination())
    result = runner.invoke(app, ["catalog", "show", TARGET_URN, "--format", "json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["urn"] == TARGET_URN
    assert [u["dataset"] for u in shown["aspects"]["upstreamLineage"]["upstreams"]] == [
        "urn:li:dataset:(urn:li:dataPlatform:postgres,crm.public.customers,PROD)"
    ]
    text = runner.invoke(app, ["catalog", "show", TARGET_URN])
    assert text.exit_code == 0 and "upstreamLineage" in text.stdout
    missing = runner.invoke(app, ["catalog", "show", "urn:li:dataset:(urn:li:dataPlatform:iceberg,qa.nothing,PROD)"])
    assert missing.exit_code == 1
    assert "qa.nothing,PROD): not in DataHub Lite" in missing.stderr


def test_harvest_describes_an_intent_file(settings, tmp_path, monkeypatch):
    from tests.helpers import intent_with, record_schema

    monkeypatch.setenv("AIRFLOW__CHIMERA__DATAHUB_LITE_PATH", str(tmp_path / "lite.duckdb"))
    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", f"sqlite:///{tmp_path / 'registry.db'}")
    monkeypatch.delenv("AIRFLOW_CONN_DATAHUB_REST_DEFAULT", raising=False)
    source = single_object_source(
        "file", {"uri": "file:///data/crm"}, "customers", {"type": "incremental"}, "customers",
        path="c/*.csv", format="csv", schema=record_schema(id="long", email="string"),
    )
    path = tmp_path / "qa_intent.json"
    path.write_text(json.dumps(intent_with(source)))
    result = runner.invoke(app, ["catalog", "harvest", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    harvested = json.loads(result.stdout)
    assert harvested["targets"] == {"src/customers": TARGET_URN} and harvested["queued"] > 0
    assert not (tmp_path / "lite.duckdb").exists()  # queued in the registry for DataHub Lite's writer
    written = runner.invoke(app, ["catalog", "write"])
    assert written.exit_code == 0, written.output
    assert written.stdout.startswith(f"{harvested['queued']} metadata proposal(s) written to DataHub Lite ")
    assert written.stdout.rstrip().endswith("; 0 queued")
    shown = runner.invoke(app, ["catalog", "show", TARGET_URN, "--format", "json"])
    assert [f["fieldPath"] for f in json.loads(shown.stdout)["aspects"]["schemaMetadata"]["fields"]] == ["id", "email"]
