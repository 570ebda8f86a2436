"""Pipelines from an intent: one per object with an ``ingestion`` block, equal to validated ones."""

from __future__ import annotations

import json

from airflow_provider_chimera.contract.load import parse_intent
from airflow_provider_chimera.pipelines.model import Pipeline, pipelines_of
from tests.helpers import DECLARATION


def _intent(objects: int) -> dict:
    return {
        "version": 1, "name": "shop", "team": {"name": "sales", "support_email": "sales@example.com"},
        "project": "retail", "declaration": DECLARATION,
        "sources": [{
            "name": "db", "type": "postgres", "connection": {"conn_id": "shop_pg"},
            "objects": [
                {"name": f"public.t{n}", **({"ingestion": {"trigger": {"type": "adhoc"}, "mode": {"type": "full"},
                                                            "target": {"table": f"t{n}"}}} if n % 3 else {})}
                for n in range(objects)
            ],
        }],
    }


def test_one_pipeline_per_object_with_an_ingestion_each_equal_to_a_validated_one():
    intent = parse_intent(json.dumps(_intent(9)).encode(), "shop.json")
    pipelines = pipelines_of(intent, "shop.json", "abc123")
    assert [p.id for p in pipelines] == [f"shop_db_public_t{n}" for n in range(9) if n % 3]
    for pipeline in pipelines:
        validated = Pipeline.model_validate(pipeline.model_dump(by_alias=True))
        assert validated == pipeline
        assert pipeline.source is intent.sources[0]  # the intent's own source, not a re-validated copy
        assert pipeline.ingestion.target.table == pipeline.object.name.removeprefix("public.")
