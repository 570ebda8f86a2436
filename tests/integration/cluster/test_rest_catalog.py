"""Chimera writes through an Iceberg REST catalog to S3-compatible storage (scripts/catalog.sh).

Chimera is configured only with pyiceberg's ``PYICEBERG_CATALOG__CHIMERA__*`` variables; what it
wrote is then checked without any Chimera code: a fresh pyiceberg REST client reads the rows back,
and boto3 finds the data files in the bucket.
"""

from __future__ import annotations

import boto3
from pyiceberg.catalog import load_catalog

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


def _bucket_keys(env: dict[str, str], prefix: str) -> set[str]:
    s3 = boto3.client(
        "s3",
        endpoint_url=env["PYICEBERG_CATALOG__CHIMERA__S3__ENDPOINT"],
        aws_access_key_id=env["CHIMERA_S3_ACCESS_KEY_ID"],
        aws_secret_access_key=env["CHIMERA_S3_SECRET_ACCESS_KEY"],
        region_name=env["CHIMERA_S3_REGION"],
    )
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=env["CHIMERA_S3_BUCKET"], Prefix=prefix)
    return {f"s3://{env['CHIMERA_S3_BUCKET']}/{item['Key']}" for page in pages for item in page.get("Contents", [])}


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


def test_a_pipeline_writes_its_table_to_the_bucket_through_the_rest_catalog(tmp_path, rest_catalog, cluster_catalog, cluster_table):
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
    in_bucket = _bucket_keys(rest_catalog, table.location().split("/", 3)[3])
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
