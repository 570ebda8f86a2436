"""Intents synced from git: a GitDagBundle on a real Airflow 3, a bare repository over ``file://`` as the remote.

The repository holds Chimera's DAG files (samples/git-intents/dags/, as docs/git-intents.md sets
them up) and the intents beside them; ``[chimera] intents_dir`` points at an empty folder, so
whatever Airflow and Chimera see comes from the bundle. A team pushes: an intent (its DAGs appear,
a run succeeds), a widening of it (the new object is onboarded, and Airflow's DAG version and
Chimera's registry name the pushed commit), then a broken other intent (an import error naming
it, while the first intent's DAG still runs). Its own stack: the bundle configuration changes
where every DAG of the stack comes from.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.conftest import REPO, SERVICES, require_service
from tests.e2e.airflow_stack import AirflowStack
from tests.e2e.test_factory_in_airflow import CUSTOMERS  # the schema of samples/retail/customers.csv
from tests.helpers import DECLARATION
from tests.mailbox import Inbox, free_port, smtp_connection

BUNDLE = "chimera-intents"


def _object(name: str, table: str) -> dict:
    return {
        "name": name,
        "path": "customers.csv",
        "format": "csv",
        "schema": CUSTOMERS,
        "ingestion": {"trigger": {"type": "adhoc"}, "mode": {"type": "full"}, "target": {"table": table}},
    }


def _intent(name: str, *objects: dict) -> dict:
    return {
        "version": 1,
        "name": name,
        "team": {"name": f"{name}-team", "support_email": f"{name}@example.com"},
        "project": "git",
        "declaration": DECLARATION,
        "sources": [{"name": "files", "type": "file", "connection": {"uri": "file://${env:CHIMERA_SAMPLE_DATA}/retail"},
                     "objects": list(objects)}],
    }


SHOP = _intent("git_shop", _object("customers", "customers"))
WIDER_SHOP = _intent("git_shop", _object("customers", "customers"), _object("copy", "customers_copy"))
OTHER = _intent("git_other", _object("customers", "other_customers"))


class Clone:
    """A team member's clone of the intents repository, pushing to the bare 'remote'."""

    def __init__(self, path: Path, remote: Path):
        self.path, self.remote = path, remote
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
        subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
        self.git("remote", "add", "origin", f"file://{remote}")
        shutil.copytree(REPO / "samples" / "git-intents" / "dags", path / "dags")
        (path / "intents").mkdir()

    def git(self, *args: str) -> str:
        done = subprocess.run(["git", "-C", str(self.path), "-c", "user.name=team", "-c", "user.email=team@example.com", *args],
                              check=True, capture_output=True, text=True)
        return done.stdout.strip()

    def push(self, message: str, **intents: dict) -> str:
        """Write ``intents`` (name -> content), commit, push to main; the pushed commit."""
        for name, content in intents.items():
            (self.path / "intents" / f"{name}.json").write_text(json.dumps(content, indent=2))
        self.git("add", ".")
        self.git("commit", "-q", "-m", message)
        self.git("push", "-q", "origin", "main")
        return self.git("rev-parse", "HEAD")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    from aiosmtpd.controller import Controller
    from confluent_kafka.admin import AdminClient

    from airflow_provider_chimera.onboarding.events import STEPS

    require_service("PostgreSQL", SERVICES["CHIMERA_PG_HOST"], SERVICES["CHIMERA_PG_PORT"])
    bootstrap = SERVICES["CHIMERA_KAFKA_BOOTSTRAP"]
    require_service("Kafka", *bootstrap.split(":"))
    home = tmp_path_factory.mktemp("git-airflow")
    clone = Clone(home / "clone", home / "remote.git")
    first = clone.push("git_shop: customers", git_shop=SHOP, git_other=OTHER)
    inbox, port = Inbox(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    topics = {kind: f"chimera.e2e-git.{kind}.{uuid.uuid4().hex[:8]}" for kind in STEPS}
    empty = home / "no-intents-here"  # [chimera] intents_dir: the bundle's DAG files name their own
    empty.mkdir()
    bundles = [{"name": BUNDLE, "classpath": "airflow.providers.git.bundles.git.GitDagBundle",
                "kwargs": {"tracking_ref": "main", "repo_url": f"file://{clone.remote}"}}]
    env = {
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles),
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH": str(home / "dag-bundles"),
        "AIRFLOW_CONN_SMTP_DEFAULT": smtp_connection(port),
        **{f"AIRFLOW__CHIMERA__{option.upper()}": topics[kind] for kind, option in STEPS.items()},
    }
    airflow = AirflowStack(home, empty, env)
    airflow.clone, airflow.first = clone, first
    try:
        airflow.start()
        for intent in ("git_shop", "git_other"):  # the registry sync (every minute) starts onboarding by itself
            airflow.wait_for_run(f"chimera_onboard__{intent}", timeout=420)
        yield airflow
    finally:
        airflow.stop()
        smtp.stop()
        AdminClient({"bootstrap.servers": bootstrap}).delete_topics(list(topics.values()))


