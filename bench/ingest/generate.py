"""Inputs of the ingestion benchmark, generated once per run and read by every side.

Every path moves rows of the same ten columns of mixed types (:data:`COLUMNS`): a 64-bit id, a
32-bit integer, a ``numeric(12,2)``, a double, two strings, a boolean, a date, a timestamp with
time zone (naive where the format has none) and a JSON value. Values are derived from the row
number, so two runs of the same size read the same data.

* PostgreSQL: ``chimera_bench.ingest_<rows>``, filled server-side with ``generate_series``, then
  ``VACUUM (FREEZE, ANALYZE)`` so no reader pays for setting hint bits.
* MariaDB (MySQL): ``chimera_bench_ingest_<rows>``, filled server-side from the ``seq_1_to_N``
  table of the Sequence engine.
* Kafka: a new topic of 3 partitions with one JSON object per message, produced with
  confluent-kafka as fast as the broker takes them.
* CSV: files of at most 1,000,000 rows with a header, written with pyarrow.

A database table that already exists with the expected row count is reused (``--keep`` leaves
the tables in place for the next run); the topic and the CSV files are made anew each run.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# name, contract type (Kafka and CSV objects declare it), PostgreSQL type, MariaDB type
COLUMNS: list[tuple[str, str, str, str]] = [
    ("id", "long", "bigint", "BIGINT"),
    ("qty", "int", "integer", "INT"),
    ("amount", "decimal(12,2)", "numeric(12,2)", "DECIMAL(12,2)"),
    ("score", "double", "double precision", "DOUBLE"),
    ("name", "string", "text", "TEXT"),
    ("code", "string", "varchar(16)", "VARCHAR(16)"),
    ("active", "boolean", "boolean", "BOOLEAN"),
    ("day", "date", "date", "DATE"),
    ("ts", "timestamptz", "timestamp with time zone", "TIMESTAMP(6)"),
    ("payload", "json", "json", "JSON"),
]
# Kafka's JSON messages: Arrow's JSON reader (Chimera's, and the reference that parses) takes a
# date only as a day number and a "json" field only as a string, so the message carries the day
# as a naive timestamp and the payload as JSON text.
KAFKA_TYPES = {"day": "timestamp"}
KAFKA_PARTITIONS = 3
CSV_ROWS_PER_FILE = 1_000_000
EPOCH_2020 = 1_577_836_800  # 2020-01-01T00:00:00Z

PG_SCHEMA = "chimera_bench"
PG_SELECT = """
SELECT g,
       (g % 1000)::integer,
       (((g * 7919) % 10000000) / 100.0)::numeric(12,2),
       ((g * 2654435761) % 1000000)::double precision / 997,
       'customer ' || (g % 50000),
       substr(md5(g::text), 1, 16),
       g % 3 = 0,
       date '2020-01-01' + (g % 2000)::integer,
       to_timestamp({epoch} + g),
       json_build_object('k', g % 100, 'tag', 't' || (g % 7))
FROM generate_series(1::bigint, {rows}::bigint) AS g
"""
MYSQL_SELECT = """
SELECT seq,
       seq % 1000,
       CAST(((seq * 7919) % 10000000) / 100 AS DECIMAL(12,2)),
       ((seq * 2654435761) % 1000000) / 997e0,
       CONCAT('customer ', seq % 50000),
       LEFT(MD5(seq), 16),
       seq % 3 = 0,
       DATE_ADD('2020-01-01', INTERVAL seq % 2000 DAY),
       FROM_UNIXTIME({epoch} + seq),
       JSON_OBJECT('k', seq % 100, 'tag', CONCAT('t', seq % 7))
FROM seq_1_to_{rows}
"""


def services_env(path: Path) -> dict[str, str]:
    """``scripts/services.env`` as a dict."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


@dataclass
class Dataset:
    """One path's input: where it is, how many rows, and how to remove it."""

    path: str
    rows: int
    location: dict  # what the sides need to find it (URI, table, topic, folder...)
    seconds: float = 0.0  # time taken to generate it (0 when reused)
    reused: bool = False
    cleanup: Callable[[], None] | None = field(default=None, repr=False)

    def spec(self) -> dict:
        return {"path": self.path, "rows": self.rows, **self.location}


# --- PostgreSQL ---------------------------------------------------------------------------------


def postgres_uri(env: dict[str, str]) -> str:
    return (f"postgresql://{env['CHIMERA_PG_USER']}:{env['CHIMERA_PG_PASSWORD']}@{env['CHIMERA_PG_HOST']}:"
            f"{env['CHIMERA_PG_PORT']}/{env['CHIMERA_PG_DB']}")


