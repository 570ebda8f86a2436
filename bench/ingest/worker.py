"""One measured side of one path of the ingestion benchmark, in this (fresh) process.

The side's libraries are imported first, untimed; then the side moves every row of the path's
input to its destination under ``--work`` and the wall time of that is measured. Afterwards,
untimed, the rows in the Parquet files it wrote are counted from their footers (every side must
have moved every row) and the result is written to ``--out`` as one JSON object: rows, seconds,
Arrow bytes read (the raw limit's), Parquet bytes written, and the peak resident set size of
this process (``getrusage``: the largest of this process and of any child it waited for).

Sides (``--side``):

* ``chimera``: Chimera's ingest run (``airflow_provider_chimera.ingest.run.run``, what the
  ingest task runs), ``full`` mode, into an embedded Iceberg catalog under ``--work``.
* ``dlt``: dlt's ``sql_table`` source with the ConnectorX backend streaming Arrow batches
  (``--dlt-backend pyarrow`` for its SQLAlchemy + pyarrow backend), filesystem destination with
  ``table_format="iceberg"`` under ``--work``.
* ``limit``: the fastest plain read into Arrow plus a Parquet write of the batches (PostgreSQL:
  ADBC's binary COPY; MySQL: ConnectorX; CSV: pyarrow's streaming CSV reader); for Kafka a bare
  confluent-kafka consume loop that only counts the messages.
* ``limit_parse`` (Kafka only): the bare loop plus what any ingestion must do with the messages:
  parse them with Arrow's JSON reader against the declared schema and write Parquet.
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
BATCH_ROWS = 65_536  # Chimera's default [chimera] batch_rows; the references read batches of the same size
PARQUET = {"compression": "zstd"}  # Chimera's default [chimera] parquet_compression


def _peak_rss_mib() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024  # Linux counts KiB


def _parquet_rows_and_bytes(folder: Path) -> tuple[int, int]:
    """Rows (from the footers) and bytes of the Parquet data files under ``folder``."""
    import pyarrow.parquet as pq

    rows = size = 0
    for path in folder.rglob("*.parquet"):
        rows += pq.ParquetFile(path).metadata.num_rows
        size += path.stat().st_size
    return rows, size


def _plain(batch):
    """``batch`` with extension columns (ADBC's opaque numeric, arrow.json) as their storage."""
    import pyarrow as pa

    if not any(isinstance(f.type, pa.ExtensionType) for f in batch.schema):
        return batch
    arrays = [c.storage if isinstance(c.type, pa.ExtensionType) else c for c in batch.columns]
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


class ParquetSink:
    """Writes record batches to one Parquet file, counting rows and Arrow bytes."""

    def __init__(self, path: Path):
        self.path = path
        self.writer = None
        self.rows = 0
        self.arrow_bytes = 0

    def write(self, batch) -> None:
        import pyarrow.parquet as pq

        batch = _plain(batch)
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.writer = pq.ParquetWriter(self.path, batch.schema, **PARQUET)
        self.writer.write_batch(batch)
        self.rows += batch.num_rows
        self.arrow_bytes += batch.nbytes

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


# --- schema of the Kafka and CSV objects ---------------------------------------------------------


def declared_fields(path: str) -> list[dict]:
    from generate import COLUMNS, KAFKA_TYPES

    types = KAFKA_TYPES if path == "kafka" else {}
    return [{"name": name, "type": types.get(name, kind), "nullable": name != "id"} for name, kind, _, _ in COLUMNS]


def declared_schema(path: str):
    import pyarrow as pa

    from airflow_provider_chimera.contract.arrow import arrow_type

    return pa.schema([pa.field(f["name"], arrow_type(f["type"]), nullable=f["nullable"]) for f in declared_fields(path)])


# --- Chimera ------------------------------------------------------------------------------------


def _secret_uri(uri: str, variable: str) -> str:
    """``uri`` with its password replaced by ``${env:<variable>}`` (an intent holds no secret),
    the password put in that environment variable."""
    from urllib.parse import unquote, urlsplit, urlunsplit

    url = urlsplit(uri)
    os.environ[variable] = unquote(url.password or "")
    netloc = f"{url.username}:${{env:{variable}}}@{url.hostname}:{url.port}"
    return urlunsplit(url._replace(netloc=netloc))


def chimera_source(spec: dict) -> dict:
    from tests.helpers import single_object_source

    full = {"type": "full"}
    path = spec["path"]
    if path == "postgres":
        uri = _secret_uri(spec["uri"], "CHIMERA_BENCH_PG_PASSWORD")
        return single_object_source("postgres", {"uri": uri}, f"{spec['schema']}.{spec['table']}", full, path)
    if path == "mysql":
        uri = _secret_uri(spec["uri"], "CHIMERA_BENCH_MYSQL_PASSWORD")
        return single_object_source("mysql", {"uri": uri}, spec["table"], full, path)
    if path == "kafka":
        return single_object_source("kafka", {"uri": f"kafka://{spec['bootstrap']}"}, spec["topic"], full, path,
                                    schema={"fields": declared_fields(path)})
    return single_object_source("file", {"uri": f"file://{spec['folder']}"}, "bench_csv", full, path,
                                path=spec["pattern"], format="csv", schema={"fields": declared_fields(path)})


def chimera_prepare(spec: dict, work: Path):
    # An embedded Iceberg catalog of its own under --work (the registry is the caller's, migrated once).
    os.environ["AIRFLOW__CHIMERA__WAREHOUSE"] = str(work / "warehouse")
    os.environ["AIRFLOW__CHIMERA__CATALOG_NAME"] = "chimera_bench"
    os.environ.setdefault("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", f"sqlite:///{work / 'registry.db'}")
    os.environ.setdefault("AIRFLOW__CHIMERA__STATE_DIR", str(work / "state"))
    sys.path.insert(0, str(REPO))
    # Untimed, as in a deployment: what a task process finds already imported when Airflow forks it
    # from a process that preloaded airflow_provider_chimera.preload (decision 0069: the libraries,
    # the readers, the writer, the quality checks, SQLAlchemy's mappers configured), and Airflow's
    # configuration and secrets masker, which the task runner loads before any task starts.
    os.environ.setdefault("SODA_CORE_TELEMETRY_ENABLED", "false")
    for module in ("airflow.configuration", "airflow.sdk"):
        importlib.import_module(module)
    from airflow_provider_chimera.preload import preload

    preload()
    from airflow_provider_chimera.ingest.run import run as ingest_run
    from airflow_provider_chimera.settings import load_settings
    from tests.helpers import intent_with, pipeline_for

    source = chimera_source(spec)
    pipeline = pipeline_for(source)
    # As a deployment has it before any run: the intent in the intents folder and the registry
    # synced (by the maintenance DAG there; here in a process of its own, so this one starts cold).
    intents = work / "intents"
    intents.mkdir(parents=True, exist_ok=True)
    (intents / "qa_intent.json").write_text(json.dumps(intent_with(source)))
    os.environ["AIRFLOW__CHIMERA__INTENTS_DIR"] = str(intents)
    code = ("from airflow_provider_chimera.registry.db import open_registry\n"
            "from airflow_provider_chimera.pipelines.sync import sync_registry\n"
            f"with open_registry() as registry:\n    sync_registry(registry, {str(intents)!r})\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)

    def run() -> dict:
        result = ingest_run(pipeline, run_id="bench", settings=load_settings()).as_xcom()
        return {"rows_reported": result["rows"], "chimera": {k: v for k, v in result.items() if k != "pipeline"}}

    return run, work / "warehouse"


# --- dlt ----------------------------------------------------------------------------------------


def dlt_prepare(spec: dict, work: Path, backend: str):
    import dlt
    from dlt.sources.sql_database import sql_table

    if spec["path"] == "postgres":
        credentials, schema = spec["uri"].replace("postgresql://", "postgresql+psycopg2://", 1), spec["schema"]
    else:
        credentials, schema = spec["uri"].replace("mysql://", "mysql+mysqldb://", 1), None
    backend_kwargs = {"return_type": "arrow_stream", "batch_size": BATCH_ROWS} if backend == "connectorx" else {}
    dest = work / "dest"

    def run() -> dict:
        resource = sql_table(
            credentials=credentials, table=spec["table"], schema=schema, backend=backend,
            backend_kwargs=backend_kwargs, chunk_size=BATCH_ROWS, reflection_level="full_with_precision",
        )
        pipeline = dlt.pipeline(
            pipeline_name=f"bench_{spec['path']}", pipelines_dir=str(work / "dlt"), dataset_name="bench",
            destination=dlt.destinations.filesystem(bucket_url=dest.as_uri()),
        )
        info = pipeline.run(resource, table_format="iceberg", write_disposition="replace")
        info.raise_on_failed_jobs()
        counts = pipeline.last_trace.last_normalize_info.row_counts
        return {"rows_reported": counts.get(spec["table"], 0), "dlt_backend": backend}

    return run, dest


# --- the raw limits -----------------------------------------------------------------------------


def limit_prepare(spec: dict, work: Path, parse: bool = False):
    path = spec["path"]
    sink = ParquetSink(work / "out" / "data.parquet")
    if path == "postgres":
        import adbc_driver_postgresql.dbapi as adbc

        def read():
            with adbc.connect(spec["uri"], autocommit=True) as conn, conn.cursor() as cur:
                cur.adbc_statement.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(16 << 20)})
                cur.execute(f"SELECT * FROM {spec['schema']}.{spec['table']}")
                yield from cur.fetch_record_batch()
    elif path == "mysql":
        import connectorx as cx

        def read():
            yield from cx.read_sql(spec["uri"], f"SELECT * FROM {spec['table']}", return_type="arrow_stream",
                                   batch_size=BATCH_ROWS)
    elif path == "csv":
        import pyarrow.csv as pacsv

        schema = declared_schema(path)

        def read():
            for file in sorted(Path(spec["folder"]).glob(spec["pattern"])):
                yield from pacsv.open_csv(file, read_options=pacsv.ReadOptions(block_size=1 << 22),
                                          convert_options=pacsv.ConvertOptions(column_types=schema))
    else:
        return _kafka_limit(spec, sink, parse), sink.path.parent

    def run() -> dict:
        try:
            for batch in read():
                sink.write(batch)
        finally:
            sink.close()
        return {"rows_reported": sink.rows, "arrow_bytes": sink.arrow_bytes}

    return run, sink.path.parent


