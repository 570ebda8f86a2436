"""The writer of a pipeline's target: the table properties it creates the table with."""

from __future__ import annotations

from airflow_provider_chimera.ingest.target import open_writer
from airflow_provider_chimera.settings import load_settings
from airflow_provider_chimera.writer.aging import AGING_PROPERTIES, MAX_SNAPSHOTS
from tests.helpers import pipeline_for, single_object_source


def test_the_snapshot_count_comes_from_the_setting(settings, monkeypatch):
    pipeline = pipeline_for(single_object_source("postgres", {"uri": "postgresql://db/crm"}, "public.customers", {"type": "full"}, "customers"))
    assert open_writer(pipeline, settings).properties[MAX_SNAPSHOTS] == "20"  # [chimera] snapshot_max_count's default
    monkeypatch.setenv("AIRFLOW__CHIMERA__SNAPSHOT_MAX_COUNT", "150")
    properties = open_writer(pipeline, load_settings()).properties
    assert {k: properties[k] for k in AGING_PROPERTIES} == {**AGING_PROPERTIES, MAX_SNAPSHOTS: "150"}
    assert properties["chimera.pipeline"] == pipeline.id