def postgres_table(env: dict[str, str], rows: int, keep: bool) -> Dataset:
    import psycopg

    table = f"ingest_{rows}"
    started = time.perf_counter()
    with psycopg.connect(postgres_uri(env), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {PG_SCHEMA}")
        reused = _pg_count(conn, table) == rows
        if not reused:
            conn.execute(f"DROP TABLE IF EXISTS {PG_SCHEMA}.{table}")
            columns = ", ".join(f"{name} {pg_type}" for name, _, pg_type, _ in COLUMNS)
            conn.execute(f"CREATE TABLE {PG_SCHEMA}.{table} ({columns})")
            conn.execute(f"INSERT INTO {PG_SCHEMA}.{table} " + PG_SELECT.format(epoch=EPOCH_2020, rows=rows))
            conn.execute(f"VACUUM (FREEZE, ANALYZE) {PG_SCHEMA}.{table}")

    def drop() -> None:
        with psycopg.connect(postgres_uri(env), autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {PG_SCHEMA}.{table}")

    return Dataset("postgres", rows, {"uri": postgres_uri(env), "schema": PG_SCHEMA, "table": table},
                   0.0 if reused else time.perf_counter() - started, reused, None if keep else drop)


def _pg_count(conn, table: str) -> int | None:
    exists = conn.execute("SELECT to_regclass(%s)", (f"{PG_SCHEMA}.{table}",)).fetchone()[0]
    if exists is None:
        return None
    names = [r[0] for r in conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
        "ORDER BY attnum", (f"{PG_SCHEMA}.{table}",)).fetchall()]
    if names != [c[0] for c in COLUMNS]:
        return None
    return conn.execute(f"SELECT count(*) FROM {PG_SCHEMA}.{table}").fetchone()[0]


# --- MariaDB ------------------------------------------------------------------------------------


def mysql_uri(env: dict[str, str]) -> str:
    return (f"mysql://{env['CHIMERA_MYSQL_USER']}:{env['CHIMERA_MYSQL_PASSWORD']}@{env['CHIMERA_MYSQL_HOST']}:"
            f"{env['CHIMERA_MYSQL_PORT']}/{env['CHIMERA_MYSQL_DB']}")


def _mysql_connect(env: dict[str, str]):
    import MySQLdb

    conn = MySQLdb.connect(host=env["CHIMERA_MYSQL_HOST"], port=int(env["CHIMERA_MYSQL_PORT"]),
                           user=env["CHIMERA_MYSQL_USER"], password=env["CHIMERA_MYSQL_PASSWORD"],
                           database=env["CHIMERA_MYSQL_DB"], autocommit=True)
    conn.cursor().execute("SET time_zone = '+00:00'")
    return conn


def mysql_table(env: dict[str, str], rows: int, keep: bool) -> Dataset:
    table = f"chimera_bench_ingest_{rows}"
    started = time.perf_counter()
    conn = _mysql_connect(env)
    try:
        cur = conn.cursor()
        cur.execute("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
                    "AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION", (table,))
        names = [r[0] for r in cur.fetchall()]
        reused = False
        if names == [c[0] for c in COLUMNS]:
            cur.execute(f"SELECT COUNT(*) FROM {table}")
            reused = cur.fetchone()[0] == rows
        if not reused:
            cur.execute(f"DROP TABLE IF EXISTS {table}")
            columns = ", ".join(f"{name} {my_type}" for name, _, _, my_type in COLUMNS)
            cur.execute(f"CREATE TABLE {table} ({columns}, PRIMARY KEY (id)) ENGINE=InnoDB")
            # One INSERT ... SELECT per million rows keeps each transaction (and the undo log) bounded.
            step = 1_000_000
            select = MYSQL_SELECT.format(epoch=EPOCH_2020, rows=rows)
            for low in range(0, rows, step):
                cur.execute(f"INSERT INTO {table} {select} WHERE seq > {low} AND seq <= {min(low + step, rows)}")
            cur.execute(f"ANALYZE TABLE {table}")
            cur.fetchall()
    finally:
        conn.close()

    def drop() -> None:
        conn = _mysql_connect(env)
        try:
            conn.cursor().execute(f"DROP TABLE IF EXISTS {table}")
        finally:
            conn.close()

    return Dataset("mysql", rows, {"uri": mysql_uri(env), "table": table},
                   0.0 if reused else time.perf_counter() - started, reused, None if keep else drop)


# --- Kafka --------------------------------------------------------------------------------------

KAFKA_MESSAGE = (
    '{"id": %d, "qty": %d, "amount": %d.%02d, "score": %r, "name": "customer %d", "code": "%s", '
    '"active": %s, "day": "%s", "ts": "%sZ", "payload": "{\\"k\\": %d, \\"tag\\": \\"t%d\\"}"}'
)


def kafka_message(n: int, days: list[str], stamp: Callable[[int], str]) -> bytes:
    """Message ``n`` (from 1): the same values as row ``n`` of the database tables."""
    import hashlib

    cents = (n * 7919) % 10_000_000
    return (KAFKA_MESSAGE % (
        n, n % 1000, cents // 100, cents % 100, ((n * 2654435761) % 1_000_000) / 997, n % 50_000,
        hashlib.md5(str(n).encode()).hexdigest()[:16], "true" if n % 3 == 0 else "false",
        days[n % 2000], stamp(EPOCH_2020 + n), n % 100, n % 7,
    )).encode()


def kafka_topic(env: dict[str, str], messages: int) -> Dataset:
    import datetime as dt

    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    bootstrap = env["CHIMERA_KAFKA_BOOTSTRAP"]
    topic = f"chimera.bench.ingest.{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=KAFKA_PARTITIONS, replication_factor=1)])[topic].result(timeout=30)
    started = time.perf_counter()
    start_day = dt.date(2020, 1, 1)
    days = [(start_day + dt.timedelta(days=d)).isoformat() + "T00:00:00" for d in range(2000)]

    def stamp(seconds: int) -> str:
        return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")

    producer = Producer({
        "bootstrap.servers": bootstrap, "linger.ms": 20, "batch.size": 1 << 20,
        "queue.buffering.max.messages": 500_000, "queue.buffering.max.kbytes": 512 << 10,
    })
    for n in range(1, messages + 1):
        value = kafka_message(n, days, stamp)
        while True:
            try:
                producer.produce(topic, value=value, partition=n % KAFKA_PARTITIONS)
                break
            except BufferError:
                producer.poll(0.05)
        if n % 10_000 == 0:
            producer.poll(0)
    if producer.flush(120) != 0:
        raise SystemExit(f"Kafka: {len(producer)} messages of topic {topic} were not delivered")

    def drop() -> None:
        admin.delete_topics([topic])[topic].result(timeout=60)

    return Dataset("kafka", messages, {"bootstrap": bootstrap, "topic": topic, "partitions": KAFKA_PARTITIONS},
                   time.perf_counter() - started, False, drop)


# --- CSV ----------------------------------------------------------------------------------------


def csv_table(first: int, last: int):
    """Rows ``first``..``last`` (inclusive) as an Arrow table: the database tables' values."""
    import hashlib

    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = np.arange(first, last + 1, dtype=np.int64)
    text = pa.array(n).cast(pa.string())
    cents = (n * 7919) % 10_000_000
    md5 = pa.array([hashlib.md5(s.encode()).hexdigest()[:16] for s in text.to_pylist()])
    days = (np.datetime64("2020-01-01") + (n % 2000)).astype("datetime64[D]")
    stamps = ((EPOCH_2020 + n) * 1_000_000).astype("datetime64[us]")
    payload = pc.binary_join_element_wise(
        '{"k": ', pa.array(n % 100).cast(pa.string()), ', "tag": "t', pa.array(n % 7).cast(pa.string()), '"}', "")
    return pa.table({
        "id": pa.array(n),
        "qty": pa.array((n % 1000).astype(np.int32)),
        "amount": pa.array(cents / 100).cast(pa.decimal128(12, 2)),
        "score": pa.array(((n * 2654435761) % 1_000_000) / 997),
        "name": pc.binary_join_element_wise("customer ", pa.array(n % 50_000).cast(pa.string()), ""),
        "code": md5,
        "active": pa.array(n % 3 == 0),
        "day": pa.array(days, type=pa.date32()),
        "ts": pa.array(stamps, type=pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC")),
        "payload": payload,
    })


def csv_files(folder: Path, rows: int) -> Dataset:
    import pyarrow.csv as pacsv

    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    chunk = 250_000
    for number, low in enumerate(range(0, rows, CSV_ROWS_PER_FILE)):
        high = min(low + CSV_ROWS_PER_FILE, rows)
        with pacsv.CSVWriter(folder / f"part-{number:04d}.csv", csv_table(low + 1, low + 1).schema) as writer:
            for start in range(low, high, chunk):
                table = csv_table(start + 1, min(start + chunk, high))
                # numeric(12,2) keeps its two decimals in the text, as a database export would.
                writer.write_table(table)
    return Dataset("csv", rows, {"folder": str(folder), "pattern": "*.csv"}, time.perf_counter() - started)