def _kafka_limit(spec: dict, sink: ParquetSink, parse: bool):
    import uuid

    import pyarrow.json as pajson
    from confluent_kafka import Consumer, TopicPartition

    schema = declared_schema("kafka") if parse else None

    def flush(values: list) -> None:
        table = pajson.read_json(io.BytesIO(b"\n".join(values)),
                                 parse_options=pajson.ParseOptions(explicit_schema=schema))
        for batch in table.to_batches():
            sink.write(batch)

    def run() -> dict:
        # The same client configuration as Chimera's consumer (librdkafka's defaults otherwise).
        consumer = Consumer({"bootstrap.servers": spec["bootstrap"], "group.id": f"bench-{uuid.uuid4().hex[:8]}",
                             "enable.auto.commit": False, "auto.offset.reset": "earliest",
                             "enable.partition.eof": False})
        try:
            ends = {}
            for p in range(spec["partitions"]):
                low, high = consumer.get_watermark_offsets(TopicPartition(spec["topic"], p), timeout=10)
                if high > low:
                    ends[p] = high
            consumer.assign([TopicPartition(spec["topic"], p, 0) for p in ends])
            count = value_bytes = 0
            pending: list = []
            total = sum(ends.values())  # a fresh topic: every partition from offset 0, no gaps
            while ends:
                # Never asks for more than is left, as Chimera does: consume() waits for as many
                # messages as it is asked for (or its timeout), so the last call would wait 1 s.
                for message in consumer.consume(num_messages=max(1, min(10_000, total - count)), timeout=1.0):
                    if message.error() is not None:
                        raise SystemExit(f"Kafka: {message.error()}")
                    value = message.value()
                    count += 1
                    value_bytes += len(value)
                    if parse:
                        pending.append(value)
                        if len(pending) >= BATCH_ROWS:
                            flush(pending)
                            pending = []
                    if message.offset() + 1 >= ends.get(message.partition(), 0):
                        ends.pop(message.partition(), None)
            if pending:
                flush(pending)
        finally:
            consumer.close()
            sink.close()
        return {"rows_reported": count, "message_bytes": value_bytes,
                **({"arrow_bytes": sink.arrow_bytes} if parse else {})}

    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spec", required=True, help="JSON file describing the path's input (generate.Dataset.spec)")
    parser.add_argument("--side", required=True, choices=["chimera", "dlt", "limit", "limit_parse"])
    parser.add_argument("--work", required=True, help="empty folder for this run's output")
    parser.add_argument("--out", required=True)
    parser.add_argument("--dlt-backend", default="connectorx", choices=["connectorx", "pyarrow"])
    args = parser.parse_args()

    sys.path.insert(0, str(HERE))
    spec = json.loads(Path(args.spec).read_text())
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    if args.side == "chimera":
        run, dest = chimera_prepare(spec, work)
    elif args.side == "dlt":
        run, dest = dlt_prepare(spec, work, args.dlt_backend)
    else:
        run, dest = limit_prepare(spec, work, parse=args.side == "limit_parse")

    start = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - start
    peak = _peak_rss_mib()

    written_rows, written_bytes = _parquet_rows_and_bytes(dest) if dest.exists() else (0, 0)
    rows = written_rows if not (spec["path"] == "kafka" and args.side == "limit") else result["rows_reported"]
    Path(args.out).write_text(json.dumps({
        "path": spec["path"], "side": args.side, "expected_rows": spec["rows"], "rows": rows,
        "seconds": seconds, "peak_rss_mib": peak, "parquet_bytes": written_bytes, "pid": os.getpid(), **result,
    }, default=str))


if __name__ == "__main__":
    main()
