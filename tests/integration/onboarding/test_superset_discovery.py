"""Onboarding's discovery step against a real Apache Superset (started from ``.superset/venv``) and
the local PostgreSQL, Kafka and SMTP: the source becomes a Superset database and its tables
datasets, once however often discovery runs; the ``data-discovery-available`` event carries their
links; no password reaches the step outcomes, the audit log or the events."""

from __future__ import annotations

import json
import time
import uuid
from types import SimpleNamespace

import pytest

from tests.conftest import require_service
from tests.helpers import intent_with
from tests.integration.onboarding.topics import topic_dropper

PG_CONN = "qa_superset_pg"
SUPERSET_CONN = "qa_superset"
EVENTS_CONN = "qa_superset_events"
SMTP_CONN = "qa_superset_smtp"
SCHEMA = "qa_superset"
DATABASE = "chimera qa_superset crm"


@pytest.fixture
def home(tmp_path, monkeypatch, services, cleanups, pg_schema, smtp_server, superset_server):
    """A registry, state and intents folder in ``tmp_path``; topics of this test; the source read by
    a role of its own whose password is unlike anything else in the test; Superset configured."""
    from confluent_kafka.admin import AdminClient

    from airflow_provider_chimera.onboarding.events import STEPS
    from airflow_provider_chimera.registry.db import open_registry
    from airflow_provider_chimera.settings import load_settings

    bootstrap = services["CHIMERA_KAFKA_BOOTSTRAP"]
    require_service("Kafka", *bootstrap.split(":"))
    suffix = uuid.uuid4().hex[:8]
    topics = {kind: f"chimera.test.superset.{kind}.{suffix}" for kind in STEPS}
    intents = tmp_path / "intents"
    intents.mkdir()
    options = {option: topics[kind] for kind, option in STEPS.items()} | {
        "events_kafka_conn_id": EVENTS_CONN, "smtp_conn_id": SMTP_CONN, "superset_conn_id": SUPERSET_CONN,
        "sql_alchemy_conn": f"sqlite:///{tmp_path / 'registry.db'}", "state_dir": str(tmp_path / "state"),
        "intents_dir": str(intents), "warehouse": str(tmp_path / "warehouse"),
        "datahub_lite_path": str(tmp_path / "datahub-lite.duckdb"),
    }
    for option, value in options.items():
        monkeypatch.setenv(f"AIRFLOW__CHIMERA__{option.upper()}", value)
    monkeypatch.setenv(f"AIRFLOW_CONN_{EVENTS_CONN.upper()}", json.dumps({"conn_type": "kafka", "extra": {"bootstrap.servers": bootstrap}}))
    admin = AdminClient({"bootstrap.servers": bootstrap})
    cleanups(topic_dropper(admin, topics.values()))
    smtp_server(SMTP_CONN)

    pg = pg_schema(SCHEMA)
    role, password = f"qa_superset_{suffix}", f"Pw-{uuid.uuid4().hex}"
    pg.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    cleanups(lambda: pg.execute(f"DROP OWNED BY {role}; DROP ROLE {role}"))
    for table in ("customers", "orders"):
        pg.execute(f"CREATE TABLE {SCHEMA}.{table} (id bigint PRIMARY KEY, name text, updated_at timestamptz)")
    pg.execute(f"GRANT USAGE ON SCHEMA {SCHEMA} TO {role}; GRANT SELECT ON ALL TABLES IN SCHEMA {SCHEMA} TO {role}")
    server = f"{services['CHIMERA_PG_HOST']}:{services['CHIMERA_PG_PORT']}/{services['CHIMERA_PG_DB']}"
    monkeypatch.setenv(f"AIRFLOW_CONN_{PG_CONN.upper()}", f"postgresql://{role}:{password}@{server}")
    superset = superset_server
    monkeypatch.setenv(f"AIRFLOW_CONN_{SUPERSET_CONN.upper()}", json.dumps({
        "conn_type": "http", "host": superset.host, "port": superset.port, "schema": "http",
        "login": superset.user, "password": superset.password,
    }))
    api = superset.api()
    cleanups(api.close)
    cleanups(lambda: _forget_database(api))
    registry = open_registry(load_settings())
    cleanups(registry.close)
    return SimpleNamespace(intents=intents, topics=topics, bootstrap=bootstrap, registry=registry, api=api,
                           secrets=(password, superset.password), superset=superset)


def _forget_database(api) -> None:
    """Superset is shared by the session: remove this test's database and its datasets."""
    database = _database_ids(api)
    for dataset in _datasets(api, database):
        api.delete(f"/api/v1/dataset/{dataset['id']}").raise_for_status()
    for ident in database:
        api.delete(f"/api/v1/database/{ident}").raise_for_status()


def _write_intent(folder, *tables: str):
    objects = [
        {
            "name": f"{SCHEMA}.{table}",
            "ingestion": {"trigger": {"type": "adhoc"}, "mode": {"type": "full"}, "target": {"namespace": "qa", "table": f"superset_{table}"}},
        }
        for table in tables
    ]
    data = intent_with({"name": "crm", "type": "postgres", "connection": {"conn_id": PG_CONN}, "objects": objects}, name="qa_superset")
    path = folder / "qa_superset.json"
    path.write_text(json.dumps(data, indent=1))
    return path


def _onboard(home, path):
    from airflow_provider_chimera.onboarding.workflow import run_all

    return {o.step: o for o in run_all(path, registry=home.registry, actor="qa")}


