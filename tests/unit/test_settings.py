"""The ``[chimera]`` section: read on each call, and once per run inside ``settings_for_run``."""

from __future__ import annotations

import threading

from airflow_provider_chimera.settings import load_settings, settings_for_run


def test_each_call_reads_the_section_again(monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHIMERA__BATCH_ROWS", "1000")
    assert load_settings().batch_rows == 1000
    monkeypatch.setenv("AIRFLOW__CHIMERA__BATCH_ROWS", "2000")
    assert load_settings().batch_rows == 2000


def test_a_run_reads_it_once_and_nothing_outlives_the_run(monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHIMERA__BATCH_ROWS", "1000")
    with settings_for_run() as settings:
        monkeypatch.setenv("AIRFLOW__CHIMERA__BATCH_ROWS", "2000")
        assert load_settings() is settings and settings.batch_rows == 1000
        seen = []
        thread = threading.Thread(target=lambda: seen.append(load_settings().batch_rows))  # a thread reads for itself
        thread.start()
        thread.join()
        assert seen == [2000]
    assert load_settings().batch_rows == 2000


def test_nested_runs_restore_the_outer_runs_settings(monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHIMERA__BATCH_ROWS", "1000")
    with settings_for_run() as outer:
        monkeypatch.setenv("AIRFLOW__CHIMERA__BATCH_ROWS", "3000")
        with settings_for_run(load_settings().model_copy(update={"batch_rows": 5})) as inner:
            assert load_settings() is inner and inner.batch_rows == 5
        assert load_settings() is outer