def _run(stack: AirflowStack, dag_id: str) -> dict:
    """Trigger ``dag_id`` once it is parsed and return its finished (successful) run."""
    stack.wait(lambda: dag_id in stack.dag_ids(), 180, f"{dag_id} to be parsed")
    stack.unpause(dag_id)
    run_id = stack.trigger(dag_id)

    def finished():
        run = stack.get(f"/dags/{dag_id}/dagRuns/{run_id}")
        return run if run["state"] in ("success", "failed") else None

    run = stack.wait(finished, 240, f"run {run_id} of {dag_id}", every=2)
    assert run["state"] == "success", f"{dag_id} {run_id} {run['state']}\n{stack.logs()}"
    return run


def _dag_version(stack: AirflowStack, dag_id: str) -> dict:
    versions = stack.get(f"/dags/{dag_id}/dagVersions", order_by="-version_number", limit=1)["dag_versions"]
    return versions[0]


def _recorded_commits(stack: AirflowStack, intent: str) -> list[str]:
    """The commits Chimera's registry recorded for ``intent``'s versions, newest first (``chimera audit``)."""
    out = stack.run("chimera", "audit", "--intent", intent, "--action", "intent.version_recorded", "--format", "json").stdout
    return [entry["details"]["git_commit"] for entry in json.loads(out)]


def test_pushed_intents_become_dags_from_the_bundle_and_run(stack):
    dags = stack.dag_ids()
    assert {"git_shop_files_customers", "git_other_files_customers", "chimera_registry_sync"} <= dags
    dag = stack.get("/dags/git_shop_files_customers/details")
    assert dag["bundle_name"] == BUNDLE
    assert _dag_version(stack, "git_shop_files_customers")["bundle_version"] == stack.first
    run = _run(stack, "git_shop_files_customers")
    assert run["bundle_version"] == stack.first
    assert _recorded_commits(stack, "git_shop") == [stack.first]


def test_a_pushed_widening_is_onboarded_and_airflow_and_chimera_name_the_same_commit(stack):
    wider = stack.clone.push("git_shop: a copy of customers", git_shop=WIDER_SHOP)
    assert wider != stack.first

    def onboarded_at_wider():
        runs = [r for r in stack.runs("chimera_onboard__git_shop") if r["bundle_version"] == wider]
        return next((r for r in runs if r["state"] in ("success", "failed")), None)

    # Started by the registry sync, as the first onboarding was: nobody triggers it.
    onboarding = stack.wait(onboarded_at_wider, 420, "onboarding of the widened intent", every=3)
    assert onboarding["state"] == "success", stack.logs()
    assert onboarding["run_type"] == "asset_triggered"
    # The registry's recorded commit, Airflow's DAG version and the run all name the pushed commit.
    assert _recorded_commits(stack, "git_shop") == [wider, stack.first]
    stack.wait(lambda: _dag_version(stack, "git_shop_files_copy")["bundle_version"] == wider, 120, "the DAG version of the pushed commit")
    run = _run(stack, "git_shop_files_copy")
    assert run["bundle_version"] == wider
    # Onboarding of the widened version readied the new object's target; the run filled it.
    wider_hash = hashlib.sha256((stack.clone.path / "intents" / "git_shop.json").read_bytes()).hexdigest()
    out = stack.run("chimera", "audit", "--intent", "git_shop", "--action", "onboarding.create_targets", "--format", "json").stdout
    (entry,) = [e for e in json.loads(out) if e["intent_hash"] == wider_hash]
    assert entry["details"]["outcome"] == "done", out
    assert "git_shop_files_copy" in {t["pipeline"] for t in entry["details"]["targets"]}
    listed = stack.run("chimera", "tables", "--intents", str(stack.clone.path / "intents"), "--format", "json").stdout
    rows = {row["pipeline"]: row["rows"] for row in json.loads(listed)}
    assert rows["git_shop_files_copy"] == rows["git_shop_files_customers"] > 0, rows

def test_a_pushed_broken_intent_is_an_import_error_and_the_other_intent_still_runs(stack):
    broken = {**OTHER, "team": {"name": "git_other-team"}}  # no support_email
    commit = stack.clone.push("git_other: broken", git_other=broken)

    def the_error():
        return [e for e in stack.get("/importErrors")["import_errors"] if "git_other.json" in e["stack_trace"]]

    (error,) = stack.wait(the_error, 180, "the import error of the broken intent", every=2)
    assert error["filename"].endswith("chimera_intent_errors.py")
    assert error["bundle_name"] == BUNDLE
    assert "git_other.json: /team/support_email: Field required" in error["stack_trace"]
    # The other intent's DAG runs on the broken commit's bundle version all the same.
    stack.wait(lambda: _dag_version(stack, "git_shop_files_customers")["bundle_version"] == commit, 120, "the new bundle version")
    run = _run(stack, "git_shop_files_customers")
    assert run["bundle_version"] == commit
