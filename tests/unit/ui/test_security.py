"""Who gets in: anonymous 401, a DAG the user may not read 403, hostile intent names and error text
escaped, same-origin framing headers on every answer, JSON and the custom header on every POST."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from airflow_provider_chimera.ui.security import JsonRequest, require_json_request
from tests.ui_fleet import pipeline_id, seed_fleet

GET_ROUTES = ["/chimera/", "/chimera/api/pipelines", "/chimera/onboarding", "/chimera/api/onboarding",
              f"/chimera/dags/{pipeline_id(0)}", f"/chimera/api/dags/{pipeline_id(0)}"]
HOSTILE_INTENT = "<script>alert('intent')</script>"
HOSTILE_ERROR = "<img src=x onerror=alert('error')> failed\nsecond line"


@pytest.fixture
def fleet(registry, grants):
    ids = seed_fleet(registry, 20, runs=3, names={0: HOSTILE_INTENT}, errors={0: HOSTILE_ERROR})
    grants.known_dags = ids
    return ids


@pytest.mark.parametrize("path", GET_ROUTES)
def test_anonymous_gets_401(client, fleet, path):
    client.cookies.clear()
    answer = client.get(path)
    assert answer.status_code == 401
    assert answer.headers["x-frame-options"] == "SAMEORIGIN"


def test_a_bad_token_is_refused(client, fleet):
    assert client.get("/chimera/api/pipelines", headers={"Authorization": "Bearer not-a-jwt"}).status_code in (401, 403)


def test_a_bearer_token_is_accepted(client, token, fleet):
    client.cookies.clear()
    assert client.get("/chimera/api/pipelines", headers={"Authorization": f"Bearer {token('admin')}"}).status_code == 200


@pytest.mark.parametrize("path", [f"/chimera/dags/{pipeline_id(10)}", f"/chimera/api/dags/{pipeline_id(10)}"])
def test_a_dag_the_user_may_not_read_is_403_naming_it(as_user, fleet, path):
    answer = as_user("alice").get(path)
    assert answer.status_code == 403
    assert pipeline_id(10) in answer.json()["detail"]
    assert as_user("alice").get(path.replace(pipeline_id(10), pipeline_id(1))).status_code == 200


@pytest.mark.parametrize("path", GET_ROUTES)
def test_every_answer_may_be_framed_by_the_same_origin_only(as_user, fleet, path):
    answer = as_user("admin").get(path)
    assert answer.status_code == 200
    assert answer.headers["x-frame-options"] == "SAMEORIGIN"
    assert answer.headers["content-security-policy"] == "frame-ancestors 'self'"


def test_hostile_intent_names_and_errors_are_escaped_on_the_board(as_user, fleet):
    html = as_user("admin").get("/chimera/", params={"page_size": 100}).text
    assert HOSTILE_INTENT not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#39;intent&#39;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(&#39;error&#39;)&gt; failed" in html
    assert "second line" not in html  # the first line only


def test_hostile_text_is_escaped_on_the_tab(as_user, fleet):
    html = as_user("admin").get(f"/chimera/dags/{pipeline_id(0)}").text
    assert HOSTILE_INTENT not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x" in html


def _probe_app() -> FastAPI:
    router = APIRouter()

    @router.post("/probe", dependencies=[JsonRequest])
    def probe() -> dict:
        return {"ok": True}

    from airflow_provider_chimera.ui.security import FrameHeaders

    app = FastAPI()
    app.add_middleware(FrameHeaders)
    app.include_router(router)
    return app


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({"Content-Type": "application/x-www-form-urlencoded", "X-Chimera-Request": "1"}, "a=1", 415),  # a cross-site form
        ({"Content-Type": "text/plain", "X-Chimera-Request": "1"}, "{}", 415),
        ({"Content-Type": "application/json"}, "{}", 403),  # no custom header
        ({"Content-Type": "application/json", "X-Chimera-Request": "0"}, "{}", 403),
        ({"Content-Type": "application/json; charset=utf-8", "X-Chimera-Request": "1"}, "{}", 200),
    ],
)
def test_posts_need_json_and_the_chimera_header(headers, body, status):
    answer = TestClient(_probe_app()).post("/probe", content=body, headers=headers)
    assert answer.status_code == status
    assert answer.headers["x-frame-options"] == "SAMEORIGIN"


def test_every_mutating_route_of_the_app_requires_json_and_the_header():
    from airflow_provider_chimera.ui.app import create_app

    for route in create_app().routes:
        if isinstance(route, APIRoute) and route.methods & {"POST", "PUT", "PATCH", "DELETE"}:
            calls = {dependant.call for dependant in route.dependant.dependencies}
            assert require_json_request in calls, f"{route.path} does not depend on require_json_request"


def test_a_registry_that_does_not_answer_is_a_503_without_sql(as_user, grants, monkeypatch):
    # A PostgreSQL registry on a port where nothing listens (closed at once: no wait).
    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", "postgresql://chimera:hunter2@127.0.0.1:9/chimera")
    answer = as_user("admin").get("/chimera/api/pipelines")
    assert answer.status_code == 503
    assert "cannot be reached" in answer.json()["detail"] and "hunter2" not in answer.text
    assert answer.headers["x-frame-options"] == "SAMEORIGIN"
