"""Point 4 at run time: a pipeline writes only the tables it created, unless it adopts one on purpose.

Against the real (embedded) Iceberg catalog: pipeline B aimed at pipeline A's quarantine table (the
contract rejects the name at validate; here the intent is built past validate, as a DAG parsed
before the rule existed would be), a table created outside Chimera, and the audited adoption.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from airflow_provider_chimera.pipelines import Pipeline
from airflow_provider_chimera.registry.audit import entries
from airflow_provider_chimera.registry.db import open_registry
from airflow_provider_chimera.writer.ownership import ADOPTED, TableOwnershipError
from tests.helpers import pipeline_for, read_table, record_schema, run_pipeline, single_object_source

COVERS = ("4",)

SCHEMA = record_schema(["id"], id="long", name="string")
ARROW = pa.schema([pa.field("id", pa.int64()), pa.field("name", pa.string())])


def _pipeline(data, source_name: str, table: str) -> Pipeline:
    source = single_object_source(
        "file", {"uri": data.as_uri()}, "things", {"type": "full"}, "placeholder",
        source_name=source_name, path="*.jsonl", format="json", schema=SCHEMA,
    )
    source["objects"][0]["ingestion"]["quarantine_threshold"] = 0.5
    pipeline = pipeline_for(source)
    # The target set past the contract's checks, as an intent parsed before them would carry it.
    ingestion = pipeline.ingestion
    target = ingestion.target.model_copy(update={"table": table})
    obj = pipeline.object.model_copy(update={"ingestion": ingestion.model_copy(update={"target": target})})
    return pipeline.model_copy(update={"object": obj})


@pytest.fixture
def data(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    lines = [{"id": 1, "name": "ann"}, {"id": 2, "name": "bob"}, {"id": "three", "name": "cy"}]
    (folder / "a.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return folder


def _snapshot(catalog, name: str) -> int | None:
    snapshot = catalog.load_table(name).current_snapshot()
    return snapshot.snapshot_id if snapshot else None


def test_tables_chimera_creates_name_their_pipeline(data, catalog):
    a = _pipeline(data, "a", "x")
    result = run_pipeline(a)
    assert (result["rows"], result["quarantined"]) == (2, 1)
    assert catalog.load_table("qa.x").properties["chimera.pipeline"] == a.id
    assert catalog.load_table("qa.x__quarantine").properties["chimera.pipeline"] == a.id
    assert run_pipeline(a)["rows"] == 2  # its own tables: written again without a word


def test_a_pipeline_cannot_overwrite_another_pipelines_quarantine_table(data, catalog):
    a, b = _pipeline(data, "a", "x"), _pipeline(data, "b", "x__quarantine")
    run_pipeline(a)
    before = _snapshot(catalog, "qa.x__quarantine")
    with pytest.raises(TableOwnershipError) as refused:
        run_pipeline(b)  # a full load: it would replace A's quarantined records with its own rows
    message = str(refused.value)
    assert message.startswith(f"test.json: pipeline {b.id}: table qa.x__quarantine is owned by pipeline {a.id}, ")
    assert '{"adopt_table": true}' in message and ADOPTED in message
    assert _snapshot(catalog, "qa.x__quarantine") == before
    quarantined = read_table(catalog, "qa.x__quarantine").to_pylist()
    assert [(r["pipeline"], r["position"]) for r in quarantined] == [(a.id, f"{data}/a.jsonl#3")]


def test_a_pipeline_cannot_write_its_quarantine_into_another_pipelines_table(data, catalog):
    """B's target is its own, but its quarantine table would be A's table ``x`` is beside: refused too."""
    a = _pipeline(data, "a", "y__quarantine")  # A owns qa.y__quarantine as its target
    run_pipeline(a)
    b = _pipeline(data, "b", "y")
    with pytest.raises(TableOwnershipError, match=rf"table qa\.y__quarantine is owned by pipeline {a.id}"):
        run_pipeline(b)
    assert not catalog.table_exists("qa.y")  # refused before anything was written


def test_a_table_created_outside_chimera_is_not_written(data, catalog):
    catalog.create_namespace_if_not_exists("qa")
    outside = catalog.create_table(("qa", "outside"), schema=ARROW)
    outside.append(pa.Table.from_pylist([{"id": 99, "name": "theirs"}], schema=ARROW))
    before = _snapshot(catalog, "qa.outside")
    pipeline = _pipeline(data, "a", "outside")
    with pytest.raises(TableOwnershipError, match=r"table qa\.outside was not created by Chimera \(it has no chimera.pipeline property\)"):
        run_pipeline(pipeline)
    assert _snapshot(catalog, "qa.outside") == before
    assert read_table(catalog, "qa.outside").column("id").to_pylist() == [99]


def _adoptions(table: str) -> list[dict]:
    with open_registry() as registry, registry.session() as session:
        return [e.details for e in entries(session, action=ADOPTED, limit=None) if e.details.get("table") == table]


def test_adoption_takes_a_table_over_and_is_audited(data, catalog):
    catalog.create_namespace_if_not_exists("qa")
    catalog.create_table(("qa", "adopted"), schema=ARROW).append(pa.Table.from_pylist([{"id": 99, "name": "theirs"}], schema=ARROW))
    a, b = _pipeline(data, "a", "adopted"), _pipeline(data, "b", "adopted")
    result = run_pipeline(a, run_id="adopt-1", conf={"adopt_table": True})
    assert result["rows"] == 2
    assert sorted(read_table(catalog, "qa.adopted").column("id").to_pylist()) == [1, 2]
    assert catalog.load_table("qa.adopted").properties["chimera.pipeline"] == a.id
    assert _adoptions("qa.adopted") == [{"pipeline": a.id, "table": "qa.adopted", "previous_owner": None, "run_id": "adopt-1"}]
    # Later runs of A need no conf; B may not write it, until it adopts it in turn.
    assert run_pipeline(a)["rows"] == 2
    with pytest.raises(TableOwnershipError, match=rf"is owned by pipeline {a.id}"):
        run_pipeline(b)
    run_pipeline(b, run_id="adopt-2", conf={"adopt_table": True})
    assert catalog.load_table("qa.adopted").properties["chimera.pipeline"] == b.id
    assert _adoptions("qa.adopted")[0] == {"pipeline": b.id, "table": "qa.adopted", "previous_owner": a.id, "run_id": "adopt-2"}
    with pytest.raises(TableOwnershipError, match=rf"is owned by pipeline {b.id}"):
        run_pipeline(a)


def test_a_conf_that_is_not_exactly_true_adopts_nothing(data, catalog):
    catalog.create_namespace_if_not_exists("qa")
    catalog.create_table(("qa", "kept"), schema=ARROW)
    for conf in ({"adopt_table": "yes"}, {"adopt_table": 1}, {"adopt_table": False}):
        with pytest.raises(TableOwnershipError):
            run_pipeline(_pipeline(data, "a", "kept"), conf=conf)
    assert "chimera.pipeline" not in catalog.load_table("qa.kept").properties


def test_maintenance_leaves_a_table_its_pipeline_does_not_own(data, catalog):
    """B's retention and orphan sweep never run on A's table, whatever B's intent says."""
    from airflow_provider_chimera.maintenance.table import OWNERSHIP, maintain
    from airflow_provider_chimera.settings import load_settings

    a, b = _pipeline(data, "a", "z"), _pipeline(data, "b", "z")
    run_pipeline(a)
    before = _snapshot(catalog, "qa.z")
    outcome = maintain(b, catalog, load_settings())
    assert outcome.done == {}
    assert outcome.failed[OWNERSHIP].startswith(f"TableOwnershipError: table qa.z is owned by pipeline {a.id}; ")
    assert _snapshot(catalog, "qa.z") == before
