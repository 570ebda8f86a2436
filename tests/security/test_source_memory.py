"""Memory stays bounded on hostile input: a huge JSON array is streamed, not decoded whole, and a
PDF over ``[chimera] pdf_max_mb`` is quarantined with the reason without being opened (point 9)."""

from __future__ import annotations

import json
import tracemalloc

import pytest

from airflow_provider_chimera.contract.model import Source
from airflow_provider_chimera.sources import source_reader
from airflow_provider_chimera.sources.jsonarray import JsonArrayError, array_items
from tests.helpers import pipeline_for, read_table, record_schema, run_pipeline, single_object_source
from tests.unit.sources.pdfs import make_pdf

COVERS = ("9",)
ELEMENTS = 400_000


def _big_array(path) -> int:
    with path.open("w") as out:
        out.write("[")
        for n in range(ELEMENTS):
            out.write(("," if n else "") + f'{{"id": {n}, "name": "customer number {n}", "note": "{"x" * 40}"}}')
        out.write("]")
    return path.stat().st_size


def test_a_big_json_array_is_read_in_bounded_memory(tmp_path):
    size = _big_array(tmp_path / "big.json")
    source = Source.model_validate(single_object_source(
        "file", {"uri": tmp_path.as_uri()}, "big", {"type": "full"}, "big",
        path="big.json", format="json", schema=record_schema(id="long", name="string", note="string")))
    hook = source_reader(source, batch_rows=10_000)
    tracemalloc.start()
    try:
        rows = sum(batch.num_rows for batch in hook.extract(source.objects[0], None).batches())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == ELEMENTS
    # Decoded whole, the array's Python objects alone take several times the file's size.
    assert peak < size / 4, f"peak {peak >> 20} MiB for a {size >> 20} MiB file"


def test_elements_read_as_json_load_reads_them_and_a_break_is_located(tmp_path):
    path = tmp_path / "a.json"
    text = ' [ {"a": 1.5, "b": [1, 2]} ,{"c": "\\u00e9"}, 3, 12345678901234567890, "' + "y" * (3 << 20) + '" ] '
    path.write_text(text)  # the last element is longer than one read
    with path.open("rb") as handle:
        assert [json.loads(item) for item in array_items(handle)] == json.loads(text)
    path.write_bytes(b'[{"a": 1}, {"a": 2}, {"a": ')
    items = []
    with path.open("rb") as handle, pytest.raises(JsonArrayError) as raised:
        items.extend(array_items(handle))
    assert (items, raised.value.index) == ([b'{"a":1}', b'{"a":2}'], 2)


def test_a_pdf_over_the_cap_is_quarantined_unread(tmp_path, catalog, monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHIMERA__PDF_MAX_MB", "1")
    make_pdf(tmp_path / "small.pdf", ["a small page"])
    big = make_pdf(tmp_path / "big.pdf", ["a big page"])
    with big.open("ab") as out:
        out.write(b"%" + b"x" * (2 << 20) + b"\n")  # a 2 MiB comment after the document
    source = {"name": "docs", "type": "pdf", "connection": {"uri": tmp_path.as_uri()},
              "objects": [{"name": "docs", "path": "*.pdf", "ingestion": {
                  "trigger": {"type": "adhoc"}, "mode": {"type": "full"}, "target": {"namespace": "qa", "table": "docs"},
                  "quarantine_threshold": 0.9}}]}
    result = run_pipeline(pipeline_for(source))
    assert (result["rows"], result["quarantined"]) == (1, 1)
    assert read_table(catalog, "qa.docs").column("text").to_pylist() == ["a small page"]
    (row,) = read_table(catalog, "qa.docs__quarantine").to_pylist()
    assert row["position"] == str(big)
    assert row["reason"].startswith("too large: 2.0 MiB, over [chimera] pdf_max_mb (1 MiB)")
