"""Run time: file and PDF sources read only files that really lie below their base and the team's
roots; links to ``/proc/self/environ`` or ``/etc/passwd`` stop the read, and nothing of them lands
anywhere (hardening point 2)."""

from __future__ import annotations

import os

import pytest

from airflow_provider_chimera.contract.model import Source
from airflow_provider_chimera.sources import source_reader
from airflow_provider_chimera.sources.base import SourceRefusedError
from airflow_provider_chimera.tenancy.model import Grant
from tests.helpers import pipeline_for, read_table, record_schema, run_pipeline, single_object_source
from tests.unit.sources.pdfs import make_pdf

COVERS = ("2",)
SYSTEM_FILES = ["/proc/self/environ", "/etc/passwd"]


def _csv_source(base: str, path: str = "*.csv") -> dict:
    return single_object_source("file", {"uri": base}, "things", {"type": "full"}, "things",
                                path=path, format="csv", schema=record_schema(id="string"))


@pytest.fixture
def landing(tmp_path):
    folder = tmp_path / "landing"
    folder.mkdir()
    (folder / "good.csv").write_text("id\nfine\n")
    return folder


@pytest.mark.parametrize("target", SYSTEM_FILES)
def test_a_link_to_a_system_file_stops_the_run_and_nothing_lands(landing, catalog, target, monkeypatch):
    monkeypatch.setenv("CHIMERA_SECRET_MARK", "secret-mark-5e2a")  # would be in /proc/self/environ
    os.symlink(target, landing / "leak.csv")
    with pytest.raises(SourceRefusedError, match="leak.csv"):
        run_pipeline(pipeline_for(_csv_source(landing.as_uri())))
    assert not catalog.table_exists("qa.things")
    assert not catalog.table_exists("qa.things__quarantine")


def test_a_link_to_another_folder_is_refused_even_inside_the_roots(landing, tmp_path, catalog):
    other = tmp_path / "other_team"
    other.mkdir()
    (other / "theirs.csv").write_text("id\ntheirs\n")
    os.symlink(other, landing / "sub")
    with pytest.raises(SourceRefusedError, match="outside the source's base location"):
        run_pipeline(pipeline_for(_csv_source(landing.as_uri(), "sub/*.csv")))
    assert not catalog.table_exists("qa.things")


def test_files_of_the_base_are_read(landing, catalog):
    os.symlink(landing / "good.csv", landing / "alias.csv")  # a link that stays inside is fine
    result = run_pipeline(pipeline_for(_csv_source(landing.as_uri())))
    assert result["rows"] == 2
    assert read_table(catalog, "qa.things").column("id").to_pylist() == ["fine", "fine"]


def test_proc_is_unreachable_from_a_root_base_whatever_the_path(catalog):
    # Validation refuses these; the hook refuses them again if they reach it.
    for path in ("proc/self/environ", "proc/*/environ", "proc/self/../self/environ"):
        source = Source.model_validate(_csv_source("file:///", path))
        with pytest.raises(SourceRefusedError, match="system file|system folder|climbs out"):
            source_reader(source).extract(source.objects[0], None)
    for base in ("file:///proc/self", "file:///proc", "file:///sys/kernel", "file:///tmp/../proc/self"):
        source = Source.model_validate(_csv_source(base, "environ"))
        with pytest.raises(SourceRefusedError, match="system folder"):
            source_reader(source).extract(source.objects[0], None)


def test_absolute_url_and_dot_dot_patterns_are_refused_at_run_time(landing):
    hook = source_reader(Source.model_validate(_csv_source(landing.as_uri())))
    obj = hook.source.objects[0]
    for pattern in ("/etc/passwd", "file:///proc/self/environ", "../*.csv", "~/x.csv"):
        with pytest.raises(SourceRefusedError):
            hook.adopted_position(obj, pattern)
        with pytest.raises(SourceRefusedError):
            hook.list_files(obj.model_copy(update={"path": pattern}))


def test_a_base_outside_the_teams_roots_is_refused(landing, tmp_path):
    grant = Grant(team="team-b", file_roots=((tmp_path / "elsewhere").as_uri(),))
    source = Source.model_validate(_csv_source(landing.as_uri()))
    with pytest.raises(SourceRefusedError, match="not under the team's file roots"):
        source_reader(source, grant=grant).list_files(source.objects[0])
    inside = Grant(team="team-b", file_roots=(tmp_path.as_uri(),))
    assert len(source_reader(source, grant=inside).list_files(source.objects[0])[1]) == 1


def test_an_object_store_base_is_confined_by_name_and_its_files_read(catalog):
    import fsspec

    memory = fsspec.filesystem("memory")
    memory.pipe("/landing_b/a.csv", b"id\nfrom-memory\n")
    memory.pipe("/landing_a/theirs.csv", b"id\ntheirs\n")
    source = Source.model_validate(_csv_source("memory:///landing_b"))
    grant = Grant(team="team-b", file_roots=("memory:///landing_b",))
    hook = source_reader(source, grant=grant)
    rows = [r for b in hook.extract(source.objects[0], None).batches() for r in b.to_pylist()]
    assert rows == [{"id": "from-memory"}]
    other = Source.model_validate(_csv_source("memory:///landing_a"))
    with pytest.raises(SourceRefusedError, match="not under the team's file roots"):
        source_reader(other, grant=grant).list_files(other.objects[0])


def test_a_pdf_link_to_a_system_file_is_refused(landing, catalog):
    make_pdf(landing / "ok.pdf", ["page one"])
    os.symlink("/etc/passwd", landing / "passwd.pdf")
    source = {"name": "docs", "type": "pdf", "connection": {"uri": landing.as_uri()},
              "objects": [{"name": "docs", "path": "*.pdf", "ingestion": {
                  "trigger": {"type": "adhoc"}, "mode": {"type": "full"}, "target": {"namespace": "qa", "table": "docs"}}}]}
    with pytest.raises(SourceRefusedError, match="passwd.pdf"):
        run_pipeline(pipeline_for(source))
    assert not catalog.table_exists("qa.docs")
    assert not catalog.table_exists("qa.docs__quarantine")
