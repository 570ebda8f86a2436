"""Point 9 (quarantine): rejected records go to the quarantine table in bounded chunks, none lost.

A JSON Lines file whose every record is rejected (``id`` not a number) is ingested twice, in fresh
processes: once with SMALL records and once with six times as many. Each record is quarantined
(counted in the quarantine table, each position once), in several data files of at most
``CHUNK_ROWS`` records, and the peak RSS of the large run exceeds the small run's by less than
GROWTH_CAP_MIB: memory follows the chunk, not the number of rejected records (kept in one list, the
large run's records alone would take well over 100 MiB).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from tests.conftest import REPO

COVERS = ("9",)

SMALL, LARGE = 20_000, 120_000
GROWTH_CAP_MIB = 48
PAD = "p" * 400  # each rejected record's raw value: about half a KiB

SCRIPT = textwrap.dedent(
    """
    import json, resource, sys
    from pathlib import Path
    from tests.helpers import pipeline_for, record_schema, run_pipeline, single_object_source
    from airflow_provider_chimera.settings import load_settings
    from airflow_provider_chimera.writer import chimera_catalog

    data = Path(sys.argv[1])
    source = single_object_source(
        "file", {"uri": data.as_uri()}, "things", {"type": "full"}, "things",
        path="*.jsonl", format="json", schema=record_schema(["id"], id="long", name="string"),
    )
    source["objects"][0]["ingestion"]["quarantine_threshold"] = 1.0
    result = run_pipeline(pipeline_for(source))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    table = chimera_catalog(load_settings()).load_table("qa.things__quarantine")
    positions = table.scan(selected_fields=("position",)).to_arrow().column("position")
    files = [task.file for task in table.scan().plan_files()]
    print("RESULT " + json.dumps({
        "quarantined": result["quarantined"], "rows": positions.length(),
        "distinct": len(set(positions.to_pylist())), "files": len(files),
        "largest_file_rows": max(f.record_count for f in files), "peak_kib": peak,
    }))
    """
)


def _run(tmp_path, records: int) -> dict:
    data = tmp_path / f"data-{records}"
    data.mkdir()
    with open(data / "bad.jsonl", "w") as out:
        for i in range(records):
            out.write(json.dumps({"id": f"not-a-number-{i}", "name": PAD}) + "\n")
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "AIRFLOW__CHIMERA__WAREHOUSE": str(tmp_path / f"warehouse-{records}"),
        "AIRFLOW__CHIMERA__CATALOG_NAME": "chimera_quarantine_memory",
        "AIRFLOW__CHIMERA__BATCH_ROWS": "8192",
    }
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(data)], env=env, cwd=REPO, capture_output=True, text=True, timeout=900
    )
    line = next((l for l in out.stdout.splitlines() if l.startswith("RESULT ")), None)
    assert line, out.stdout[-2000:] + out.stderr[-4000:]
    return json.loads(line[len("RESULT "):])


def test_many_rejected_records_are_all_quarantined_in_bounded_memory(tmp_path):
    from airflow_provider_chimera.writer.quarantine import CHUNK_ROWS

    small, large = _run(tmp_path, SMALL), _run(tmp_path, LARGE)
    for run, records in ((small, SMALL), (large, LARGE)):
        assert run["quarantined"] == run["rows"] == run["distinct"] == records, run
        assert run["largest_file_rows"] <= CHUNK_ROWS and run["files"] >= records // CHUNK_ROWS, run
    growth_mib = (large["peak_kib"] - small["peak_kib"]) / 1024
    assert growth_mib < GROWTH_CAP_MIB, f"6x the rejected records raised peak RSS by {growth_mib:.0f} MiB ({small}, {large})"
