"""The preflight of an intent: each check, every problem listed at once, warnings that let
onboarding go on, and no secret in any message. Airflow connections come from ``AIRFLOW_CONN_*``
variables (Airflow's own lookup), the catalog is the embedded one or a closed port."""

from __future__ import annotations

import json

import pytest

from airflow_provider_chimera.contract import parse_intent
from airflow_provider_chimera.errors import FixRequired
from airflow_provider_chimera.onboarding.preflight import PreflightFailed, preflight
from tests.helpers import intent_with, record_schema

EVENTS, SMTP = "qa_preflight_events", "qa_preflight_smtp"
PII_KEY = "qa-preflight-pii-key-0123456789"
FERNET_KEY = "1x2o9Ke1dJZmB6qBk1b-bmB9QkRvRKbQy4xGj3l6tq0="  # a valid Fernet key, for tests only


def _intent(classification: dict | None = None, project: str = "qa"):
    ingestion = {"trigger": {"type": "adhoc"}, "mode": {"type": "full"}, "target": {"table": "customers"}}
    if classification:
        ingestion["classification"] = classification
    source = {
        "name": "landing",
        "type": "file",
        "connection": {"uri": "file:///tmp/qa-preflight-landing"},
        "objects": [{
            "name": "customers",
            "path": "*.csv",
            "format": "csv",
            "schema": record_schema(["id"], id="long", email="string", card="string"),
            "ingestion": ingestion,
        }],
    }
    return parse_intent(json.dumps(intent_with(source, name="qa_preflight", project=project)).encode(), "qa_preflight.json")


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """Every check passes: event and mail connections, the pii key, the embedded catalog."""
    from airflow_provider_chimera.secrets import forget_secrets
    from airflow_provider_chimera.settings import load_settings

    monkeypatch.setenv(f"AIRFLOW_CONN_{EVENTS.upper()}", json.dumps({"conn_type": "kafka", "extra": {"bootstrap.servers": "127.0.0.1:9092"}}))
    monkeypatch.setenv(f"AIRFLOW_CONN_{SMTP.upper()}", json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": 2525}))
    monkeypatch.setenv("QA_PREFLIGHT_PII_KEY", PII_KEY)
    options = {
        "EVENTS_KAFKA_CONN_ID": EVENTS,
        "SMTP_CONN_ID": SMTP,
        "PII_KEY_SECRET": "${env:QA_PREFLIGHT_PII_KEY}",
        "ENCRYPTION_KEY_SECRET": "",
        "POLICIES_CONFIG": "",
        "CATALOG_NAME": "qapreflight",
        "WAREHOUSE": str(tmp_path / "warehouse"),
    }
    for option, value in options.items():
        monkeypatch.setenv(f"AIRFLOW__CHIMERA__{option}", value)

    def load(**changed: str):
        for option, value in changed.items():
            monkeypatch.setenv(f"AIRFLOW__CHIMERA__{option.upper()}", value)
        return load_settings()

    yield load
    forget_secrets()


def _checks(findings) -> list[str]:
    return [f.check for f in findings]


def test_an_intent_the_platform_is_ready_for_passes_every_check(settings):
    report = preflight(_intent({"email": "pii"}), settings())

    assert (report.ok, report.problems, report.warnings) == (True, [], [])
    assert report.passed == [
        f"event connection {EVENTS!r}",
        f"mail connection {SMTP!r}",
        "policy key [chimera] pii_key_secret",
        "Iceberg catalog 'qapreflight' (embedded)",
    ]
    report.raise_for_problems()  # nothing to raise


def test_a_missing_event_connection_names_the_command_that_creates_it(settings):
    report = preflight(_intent(), settings(events_kafka_conn_id="kafka_default"))

    (problem,) = report.problems
    assert problem.check == "event connection"
    assert problem.problem == (
        "connection 'kafka_default' is not defined ([chimera] events_kafka_conn_id): onboarding publishes its events through it"
    )
    assert problem.fix.startswith(
        "create it: `airflow connections add kafka_default --conn-type kafka --conn-extra '{\"bootstrap.servers\": \"<host:port>,...\"}'` "
        "(or set AIRFLOW_CONN_KAFKA_DEFAULT="
    )
    assert "[chimera] events_kafka_conn_id (AIRFLOW__CHIMERA__EVENTS_KAFKA_CONN_ID)" in problem.fix
    with pytest.raises(PreflightFailed) as failed:
        report.raise_for_problems()
    assert isinstance(failed.value, FixRequired)
    assert str(failed.value).startswith("preflight of intent qa_preflight: 1 problem(s) to fix before onboarding: (1) event connection: ")


def test_an_event_connection_without_brokers_is_a_problem(settings, monkeypatch):
    monkeypatch.setenv(f"AIRFLOW_CONN_{EVENTS.upper()}", json.dumps({"conn_type": "kafka", "extra": {}}))

    (problem,) = preflight(_intent(), settings()).problems

    assert problem.problem == f"connection {EVENTS!r} ([chimera] events_kafka_conn_id) has no bootstrap.servers in its extra"


def test_a_missing_mail_connection_is_a_warning_and_onboarding_goes_on(settings):
    report = preflight(_intent(), settings(smtp_conn_id="qa_preflight_no_smtp"))

    assert report.ok
    (warning,) = report.warnings
    assert warning.check == "mail connection"
    assert warning.problem == (
        "connection 'qa_preflight_no_smtp' is not defined ([chimera] smtp_conn_id): team 'qa' (qa@example.com) "
        "is not mailed about this onboarding or its pipelines; onboarding goes on"
    )
    assert "airflow connections add qa_preflight_no_smtp --conn-type smtp" in warning.fix
    assert "mail connection" not in " ".join(report.passed)


def test_a_pii_column_without_a_pii_key_names_the_setting_and_the_columns(settings):
    report = preflight(_intent({"email": "pii"}), settings(pii_key_secret=""))

    (problem,) = report.problems
    assert (problem.check, problem.problem) == (
        "policy key", "[chimera] pii_key_secret is not set; columns customers.email (pii: keyed_hash) need it"
    )
    assert "AIRFLOW__CHIMERA__PII_KEY_SECRET='${secret:chimera_pii_key}'" in problem.fix
    assert "`airflow variables set chimera_pii_key <key>`" in problem.fix


def test_no_key_is_needed_when_nothing_is_classified_or_the_policy_masks(settings, tmp_path):
    assert preflight(_intent(), settings(pii_key_secret="")).ok
    policies = tmp_path / "policies.json"
    policies.write_text(json.dumps({"projects": {"qa": {"pii": "mask"}}}))

    report = preflight(_intent({"email": "pii"}), settings(pii_key_secret="", policies_config=str(policies)))

    assert report.ok, report.problems
    assert not any("policy key" in line for line in report.passed)


def test_a_key_placeholder_without_a_value_names_where_to_create_it(settings):
    report = preflight(_intent({"email": "pii"}), settings(pii_key_secret="${secret:qa_preflight_absent_key}"))

    (problem,) = report.problems
    assert problem.problem == (
        "[chimera] pii_key_secret names ${secret:qa_preflight_absent_key}, which has no value; "
        "columns customers.email (pii: keyed_hash) need it"
    )
    assert problem.fix.startswith(
        "create the Airflow Variable or secrets-backend entry 'qa_preflight_absent_key' (`airflow variables set qa_preflight_absent_key <key>`)"
    )


def test_encrypt_needs_a_fernet_key_and_the_policy_file_must_be_readable(settings, tmp_path, monkeypatch):
    policies = tmp_path / "policies.json"
    policies.write_text(json.dumps({"defaults": {"secret": "encrypt"}}))
    monkeypatch.setenv("QA_PREFLIGHT_NOT_FERNET", "not-a-fernet-key-but-secret")

    report = preflight(_intent({"card": "secret"}), settings(policies_config=str(policies),
                                                             encryption_key_secret="${env:QA_PREFLIGHT_NOT_FERNET}"))

    (problem,) = report.problems
    assert problem.problem == (
        "[chimera] encryption_key_secret: the value of ${env:QA_PREFLIGHT_NOT_FERNET} is not a Fernet key "
        "(32 url-safe base64-encoded bytes)"
    )
    monkeypatch.setenv("QA_PREFLIGHT_NOT_FERNET", FERNET_KEY)
    assert preflight(_intent({"card": "secret"}), settings()).passed[2:3] == ["policy key [chimera] encryption_key_secret"]

    policies.write_text("{not json")
    (broken,) = preflight(_intent({"card": "secret"}), settings()).problems
    assert broken.check == "policy file" and broken.problem.startswith(f"{policies}: /: not valid JSON")


def test_an_unreachable_catalog_is_a_problem_naming_its_configuration(settings, monkeypatch):
    monkeypatch.setenv("PYICEBERG_CATALOG__QAPREFLIGHT__TYPE", "rest")
    monkeypatch.setenv("PYICEBERG_CATALOG__QAPREFLIGHT__URI", "http://127.0.0.1:9")
    monkeypatch.setenv("PYICEBERG_CATALOG__QAPREFLIGHT__CREDENTIAL", "qa-client:qa-catalog-secret")
    monkeypatch.setenv("PYICEBERG_CATALOG__QAPREFLIGHT__OAUTH2_SERVER_URI", "http://127.0.0.1:9/v1/oauth/tokens")

    report = preflight(_intent(), settings())

    (problem,) = report.problems
    assert problem.check == "Iceberg catalog"
    assert problem.problem.startswith("Iceberg catalog 'qapreflight' (rest catalog) cannot be opened: ")
    assert "PYICEBERG_CATALOG__QAPREFLIGHT__URI" in problem.fix
    assert "qa-catalog-secret" not in report.model_dump_json()


def test_every_problem_is_listed_at_once_and_no_secret_appears_in_any_message(settings, monkeypatch):
    monkeypatch.setenv("PYICEBERG_CATALOG__QAPREFLIGHT__TYPE", "sql")
    monkeypatch.setenv("PYICEBERG_CATALOG__QAPREFLIGHT__URI", "postgresql+psycopg2://qa:qa-db-password-77@127.0.0.1:9/nope")
    raw_key = "qa-raw-key-written-in-the-setting"

    report = preflight(
        _intent({"email": "pii"}),
        settings(events_kafka_conn_id="qa_preflight_no_kafka", smtp_conn_id="qa_preflight_no_smtp", pii_key_secret=raw_key),
    )

    assert _checks(report.problems) == ["event connection", "policy key", "Iceberg catalog"]
    assert _checks(report.warnings) == ["mail connection"]
    assert report.problems[1].problem == (
        "[chimera] pii_key_secret must be one ${secret:NAME} or ${env:NAME} placeholder naming where the key is, not the key itself"
    )
    with pytest.raises(PreflightFailed) as failed:
        report.raise_for_problems()
    message = str(failed.value)
    assert "3 problem(s)" in message and "(1) event connection: " in message
    assert "(2) policy key: " in message and "(3) Iceberg catalog: " in message
    dumped = report.model_dump_json() + message
    for secret in (raw_key, "qa-db-password-77", PII_KEY):
        assert secret not in dumped


def test_a_resolved_key_is_never_shown(settings):
    report = preflight(_intent({"email": "pii"}), settings())

    assert report.ok
    assert PII_KEY not in report.model_dump_json()


def test_the_checks_run_without_airflow_given_a_connection_lookup(settings):
    connections = {EVENTS: {"conn_type": "kafka", "extra": {"bootstrap.servers": "broker:9092"}}}

    report = preflight(_intent(), settings(), connection=connections.__getitem__, catalog=False)

    assert report.passed == [f"event connection {EVENTS!r}"]
    assert _checks(report.warnings) == ["mail connection"]
    assert report.warnings[0].problem.startswith(f"connection {SMTP!r} is not defined")
