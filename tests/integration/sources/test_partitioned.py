"""``partitioned`` mode against the real services: the run's window is evaluated by the source, and
rerunning an interval replaces that interval's rows only."""

from __future__ import annotations

import datetime as dt

import pytest

from airflow_provider_chimera.sources import source_reader
from airflow_provider_chimera.sources.window import Window
from tests.helpers import pipeline_for, read_table, record_schema, run_pipeline, single_object_source

UTC = dt.UTC
DAILY = {"type": "partitioned", "column": "ts", "granularity": "day"}


def _day(day: int) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime(2026, 11, day, tzinfo=UTC)
    return start, start + dt.timedelta(days=1)


def _ids_by_day(catalog, table: str, column: str = "ts", key: str = "id") -> dict[int, list[int]]:
    days: dict[int, list[int]] = {}
    for row in read_table(catalog, table).to_pylist():
        days.setdefault(row[column].day, []).append(row[key])
    return {day: sorted(ids) for day, ids in sorted(days.items())}


# --- PostgreSQL ----------------------------------------------------------------------------------


@pytest.fixture
def pg(pg_schema):
    conn = pg_schema("qa_part", conn_id="qa_postgres")
    # 72 hourly rows over 1-3 November 2026 (ids 0-71: id n at hour n).
    conn.execute("CREATE TABLE qa_part.events (id bigint PRIMARY KEY, v text, ts timestamptz)")
    conn.execute(
        "INSERT INTO qa_part.events SELECT g, 'a', timestamptz '2026-11-01 00:00+00' + g * interval '1 hour' "
        "FROM generate_series(0, 71) g"
    )
    return conn


def _pg_source(table: str = "qa_part.events") -> dict:
    return single_object_source("postgres", {"conn_id": "qa_postgres"}, table, DAILY, "events", source_name="db")


def test_postgres_partitioned_round_trip(pg, catalog):
    pipeline = pipeline_for(_pg_source())
    assert run_pipeline(pipeline, run_id="d1", interval=_day(1))["rows"] == 24
    assert run_pipeline(pipeline, run_id="d2", interval=_day(2))["rows"] == 24
    assert _ids_by_day(catalog, "qa.events") == {1: list(range(24)), 2: list(range(24, 48))}  # day 3 never read
    spec = catalog.load_table("qa.events").spec()
    assert [(f.name, str(f.transform)) for f in spec.fields] == [("ts_day", "day")]

    # Day 1 changes at the source: four rows deleted, one updated, one added late in the day.
    pg.execute("DELETE FROM qa_part.events WHERE id BETWEEN 0 AND 3")
    pg.execute("UPDATE qa_part.events SET v = 'b' WHERE id = 10")
    pg.execute("INSERT INTO qa_part.events VALUES (100, 'late', timestamptz '2026-11-01 23:59:59.999999+00')")
    for run in ("d1-rerun", "d1-rerun-again"):
        assert run_pipeline(pipeline, run_id=run, interval=_day(1))["rows"] == 21
        assert _ids_by_day(catalog, "qa.events") == {1: [*range(4, 24), 100], 2: list(range(24, 48))}
    rows = {r["id"]: r["v"] for r in read_table(catalog, "qa.events").to_pylist()}
    assert (rows[10], rows[100], rows[11], len(rows)) == ("b", "late", "a", 45)


def test_postgres_evaluates_the_window_itself(pg, catalog):
    # A view whose `poison` column divides by zero for the rows of 3 November: a read that
    # evaluated those rows (to filter them anywhere but in the server's scan) would fail.
    pg.execute(
        "CREATE VIEW qa_part.poisoned AS SELECT id, v, ts, 1 / (CASE WHEN ts >= '2026-11-03' THEN 0 ELSE 1 END) AS poison "
        "FROM qa_part.events"
    )
    pipeline = pipeline_for(_pg_source("qa_part.poisoned"))
    with pytest.raises(Exception, match="division by zero"):
        run_pipeline(pipeline_for(single_object_source("postgres", {"conn_id": "qa_postgres"}, "qa_part.poisoned", {"type": "full"}, "poisoned_full")))
    assert run_pipeline(pipeline, interval=_day(2))["rows"] == 24
    assert _ids_by_day(catalog, "qa.events") == {2: list(range(24, 48))}
    extract = source_reader(pipeline.source).extract(pipeline.object, None, window=Window("ts", *_day(2)))
    assert extract.sql.endswith(
        """WHERE "ts" >= '2026-11-02T00:00:00+00:00'::timestamp with time zone AND "ts" < '2026-11-03T00:00:00+00:00'::timestamp with time zone"""
    )