def _database_ids(api) -> list[int]:
    from airflow_provider_chimera.onboarding.superset import rison

    query = rison({"filters": [{"col": "database_name", "opr": "eq", "value": DATABASE}]})
    return api.get("/api/v1/database/", params={"q": query}).raise_for_status().json()["ids"]


def _datasets(api, database_ids: list[int]) -> list[dict]:
    """``{id, schema, table_name}`` of every dataset of those databases."""
    from airflow_provider_chimera.onboarding.superset import rison

    found = []
    for ident in database_ids:
        query = rison({"filters": [{"col": "database", "opr": "rel_o_m", "value": ident}], "columns": ["id", "schema", "table_name"]})
        found += api.get("/api/v1/dataset/", params={"q": query}).raise_for_status().json()["result"]
    return sorted(found, key=lambda d: d["table_name"])


def _superset_holds(home) -> tuple[list[int], list[tuple[str, str]]]:
    ids = _database_ids(home.api)
    return ids, [(d["schema"], d["table_name"]) for d in _datasets(home.api, ids)]


def _links(home, tables: list[str]) -> dict[str, str]:
    by_table = {d["table_name"]: d["id"] for d in _datasets(home.api, _database_ids(home.api))}
    base = home.superset.url
    return {f"crm/{SCHEMA}.{t}": f"{base}/explore/?datasource_type=table&datasource_id={by_table[t]}" for t in tables}


def _events(bootstrap: str, topic: str, quiet_s: float = 3.0) -> list[bytes]:
    """The raw value of every message on ``topic`` (waits up to 20 s for the first)."""
    from confluent_kafka import Consumer

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"qa-{uuid.uuid4().hex[:6]}", "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    found, deadline = [], time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                found.append(message.value())
                deadline = time.monotonic() + quiet_s
    finally:
        consumer.close()
    return found


def _audit_text(home) -> str:
    from airflow_provider_chimera.registry.audit import entries

    with home.registry.session() as session:
        return json.dumps([[e.action, e.details] for e in entries(session, intent="qa_superset", limit=None)])


def _assert_no_secret(home, *texts: str) -> None:
    for text in texts:
        for secret in home.secrets:
            assert secret not in text


def test_discovery_registers_the_source_and_its_tables_in_superset_once(home):
    from airflow_provider_chimera.contract.load import load_intent
    from airflow_provider_chimera.onboarding.superset import register_intent

    path = _write_intent(home.intents, "customers", "orders")

    outcomes = _onboard(home, path)

    assert {step: o.outcome for step, o in outcomes.items()} == dict.fromkeys(outcomes, "done")
    databases, datasets = _superset_holds(home)
    assert len(databases) == 1
    assert datasets == [(SCHEMA, "customers"), (SCHEMA, "orders")]
    links = _links(home, ["customers", "orders"])
    discovery = outcomes["discovery"].details
    assert discovery["superset"] == links
    assert discovery["superset_sources"] == {"crm": f"Superset database {DATABASE!r} with 2 dataset(s), for role 'chimera_qa'"}
    assert discovery["summary"] == f"discoverable in DataHub, Superset ({SUPERSET_CONN})"
    events = {kind: _events(home.bootstrap, topic) for kind, topic in home.topics.items()}
    assert {kind: len(found) for kind, found in events.items()} == dict.fromkeys(home.topics, 1)
    assert json.loads(events["data-discovery-available"][0])["data"]["superset"] == links
    assert json.loads(events["onboarding-completion"][0])["data"]["superset"] == {}
    _assert_no_secret(home, repr(outcomes), _audit_text(home), *(e.decode() for found in events.values() for e in found))

    again = _onboard(home, path)
    direct = register_intent(SUPERSET_CONN, load_intent(path).intent)

    assert {o.outcome for o in again.values()} == {"already done"}
    assert direct.links == links
    assert _superset_holds(home) == (databases, datasets)
    assert len(_events(home.bootstrap, home.topics["data-discovery-available"], quiet_s=1)) == 1


def test_a_widened_intent_adds_only_the_new_table_to_the_same_superset_database(home):
    _onboard(home, _write_intent(home.intents, "customers"))
    databases, _ = _superset_holds(home)

    outcomes = _onboard(home, _write_intent(home.intents, "customers", "orders"))

    assert outcomes["validate"].details["kind"] == "widen"
    assert _superset_holds(home) == (databases, [(SCHEMA, "customers"), (SCHEMA, "orders")])
    assert outcomes["discovery"].details["superset"] == _links(home, ["orders"])
    found = _events(home.bootstrap, home.topics["data-discovery-available"])
    assert [json.loads(e)["data"]["superset"] for e in found] == [_links(home, ["customers"]), _links(home, ["orders"])]


def test_superset_refusing_the_login_stops_onboarding_at_discovery_without_the_password(home, monkeypatch):
    from airflow_provider_chimera.onboarding.workflow import OnboardingFailed

    monkeypatch.setenv(f"AIRFLOW_CONN_{SUPERSET_CONN.upper()}", json.dumps({
        "conn_type": "http", "host": home.superset.host, "port": home.superset.port, "login": home.superset.user,
        "password": "Wrong-" + home.superset.password,
    }))

    with pytest.raises(OnboardingFailed) as failed:
        _onboard(home, _write_intent(home.intents, "customers"))

    assert failed.value.step == "discovery"
    assert failed.value.reason == (
        f"logging in to Superset at {home.superset.url} (connection {SUPERSET_CONN!r}): Superset answered 401: Not authorized"
    )
    assert _superset_holds(home) == ([], [])
    _assert_no_secret(home, str(failed.value), _audit_text(home))
