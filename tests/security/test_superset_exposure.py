"""Point 6: Superset discovery never exposes a source's credentials or its raw PII beyond the owning team.

Against a real Apache Superset (``make superset``; started by ``tests/superset_server.py``) and
the services' PostgreSQL: team-a's intent registers its PostgreSQL source (a table of e-mail
addresses, read by a role of its own). The Superset database is hidden from SQL Lab and allows no
DML, CTAS, CVAS or upload; its password never comes back from Superset's API; only the role
``chimera_team-a`` is granted access to the database and its dataset. A user of team B (Gamma
plus ``chimera_team-b``) sees neither the database nor the dataset and cannot query it, while a
user of team A sees the dataset. Registering again grants nothing new.
"""

from __future__ import annotations

import json
import secrets
import uuid

import httpx
import pytest

from tests.conftest import SERVICES, require_service
from tests.helpers import postgres_uri
from tests.security.corpus import good_intent

COVERS = ("6",)

PG_CONN = "qa_exposure_pg"
SUPERSET_CONN = "qa_exposure_superset"


@pytest.fixture
def source(monkeypatch, superset_server):
    """A PostgreSQL schema with a PII table, read by a role whose password is unlike anything else;
    the Airflow connections of it and of Superset; everything removed afterwards (Superset too)."""
    import psycopg

    require_service("PostgreSQL", SERVICES["CHIMERA_PG_HOST"], SERVICES["CHIMERA_PG_PORT"])
    suffix = uuid.uuid4().hex[:8]
    schema, role, password = f"qa_exposure_{suffix}", f"qa_exposure_{suffix}", f"Pw-{uuid.uuid4().hex}"
    admin = psycopg.connect(postgres_uri(SERVICES), autocommit=True)
    admin.execute(f"CREATE SCHEMA {schema}")
    admin.execute(f"CREATE TABLE {schema}.customers (id bigint PRIMARY KEY, email text)")
    admin.execute(f"INSERT INTO {schema}.customers VALUES (1, 'jane@example.org')")
    admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    admin.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}; GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}")
    server = f"{SERVICES['CHIMERA_PG_HOST']}:{SERVICES['CHIMERA_PG_PORT']}/{SERVICES['CHIMERA_PG_DB']}"
    monkeypatch.setenv(f"AIRFLOW_CONN_{PG_CONN.upper()}", f"postgresql://{role}:{password}@{server}")
    monkeypatch.setenv(f"AIRFLOW_CONN_{SUPERSET_CONN.upper()}", json.dumps({
        "conn_type": "http", "host": superset_server.host, "port": superset_server.port, "schema": "http",
        "login": superset_server.user, "password": superset_server.password,
    }))
    api = superset_server.api()
    made: dict[str, list[int]] = {"users": [], "roles": []}
    yield {"schema": schema, "password": password, "api": api, "superset": superset_server, "made": made}
    _forget(api, made)
    api.close()
    admin.execute(f"DROP SCHEMA {schema} CASCADE; DROP OWNED BY {role}; DROP ROLE {role}")
    admin.close()


def _forget(api: httpx.Client, made: dict[str, list[int]]) -> None:
    """Superset is shared by the test session: remove this test's databases, datasets, users and roles."""
    from airflow_provider_chimera.onboarding.superset import rison

    query = rison({"filters": [{"col": "database_name", "opr": "sw", "value": "chimera exposure "}]})
    for database in api.get("/api/v1/database/", params={"q": query}).json()["ids"]:
        datasets = rison({"filters": [{"col": "database", "opr": "rel_o_m", "value": database}]})
        for dataset in api.get("/api/v1/dataset/", params={"q": datasets}).json()["ids"]:
            api.delete(f"/api/v1/dataset/{dataset}")
        api.delete(f"/api/v1/database/{database}")
    for user in made["users"]:
        api.delete(f"/api/v1/security/users/{user}")
    for role in made["roles"]:
        api.delete(f"/api/v1/security/roles/{role}")


def _intent(schema: str):
    from airflow_provider_chimera.contract.load import parse_intent

    data = good_intent()
    data["name"] = "exposure"
    data["sources"] = [{"name": "crm", "type": "postgres", "connection": {"conn_id": PG_CONN}, "objects": [
        {"name": f"{schema}.customers", "ingestion": {"trigger": {"type": "adhoc"}, "mode": {"type": "full"},
                                                     "target": {"namespace": "team_a", "table": "customers"}}}]}]
    return parse_intent(json.dumps(data).encode(), "exposure.json", stem="exposure")


def _find(api: httpx.Client, resource: str, **equal: object) -> list[int]:
    from airflow_provider_chimera.onboarding.superset import rison

    query = rison({"filters": [{"col": c, "opr": "eq", "value": v} for c, v in equal.items()]})
    return api.get(f"/api/v1/{resource}/", params={"q": query}).raise_for_status().json()["ids"]


