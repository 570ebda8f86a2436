"""HTTP/REST API → Iceberg through the ``http`` source plugin, against a local JSON API
(``tests.http_api``): every pagination style, each auth, incremental reads, 429 backoff and a
record that does not fit the schema going to quarantine."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import time

import pytest

from airflow_provider_chimera.contract.model import Source
from airflow_provider_chimera.governance.quarantine_gate import QuarantineThresholdError
from airflow_provider_chimera.sources import source_reader
from airflow_provider_chimera.sources.http.client import HttpRequestError, HttpTransientError
from tests.entry_points import http_source, plugin_site  # noqa: F401  (fixtures)
from tests.helpers import assert_incremental_runs, pipeline_for, read_table, record_schema, run_pipeline, single_object_source
from tests.http_api import http_api  # noqa: F401  (fixture)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("http_source")]

SCHEMA = record_schema(["id"], id="long", name="string", amount="decimal(10,2)", updated_at="timestamptz")
START = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)


def _records(first: int, last: int) -> list[dict]:
    return [
        {
            "id": n,
            "name": f"item {n}",
            "amount": f"{n}.25",
            "updated_at": (START + dt.timedelta(minutes=n)).isoformat().replace("+00:00", "Z"),
            "ignored": {"not": "in the schema"},
        }
        for n in range(first, last + 1)
    ]


def _source(api, path: str, options: dict, mode: dict | None = None, connection: dict | None = None, **object_fields) -> dict:
    source = single_object_source(
        "http",
        connection or {"uri": api.base_url},
        "items",
        mode or {"type": "full"},
        "items",
        path=path,
        schema=SCHEMA,
        **object_fields,
    )
    source["options"] = options
    return source


def _ids(catalog) -> list[int]:
    return sorted(read_table(catalog, "qa.items").column("id").to_pylist())


PAGINATIONS = {
    "plain": ({"type": "none"}, "data"),
    "page": ({"type": "page", "page_size": 7}, "data"),
    "offset": ({"type": "offset", "limit": 6}, "results.items"),
    "cursor": ({"type": "cursor", "next_path": "meta.next"}, "data"),
    "link": ({"type": "link"}, ""),
}


@pytest.mark.parametrize("style", sorted(PAGINATIONS))
def test_every_pagination_style_reads_every_record_once(http_api, catalog, style):
    http_api.data["items"] = _records(1, 25)
    pagination, records_path = PAGINATIONS[style]
    source = _source(http_api, f"/{style}/items", {"pagination": pagination, "records_path": records_path})
    assert run_pipeline(pipeline_for(source))["rows"] == 25
    assert _ids(catalog) == list(range(1, 26))
    row = read_table(catalog, "qa.items").sort_by("id").slice(0, 1).to_pylist()[0]
    assert row == {"id": 1, "name": "item 1", "amount": decimal.Decimal("1.25"), "updated_at": START + dt.timedelta(minutes=1)}
    pages = {"plain": 1, "page": 4, "offset": 5, "cursor": 9, "link": 7}[style]
    assert len(http_api.requests) == pages


def test_the_object_can_say_where_its_records_are(http_api, catalog):
    http_api.data["items"] = _records(1, 3)
    source = _source(http_api, "offset/items", {"pagination": {"type": "offset"}})
    source["objects"][0]["options"] = {"records_path": "results.items"}
    assert run_pipeline(pipeline_for(source))["rows"] == 3


AUTHS = {
    "bearer": (("bearer", "t0ken"), {"type": "bearer"}, {"password": "t0ken"}),
    "basic": (("basic", "reader", "pa55"), {"type": "basic"}, {"login": "reader", "password": "pa55"}),
    "api_key_header": (("header", "X-Api-Key", "k3y"), {"type": "api_key", "header": "X-Api-Key"}, {"password": "k3y"}),
    "api_key_query": (("query", "api_key", "k3y"), {"type": "api_key", "query": "api_key"}, {"password": "k3y"}),
}


def _connection(monkeypatch, api, conn_id: str, **fields) -> dict:
    host, port = api.base_url.removeprefix("http://").split(":")
    value = {"conn_type": "http", "host": host, "port": int(port), "schema": "http", **fields}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(value))
    return {"conn_id": conn_id}


@pytest.mark.parametrize("kind", sorted(AUTHS))
def test_each_auth_sends_the_connections_credentials(http_api, catalog, monkeypatch, kind):
    required, auth, credentials = AUTHS[kind]
    http_api.data["items"] = _records(1, 5)
    http_api.auth = required
    connection = _connection(monkeypatch, http_api, "qa_api", **credentials)
    options = {"auth": auth, "pagination": {"type": "page", "page_size": 2}, "records_path": "data"}
    assert run_pipeline(pipeline_for(_source(http_api, "page/items", options, connection=connection)))["rows"] == 5
    assert len(http_api.requests) == 3


def test_basic_auth_from_the_uris_password_placeholder(http_api, catalog, monkeypatch):
    http_api.data["items"] = _records(1, 2)
    http_api.auth = ("basic", "reader", "s3cret")
    monkeypatch.setenv("QA_API_PASSWORD", "s3cret")
    uri = http_api.base_url.replace("http://", "http://reader:${env:QA_API_PASSWORD}@")
    source = _source(http_api, "plain/items", {"auth": {"type": "basic"}, "records_path": "data"}, connection={"uri": uri})
    assert run_pipeline(pipeline_for(source))["rows"] == 2


def test_wrong_credentials_fail_without_retry_or_secret_in_the_message(http_api, monkeypatch):
    http_api.data["items"] = _records(1, 2)
    http_api.auth = ("query", "api_key", "right")
    connection = _connection(monkeypatch, http_api, "qa_api", password="wrong-key-123")
    source = _source(http_api, "plain/items", {"auth": {"type": "api_key", "query": "api_key"}, "records_path": "data"}, connection=connection)
    with pytest.raises(HttpRequestError) as info:
        run_pipeline(pipeline_for(source))
    assert "HTTP 401" in str(info.value) and "check the credentials" in str(info.value)
    assert "wrong-key-123" not in str(info.value)
    assert len(http_api.requests) == 1
    ok, message = source_reader(Source.model_validate(source)).test_connection()
    assert not ok and "wrong-key-123" not in message


def test_incremental_reads_past_the_cursor_with_the_query_parameter(http_api, catalog):
    http_api.data["items"] = _records(1, 20)
    options = {"pagination": {"type": "page", "page_size": 8}, "records_path": "data", "incremental_param": "updated_since"}
    source = _source(http_api, "page/items", options, {"type": "incremental", "cursor": "updated_at"})
    assert_incremental_runs(source, 20, lambda: http_api.data["items"].extend(_records(21, 24)), 4)
    assert _ids(catalog) == list(range(1, 25))
    last = http_api.requests[-1][0]
    assert "updated_since=2026-11-01T00%3A20%3A00%2B00%3A00" in last  # the last cursor value of the run before


def test_429_waits_as_retry_after_says_then_reads(http_api, catalog):
    http_api.data["items"] = _records(1, 4)
    http_api.fail_next = [(429, "1"), (503, None)]
    began = time.monotonic()
    assert run_pipeline(pipeline_for(_source(http_api, "plain/items", {"records_path": "data"})))["rows"] == 4
    assert time.monotonic() - began >= 1.0  # Retry-After: 1, then a 0.5 s... backoff
    assert len(http_api.requests) == 3


def test_rate_limits_that_last_fail_as_transient_after_bounded_retries(http_api):
    http_api.data["items"] = _records(1, 4)
    http_api.fail_next = [(429, "3600")] * 3
    source = _source(http_api, "plain/items", {"records_path": "data", "max_retries": 2, "max_wait_s": 0.1})
    began = time.monotonic()
    with pytest.raises(HttpTransientError, match=r"answered HTTP 429, 3 time\(s\)"):
        run_pipeline(pipeline_for(source))
    assert time.monotonic() - began < 5  # Retry-After of an hour, waited at most max_wait_s


def test_a_record_that_does_not_fit_goes_to_quarantine(http_api, catalog):
    records = _records(1, 3)
    records[1]["amount"] = "a lot"
    http_api.data["items"] = records
    source = _source(http_api, "plain/items", {"records_path": "data"})
    with pytest.raises(QuarantineThresholdError, match=r"1 of 3 records read \(33.3%\) went to quarantine table qa.items__quarantine"):
        run_pipeline(pipeline_for(source))
    (row,) = read_table(catalog, "qa.items__quarantine").to_pylist()
    assert (row["position"], row["reason"]) == ("plain/items page 1 record 1", "field 'amount' does not hold a decimal(10,2)")
    assert json.loads(row["raw"])["amount"] == "a lot"


def test_probe_check_and_list(http_api):
    http_api.data["items"] = _records(1, 3)
    source = Source.model_validate(_source(http_api, "plain/items", {"records_path": "data", "probe_path": "plain/items"}))
    reader = source_reader(source)
    assert reader.test_connection() == (True, "connected (HTTP 200)")
    (obj,) = source.objects
    assert reader.check_object(obj) == []
    missing = obj.model_copy(update={"path": "plain/nothing"})
    (problem,) = reader.check_object(missing)
    assert "HTTP 404" in problem and "check the object's 'path'" in problem
    assert reader.list_objects() == []


def test_a_next_link_to_another_host_is_refused(http_api):
    http_api.data["items"] = _records(1, 9)
    http_api.base_url = http_api.base_url.replace("127.0.0.1", "localhost")  # the links now name another host
    source = _source(http_api, "link/items", {"pagination": {"type": "link"}})
    source["connection"] = {"uri": http_api.base_url.replace("localhost", "127.0.0.1")}
    with pytest.raises(HttpRequestError, match="on another host than the source's base URL"):
        run_pipeline(pipeline_for(source))
