"""`chimera intent test` against the real services `make services` starts: objects and columns
looked up, failures named, secrets kept out of reports, hung sources cut off by the timeout."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid

import pytest
import typer
from typer.testing import CliRunner

from airflow_provider_chimera.cli.connectivity import register
from airflow_provider_chimera.contract import parse_intent
from airflow_provider_chimera.onboarding.connectivity import SourceReport, describe
from airflow_provider_chimera.onboarding.connectivity import test_intent as run_test
from tests.helpers import (
    adhoc_ingestion,
    intent_with,
    kafka_uri,
    mongo_uri,
    mysql_uri,
    postgres_uri,
    record_schema,
)

runner = CliRunner()
TYPES = {"id": "long", "sku": "string", "updated_at": "timestamptz"}
SCHEMA = record_schema(["id"], **TYPES)
PG_SECRET = "${secret:QA_CONN_PG_PASSWORD}"


def _obj(name: str, columns: list[str] | None = None, cursor: str | None = None, **fields) -> dict:
    obj = {"name": name, **fields}
    if columns is not None:
        obj["columns"] = columns
    if cursor is not None:
        obj["ingestion"] = adhoc_ingestion({"type": "incremental", "cursor": cursor}, f"t_{uuid.uuid4().hex[:8]}")
    return obj


def _source(source_type: str, connection: dict, objects, name: str = "src") -> dict:
    return {"name": name, "type": source_type, "connection": connection, "objects": objects}


def _test(source_type: str, connection: dict, objects, timeout_s: float = 30) -> SourceReport:
    intent = parse_intent(json.dumps(intent_with(_source(source_type, connection, objects))).encode(), "qa_intent.json")
    [report] = run_test(intent, timeout_s)
    return report


def _problems(report: SourceReport) -> dict[str, list[str]]:
    return {o.name: o.problems for o in report.objects}


# --- PostgreSQL --------------------------------------------------------------------------------


@pytest.fixture
def pg(pg_schema, services):
    conn = pg_schema("qa_conn", conn_id="qa_conn_postgres")
    conn.execute("CREATE TABLE qa_conn.orders (id bigint, amount numeric(12,2), updated_at timestamp)")
    conn.execute("CREATE VIEW qa_conn.big_orders AS SELECT * FROM qa_conn.orders WHERE amount > 100")
    return services


def test_postgres_ok(pg):
    objects = [_obj("qa_conn.orders", ["id", "amount"], cursor="updated_at"), _obj("qa_conn.big_orders")]
    report = _test("postgres", {"conn_id": "qa_conn_postgres"}, objects)
    assert report.ok, report
    assert report.reason == "connected; 2 object(s) found with the columns named"
    assert _problems(report) == {"qa_conn.orders": [], "qa_conn.big_orders": []}
    assert report.elapsed_s > 0


def test_postgres_missing_table_and_columns_are_named(pg):
    objects = [_obj("qa_conn.nope"), _obj("qa_conn.orders", ["id", "qty"], cursor="changed_at")]
    report = _test("postgres", {"conn_id": "qa_conn_postgres"}, objects)
    assert not report.ok
    assert report.reason == "2 of 2 object(s) cannot be read: qa_conn.nope, qa_conn.orders"
    assert _problems(report) == {
        "qa_conn.nope": ["table or view 'qa_conn.nope' does not exist"],
        "qa_conn.orders": ["columns ['qty'] do not exist", "cursor column 'changed_at' does not exist"],
    }


def test_postgres_objects_all_lists_tables_and_views(pg):
    report = _test("postgres", {"conn_id": "qa_conn_postgres"}, "all")
    assert report.ok, report
    assert {"qa_conn.orders", "qa_conn.big_orders"} <= set(report.found)


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("Wr0ng-S3cret!", 'password authentication failed for user "chimera"'),
        # Not percent-encoded in the URI: libpq quotes the password in its error.
        ("Wr0ng%zzS3cret", 'invalid percent-encoded token: "***"'),
    ],
)
def test_wrong_password_is_not_in_the_report(pg, monkeypatch, password, reason):
    monkeypatch.setenv("AIRFLOW_VAR_QA_CONN_PG_PASSWORD", password)
    report = _test("postgres", {"uri": postgres_uri(pg, PG_SECRET)}, [_obj("qa_conn.orders")])
    assert not report.ok
    assert report.reason.startswith("OperationalError: ")
    assert reason in report.reason
    assert "S3cret" not in report.model_dump_json()


def test_wrong_password_of_a_connection_is_not_in_the_report(pg, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_QA_CONN_POSTGRES", postgres_uri(pg, password="Wr0ng%25zzS3cret"))
    report = _test("postgres", {"conn_id": "qa_conn_postgres"}, [_obj("qa_conn.orders")])
    assert not report.ok
    assert 'password authentication failed for user "chimera"' in report.reason
    assert "S3cret" not in report.model_dump_json()


def test_unresolvable_secret_fails_the_source_naming_the_placeholder(pg):
    report = _test("postgres", {"uri": postgres_uri(pg, password="${secret:NOPE}")}, [_obj("qa_conn.orders")])
    assert not report.ok
    assert report.reason == "placeholder ${secret:NOPE} has no value"
    assert report.objects == []


# --- MySQL (MariaDB) ---------------------------------------------------------------------------


@pytest.fixture
def mysql(mysql_tables, services):
    cur = mysql_tables("qa_conn_mysql", "qa_conn_orders")
    cur.execute("CREATE TABLE qa_conn_orders (id BIGINT, amount DECIMAL(12,2), updated_at DATETIME(6))")
    return services


def test_mysql_ok(mysql):
    report = _test("mysql", {"conn_id": "qa_conn_mysql"}, [_obj("qa_conn_orders", ["id", "amount"], cursor="updated_at")])
    assert report.ok, report
    assert _problems(report) == {"qa_conn_orders": []}


def test_mysql_missing_table_and_column_are_named(mysql, monkeypatch):
    monkeypatch.setenv("QA_CONN_MYSQL_PASSWORD", mysql["CHIMERA_MYSQL_PASSWORD"])
    uri = mysql_uri(mysql, password="${env:QA_CONN_MYSQL_PASSWORD}")
    objects = [_obj("qa_conn_nope"), _obj(f"{mysql['CHIMERA_MYSQL_DB']}.qa_conn_orders", ["id", "qty"])]
    report = _test("mysql", {"uri": uri}, objects)
    assert not report.ok
    assert _problems(report) == {
        "qa_conn_nope": ["table or view 'qa_conn_nope' does not exist"],
        "chimera.qa_conn_orders": ["columns ['qty'] do not exist"],
    }
    listed = _test("mysql", {"uri": uri}, "all")
    assert "qa_conn_orders" in listed.found


# --- Snowflake (fakesnow) ----------------------------------------------------------------------


@pytest.fixture
def snowflake(snowflake_schema, services):
    cur = snowflake_schema("CONN", "qa_conn_snowflake", "ORDERS")
    cur.execute("CREATE OR REPLACE TABLE QA.CONN.ORDERS (ID NUMBER(38,0), AMOUNT NUMBER(12,2), UPDATED_AT TIMESTAMP_NTZ)")
    return services


def test_snowflake_ok(snowflake):
    objects = [_obj("conn.orders", ["id", "AMOUNT"], cursor="updated_at")]
    report = _test("snowflake", {"conn_id": "qa_conn_snowflake"}, objects)
    assert report.ok, report
    assert _problems(report) == {"conn.orders": []}


def test_snowflake_missing_table_and_column_are_named(snowflake):
    connection = {"conn_id": "qa_conn_snowflake"}  # fakesnow's endpoint is a platform-owned connection's to give
    objects = [_obj("conn.nope"), _obj("conn.orders", ["id", "qty"], cursor="changed_at")]
    report = _test("snowflake", connection, objects)
    assert not report.ok
    assert _problems(report) == {
        "conn.nope": ["table or view 'conn.nope' does not exist"],
        "conn.orders": ["columns ['qty'] do not exist", "cursor column 'changed_at' does not exist"],
    }
    listed = _test("snowflake", connection, "all")
    assert "CONN.ORDERS" in listed.found


# --- MongoDB (FerretDB) ------------------------------------------------------------------------


@pytest.fixture
def mongo(mongo_database, services):
    database = mongo_database("qa_conn", conn_id="qa_conn_mongo")
    database["products"].insert_many([{"id": n, "sku": f"SKU-{n}", "updated_at": n} for n in range(3)])
    return services


def test_mongodb_ok(mongo):
    objects = [_obj("products", ["id", "sku"], cursor="updated_at", schema=SCHEMA)]
    report = _test("mongodb", {"conn_id": "qa_conn_mongo"}, objects)
    assert report.ok, report
    assert _problems(report) == {"products": []}
    assert _test("mongodb", {"conn_id": "qa_conn_mongo"}, "all").found == ["products"]


def test_mongodb_missing_collection_and_field_are_named(mongo):
    with_qty = record_schema(["id"], **TYPES, qty="long")
    objects = [_obj("nope", schema=SCHEMA), _obj("products", ["id", "qty"], schema=with_qty)]
    report = _test("mongodb", {"uri": mongo_uri(mongo, "qa_conn")}, objects)
    assert not report.ok
    assert _problems(report) == {
        "nope": ["collection 'nope' does not exist"],
        "products": ["fields ['qty'] occur in none of the first 3 documents"],
    }


# --- Kafka -------------------------------------------------------------------------------------


@pytest.fixture
def kafka(kafka_topic):
    return kafka_topic("qa.conn", conn_id="qa_conn_kafka", partitions=2)


def test_kafka_ok(kafka):
    report = _test("kafka", {"conn_id": "qa_conn_kafka"}, [_obj(kafka, schema=SCHEMA)])
    assert report.ok, report
    assert _problems(report) == {kafka: []}
    listed = _test("kafka", {"conn_id": "qa_conn_kafka"}, "all")
    assert kafka in listed.found
    assert not any(name.startswith("__") for name in listed.found)


def test_kafka_missing_topic_is_named(kafka, services):
    missing = f"{kafka}.nope"
    report = _test("kafka", {"uri": kafka_uri(services)}, [_obj(missing, schema=SCHEMA)])
    assert not report.ok
    assert _problems(report) == {missing: [f"topic '{missing}' does not exist"]}


# --- Files -------------------------------------------------------------------------------------


def _file_object(path: str, fmt: str = "csv", columns: list[str] | None = None) -> dict:
    return _obj("things", columns, path=path, format=fmt, schema=SCHEMA)


def test_file_ok(tmp_path):
    (tmp_path / "a.csv").write_text("id,sku,updated_at\n1,x,2026-11-01T00:00:00Z\n")
    report = _test("file", {"uri": tmp_path.as_uri()}, [_file_object("*.csv")])
    assert report.ok, report
    assert _test("file", {"uri": tmp_path.as_uri()}, "all").found == ["a.csv"]


def test_file_without_a_column_is_named_and_one_without_a_match_is_a_warning(tmp_path):
    (tmp_path / "a.csv").write_text("id,updated_at\n1,2026-11-01T00:00:00Z\n")
    objects = [_file_object("*.parquet", "parquet"), {**_file_object("*.csv"), "name": "csv_things"}]
    report = _test("file", {"uri": tmp_path.as_uri()}, objects)
    assert not report.ok
    assert _problems(report) == {"things": [], "csv_things": [f"columns ['sku'] are not in {tmp_path / 'a.csv'}"]}
    assert report.warnings == [
        "things: path '*.parquet' matches no file yet; its schema is declared, so onboarding goes on and its runs "
        "load the files as they arrive"
    ]


def test_an_empty_or_missing_landing_folder_is_a_warning_when_the_schema_is_declared(tmp_path):
    (tmp_path / "landing").mkdir()
    objects = [_file_object("landing/*.csv"), {**_file_object("not_yet_created/*.json", "json"), "name": "later"}]

    report = _test("file", {"uri": tmp_path.as_uri()}, objects)

    assert report.ok, report
    assert _problems(report) == {"things": [], "later": []}
    assert [w.split(":")[0] for w in report.warnings] == ["things", "later"]
    assert report.reason == "connected; 0 object(s) found with the columns named, 2 with a warning: things, later"
    assert describe(report)[1] == (
        "things: warning: path 'landing/*.csv' matches no file yet; its schema is declared, so onboarding goes on "
        "and its runs load the files as they arrive"
    )


def test_resolved_env_value_is_scrubbed_from_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("QA_CONN_DROP", "hidden-drop-zone")
    report = _test("file", {"uri": f"{tmp_path.as_uri()}/${{env:QA_CONN_DROP}}"}, "all")
    assert not report.ok
    assert report.reason.startswith("FileNotFoundError: ")
    assert f"{tmp_path}/***" in report.reason
    assert "hidden-drop-zone" not in report.model_dump_json()


# --- Time limit and the command ----------------------------------------------------------------


@pytest.fixture
def silent_server():
    """A TCP port that accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


