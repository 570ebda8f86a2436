"""Classified values never leave a run in clear: not in the table, logs, XCom, the registry, the
quarantine table or `chimera sample`'s output."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import MetaData, select
from typer.testing import CliRunner

from airflow_provider_chimera.governance.quarantine_gate import QuarantineThresholdError
from airflow_provider_chimera.registry.db import open_registry
from airflow_provider_chimera.pipelines.sync import sync_registry
from tests.helpers import intent_with, pipeline_for, read_table, record_schema, run_pipeline, run_task, single_object_source

PII_KEY = "qa-integration-pii-key"
FERNET_KEY = Fernet.generate_key().decode()
EMAILS = ["ann.quarantine-canary@example.com", "bob.canary-pii@example.org", "cy.canary@example.net"]
SECRETS = ["ssn-canary-111-22-3333", "ssn-canary-444-55-6666", "ssn-canary-777-88-9999"]
CLASSIFICATION = {"email": "pii", "ssn": "secret", "country": "public"}


def _hmac(text: str) -> str:
    return hmac.new(PII_KEY.encode(), text.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def governed(tmp_path, monkeypatch):
    """Keys from the environment, and a registry of this test's own (runs, audit log, check results)."""
    monkeypatch.setenv("QA_PII_KEY", PII_KEY)
    monkeypatch.setenv("QA_FERNET_KEY", FERNET_KEY)
    monkeypatch.setenv("AIRFLOW__CHIMERA__PII_KEY_SECRET", "${env:QA_PII_KEY}")
    monkeypatch.setenv("AIRFLOW__CHIMERA__ENCRYPTION_KEY_SECRET", "${env:QA_FERNET_KEY}")
    monkeypatch.delenv("AIRFLOW__CHIMERA__POLICIES_CONFIG", raising=False)
    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", f"sqlite:///{tmp_path / 'state' / 'registry.db'}")
    monkeypatch.setenv("AIRFLOW__CHIMERA__STATE_DIR", str(tmp_path / "state"))
    return tmp_path


def _synced(folder, source: dict) -> None:
    """The intent holding ``source`` in ``folder``, and the registry synced with it (its pipeline is known)."""
    folder.mkdir(exist_ok=True)
    (folder / "qa_intent.json").write_text(json.dumps(intent_with(source)))
    with open_registry() as registry:
        sync_registry(registry, folder, actor="qa")


def _registry_text() -> str:
    """Every row of every table of the registry, as text."""
    with open_registry() as registry, registry.session() as session:
        metadata = MetaData()
        metadata.reflect(bind=session.get_bind())
        return "\n".join(str(row) for table in metadata.sorted_tables for row in session.execute(select(table)))


def _assert_nowhere(text: str, values: list[str]) -> None:
    leaked = [value for value in values if value in text]
    assert not leaked, f"classified values in clear: {leaked}"


def test_a_postgres_run_stores_hashes_drops_secrets_and_leaks_nothing(pg_schema, governed, catalog, caplog, capsys):
    pg = pg_schema("qa_gov", conn_id="qa_gov_pg")
    pg.execute("CREATE TABLE qa_gov.people (id bigint PRIMARY KEY, email text, ssn text, country text)")
    for i, (email, ssn) in enumerate(zip(EMAILS, SECRETS)):
        pg.execute("INSERT INTO qa_gov.people VALUES (%s, %s, %s, 'NL')", (i, email, ssn))
    source = single_object_source("postgres", {"conn_id": "qa_gov_pg"}, "qa_gov.people", {"type": "full"}, "people", source_name="hr")
    source["objects"][0]["ingestion"]["classification"] = CLASSIFICATION
    _synced(governed / "intents", source)

    with caplog.at_level(logging.DEBUG):
        result = run_task(pipeline_for(source), run_id="manual__gov")

    table = read_table(catalog, "qa.people").sort_by("id")
    assert table.column_names == ["id", "email", "country"]
    assert table.column("email").to_pylist() == [_hmac(e) for e in EMAILS]
    assert result["rows"] == 3
    output = capsys.readouterr()
    _assert_nowhere("\n".join([caplog.text, output.out, output.err, json.dumps(result, default=str), _registry_text()]), EMAILS + SECRETS)


def _file_source(base, threshold: float) -> dict:
    schema = record_schema(["id"], id="long", email="string", ssn="string", country="string")
    source = single_object_source(
        "file", {"uri": base.as_uri()}, "people", {"type": "incremental"}, "people", path="*.jsonl", format="json", schema=schema
    )
    source["objects"][0]["ingestion"].update(classification=CLASSIFICATION, quarantine_threshold=threshold)
    return source


def _write(folder, name: str, lines: list[str]) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text("\n".join(lines) + "\n")