def _grants(api: httpx.Client, role_id: int) -> set[tuple[str, str]]:
    result = api.get(f"/api/v1/security/roles/{role_id}/permissions/").raise_for_status().json()["result"]
    return {(p["permission_name"], p["view_menu_name"]) for p in result}


def _user(source, name: str, *roles: str) -> httpx.Client:
    """A Superset user holding ``roles`` (created when missing), logged in."""
    api, superset = source["api"], source["superset"]
    role_ids = []
    for role in roles:
        (found,) = _find(api, "security/roles", name=role) or [None]
        if found is None:
            found = api.post("/api/v1/security/roles/", json={"name": role}).raise_for_status().json()["id"]
            source["made"]["roles"].append(found)
        role_ids.append(found)
    password = f"Aa1!{secrets.token_urlsafe(12)}"
    username = f"{name}_{uuid.uuid4().hex[:6]}"
    created = api.post("/api/v1/security/users/", json={
        "first_name": name, "last_name": "QA", "username": username, "email": f"{username}@example.org",
        "password": password, "roles": role_ids, "active": True})
    source["made"]["users"].append(created.raise_for_status().json()["id"])
    client = httpx.Client(base_url=superset.url, timeout=30, headers={"Referer": superset.url})
    login = client.post("/api/v1/security/login", json={"username": username, "password": password, "provider": "db"})
    client.headers["Authorization"] = f"Bearer {login.raise_for_status().json()['access_token']}"
    client.headers["X-CSRFToken"] = client.get("/api/v1/security/csrf_token/").raise_for_status().json()["result"]
    return client


def test_sources_are_hidden_from_sql_lab_and_granted_to_the_owning_team_only(source):
    from airflow_provider_chimera.onboarding.superset import register_intent

    api = source["api"]
    registration = register_intent(SUPERSET_CONN, _intent(source["schema"]))

    (database,) = _find(api, "database", database_name="chimera exposure crm")
    (dataset,) = _find(api, "dataset", table_name="customers", schema=source["schema"])
    assert registration.sources == {"crm": "Superset database 'chimera exposure crm' with 1 dataset(s), for role 'chimera_team-a'"}
    settings = api.get(f"/api/v1/database/{database}").raise_for_status().json()["result"]
    assert {key: settings[key] for key in ("expose_in_sqllab", "allow_dml", "allow_ctas", "allow_cvas", "allow_file_upload")} == \
        dict.fromkeys(("expose_in_sqllab", "allow_dml", "allow_ctas", "allow_cvas", "allow_file_upload"), False)
    connection = api.get(f"/api/v1/database/{database}/connection").raise_for_status().text
    assert source["password"] not in connection and source["password"] not in repr(registration)

    # Only team A's role holds the database and its dataset.
    expected = {("database_access", f"[chimera exposure crm].(id:{database})"),
                ("datasource_access", f"[chimera exposure crm].[customers](id:{dataset})")}
    (team_a,) = _find(api, "security/roles", name="chimera_team-a")
    source["made"]["roles"].append(team_a)
    assert _grants(api, team_a) == expected
    roles = api.get("/api/v1/security/roles/", params={"q": "(page_size:100)"}).raise_for_status().json()
    holders = {role["name"] for role in roles["result"] if _grants(api, role["id"]) & expected}
    assert holders == {"chimera_team-a"}

    # Team B's analyst sees and queries nothing of it; team A's analyst sees the dataset.
    b = _user(source, "b_analyst", "Gamma", "chimera_team-b")
    assert b.get(f"/api/v1/dataset/{dataset}").status_code in (403, 404)
    assert dataset not in b.get("/api/v1/dataset/").raise_for_status().json()["ids"]
    assert database not in b.get("/api/v1/database/").raise_for_status().json()["ids"]
    query = b.post("/api/v1/sqllab/execute/", json={"database_id": database, "sql": f"SELECT email FROM {source['schema']}.customers"})
    assert query.status_code in (401, 403, 404, 422) and "jane@example.org" not in query.text
    a = _user(source, "a_analyst", "Gamma", "chimera_team-a")
    assert dataset in a.get("/api/v1/dataset/").raise_for_status().json()["ids"]
    assert database not in a.get("/api/v1/database/", params={"q": "(filters:!((col:expose_in_sqllab,opr:eq,value:!t)))"}).json()["ids"]

    # Registering again changes nothing.
    again = register_intent(SUPERSET_CONN, _intent(source["schema"]))
    assert again.links == registration.links
    assert _grants(api, team_a) == expected
    assert _find(api, "database", database_name="chimera exposure crm") == [database]
