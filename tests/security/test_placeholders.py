"""Run time: placeholders resolve only within the team's prefix and only in the password slot;
``env`` values are scrubbed like ``secret`` values (hardening point 1)."""

from __future__ import annotations

import pytest

from airflow_provider_chimera.contract.model import Source
from airflow_provider_chimera.onboarding.connectivity import check_source
from airflow_provider_chimera.secrets import SecretRefusedError, scrub
from airflow_provider_chimera.sources import source_reader
from airflow_provider_chimera.sources.base import SourceRefusedError
from airflow_provider_chimera.tenancy.authorize import AuthorizationError
from airflow_provider_chimera.tenancy.model import Grant
from tests.conftest import require_service
from tests.helpers import pipeline_for, record_schema, run_pipeline, single_object_source

COVERS = ("1",)

TEAM_B = Grant(team="team-b", secrets_prefix="B_")


def _postgres(services, password: str, database: str | None = None) -> dict:
    uri = (f"postgresql://{services['CHIMERA_PG_USER']}:{password}@{services['CHIMERA_PG_HOST']}:"
           f"{services['CHIMERA_PG_PORT']}/{database or services['CHIMERA_PG_DB']}")
    return single_object_source("postgres", {"uri": uri}, "public.none", {"type": "full"}, "none")


@pytest.fixture
def postgres(services, monkeypatch):
    require_service("PostgreSQL", services["CHIMERA_PG_HOST"], services["CHIMERA_PG_PORT"])
    monkeypatch.setenv("B_PG", services["CHIMERA_PG_PASSWORD"])
    monkeypatch.setenv("A_PG", services["CHIMERA_PG_PASSWORD"])
    return services


def test_the_teams_own_placeholder_connects_and_another_teams_is_refused(postgres):
    assert source_reader(Source.model_validate(_postgres(postgres, "${env:B_PG}")), grant=TEAM_B).probe() == "connected"
    hook = source_reader(Source.model_validate(_postgres(postgres, "${env:A_PG}")), grant=TEAM_B)
    with pytest.raises(SecretRefusedError, match=r"placeholder \$\{env:A_PG\} is not available to team 'team-b' \(prefix 'B_'\)"):
        hook.probe()


def test_platform_names_are_refused_even_with_the_teams_prefix(postgres, monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHIMERA__PII_KEY_SECRET", "${env:B_PG}")  # the platform's key, under B_
    with pytest.raises(SecretRefusedError, match=r"\$\{env:B_PG\} is not available"):
        source_reader(Source.model_validate(_postgres(postgres, "${env:B_PG}")), grant=TEAM_B).probe()
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "sqlite:////tmp/never-read.db")
    single_team = source_reader(Source.model_validate(_postgres(postgres, "${env:AIRFLOW__DATABASE__SQL_ALCHEMY_CONN}")))
    with pytest.raises(SecretRefusedError, match="is not available to an intent"):
        single_team.probe()


def test_a_placeholder_outside_the_password_slot_is_refused_before_resolving(postgres, monkeypatch):
    monkeypatch.setenv("B_DB", postgres["CHIMERA_PG_DB"])
    hook = source_reader(Source.model_validate(_postgres(postgres, "${env:B_PG}", database="${env:B_DB}")), grant=TEAM_B)
    with pytest.raises(SecretRefusedError, match=r"placeholder \$\{env:B_DB\} is outside the password slot"):
        hook.probe()


def test_the_ingest_task_refuses_a_placeholder_outside_the_password_slot(postgres, monkeypatch, catalog):
    monkeypatch.setenv("B_DB", postgres["CHIMERA_PG_DB"])
    pipeline = pipeline_for(_postgres(postgres, "${env:B_PG}", database="${env:B_DB}"))
    with pytest.raises(AuthorizationError, match="/sources/0/connection/uri: placeholder .* is outside the password slot"):
        run_pipeline(pipeline)
    assert not catalog.table_exists("qa.none")


def test_an_env_value_is_scrubbed_from_audit_entries_and_error_reports(postgres, monkeypatch):
    monkeypatch.setenv("B_WRONG", "env-value-8d1f")  # a wrong password: the server's error is reported
    report = check_source("qa", Source.model_validate(_postgres(postgres, "${env:B_WRONG}")), TEAM_B)
    assert not report.ok and "env-value-8d1f" not in report.model_dump_json()
    assert scrub({"note": "connect failed for env-value-8d1f"}) == {"note": "connect failed for ***"}


def test_an_env_value_is_masked_in_task_logs(postgres, monkeypatch):
    from airflow.sdk._shared.secrets_masker import redact

    monkeypatch.setenv("B_TOKEN_LOGGED", "env-value-41c7")
    source_reader(Source.model_validate(_postgres(postgres, "${env:B_TOKEN_LOGGED}")), grant=TEAM_B).test_connection()
    assert "env-value-41c7" not in redact("the value env-value-41c7 was logged")


def test_a_file_base_placeholder_must_resolve_inside_the_teams_roots(tmp_path, monkeypatch):
    landing = tmp_path / "landing_b"
    landing.mkdir()
    (landing / "a.csv").write_text("id\n1\n")
    grant = Grant(team="team-b", secrets_prefix="B_", file_roots=(landing.as_uri(),))
    source = Source.model_validate(single_object_source(
        "file", {"uri": "file://${env:B_LANDING}"}, "things", {"type": "full"}, "things",
        path="*", format="csv", schema=record_schema(id="string")))
    monkeypatch.setenv("B_LANDING", str(landing))
    hook = source_reader(source, grant=grant)
    assert [f.rsplit("/", 1)[-1] for f in hook.list_files(source.objects[0])[1]] == ["a.csv"]
    monkeypatch.setenv("B_LANDING", "/etc")
    with pytest.raises(SourceRefusedError, match="is not under the team's file roots"):
        hook.list_files(source.objects[0])
    monkeypatch.setenv("B_LANDING", "/proc/self")
    with pytest.raises(SourceRefusedError, match="is a system folder"):
        hook.list_files(source.objects[0])
