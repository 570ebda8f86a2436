"""PDF sources: one row per page with metadata; unreadable documents are rejected with a reason."""

from __future__ import annotations

from tests.helpers import pipeline_for, read_table, run_pipeline, single_object_source
from tests.unit.sources.pdfs import make_pdf


def _source(base, mode: str = "full", quarantine_threshold: float | None = None) -> dict:
    source = single_object_source("pdf", {"uri": f"file://{base}"}, "signed", {"type": mode}, "contract_pages", path="*.pdf")
    if quarantine_threshold is not None:
        source["objects"][0]["ingestion"]["quarantine_threshold"] = quarantine_threshold
    return source


def test_encrypted_scanned_and_corrupt_documents_are_rejected_with_reasons(tmp_path):
    from airflow_provider_chimera.sources import source_reader

    make_pdf(tmp_path / "good.pdf", ["Readable"])
    make_pdf(tmp_path / "locked.pdf", ["Secret terms"], password="s3cret")
    make_pdf(tmp_path / "scan.pdf", ["", ""])
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7\nthis is not a pdf body")
    pipeline = pipeline_for(_source(tmp_path))
    extract = source_reader(pipeline.source).extract(pipeline.object, None)
    rows = sum(batch.num_rows for batch in extract.batches())
    assert rows == 1
    reasons = {r.position.rsplit("/", 1)[1]: r.reason for r in extract.rejected}
    assert set(reasons) == {"locked.pdf", "scan.pdf", "broken.pdf"}
    assert reasons["locked.pdf"].startswith("encrypted")
    assert reasons["scan.pdf"].startswith("no text layer")
    assert reasons["broken.pdf"].startswith("corrupt")


def test_a_run_that_only_quarantines_still_moves_past_those_files(tmp_path, catalog):
    make_pdf(tmp_path / "a.pdf", ["A"])
    source = _source(tmp_path, "incremental", quarantine_threshold=1)
    run_pipeline(pipeline_for(source))
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7\nnot a body")
    second = run_pipeline(pipeline_for(source), run_id="run-2")
    assert (second["rows"], second["quarantined"], second["committed"]) == (0, 1, True)
    third = run_pipeline(pipeline_for(source), run_id="run-3")
    assert (third["quarantined"], third["committed"]) == (0, False)  # broken.pdf is not read again
    assert read_table(catalog, "qa.contract_pages__quarantine").num_rows == 1
    assert read_table(catalog, "qa.contract_pages").num_rows == 1
