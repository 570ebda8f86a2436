"""The Airflow-free check of what Airflow refuses agrees with Airflow itself."""

from __future__ import annotations

import json
import warnings

import pytest

from airflow_provider_chimera.contract import load
from airflow_provider_chimera.pipelines.buildable import NORMALISERS, asset_problem, refusals, sanitized_uri
from tests.security.corpus import hostile_base

URIS = [
    "postgres://db:5432/shop/public/orders",
    "postgres://db/shop/public/orders",
    "postgres://db/shop/orders",
    "postgresql://db.example.org/landing/x.csv",
    "postgres:///shop/public/orders",
    "postgres://db:x/shop/public/orders",
    "postgres://db:99999/shop/public/orders",
    "mysql://db/shop/orders",
    "mysql://db/shop",
    "mariadb://db:3307/shop/orders",
    "mongodb://m/db/coll",
    "mongodb://m/db",
    "snowflake://acct/db/schema/table",
    "snowflake://acct/db/table",
    "snowflake:///db/schema/table",
    "kafka://broker:9092/orders",
    "kafka://broker:9092/",
    "kafka:///orders",
    "file:///data/landing/x.csv",
    "file://",
    "iceberg://chimera.team_a.customers",
    "http://[::1]:8080/landing/a.csv",
    "http://[::1/landing",
    "airflow://x/y",
    "AIRFLOW://x/y",
    "x-custom://anything",
    "s3://user:secret@bucket/a/?b=2&a=1#frag",
    "self",
    "context",
    " ",
    "",
    "iceberg://" + "t" * 1500,
    "no-scheme-at-all",
]


def _airflow(uri: str) -> str | None:
    from airflow.sdk import Asset

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            Asset(uri=uri, name=uri, group="chimera")
    except Exception as exc:  # whatever Airflow raises
        return str(exc)
    return None


@pytest.mark.parametrize("uri", URIS)
def test_an_asset_uri_is_refused_as_airflow_refuses_it(uri):
    assert asset_problem(uri) == _airflow(uri)


@pytest.mark.parametrize("uri", [u for u in URIS if _airflow(u) is None])
def test_an_accepted_uri_is_stored_as_airflow_stores_it(uri):
    from airflow.sdk import Asset

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert sanitized_uri(uri) == Asset(uri=uri, name=uri).uri


def test_every_scheme_airflow_normalises_is_normalised_here():
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    assert set(NORMALISERS) == {"file", *ProvidersManagerTaskRuntime().asset_uri_handlers}


@pytest.mark.parametrize(
    "trigger", [{"type": "adhoc"}, {"type": "event", "on": "postgres://db/shop"}, {"type": "event", "on": "orders"}]
)
def test_refusals_name_the_pipeline_and_the_place_as_the_factory_does(trigger):
    from airflow_provider_chimera.factory.dags import build_problems

    data = hostile_base("shop")
    data["sources"][0]["connection"] = {"uri": "postgresql://db.example.org"}
    data["sources"][0]["objects"][0]["ingestion"]["trigger"] = trigger
    intent = load.parse_intent(json.dumps(data).encode(), "shop.json", stem="shop")
    found = refusals(intent, "shop.json", "chimera", "kafka_default")
    assert [(p.path, p.message) for p in found] == [(p.path, p.message) for p in build_problems(intent, "shop.json")]
    [problem] = found
    assert problem.path == "/sources/0/connection/uri"
    assert "Airflow refuses the pipeline shop_" in problem.message
    assert "URI format postgres:// must contain database, schema, and table names" in problem.message


def test_an_event_uri_airflow_refuses_is_refused_at_the_trigger():
    from airflow_provider_chimera.factory.dags import build_problems

    data = hostile_base("shop")
    data["sources"][0]["objects"][0]["ingestion"]["trigger"] = {"type": "event", "on": "postgres://db/shop"}
    intent = load.parse_intent(json.dumps(data).encode(), "shop.json", stem="shop")
    [problem] = refusals(intent, "shop.json", "chimera", "kafka_default")
    assert problem.path.endswith("/ingestion/trigger")
    assert [(p.path, p.message) for p in build_problems(intent, "shop.json")] == [(problem.path, problem.message)]
