"""The ``chimera_file`` connection type reaches Airflow's connection form, and its Test button works."""

from __future__ import annotations

import json

from airflow.providers_manager import ProvidersManager
from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

from airflow_provider_chimera.hooks.file import FileConnectionHook


def test_airflow_lists_the_connection_type_with_its_hook_and_form():
    hook = ProvidersManagerTaskRuntime().hooks["chimera_file"]  # None when Airflow drops the hook class
    assert hook is not None
    assert (hook.hook_class_name, hook.connection_id_attribute_name, hook.hook_name) == (
        "airflow_provider_chimera.hooks.file.FileConnectionHook", "chimera_file_conn_id", "Chimera file set")
    behaviour = ProvidersManager().field_behaviours["chimera_file"]  # the connection form's fields
    assert set(behaviour["hidden_fields"]) == {"port", "login", "password", "schema"}
    assert behaviour["relabeling"] == {"host": "Base location"}


def test_the_test_button_lists_the_base(tmp_path, monkeypatch):
    (tmp_path / "a.csv").write_text("x\n1\n")
    (tmp_path / "b.csv").write_text("x\n2\n")
    monkeypatch.setenv("AIRFLOW_CONN_LANDING", json.dumps({"conn_type": "chimera_file", "host": f"file://{tmp_path}"}))
    assert FileConnectionHook("landing").test_connection() == (True, f"file://{tmp_path}: 2 entries")


def test_the_test_button_says_what_is_wrong(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_NOWHERE", json.dumps({"conn_type": "chimera_file", "extra": {"path": str(tmp_path / "missing")}}))
    monkeypatch.setenv("AIRFLOW_CONN_EMPTY", json.dumps({"conn_type": "chimera_file"}))
    assert FileConnectionHook("nowhere").test_connection() == (False, f"{tmp_path / 'missing'} is not a folder")
    ok, message = FileConnectionHook("empty").test_connection()
    assert not ok and message.startswith("no base location")
