"""The pages' queries on the registry servers Chimera supports (PostgreSQL, MariaDB): the same
board, tab and onboarding answers as on SQLite, from the same seeded fleet."""

from __future__ import annotations

import pytest

from airflow_provider_chimera.registry.db import open_registry
from airflow_provider_chimera.ui.views.board import BoardFilters, load_board
from airflow_provider_chimera.ui.views.onboarding import load_onboarding
from airflow_provider_chimera.ui.views.pipeline import load_tab
from tests.integration.registry.conftest import mysql_url, pg_url  # noqa: F401  (fixtures)
from tests.ui_fleet import pipeline_id, seed_fleet

FILTERS = [
    BoardFilters(page_size=500),
    BoardFilters(page=2, page_size=25),
    BoardFilters(team="team01", failing=True),
    BoardFilters(source_type="kafka", sla="late"),
]


def _answers(url: str) -> list:
    registry = open_registry(url=url)
    try:
        ids = set(seed_fleet(registry, 60, runs=12, checks=3, teams=3, errors={0: "Boom <b>\nmore"}))
        everyone = lambda dag_ids: ids & set(dag_ids)  # noqa: E731
        boards = [load_board(registry, f, everyone).model_dump() for f in FILTERS]
        # Times the seed left to the registry's defaults (now) differ between two seeds: left out.
        tab = load_tab(registry, pipeline_id(0)).model_dump(exclude={"versions": {"__all__": {"recorded_at"}}})
        onboarding = load_onboarding(registry, everyone, all_dags=True).model_dump(exclude={"intents": {"__all__": {"updated_at"}}})
        return [boards, tab, onboarding]
    finally:
        registry.close()


@pytest.fixture
def sqlite_answers(tmp_path):
    return _answers(f"sqlite:///{tmp_path / 'registry.db'}")


def test_postgresql_answers_as_sqlite(pg_url, sqlite_answers):  # noqa: F811
    url, _, _ = pg_url
    answers = _answers(url)
    assert answers == sqlite_answers
    boards = answers[0]
    assert boards[0]["total"] == 60 and boards[2]["rows"] and all(r["last_run_state"] == "failed" for r in boards[2]["rows"])
    assert answers[1]["runs"][0]["error_first_line"] == "Boom <b>"


def test_mariadb_answers_as_sqlite(mysql_url, sqlite_answers):  # noqa: F811
    url, _ = mysql_url
    assert _answers(url) == sqlite_answers
