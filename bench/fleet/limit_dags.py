"""The limit of the fleet benchmark: one bare Airflow DAG per source table, one ``@task`` each.

Each task only reads its PostgreSQL table to one Parquet file, the way the ingestion benchmark's
raw limit does (``bench/ingest/worker.py``: ADBC's binary COPY into Arrow batches, written with
``pyarrow.parquet`` and zstd): no Iceberg, no registry, no checks. ``bench/fleet/run.py`` copies
this file into the stack's DAGs folder next to ``fleet_limit.json`` (one DAG per entry: its
id, table, pool and output file) and puts the repository on ``PYTHONPATH``.
"""

import json
from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, get_parsing_context, task

SPEC = json.loads((Path(__file__).parent / "fleet_limit.json").read_text())


def read_to_parquet(uri: str, table: str, out: str) -> int:
    import adbc_driver_postgresql.dbapi as adbc

    from bench.ingest.worker import ParquetSink

    sink = ParquetSink(Path(out))
    try:
        with adbc.connect(uri, autocommit=True) as conn, conn.cursor() as cur:
            cur.adbc_statement.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(16 << 20)})
            cur.execute(f"SELECT * FROM {table}")
            for batch in cur.fetch_record_batch():
                sink.write(batch)
    finally:
        sink.close()
    return sink.rows


# A task process builds only the DAG it runs, as Chimera's DAG file does (Airflow's parsing
# context; decision 0073): a file building all 500 DAGs in every task would make the limit slower
# than it has to be. The DAG processor's parse (no context) builds them all.
WANTED = get_parsing_context().dag_id

for entry in SPEC["dags"]:
    if WANTED is not None and entry["dag_id"] != WANTED:
        continue
    # The same task settings as a Chimera pipeline's: its team's pool, retries, no catch-up.
    with DAG(entry["dag_id"], schedule=None, start_date=datetime(2026, 1, 1), catchup=False, max_active_runs=1,
             default_args={"owner": "bench", "retries": 2, "pool": entry["pool"], "priority_weight": 1}):
        @task
        def read(table: str, out: str) -> int:
            import os

            return read_to_parquet(os.environ["FLEET_LIMIT_URI"], table, out)

        read(entry["table"], entry["out"])
