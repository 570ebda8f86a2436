"""What an intent may say about an ``http`` source, checked without a request."""

from __future__ import annotations

import pytest

from airflow_provider_chimera.contract.model import Source
from airflow_provider_chimera.contract.source_rules import source_rule_problems
from airflow_provider_chimera.sources.http.client import endpoint_from_uri, retry_after
from tests.entry_points import http_source, plugin_site  # noqa: F401  (fixtures)
from tests.unit.sources.test_registry import _problems

pytestmark = pytest.mark.usefixtures("http_source")


def _source(options: dict | None = None, uri: str = "https://api.example.com/v1", object_options: dict | None = None) -> dict:
    source = {
        "name": "api",
        "type": "http",
        "connection": {"uri": uri},
        "objects": [
            {
                "name": "orders",
                "path": "orders",
                "schema": {"fields": [{"name": "id", "type": "long"}]},
                **({"options": object_options} if object_options is not None else {}),
                "ingestion": {"trigger": {"type": "adhoc"}, "mode": {"type": "full"}, "target": {"table": "orders"}},
            }
        ],
    }
    if options is not None:
        source["options"] = options
    return source


def test_a_plain_http_source_is_valid():
    assert _problems(_source({"pagination": {"type": "page"}, "records_path": "data.items"})) == []


def test_options_are_checked_with_their_json_paths():
    problems = _problems(
        _source(
            {
                "auth": {"type": "api_key"},
                "pagination": {"type": "pages"},
                "headers": {"Authorization": "Bearer abc"},
                "max_retries": 50,
            },
            object_options={"records_path": "a..b"},
        )
    )
    paths = [path for path, _ in problems]
    assert paths == [
        "/sources/0/objects/0/options/records_path",
        "/sources/0/options/auth/api_key",
        "/sources/0/options/headers",
        "/sources/0/options/max_retries",
        "/sources/0/options/pagination",
    ]
    messages = dict(problems)
    assert "give exactly one of 'header' or 'query'" in messages["/sources/0/options/auth/api_key"]
    assert "carries credentials" in messages["/sources/0/options/headers"]
    assert "Abc" not in str(problems) and "abc" not in str(problems)  # the header's value is not repeated


def test_an_http_object_needs_a_path_and_a_schema_and_no_partitioned_mode():
    source = _source()
    del source["objects"][0]["path"], source["objects"][0]["schema"]
    source["objects"][0]["ingestion"]["mode"] = {"type": "partitioned", "column": "id"}
    assert [path for path, _ in _problems(source)] == [
        "/sources/0/objects/0/ingestion/mode/type",
        "/sources/0/objects/0/path",
        "/sources/0/objects/0/schema",
    ]


def test_an_incremental_http_object_needs_a_cursor():
    source = _source()
    source["objects"][0]["ingestion"]["mode"] = {"type": "incremental"}
    assert _problems(source) == [
        ("/sources/0/objects/0/ingestion/mode/cursor", "'incremental' mode needs a 'cursor' for a 'http' source")
    ]


def test_placeholders_of_an_http_uri_stand_for_the_password_only():
    good = Source.model_validate(_source(uri="https://reader:${secret:API_TOKEN}@api.example.com/v1"))
    assert source_rule_problems(good) == []
    bad = Source.model_validate(_source(uri="https://api.example.com/${env:WHERE}"))
    ((problem),) = source_rule_problems(bad)
    assert problem.path == "/connection/uri" and "outside the password slot" in problem.message


def test_the_uri_gives_base_url_and_credentials():
    endpoint = endpoint_from_uri("https://reader:p%40ss@API.example.com:8443/v1/")
    assert (endpoint.base_url, endpoint.login, endpoint.password) == ("https://api.example.com:8443/v1", "reader", "p@ss")
    assert "p@ss" not in repr(endpoint)


def test_retry_after_in_seconds_or_as_a_date():
    assert retry_after("7") == 7.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: no wait
    assert retry_after("soon") is None and retry_after(None) is None


def test_validating_an_http_source_imports_no_http_client(tmp_path):
    """The entry point's module is light: validating intents (and parsing DAGs) never loads httpx."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import json, sys\n"
        "from airflow_provider_chimera.contract.model import Source\n"
        "Source.model_validate(json.loads(sys.argv[1]))\n"
        "print('httpx' in sys.modules)\n"
    )
    repo = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "site0"), str(repo)])}
    result = subprocess.run([sys.executable, "-c", code, json.dumps(_source())], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "False"
