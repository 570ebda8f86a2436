"""The onboarding page: each intent valid or rejected with the reason, the steps done, the
pipelines covered; intents with no pipeline only for users who may read every DAG."""

from __future__ import annotations

import json

import pytest

from airflow_provider_chimera.onboarding.state import save_state
from airflow_provider_chimera.pipelines.sync import sync_registry
from tests.helpers import sales_crm_intent
from tests.unit.ui.test_pipeline_tab import CUSTOMERS, SOURCE


@pytest.fixture
def synced(registry, grants, tmp_path):
    folder = tmp_path / "intents"
    folder.mkdir()
    (folder / "sales_crm.json").write_text(json.dumps(sales_crm_intent(SOURCE)))
    (folder / "broken.json").write_text('{"version": 1, "name": "broken", "oops": <b>}')
    sync_registry(registry, folder, actor="jane")
    with registry.session() as session:
        save_state(session, "sales_crm", {"version": {"hash": "abc", "steps": {"validate": {}, "test_connectivity": {}}}})
    grants.known_dags = [CUSTOMERS]
    return folder


def test_admin_sees_valid_and_rejected_intents_with_the_reason(as_user, synced):
    intents = {i["intent"]: i for i in as_user("admin").get("/chimera/api/onboarding").json()["intents"]}
    assert intents["sales_crm"]["status"] == "valid"
    assert intents["sales_crm"]["steps_done"] == ["validate", "test_connectivity"]
    assert intents["sales_crm"]["pipelines_waiting"] == [CUSTOMERS] and intents["sales_crm"]["pipelines"] == []
    assert intents["broken"]["status"] == "rejected" and intents["broken"]["rejection"]


def test_the_page_escapes_the_rejection(as_user, synced):
    html = as_user("admin").get("/chimera/onboarding").text
    assert "sales_crm" in html and "broken" in html and "<b>" not in html


def test_a_user_sees_only_intents_of_dags_they_may_read(as_user, synced):
    assert as_user("alice").get("/chimera/api/onboarding").json()["intents"] == []