def _write_intent(tmp_path, sources: list[dict], name: str = "qa_intent"):
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(intent_with(*sources, name=name)))
    return path


def _cli():
    app = typer.Typer()
    app.command("noop")(lambda: None)  # a group, as `chimera intent` is
    register(app)
    return app


def test_hung_sources_time_out_concurrently_and_the_others_report(pg, silent_server, monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_VAR_QA_CONN_PG_PASSWORD", pg["CHIMERA_PG_PASSWORD"])
    hung = {"uri": postgres_uri(pg, PG_SECRET, port=silent_server)}
    path = _write_intent(
        tmp_path,
        [
            _source("postgres", hung, [_obj("qa_conn.orders")], name="hung_a"),
            _source("postgres", hung, [_obj("qa_conn.orders")], name="hung_b"),
            _source("postgres", {"uri": postgres_uri(pg, PG_SECRET)}, [_obj("qa_conn.orders")], name="live"),
        ],
    )
    started = time.monotonic()
    result = runner.invoke(_cli(), ["test", str(path), "--timeout", "2", "--format", "json"])
    elapsed = time.monotonic() - started
    assert result.exit_code == 2, result.output
    rows = {row["source"]: row for row in json.loads(result.stdout)}
    assert rows["hung_a"]["reason"] == rows["hung_b"]["reason"] == "timed out after 2 s"
    assert rows["hung_a"]["ok"] is rows["hung_b"]["ok"] is False
    assert rows["live"]["ok"] is True
    assert rows["live"]["file"] == str(path)
    assert elapsed < 3.5  # two sources of 2 s each, tested at the same time


def test_cli_text_table_and_exit_codes(pg, tmp_path):
    good = _write_intent(tmp_path, [_source("postgres", {"conn_id": "qa_conn_postgres"}, [_obj("qa_conn.orders")], name="db")], "good")
    result = runner.invoke(_cli(), ["test", str(good)])
    assert result.exit_code == 0, result.output
    assert "connected; 1 object(s) found with the columns named" in result.stdout
    assert " ok " in result.stdout

    bad = _write_intent(tmp_path, [_source("postgres", {"conn_id": "qa_conn_postgres"}, [_obj("qa_conn.nope")], name="db")], "bad")
    result = runner.invoke(_cli(), ["test", str(good), str(bad)])
    assert result.exit_code == 2, result.output
    assert "failed" in result.stdout
    assert "qa_conn.nope: table or view 'qa_conn.nope' does not exist" in result.stdout

    invalid = tmp_path / "invalid.json"
    invalid.write_text(json.dumps({"version": 1, "name": "invalid"}))
    result = runner.invoke(_cli(), ["test", str(invalid), str(good)])
    assert result.exit_code == 1
    assert f"{invalid}: /team: Field required" in result.stderr
    assert "connected; 1 object(s) found" in result.stdout  # the valid file is still tested


def test_cli_shows_a_file_set_without_files_yet_as_ok_with_a_warning(tmp_path):
    (tmp_path / "landing").mkdir()
    path = _write_intent(tmp_path, [_source("file", {"uri": (tmp_path / "landing").as_uri()}, [_file_object("*.csv")], name="drops")])

    result = runner.invoke(_cli(), ["test", str(path)])
    as_json = runner.invoke(_cli(), ["test", str(path), "--format", "json"])

    assert result.exit_code == 0, result.output
    assert "ok, warning" in result.stdout
    assert "things: warning: path '*.csv' matches no file yet" in result.stdout
    (row,) = json.loads(as_json.stdout)
    assert (row["ok"], row["objects"][0]["problems"]) == (True, [])
    assert row["objects"][0]["warnings"][0].startswith("path '*.csv' matches no file yet; its schema is declared")
