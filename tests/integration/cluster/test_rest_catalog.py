"""Chimera writes through an Iceberg REST catalog to S3-compatible storage (scripts/catalog.sh).

Chimera is configured only with pyiceberg's ``PYICEBERG_CATALOG__CHIMERA__*`` variables; what it
wrote is then checked without any Chimera code: a fresh pyiceberg REST client reads the rows back,
and boto3 finds the data files in the bucket.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

import boto3
import pytest
from pyiceberg.catalog import load_catalog

from airflow_provider_chimera.governance.wap import QualityGateError
from airflow_provider_chimera.maintenance.orphans import referenced_files
from airflow_provider_chimera.maintenance.table import COMPACTION, EXPIRY, ORPHANS, maintain
from airflow_provider_chimera.settings import load_settings
from tests.helpers import pipeline_for, record_schema, run_pipeline, single_object_source

SCHEMA = record_schema(["id"], id="long", name="string", amount="decimal(10,2)")
HEADER = "id,name,amount\n"


def _independent_catalog(env: dict[str, str]):
    """A REST client of its own (not Chimera's catalog object, not the environment)."""
    prefix = "PYICEBERG_CATALOG__CHIMERA__"
    properties = {
        "type": "rest",
        "uri": env[f"{prefix}URI"],
        "s3.endpoint": env[f"{prefix}S3__ENDPOINT"],
        "s3.access-key-id": env[f"{prefix}S3__ACCESS_KEY_ID"],
        "s3.secret-access-key": env[f"{prefix}S3__SECRET_ACCESS_KEY"],
        "s3.region": env[f"{prefix}S3__REGION"],
    }
    return load_catalog("independent_reader", **properties)


def _s3(env: dict[str, str]):
    return boto3.client(
        "s3",
        endpoint_url=env["PYICEBERG_CATALOG__CHIMERA__S3__ENDPOINT"],
        aws_access_key_id=env["CHIMERA_S3_ACCESS_KEY_ID"],
        aws_secret_access_key=env["CHIMERA_S3_SECRET_ACCESS_KEY"],
        region_name=env["CHIMERA_S3_REGION"],
    )


def _bucket_keys(env: dict[str, str], prefix: str) -> set[str]:
    """The ``s3://`` locations of the objects under ``prefix`` in the warehouse bucket."""
    pages = _s3(env).get_paginator("list_objects_v2").paginate(Bucket=env["CHIMERA_S3_BUCKET"], Prefix=prefix)
    return {f"s3://{env['CHIMERA_S3_BUCKET']}/{item['Key']}" for page in pages for item in page.get("Contents", [])}


def _key(location: str) -> str:
    """The object key of an ``s3://bucket/key`` location."""
    return location.split("/", 3)[3]


def _csv_source(folder, table: str, mode: str = "incremental", threshold: float | None = None) -> dict:
    source = single_object_source(
        "file", {"uri": folder.as_uri()}, "things", {"type": mode}, table, path="*.csv", format="csv", schema=SCHEMA
    )
    if threshold is not None:
        source["objects"][0]["ingestion"]["quarantine_threshold"] = threshold
    return source


def _rows(catalog, identifier: str) -> list[tuple]:
    rows = catalog.load_table(identifier).scan().to_arrow().to_pylist()
    return sorted((r["id"], r["name"], str(r["amount"])) for r in rows)


def test_a_pipeline_writes_its_table_to_the_bucket_through_the_rest_catalog(
    tmp_path, rest_catalog, cluster_catalog, cluster_table, caplog
):
    caplog.set_level(logging.DEBUG)
    data = tmp_path / "data"
    data.mkdir()
    (data / "day1.csv").write_text(HEADER + "1,ann,1.50\n2,bob,2.00\n3,cy,3.25\n")
    source = _csv_source(data, cluster_table)
    identifier = f"qa.{cluster_table}"

    first = run_pipeline(pipeline_for(source), run_id="r1")

    assert (first["rows"], first["committed"]) == (3, True)
    reader = _independent_catalog(rest_catalog)
    table = reader.load_table(identifier)
    assert table.location().startswith(f"s3://{rest_catalog['CHIMERA_S3_BUCKET']}/")
    assert _rows(reader, identifier) == [(1, "ann", "1.50"), (2, "bob", "2.00"), (3, "cy", "3.25")]
    data_files = {task.file.file_path for task in table.scan().plan_files()}
    assert data_files and all(path.startswith(table.location()) for path in data_files)
    in_bucket = _bucket_keys(rest_catalog, _key(table.location()))
    assert data_files <= in_bucket
    assert table.metadata_location in in_bucket
    assert not (tmp_path / "warehouse").exists()  # nothing went to the embedded catalog's folder

    # An incremental run reads only the new file, and the catalog serves both commits.
    (data / "day2.csv").write_text(HEADER + "4,dan,4.00\n")
    second = run_pipeline(pipeline_for(source), run_id="r2")
    assert (second["rows"], second["committed"]) == (1, True)
    assert run_pipeline(pipeline_for(source), run_id="r3")["committed"] is False
    assert _rows(_independent_catalog(rest_catalog), identifier) == [
        (1, "ann", "1.50"), (2, "bob", "2.00"), (3, "cy", "3.25"), (4, "dan", "4.00"),
    ]
    assert len(reader.load_table(identifier).snapshots()) == 2
    secret = rest_catalog["PYICEBERG_CATALOG__CHIMERA__S3__SECRET_ACCESS_KEY"]
    assert secret not in json.dumps([first, second], default=str) and secret not in caplog.text


def test_records_that_do_not_fit_go_to_the_quarantine_table_in_the_bucket(tmp_path, rest_catalog, cluster_catalog, cluster_table):
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_text(HEADER + "1,ann,1.50\ntwo,bob,2.00\n3,cy,3.00\n")

    result = run_pipeline(pipeline_for(_csv_source(data, cluster_table, threshold=0.5)), run_id="r1")

    assert (result["rows"], result["quarantined"]) == (2, 1)
    reader = _independent_catalog(rest_catalog)
    assert _rows(reader, f"qa.{cluster_table}") == [(1, "ann", "1.50"), (3, "cy", "3.00")]
    quarantine = reader.load_table(f"qa.{cluster_table}__quarantine")
    assert quarantine.location().startswith(f"s3://{rest_catalog['CHIMERA_S3_BUCKET']}/")
    rows = quarantine.scan().to_arrow().to_pylist()
    assert [(r["position"], r["reason"], r["run_id"]) for r in rows] == [
        (f"{data}/a.csv#2", "field 'id' does not hold a long", "r1")
    ]


def test_maintenance_compacts_expires_and_sweeps_orphans_in_the_bucket(
    tmp_path, rest_catalog, cluster_catalog, cluster_table, monkeypatch
):
    monkeypatch.setenv("AIRFLOW__CHIMERA__COMPACTION_MIN_FILES", "2")
    data = tmp_path / "data"
    data.mkdir()
    source = _csv_source(data, cluster_table)
    for day in (1, 2, 3):
        (data / f"day{day}.csv").write_text(HEADER + f"{day},n{day},{day}.00\n")
        assert run_pipeline(pipeline_for(source), run_id=f"r{day}")["rows"] == 1
    reader = _independent_catalog(rest_catalog)
    location = reader.load_table(f"qa.{cluster_table}").location()
    key = _key(location)
    orphan = f"{key}/data/left-by-a-killed-worker.parquet"
    _s3(rest_catalog).put_object(Bucket=rest_catalog["CHIMERA_S3_BUCKET"], Key=orphan, Body=b"not referenced")

    # A month later: the small files are compacted, old snapshots expire, the orphan is old enough to go.
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    outcome = maintain(pipeline_for(source), cluster_catalog, load_settings(), now=later)

    assert outcome.failed == {}
    assert (outcome.done[COMPACTION]["files_removed"], outcome.done[COMPACTION]["files_added"]) == (3, 1)
    assert outcome.done[EXPIRY]["snapshots_expired"] >= 2 and outcome.done[EXPIRY]["files_deleted"] >= 2
    assert outcome.done[ORPHANS]["orphan_files"] == [f"{rest_catalog['CHIMERA_S3_BUCKET']}/{orphan}"]
    table = _independent_catalog(rest_catalog).load_table(f"qa.{cluster_table}")
    assert _rows(reader, f"qa.{cluster_table}") == [(1, "n1", "1.00"), (2, "n2", "2.00"), (3, "n3", "3.00")]
    in_bucket = _bucket_keys(rest_catalog, key)
    assert f"s3://{rest_catalog['CHIMERA_S3_BUCKET']}/{orphan}" not in in_bucket
    # Every file the remaining metadata references is still there.
    assert {f"s3://{path}" for path in referenced_files(table)} <= in_bucket


def test_a_load_that_fails_its_checks_stays_on_its_audit_branch_and_a_clean_one_is_published(
    tmp_path, rest_catalog, cluster_catalog, cluster_table
):
    data = tmp_path / "data"
    data.mkdir()
    source = _csv_source(data, cluster_table)
    source["objects"][0]["ingestion"]["quality"] = [
        {"check": "failed_rows", "expression": "amount < 0", "name": "no negative amounts"}
    ]
    identifier = f"qa.{cluster_table}"
    (data / "a.csv").write_text(HEADER + "1,ann,1.50\n2,bob,2.00\n")
    first = run_pipeline(pipeline_for(source), run_id="scheduled__1")
    assert (first["rows"], first["published"]) == (2, True)
    reader = _independent_catalog(rest_catalog)
    assert set(reader.load_table(identifier).metadata.refs) == {"main"}

    (data / "b.csv").write_text(HEADER + "3,cy,-3.00\n")
    with pytest.raises(QualityGateError):
        run_pipeline(pipeline_for(source), run_id="scheduled__2")

    table = reader.load_table(identifier)
    assert _rows(reader, identifier) == [(1, "ann", "1.50"), (2, "bob", "2.00")]  # main as it was
    assert set(table.metadata.refs) == {"main", "audit_scheduled__2"}
    staged = table.scan(snapshot_id=table.snapshot_by_name("audit_scheduled__2").snapshot_id).to_arrow()
    assert sorted(staged.column("id").to_pylist()) == [1, 2, 3]


def test_a_postgres_table_is_loaded_incrementally_through_the_rest_catalog(pg_schema, rest_catalog, cluster_catalog, cluster_table):
    pg = pg_schema("qa_cluster_pg", conn_id="qa_cluster_pg")
    pg.execute("CREATE TABLE qa_cluster_pg.orders (id bigint PRIMARY KEY, amount numeric(12,2), updated_at timestamp)")
    pg.execute("INSERT INTO qa_cluster_pg.orders VALUES (1, 1.50, '2026-11-01 10:00'), (2, 2.00, '2026-11-01 11:00')")
    source = single_object_source(
        "postgres", {"conn_id": "qa_cluster_pg"}, "qa_cluster_pg.orders",
        {"type": "incremental", "cursor": "updated_at"}, cluster_table,
    )
    identifier = f"qa.{cluster_table}"

    assert run_pipeline(pipeline_for(source), run_id="r1")["rows"] == 2
    pg.execute("INSERT INTO qa_cluster_pg.orders VALUES (3, 3.75, '2026-11-01 12:00')")
    assert run_pipeline(pipeline_for(source), run_id="r2")["rows"] == 1

    table = _independent_catalog(rest_catalog).load_table(identifier)
    rows = sorted((r["id"], str(r["amount"])) for r in table.scan().to_arrow().to_pylist())
    assert rows == [(1, "1.50"), (2, "2.00"), (3, "3.75")]
    assert table.current_snapshot().summary["chimera.position"] == '{"cursor":"2026-11-01T12:00:00"}'
    assert {task.file.file_path for task in table.scan().plan_files()} <= _bucket_keys(rest_catalog, _key(table.location()))
