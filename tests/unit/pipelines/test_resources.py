"""Pools and priority: both concurrency limits hold by construction; priority is absolute."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from airflow_provider_chimera.contract.naming import normalise
from airflow_provider_chimera.pipelines.resources import PRIORITY_WEIGHTS, Shares, allocate, pool_name
from tests.helpers import pipeline_for


def _pipeline(team: str, conn_id: str, obj: str = "public.t"):
    source = {
        "name": "src",
        "type": "postgres",
        "connection": {"conn_id": conn_id},
        "objects": [{"name": obj, "ingestion": {"trigger": {"type": "adhoc"}, "mode": {"type": "full"}, "target": {"table": normalise(f"t_{team}_{conn_id}")}}}],
    }
    pipeline = pipeline_for(source)
    return pipeline.model_copy(update={"team": pipeline.team.model_copy(update={"name": team})})


def test_pool_is_per_team_and_source_system():
    assert pool_name(_pipeline("Sales Analytics", "crm_pg")) == "chimera__sales_analytics__crm_pg"


def test_uri_sources_share_a_pool_by_host_and_never_leak_credentials():
    source = {
        "name": "src",
        "type": "mysql",
        "connection": {"uri": "mysql://reader:${secret:pw}@db.internal:3306/shop"},
        "objects": [{"name": "orders", "ingestion": {"trigger": {"type": "adhoc"}, "mode": {"type": "full"}, "target": {"table": "o"}}}],
    }
    assert pool_name(pipeline_for(source)) == "chimera__qa__mysql_db_internal_3306"


def test_allocation_keeps_every_source_and_team_within_its_limit():
    pipelines = [
        _pipeline(team, conn)
        for team, conn in [("a", "pg"), ("a", "mysql"), ("a", "kafka"), ("b", "pg"), ("c", "pg"), ("c", "mysql")]
    ]
    shares = Shares(teams={"a": 9, "b": 3}, sources={"pg": 6}, default_team_slots=4, default_source_slots=4)
    allocation = allocate(pipelines, shares)
    assert allocation.warnings == []
    per_team, per_source = defaultdict(int), defaultdict(int)
    for pool in allocation.pools:
        assert pool.slots >= 1
        per_team[pool.team] += pool.slots
        per_source[pool.source] += pool.slots
    assert per_team["a"] <= 9 and per_team["b"] <= 3 and per_team["c"] <= 4
    assert per_source["pg"] <= 6 and per_source["mysql"] <= 4 and per_source["kafka"] <= 4
    slots = {pool.name: pool.slots for pool in allocation.pools}
    assert slots["chimera__a__pg"] == 2  # min(9 // 3 sources, 6 // 3 teams)
    assert slots["chimera__a__kafka"] == 3  # min(9 // 3, 4 // 1)


def test_a_share_too_small_for_its_sources_is_reported():
    pipelines = [_pipeline("a", conn) for conn in ("pg", "mysql", "kafka")]
    allocation = allocate(pipelines, Shares(teams={"a": 2}))
    assert len(allocation.warnings) == 3
    assert "team 'a' (share 2, 3 sources)" in allocation.warnings[0]


def test_shares_file_overrides_defaults(tmp_path):
    path = tmp_path / "pools.json"
    path.write_text(json.dumps({"teams": {"a": 12}, "sources": {"pg": 1}}))
    shares = Shares.load(path, team_slots=8, source_slots=4)
    assert (shares.team("a"), shares.team("b"), shares.source("pg"), shares.source("x")) == (12, 8, 1, 4)
    path.write_text(json.dumps({"team": {}}))
    with pytest.raises(ValueError, match="team"):
        Shares.load(path, 8, 4)


def test_priority_order_is_strict():
    assert PRIORITY_WEIGHTS["critical"] > PRIORITY_WEIGHTS["high"] > PRIORITY_WEIGHTS["medium"] > PRIORITY_WEIGHTS["low"]


class _Pools:
    """Airflow's pools as a dict: the store apply_pools writes to (the real ones are Airflow's
    metadata database and REST API, exercised by the e2e tests)."""

    def __init__(self, pools):
        self.pools = dict(pools)

    def existing(self):
        return dict(self.pools)

    def upsert(self, name, slots, description, exists):
        assert exists == (name in self.pools)
        self.pools[name] = (slots, description)

    def delete(self, name):
        del self.pools[name]


def test_apply_pools_creates_resizes_and_prunes_only_chimera_pools():
    from airflow_provider_chimera.pipelines.pools import apply_pools
    from airflow_provider_chimera.pipelines.resources import Allocation, PoolPlan

    wanted = Allocation(warnings=[], pools=[
        PoolPlan(name="chimera__a__pg", slots=2, team="a", source="pg", description="a on pg"),
        PoolPlan(name="chimera__b__pg", slots=2, team="b", source="pg", description="b on pg"),
        PoolPlan(name="chimera__c__pg", slots=1, team="c", source="pg", description="c on pg"),
    ])
    store = _Pools({"chimera__a__pg": (2, "a on pg"), "chimera__b__pg": (4, "b on pg"), "chimera__gone__pg": (1, "x"), "default_pool": (128, "")})

    changes = apply_pools(wanted, store)

    assert changes == {"created": ["chimera__c__pg"], "updated": ["chimera__b__pg"], "unchanged": ["chimera__a__pg"], "deleted": ["chimera__gone__pg"]}
    assert store.pools == {"chimera__a__pg": (2, "a on pg"), "chimera__b__pg": (2, "b on pg"), "chimera__c__pg": (1, "c on pg"), "default_pool": (128, "")}
    assert apply_pools(wanted, store)["unchanged"] == ["chimera__a__pg", "chimera__b__pg", "chimera__c__pg"]


def test_a_pool_created_meanwhile_by_the_other_writer_is_updated_not_an_error():
    """The registry sync task (REST API) and `chimera pools sync` (metadata database) may create the
    same pool at once; the one that loses the race updates it. The API here is an in-memory
    stand-in that answers as Airflow's does when the pool appeared between listing and creating."""
    from airflow_provider_chimera.airflow_api import AirflowApiError
    from airflow_provider_chimera.pipelines.pools import ApiPools

    class RacingApi:
        def __init__(self):
            self.pools, self.calls = {}, []

        def post(self, path, body):
            self.calls.append(("post", body["name"]))
            self.pools[body["name"]] = 1  # the other writer got there first
            raise AirflowApiError(f"Airflow API POST {path}: HTTP 409: already exists", 409)

        def patch(self, path, body, **params):
            self.calls.append(("patch", body["name"]))
            self.pools[body["name"]] = body["slots"]

    api = RacingApi()
    ApiPools(api).upsert("chimera__team__pg", 4, "team's share of pg", exists=False)
    assert api.calls == [("post", "chimera__team__pg"), ("patch", "chimera__team__pg")]
    assert api.pools == {"chimera__team__pg": 4}
    api.post = lambda path, body: (_ for _ in ()).throw(AirflowApiError("HTTP 403: forbidden", 403))
    with pytest.raises(AirflowApiError, match="403"):
        ApiPools(api).upsert("chimera__team__my", 4, "", exists=False)


def test_team_queue_is_the_template_with_the_normalised_team():
    from airflow_provider_chimera.pipelines.resources import queue_args, team_queue

    assert team_queue("Sales-Analytics", "chimera_{team}") == "chimera_sales_analytics"
    assert team_queue("sales", "") is None  # Airflow's default queue
    assert queue_args("sales", "") == {}
    assert queue_args("sales", "q_{team}") == {"queue": "q_sales"}


def test_a_team_queue_template_with_another_placeholder_is_refused(monkeypatch):
    from pydantic import ValidationError

    from airflow_provider_chimera.settings import load_settings

    monkeypatch.setenv("AIRFLOW__CHIMERA__TEAM_QUEUE", "chimera_{project}")
    with pytest.raises(ValidationError, match="may only hold the placeholder"):
        load_settings()
