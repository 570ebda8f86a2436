"""The onboarding workflow on file sources and a temporary registry; events, mails and the
DataHub harvest are recorded by stand-ins (their own modules have their own tests)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from airflow_provider_chimera.onboarding.state import ingestion_blocker, load_state
from airflow_provider_chimera.onboarding.workflow import (
    STEPS,
    OnboardingFailed,
    run_all,
    run_step,
)
from airflow_provider_chimera.registry.audit import entries
from airflow_provider_chimera.registry.manifest import read_onboarded
from airflow_provider_chimera.registry.models import OnboardedVersionRow, PipelineRow
from tests.helpers import intent_with, record_schema

CUSTOMERS, ORDERS = "shop_files_customers", "shop_files_orders"


def _object(name: str, path: str) -> dict:
    return {
        "name": name,
        "path": path,
        "format": "csv",
        "schema": record_schema(["id"], id="long", label="string"),
        "ingestion": {"trigger": {"type": "adhoc"}, "mode": {"type": "full"}, "target": {"table": name}},
    }


def _intent(data_dir: Path, *objects: dict) -> dict:
    return intent_with(
        {"name": "files", "type": "file", "connection": {"uri": f"file://{data_dir}"}, "objects": list(objects)},
        name="shop",
    )


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Settings, registry, intents and data folders in ``tmp_path``; stand-ins for events, mail, harvest."""
    from airflow_provider_chimera.metadata.harvest import HarvestReport
    from airflow_provider_chimera.registry.db import open_registry
    from airflow_provider_chimera.settings import load_settings

    intents, data = tmp_path / "intents", tmp_path / "data"
    intents.mkdir()
    data.mkdir()
    for name in ("customers", "orders"):
        (data / f"{name}.csv").write_text("id,label\n1,a\n")
    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", f"sqlite:///{tmp_path / 'registry.db'}")
    monkeypatch.setenv("AIRFLOW__CHIMERA__INTENTS_DIR", str(intents))
    monkeypatch.setenv("AIRFLOW__CHIMERA__WAREHOUSE", str(tmp_path / "warehouse"))
    monkeypatch.setenv("AIRFLOW__CHIMERA__CATALOG_NAME", "chimera_test")
    # The preflight looks the event and mail connections up (events and mails themselves are stand-ins).
    monkeypatch.setenv("AIRFLOW__CHIMERA__EVENTS_KAFKA_CONN_ID", "qa_workflow_events")
    monkeypatch.setenv("AIRFLOW_CONN_QA_WORKFLOW_EVENTS", json.dumps({"conn_type": "kafka", "extra": {"bootstrap.servers": "127.0.0.1:9092"}}))
    monkeypatch.setenv("AIRFLOW__CHIMERA__SMTP_CONN_ID", "qa_workflow_smtp")
    monkeypatch.setenv("AIRFLOW_CONN_QA_WORKFLOW_SMTP", json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": 2525}))
    settings = load_settings()
    registry = open_registry(settings)
    calls: dict[str, list] = {"events": [], "mails": [], "harvests": []}

    def publish(kind, data, *, registry, settings=None, actor=None):
        calls["events"].append((kind, data))
        return f"{data.intent}-{data.intent_hash[:16]}-{kind}"

    def notify(kind, *, intent_name, team_email, details, settings=None):
        calls["mails"].append((kind, team_email, dict(details)))
        return "sent"

    def harvest(intent, intent_file, pipelines, *, settings=None, grant=None, registry=None):
        objects = [(s.name, o.name) for s in intent.sources for o in s.objects]
        calls["harvests"].append(objects)
        report = HarvestReport("datahub-lite")
        for source, obj in objects:
            report.datasets[(source, obj)] = f"urn:li:dataset:(urn:li:dataPlatform:file,{obj},PROD)"
        return report

    monkeypatch.setattr("airflow_provider_chimera.onboarding.events.publish_onboarding_event", publish)
    monkeypatch.setattr("airflow_provider_chimera.onboarding.notify.notify_team", notify)
    monkeypatch.setattr("airflow_provider_chimera.metadata.harvest.harvest_intent", harvest)

    class Env:
        pass

    e = Env()
    e.settings, e.registry, e.intents, e.data, e.calls = settings, registry, intents, data, calls

    def write(*objects: dict) -> Path:
        path = intents / "shop.json"
        path.write_text(json.dumps(_intent(data, *copy.deepcopy(list(objects))), indent=1))
        return path

    e.write = write

    def reading(function):
        def read(*args):
            with registry.session(read_only=True) as session:
                return function(session, *args)
        return read

    e.blocker = reading(lambda session, pipeline_id: ingestion_blocker(session, "shop", pipeline_id))
    e.onboarded = reading(lambda session: read_onboarded(session, "shop"))
    e.state = reading(lambda session: load_state(session, "shop"))
    e.onboarded_at = reading(lambda session: session.get(OnboardedVersionRow, "shop").onboarded_at)
    e.run = lambda path, **kw: run_all(path, registry=registry, settings=settings, actor="qa-user", **kw)
    yield e
    registry.close()


def _audit(env, action_prefix: str = "onboarding.") -> list:
    with env.registry.session() as session:
        return [e for e in reversed(entries(session, intent="shop", limit=None)) if e.action.startswith(action_prefix)]


def _event_kinds(env) -> list[str]:
    return [kind for kind, _ in env.calls["events"]]


def test_a_new_intent_goes_through_every_step_in_order_each_audited(env):
    path = env.write(_object("customers", "customers.csv"), _object("orders", "orders.csv"))
    digest = __import__("hashlib").sha256(path.read_bytes()).hexdigest()
    assert env.blocker(CUSTOMERS).startswith(
        f"pipeline {CUSTOMERS} waits for onboarding: intent shop has not completed onboarding yet"
    )

    outcomes = env.run(path)

    assert [(o.step, o.outcome) for o in outcomes] == [(step, "done") for step in STEPS]
    audited = _audit(env)
    assert [e.action for e in audited] == [f"onboarding.{step}" for step in STEPS]
    assert {(e.intent, e.intent_hash, e.actor) for e in audited} == {("shop", digest, "qa-user")}
    assert audited[0].details["kind"] == "new"
    assert audited[1].details["sources"] == [
        {"source": "files", "type": "file", "ok": True, "reason": "connected; 2 object(s) found with the columns named"}
    ]
    assert env.onboarded().content_hash == digest
    assert env.calls["harvests"] == [[("files", "customers"), ("files", "orders")]]
    assert _event_kinds(env) == ["datasource-onboarding", "onboarding-completion", "data-discovery-available"]
    data = env.calls["events"][0][1]
    assert (data.intent, data.intent_hash, [s.objects for s in data.sources]) == ("shop", digest, [["customers", "orders"]])
    assert data.datahub_urns == {
        "files/customers": "urn:li:dataset:(urn:li:dataPlatform:file,customers,PROD)",
        "files/orders": "urn:li:dataset:(urn:li:dataPlatform:file,orders,PROD)",
    }
    assert [(kind, to) for kind, to, _ in env.calls["mails"]] == [("completion", "qa@example.com"), ("discovery", "qa@example.com")]
    assert audited[7].details["superset"] == "not configured: discoverable in DataHub only"
    assert audited[5].details["targets"][0] == {
        "pipeline": CUSTOMERS, "target_table": "qa.customers", "table": "created by the pipeline's first run"
    }
    with env.registry.session() as session:
        assert {r.pipeline_id: r.status for r in session.scalars(select(PipelineRow))} == {CUSTOMERS: "active", ORDERS: "active"}
    assert env.blocker(CUSTOMERS) is None
    assert env.blocker(ORDERS) is None


def test_onboarding_an_unchanged_intent_again_changes_nothing(env):
    path = env.write(_object("customers", "customers.csv"))
    env.run(path)
    before = (env.onboarded_at(), len(_audit(env, "intent.")), len(env.calls["events"]))

    outcomes = env.run(path)

    assert {o.outcome for o in outcomes} == {"already done"}
    assert (env.onboarded_at(), len(_audit(env, "intent.")), len(env.calls["events"])) == before
    assert len(env.calls["harvests"]) == 1 and [kind for kind, _, _ in env.calls["mails"]] == ["completion", "discovery"]


def test_widening_onboards_only_what_was_added_and_its_pipeline_waits_until_completion(env):
    env.run(env.write(_object("customers", "customers.csv")))
    path = env.write(_object("customers", "customers.csv"), _object("orders", "orders.csv"))

    for step in STEPS[: STEPS.index("publish_completion")]:
        run_step(step, path, registry=env.registry, settings=env.settings)
    assert env.blocker(CUSTOMERS) is None  # the onboarded object keeps ingesting
    assert "its object was added to intent shop after the onboarded version" in env.blocker(ORDERS)
    for step in STEPS[STEPS.index("publish_completion"):]:
        run_step(step, path, registry=env.registry, settings=env.settings)

    assert env.blocker(ORDERS) is None
    assert _audit(env)[-10].details["kind"] == "widen"
    assert _audit(env)[-10].details["added_objects"] == ["files/orders"]
    assert env.calls["harvests"] == [[("files", "customers")], [("files", "orders")]]
    onboarding = [d for kind, d in env.calls["events"] if kind == "datasource-onboarding"]
    assert [[s.objects for s in d.sources] for d in onboarding] == [[["customers"]], [["orders"]]]
    assert env.calls["mails"][-1][2]["targets"] == ["qa.orders"]


def test_narrowing_retires_the_pipeline_without_harvest_or_onboarding_events(env):
    env.run(env.write(_object("customers", "customers.csv"), _object("orders", "orders.csv")))
    events, harvests = len(env.calls["events"]), len(env.calls["harvests"])

    outcomes = env.run(env.write(_object("customers", "customers.csv")))

    by_step = {o.step: o.outcome for o in outcomes}
    assert by_step["test_connectivity"] == by_step["harvest"] == by_step["publish_onboarding"] == "skipped"
    assert by_step["publish_discovery"] == "skipped"
    assert len(env.calls["harvests"]) == harvests
    assert _event_kinds(env)[events:] == ["onboarding-completion"]
    with env.registry.session() as session:
        assert {r.pipeline_id: r.status for r in session.scalars(select(PipelineRow))} == {CUSTOMERS: "active", ORDERS: "retired"}
    (retired,) = _audit(env, "pipeline.retired")
    assert retired.details["data"] == "kept"
    assert env.state()["completed"]["pipelines"] == [CUSTOMERS]


def test_a_failing_connectivity_test_stops_there_notifies_and_a_retry_after_the_fix_completes(env):
    (env.data / "broken.csv").write_text("id\n1\n")  # no column label
    path = env.write(_object("customers", "customers.csv"), _object("orders", "broken.csv"))

    with pytest.raises(OnboardingFailed) as failed:
        env.run(path)

    assert failed.value.step == "test_connectivity"
    assert (f"source files (file): 1 of 2 object(s) cannot be read: orders; orders: columns ['label'] are not in "
            f"{env.data / 'broken.csv'}") in failed.value.reason
    assert "--from-step test_connectivity" in failed.value.retry
    entry = _audit(env)[-1]
    assert (entry.action, entry.details["step"], entry.details["steps_done"]) == ("onboarding.failed", "test_connectivity", ["validate"])
    assert entry.details["reason"] == failed.value.reason
    assert entry.details["team_notified"] == "sent"
    assert entry.details["retry"] == (
        f"fix the cause, then clear task test_connectivity of DAG chimera_onboard__shop in the Airflow UI, "
        f"or run `chimera onboard {path} --from-step test_connectivity`"
    )
    ((kind, to, details),) = env.calls["mails"]
    assert (kind, to, details["step"], details["reason"]) == ("failure", "qa@example.com", "test_connectivity", failed.value.reason)
    assert env.onboarded() is None  # nothing registered
    assert env.calls["harvests"] == [] and env.calls["events"] == []
    assert "failed at step test_connectivity" in env.blocker(CUSTOMERS)

    (env.data / "broken.csv").write_text("id,label\n")
    outcomes = env.run(path, from_step="test_connectivity")

    assert [o.step for o in outcomes] == list(STEPS[1:])
    assert env.blocker(ORDERS) is None
    assert [a.action for a in _audit(env)].count("onboarding.validate") == 1


def test_a_step_refuses_to_run_before_the_earlier_ones(env):
    path = env.write(_object("customers", "customers.csv"))

    with pytest.raises(OnboardingFailed) as failed:
        run_step("harvest", path, registry=env.registry, settings=env.settings)

    assert failed.value.reason.startswith("step validate has not completed for version ")
    assert "--from-step validate" in failed.value.retry
    assert env.calls["harvests"] == []


def test_an_invalid_intent_fails_validation_naming_the_field(env):
    path = env.intents / "shop.json"
    data = _intent(env.data, _object("customers", "customers.csv"))
    data["team"]["support_email"] = "not-an-email"
    path.write_text(json.dumps(data))

    with pytest.raises(OnboardingFailed) as failed:
        env.run(path)

    assert failed.value.step == "validate"
    assert f"{path}: /team/support_email" in failed.value.reason
    assert _audit(env)[-1].action == "onboarding.failed"


def test_the_registry_sync_requests_onboarding_once_per_version_until_a_run_starts(env):
    from airflow_provider_chimera.onboarding.trigger import request_onboarding

    path = env.write(_object("customers", "customers.csv"))
    digest = __import__("hashlib").sha256(path.read_bytes()).hexdigest()

    assert request_onboarding(env.registry, env.intents) == [("shop", digest)]
    assert request_onboarding(env.registry, env.intents) == [("shop", digest)]  # until a run starts
    assert len(_audit(env, "onboarding.requested")) == 1
    run_step("validate", path, registry=env.registry, settings=env.settings)
    assert request_onboarding(env.registry, env.intents) == []
    env.run(path, from_step="test_connectivity")
    assert request_onboarding(env.registry, env.intents) == []
    changed = env.write(_object("customers", "customers.csv"), _object("orders", "orders.csv"))
    assert request_onboarding(env.registry, env.intents) == [("shop", __import__("hashlib").sha256(changed.read_bytes()).hexdigest())]


def test_the_team_hears_once_per_pipeline_that_its_table_is_ready(env):
    from airflow_provider_chimera.contract import parse_intent
    from airflow_provider_chimera.pipelines import pipelines_of
    from airflow_provider_chimera.onboarding.ready import notify_table_ready

    path = env.write(_object("customers", "customers.csv"))
    intent = parse_intent(path.read_bytes(), str(path))
    (pipeline,) = pipelines_of(intent, str(path), "0" * 64)
    published = {"published": True, "rows": 1, "snapshot_id": 7}

    assert notify_table_ready(pipeline, {"published": False}, settings=env.settings, registry=env.registry) is False
    assert notify_table_ready(pipeline, published, settings=env.settings, registry=env.registry) is True
    assert notify_table_ready(pipeline, published, settings=env.settings, registry=env.registry) is False

    ((kind, to, details),) = env.calls["mails"]
    assert (kind, to, details["pipeline"], details["target_table"]) == ("table_ready", "qa@example.com", CUSTOMERS, "qa.customers")
    (marker,) = _audit(env, "pipeline.table_ready")
    assert (marker.details["pipeline"], marker.details["notification"]) == (CUSTOMERS, "sent")


def test_a_broken_notification_never_fails_the_ingest_run(env, monkeypatch):
    from airflow_provider_chimera.contract import parse_intent
    from airflow_provider_chimera.pipelines import pipelines_of
    from airflow_provider_chimera.onboarding.ready import notify_table_ready

    def broken(*args, **kwargs):
        raise ConnectionError("smtp://mailer:hunter2@mail down")

    monkeypatch.setattr("airflow_provider_chimera.onboarding.notify.notify_team", broken)
    path = env.write(_object("customers", "customers.csv"))
    (pipeline,) = pipelines_of(parse_intent(path.read_bytes(), str(path)), str(path), "0" * 64)

    assert notify_table_ready(pipeline, {"published": True}, settings=env.settings, registry=env.registry) is False
    assert _audit(env, "pipeline.table_ready") == []


def test_chimera_onboard_prints_each_step_exits_2_on_a_failure_and_resumes_from_it(env):
    from typer.testing import CliRunner

    from airflow_provider_chimera.cli.app import app

    def steps(output: str) -> list[str]:
        return [line.split(":")[0] for line in output.splitlines() if line[:2] in ("✓ ", "= ", "- ", "✗ ")]

    (env.data / "broken.csv").write_text("id\n1\n")  # no column label
    path = env.write(_object("customers", "customers.csv"), _object("orders", "broken.csv"))

    failed = CliRunner().invoke(app, ["onboard", str(path)])

    assert failed.exit_code == 2, failed.output
    assert steps(failed.output) == ["✓ validate", "✗ test_connectivity"]
    assert f"to retry: fix the cause, then clear task test_connectivity of DAG chimera_onboard__shop in the Airflow UI, or run `chimera onboard {path} --from-step test_connectivity`" in failed.output

    (env.data / "broken.csv").write_text("id,label\n")
    resumed = CliRunner().invoke(app, ["onboard", str(path), "--from-step", "test_connectivity"])

    assert resumed.exit_code == 0, resumed.output
    assert steps(resumed.output) == [f"✓ {step}" for step in STEPS[1:]]
    assert "shop version " in resumed.output and ": onboarding completed" in resumed.output
    again = CliRunner().invoke(app, ["onboard", str(path)])
    assert (again.exit_code, steps(again.output)) == (0, [f"= {step}" for step in STEPS])


def test_a_table_ready_mail_that_was_not_sent_is_tried_again_on_the_next_publish(env, monkeypatch):
    from airflow_provider_chimera.contract import parse_intent
    from airflow_provider_chimera.pipelines import pipelines_of
    from airflow_provider_chimera.onboarding.ready import notify_table_ready

    outcomes = iter(["failed: ConnectionRefusedError: [Errno 111] Connection refused", "sent"])
    monkeypatch.setattr("airflow_provider_chimera.onboarding.notify.notify_team", lambda *a, **k: next(outcomes))
    path = env.write(_object("customers", "customers.csv"))
    (pipeline,) = pipelines_of(parse_intent(path.read_bytes(), str(path)), str(path), "0" * 64)

    assert notify_table_ready(pipeline, {"published": True}, settings=env.settings, registry=env.registry) is False
    assert _audit(env, "pipeline.table_ready") == []
    assert notify_table_ready(pipeline, {"published": True}, settings=env.settings, registry=env.registry) is True
    assert len(_audit(env, "pipeline.table_ready")) == 1


def _classified(name: str, path: str, **classification: str) -> dict:
    obj = _object(name, path)
    obj["ingestion"]["classification"] = classification
    return obj


def test_the_preflight_stops_onboarding_at_its_first_step_naming_every_problem(env, monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHIMERA__EVENTS_KAFKA_CONN_ID", "qa_workflow_no_kafka")
    monkeypatch.setenv("AIRFLOW__CHIMERA__PII_KEY_SECRET", "")
    settings = __import__("airflow_provider_chimera.settings", fromlist=["load_settings"]).load_settings()
    path = env.write(_classified("customers", "customers.csv", label="pii"))

    with pytest.raises(OnboardingFailed) as failed:
        run_all(path, registry=env.registry, settings=settings)

    assert failed.value.step == "validate"
    assert failed.value.reason.startswith(
        "event connection: connection 'qa_workflow_no_kafka' is not defined ([chimera] events_kafka_conn_id)"
    )
    assert "; policy key: [chimera] pii_key_secret is not set; columns customers.label (pii: keyed_hash) need it" in failed.value.reason
    assert "--from-step validate" in failed.value.retry
    (entry,) = _audit(env)
    assert (entry.action, entry.details["step"], entry.details["steps_done"]) == ("onboarding.failed", "validate", [])
    assert [(kind, details["step"]) for kind, _, details in env.calls["mails"]] == [("failure", "validate")]
    assert env.onboarded() is None and env.calls["events"] == []


def test_chimera_onboard_lists_the_preflight_problems_and_runs_no_step(env, monkeypatch):
    from typer.testing import CliRunner

    from airflow_provider_chimera.cli.app import app

    monkeypatch.setenv("AIRFLOW__CHIMERA__EVENTS_KAFKA_CONN_ID", "qa_workflow_no_kafka")
    monkeypatch.setenv("AIRFLOW__CHIMERA__SMTP_CONN_ID", "qa_workflow_no_smtp")
    monkeypatch.setenv("AIRFLOW__CHIMERA__PII_KEY_SECRET", "")
    path = env.write(_classified("customers", "customers.csv", label="pii"))

    result = CliRunner().invoke(app, ["onboard", str(path)])

    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    assert lines[0] == "✗ preflight: 2 problem(s) to fix before onboarding shop; no step has run"
    assert lines[1] == "  1. event connection: connection 'qa_workflow_no_kafka' is not defined ([chimera] events_kafka_conn_id): onboarding publishes its events through it"
    assert lines[2].startswith("     to fix: create it: `airflow connections add qa_workflow_no_kafka --conn-type kafka --conn-extra ")
    assert lines[3] == "  2. policy key: [chimera] pii_key_secret is not set; columns customers.label (pii: keyed_hash) need it"
    assert lines[5].startswith("  ⚠ mail connection: connection 'qa_workflow_no_smtp' is not defined")
    assert lines[-1] == f"then run `chimera onboard {path}` again"
    assert _audit(env) == [] and env.state() == {}


def test_a_missing_mail_connection_and_an_empty_landing_folder_warn_and_onboarding_completes(env, monkeypatch):
    from typer.testing import CliRunner

    from airflow_provider_chimera.cli.app import app

    monkeypatch.setenv("AIRFLOW__CHIMERA__SMTP_CONN_ID", "qa_workflow_no_smtp")
    path = env.write(_object("customers", "customers.csv"), _object("orders", "landing/*.csv"))  # no folder yet

    result = CliRunner().invoke(app, ["onboard", str(path)])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("preflight: ready: event connection 'qa_workflow_events', Iceberg catalog 'chimera_test' (embedded)")
    assert lines[1].startswith("⚠ mail connection: connection 'qa_workflow_no_smtp' is not defined ([chimera] smtp_conn_id)")
    warning = ("source files (file): orders: path 'landing/*.csv' matches no file yet; its schema is declared, so onboarding "
               "goes on and its runs fail until a file arrives (a full reload of nothing would empty the table)")
    assert f"  ⚠ {warning}" in lines
    assert sum("mail connection" in line for line in lines) == 1  # shown once, though step validate reports it too
    validate, connectivity = _audit(env)[:2]
    assert validate.details["warnings"][0].startswith("mail connection: connection 'qa_workflow_no_smtp' is not defined")
    assert connectivity.details["warnings"] == [warning]
    assert connectivity.details["sources"][0]["ok"] is True
    assert env.state()["completed"]["pipelines"] == [CUSTOMERS, ORDERS]
