"""Memory is bounded by the batch and the data-file chunk, not by the table.

The same pipeline ingests a PostgreSQL table of 250,000 rows and one six times larger
(1,500,000 rows, about 450 MB as Arrow), each in a fresh process, with 16 MiB data-file chunks.
The peak RSS of the large run may exceed the small run's by at most GROWTH_CAP_MIB, and stays
under PEAK_CAP_MIB (the cap README documents under "Memory").
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap

from tests.conftest import REPO

GROWTH_CAP_MIB = 64
PEAK_CAP_MIB = 1024
SMALL, LARGE = 250_000, 1_500_000

SCRIPT = textwrap.dedent(
    """
    import json, resource, sys
    from tests.helpers import pipeline_for, run_pipeline, single_object_source
    source = single_object_source("postgres", {"conn_id": "qa_mem"}, sys.argv[1], {"type": "full"}, "big")
    result = run_pipeline(pipeline_for(source))
    print("RESULT " + json.dumps({"rows": result["rows"], "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
    """
)


def _ingest(table: str, tmp_path) -> dict:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "AIRFLOW__CHIMERA__WAREHOUSE": str(tmp_path / table),
        "AIRFLOW__CHIMERA__CATALOG_NAME": "chimera_mem",
        "AIRFLOW__CHIMERA__BATCH_ROWS": "16384",
        "AIRFLOW__CHIMERA__TARGET_FILE_SIZE_MB": "16",
    }
    out = subprocess.run([str(REPO / ".venv/bin/python"), "-c", SCRIPT, table], env=env, cwd=REPO, capture_output=True, text=True, timeout=900)
    line = next((l for l in out.stdout.splitlines() if l.startswith("RESULT ")), None)
    assert line, out.stdout[-2000:] + out.stderr[-4000:]
    return json.loads(line[len("RESULT "):])


def test_peak_memory_does_not_grow_with_the_table(pg_schema, tmp_path):
    pg = pg_schema("qa_mem", conn_id="qa_mem")
    for name, rows in (("small", SMALL), ("large", LARGE)):
        pg.execute(
            f"CREATE TABLE qa_mem.{name} AS SELECT g AS id, md5(g::text) || repeat('x', 240) AS payload, "
            f"(g * 0.5)::numeric(12,1) AS amount, now() AS at FROM generate_series(1, {rows}) g"
        )
    small, large = _ingest("qa_mem.small", tmp_path), _ingest("qa_mem.large", tmp_path)
    assert (small["rows"], large["rows"]) == (SMALL, LARGE)
    growth_mib = (large["peak_kib"] - small["peak_kib"]) / 1024
    assert growth_mib < GROWTH_CAP_MIB, f"6x the rows raised peak RSS by {growth_mib:.0f} MiB"
    assert large["peak_kib"] / 1024 < PEAK_CAP_MIB