def test_quarantined_records_hold_no_classified_value_in_clear(governed, catalog, caplog, capsys):
    data = governed / "data"
    _write(
        data,
        "a.jsonl",
        [
            json.dumps({"id": 1, "email": EMAILS[0], "ssn": SECRETS[0], "country": "NL"}),
            json.dumps({"id": "one", "email": EMAILS[1], "ssn": SECRETS[1], "country": "BE"}),  # id of the wrong type
            f"id=3;email={EMAILS[2]};ssn={SECRETS[2]}",  # no JSON at all: the whole payload is protected
        ],
    )
    source = _file_source(data, threshold=0.7)
    _synced(governed / "intents", source)
    with caplog.at_level(logging.DEBUG):
        result = run_task(pipeline_for(source), run_id="manual__q")
    assert (result["rows"], result["quarantined"]) == (1, 2)

    rows = sorted(read_table(catalog, "qa.people__quarantine").to_pylist(), key=lambda r: r["position"])
    typed, opaque = rows
    assert typed["reason"] == "field 'id' does not hold a long"
    assert json.loads(typed["raw"]) == {"id": "one", "email": _hmac(EMAILS[1]), "country": "BE"}  # ssn dropped
    assert opaque["reason"] == "not valid JSON: Expecting value at column 1"
    assert Fernet(FERNET_KEY.encode()).decrypt(opaque["raw"].removeprefix("fernet:").encode()).decode() == (
        f"id=3;email={EMAILS[2]};ssn={SECRETS[2]}"
    )

    # Over the threshold: the run fails, its error and the registry hold no value either.
    _write(data, "b.jsonl", [json.dumps({"id": "two", "email": EMAILS[2], "ssn": SECRETS[2]})])
    with caplog.at_level(logging.DEBUG), pytest.raises(QuarantineThresholdError) as raised:
        run_task(pipeline_for(source), run_id="manual__over")

    quarantine = json.dumps(read_table(catalog, "qa.people__quarantine").to_pylist(), default=str)
    output = capsys.readouterr()
    everything = [caplog.text, output.out, output.err, json.dumps(result, default=str), str(raised.value), _registry_text(), quarantine]
    _assert_nowhere("\n".join(everything), EMAILS + SECRETS)


def _run_cli(*args: str):
    from airflow_provider_chimera.cli.app import app

    return CliRunner().invoke(app, list(args))


def test_chimera_sample_shows_hashes_masks_unprotected_classified_columns_and_never_decrypts(governed, catalog, monkeypatch):
    policies = governed / "policies.json"
    policies.write_text(json.dumps({"projects": {"qa": {"secret": "encrypt"}}}))
    monkeypatch.setenv("AIRFLOW__CHIMERA__POLICIES_CONFIG", str(policies))
    data = governed / "data"
    _write(data, "a.jsonl", [json.dumps({"id": i, "email": e, "ssn": s, "country": "NL"}) for i, (e, s) in enumerate(zip(EMAILS, SECRETS))])
    source = _file_source(data, threshold=0)
    source["objects"][0]["ingestion"]["classification"] = {"email": "pii", "ssn": "secret"}
    intents = governed / "intents"
    _synced(intents, source)
    assert run_pipeline(pipeline_for(source))["rows"] == 3
    stored = read_table(catalog, "qa.people")
    assert stored.column("ssn").to_pylist()[0].startswith("gAAAA")  # a Fernet token

    # `country` classified pii after the table was made: stored in clear, so masked on output.
    source["objects"][0]["ingestion"]["classification"]["country"] = "pii"
    (intents / "qa_intent.json").write_text(json.dumps(intent_with(source)))
    result = _run_cli("sample", pipeline_for(source).id, "--n", "2", "--intents", str(intents), "--format", "json", "--seed", "7")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 2 and len({r["id"] for r in rows}) == 2
    for row in rows:
        assert row["email"] == _hmac(EMAILS[row["id"]])
        assert (row["ssn"], row["country"]) == ("***", "***")  # never decrypted; too short to show a tail
    again = _run_cli("sample", pipeline_for(source).id, "--n", "2", "--intents", str(intents), "--format", "json", "--seed", "7")
    assert json.loads(again.stdout) == rows  # the same seed draws the same rows

    view = _run_cli("sample", pipeline_for(source).id, "--n", "100", "--intents", str(intents))
    assert view.exit_code == 0, view.output
    assert "qa.people: 3 random row(s)" in view.stdout
    _assert_nowhere(view.stdout + result.stdout, EMAILS + SECRETS + [t for t in stored.column("ssn").to_pylist()])


def test_chimera_sample_names_an_unknown_pipeline(governed, catalog):
    intents = governed / "intents"
    intents.mkdir()
    result = _run_cli("sample", "nope", "--intents", str(intents))
    assert result.exit_code == 2
    assert "no pipeline 'nope'; `chimera dags list` lists the pipelines" in result.output