def test_postgres_date_and_naive_timestamp_columns(pg_schema, catalog):
    conn = pg_schema("qa_part", conn_id="qa_postgres")
    conn.execute("CREATE TABLE qa_part.days (id int, day date, at timestamp)")
    conn.execute(
        "INSERT INTO qa_part.days SELECT g, date '2026-10-30' + g, timestamp '2026-10-30 12:00' + g * interval '1 day' "
        "FROM generate_series(0, 6) g"
    )
    by_day = single_object_source(
        "postgres", {"conn_id": "qa_postgres"}, "qa_part.days", {"type": "partitioned", "column": "day", "granularity": "month"}, "days"
    )
    november = (dt.datetime(2026, 11, 1, tzinfo=UTC), dt.datetime(2026, 12, 1, tzinfo=UTC))
    assert run_pipeline(pipeline_for(by_day), interval=november)["rows"] == 5  # 1-5 November
    by_at = single_object_source(
        "postgres", {"conn_id": "qa_postgres"}, "qa_part.days", {"type": "partitioned", "column": "at", "granularity": "day"}, "ats"
    )
    assert run_pipeline(pipeline_for(by_at), interval=_day(2))["rows"] == 1
    assert read_table(catalog, "qa.ats").column("id").to_pylist() == [3]


# --- MySQL, Snowflake, MongoDB -------------------------------------------------------------------


def test_mysql_partitioned_reads_its_window(mysql_tables, catalog):
    cur = mysql_tables("qa_mysql", "qa_events")
    cur.execute("CREATE TABLE qa_events (id BIGINT PRIMARY KEY, ts TIMESTAMP NULL, at DATETIME(6))")
    cur.execute(
        "INSERT INTO qa_events SELECT seq, TIMESTAMP '2026-11-01 00:00:00' + INTERVAL seq HOUR, "
        "TIMESTAMP '2026-11-01 00:00:00' + INTERVAL seq HOUR FROM seq_0_to_71"
    )
    source = single_object_source("mysql", {"conn_id": "qa_mysql"}, "qa_events", DAILY, "events")
    assert run_pipeline(pipeline_for(source), interval=_day(2))["rows"] == 24
    cur.execute("DELETE FROM qa_events WHERE id = 30")
    assert run_pipeline(pipeline_for(source), interval=_day(2))["rows"] == 23
    assert run_pipeline(pipeline_for(source), interval=_day(3))["rows"] == 24
    assert _ids_by_day(catalog, "qa.events") == {2: [i for i in range(24, 48) if i != 30], 3: list(range(48, 72))}
    by_at = single_object_source("mysql", {"conn_id": "qa_mysql"}, "qa_events", {**DAILY, "column": "at"}, "ats")
    assert run_pipeline(pipeline_for(by_at), interval=_day(1))["rows"] == 24


def test_snowflake_partitioned_reads_its_window(snowflake_schema, catalog):
    cur = snowflake_schema("SHOP", "qa_snowflake", "EVENTS")
    cur.execute("CREATE TABLE QA.SHOP.EVENTS (ID NUMBER(38,0), TS TIMESTAMP_NTZ, DAY DATE)")
    cur.execute(
        "INSERT INTO QA.SHOP.EVENTS SELECT g, DATEADD(hour, g, '2026-11-01 00:00:00'::TIMESTAMP_NTZ), "
        "DATEADD(day, g, '2026-10-01'::DATE) FROM (SELECT SEQ4() AS g FROM TABLE(GENERATOR(ROWCOUNT => 72)))"
    )
    source = single_object_source("snowflake", {"conn_id": "qa_snowflake"}, "shop.events", DAILY, "events")
    assert run_pipeline(pipeline_for(source), interval=_day(3))["rows"] == 24
    assert _ids_by_day(catalog, "qa.events", column="TS", key="ID") == {3: list(range(48, 72))}
    by_day = single_object_source(
        "snowflake", {"conn_id": "qa_snowflake"}, "shop.events", {"type": "partitioned", "column": "day", "granularity": "month"}, "days"
    )
    november = (dt.datetime(2026, 11, 1, tzinfo=UTC), dt.datetime(2026, 12, 1, tzinfo=UTC))
    assert run_pipeline(pipeline_for(by_day), interval=november)["rows"] == 30


def test_mongodb_partitioned_reads_its_window(mongo_database, catalog):
    collection = mongo_database("qa_part", conn_id="qa_mongo")["events"]
    start = dt.datetime(2026, 11, 1, tzinfo=UTC)
    collection.insert_many([{"n": n, "ts": start + dt.timedelta(hours=n)} for n in range(72)])
    source = single_object_source(
        "mongodb", {"conn_id": "qa_mongo"}, "events", DAILY, "events", schema=record_schema(n="long", ts="timestamptz")
    )
    assert run_pipeline(pipeline_for(source), interval=_day(2))["rows"] == 24
    collection.delete_many({"n": {"$in": [24, 25]}})
    assert run_pipeline(pipeline_for(source), interval=_day(2))["rows"] == 22
    assert _ids_by_day(catalog, "qa.events", key="n") == {2: list(range(26, 48))}
