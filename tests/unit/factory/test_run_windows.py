"""Partitioned pipelines' DAGs: a data-interval timetable for timed ones (a scheduled run loads the
period that has just ended), the run-conf options as ``Param``s, and the task's window from its
context (docs/run-windows.md, decision 0051)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from datetime import timedelta
from types import SimpleNamespace

import pendulum
import pytest

from airflow_provider_chimera.factory import build_dags
from airflow_provider_chimera.ingest.runconf import RunConfError
from tests.helpers import intent_with, record_schema

UTC = dt.UTC
D5, D6, D7 = (dt.datetime(2026, 12, day, tzinfo=UTC) for day in (5, 6, 7))
PARTITIONED = {"type": "partitioned", "column": "ts"}


def _object(name: str, mode: dict, trigger: dict) -> dict:
    ingestion = {"trigger": trigger, "mode": mode, "target": {"namespace": "qa", "table": name}}
    return {"name": name, "path": f"{name}/*.jsonl", "format": "json", "schema": record_schema(id="long", ts="timestamptz"),
            "ingestion": ingestion}


OBJECTS = {
    "daily": (PARTITIONED, {"type": "timed", "schedule": "@daily"}),
    "sixhourly": (PARTITIONED, {"type": "timed", "schedule": "PT6H"}),
    "adhoc": (PARTITIONED, {"type": "adhoc"}),
    "onasset": (PARTITIONED, {"type": "event", "on": "s3://landing/events"}),
    "incr": ({"type": "incremental"}, {"type": "timed", "schedule": "@daily"}),
    "whole": ({"type": "full"}, {"type": "timed", "schedule": "@daily"}),
}


@pytest.fixture
def dags(tmp_path):
    objects = [_object(name, mode, trigger) for name, (mode, trigger) in OBJECTS.items()]
    source = {"name": "drop", "type": "file", "connection": {"uri": "file:///tmp/landing"}, "objects": objects}
    (tmp_path / "qa_intent.json").write_text(json.dumps(intent_with(source)))
    built = build_dags(tmp_path)
    assert set(built) == {f"qa_intent_drop_{name}" for name in OBJECTS}
    return {dag_id.removeprefix("qa_intent_drop_"): dag for dag_id, dag in built.items()}


def test_timed_partitioned_pipelines_get_a_data_interval_timetable_in_utc(dags):
    from airflow.sdk import CronDataIntervalTimetable, DeltaDataIntervalTimetable

    daily = dags["daily"].timetable
    assert isinstance(daily, CronDataIntervalTimetable)
    assert (daily.expression, str(daily.timezone)) == ("0 0 * * *", "UTC")
    assert isinstance(dags["sixhourly"].timetable, DeltaDataIntervalTimetable)
    assert dags["sixhourly"].timetable.delta == timedelta(hours=6)
    # Other modes and triggers keep what they had.
    assert dags["incr"].schedule == "@daily" and dags["whole"].schedule == "@daily"
    assert dags["adhoc"].schedule is None
    assert [asset.uri for asset in dags["onasset"].schedule] == ["s3://landing/events"]


def test_a_scheduled_daily_run_loads_the_day_that_has_just_ended(dags):
    """The DAG's own timetable, as the scheduler runs it: the run due at midnight of Dec 7 has the
    interval of Dec 6, and the task loads Dec 6."""
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import DataInterval, TimeRestriction

    timetable = coerce_to_core_timetable(dags["daily"].timetable)
    last = DataInterval(pendulum.instance(D5), pendulum.instance(D6))
    info = timetable.next_dagrun_info(last_automated_data_interval=last,
                                      restriction=TimeRestriction(earliest=pendulum.instance(D5), latest=None, catchup=True))
    assert (info.data_interval.start, info.data_interval.end, info.run_after) == (D6, D7, D7)
    context = _context(data_interval_start=info.data_interval.start, data_interval_end=info.data_interval.end,
                       logical_date=info.logical_date, run_after=info.run_after)
    window = dags["daily"].get_task("ingest")._window(context)
    assert (window.start, window.end) == (D6, D7)
    # A manual run with a logical date gets the interval Airflow infers: the last full day before it.
    manual = timetable.infer_manual_data_interval(run_after=pendulum.instance(D7 + timedelta(hours=9)))
    assert (manual.start, manual.end) == (D6, D7)


@pytest.fixture
def logged(monkeypatch):
    """Ingest tasks log to a stdlib logger that ``caplog`` sees (the Task SDK's own logs through structlog)."""
    from airflow_provider_chimera.operators.ingest import IngestOperator

    logger = logging.getLogger("chimera.tests.run_windows")
    monkeypatch.setattr(IngestOperator, "log", property(lambda self: logger))


def _context(conf=None, run_after=None, events=None, **facts):
    return {"dag_run": SimpleNamespace(conf=conf or {}, run_after=run_after), "triggering_asset_events": events or {}, **facts}


def test_the_task_logs_where_its_window_comes_from(dags, caplog, logged):
    task = dags["adhoc"].get_task("ingest")
    with caplog.at_level(logging.INFO, logger="chimera.tests.run_windows"):
        window = task._window(_context(run_after=D6 + timedelta(hours=12)))  # a REST run without a logical date
    assert (window.start, window.end) == (D5, D6)
    assert "window from the schedule, the last full day before the run's run_after" in caplog.text


def test_an_asset_triggered_run_takes_its_events_window(dags):
    task = dags["onasset"].get_task("ingest")
    asset = SimpleNamespace(uri="s3://landing/events")
    events = {"s3://landing/events": [SimpleNamespace(asset=asset, timestamp=D6 + timedelta(hours=3), extra={})],
              "alias": [SimpleNamespace(asset=asset, timestamp=D6 + timedelta(hours=3), extra={})]}
    window = task._window(_context(events=events))
    assert (window.start, window.end) == (D6, D7)
    events = {"s3://landing/events": [SimpleNamespace(asset=asset, timestamp=D7, extra={"window": {"start": "2026-12-05", "end": "2026-12-06"}})]}
    window = task._window(_context(events=events))
    assert (window.start, window.end) == (D5, D6)


def test_a_bad_window_in_conf_fails_naming_the_field(dags):
    from airflow_provider_chimera.errors import FixRequired

    task = dags["daily"].get_task("ingest")
    with pytest.raises(FixRequired, match=r"qa_intent_drop_daily: run conf window.end: Field required"):
        task._window(_context(conf={"window": {"start": "2026-12-01"}}))
    with pytest.raises(RunConfError, match=r"run conf window.start: 'last tuesday' is not an ISO-8601 date"):
        task._window(_context(conf={"window": {"start": "last tuesday", "end": "2026-12-02"}}))


def test_an_incremental_run_says_it_continues_from_the_newest_position(dags, caplog, logged):
    task = dags["incr"].get_task("ingest")
    with caplog.at_level(logging.INFO, logger="chimera.tests.run_windows"):
        assert task._window(_context(data_interval_start=D5, data_interval_end=D6, logical_date=D5)) is None
    assert "continues from the newest position the table records" in caplog.text
    with pytest.raises(RunConfError, match=r"run conf window: only a 'partitioned' pipeline loads a window; this one is 'incremental'"):
        task._window(_context(conf={"window": "2026-12-05"}))


def test_the_run_conf_options_are_params_with_descriptions(dags):
    partitioned, incremental, full = dags["daily"].params, dags["incr"].params, dags["whole"].params
    assert set(partitioned) == {"window", "adopt_table"}
    assert set(incremental) == {"adopt_from", "adopt_table"}
    assert set(full) == {"adopt_table"}
    for params in (partitioned, incremental):
        for name in params:
            param = params.get_param(name)
            assert param.description and param.schema.get("title"), name
    assert "granularity" in partitioned.get_param("window").description
    assert "last cursor value" in incremental.get_param("adopt_from").description
    # Defaults validate (an empty form means "not given"); the form refuses a malformed window.
    assert partitioned.validate() == {"window": None, "adopt_table": False}
    param = partitioned.get_param("window")
    for good in ("2026-12-05", {"start": "2026-12-05", "end": "2026-12-06"}, None):
        assert param.resolve(good) == good
    from airflow.sdk.exceptions import ParamValidationError

    for bad in ({"start": "2026-12-05"}, {"start": "2026-12-05", "end": "2026-12-06", "x": 1}, 5):
        with pytest.raises(ParamValidationError):
            param.resolve(bad)
    assert incremental.get_param("adopt_from").resolve({"0": 42}) == {"0": 42}


_ASSET = SimpleNamespace(uri="s3://landing/events")
RUN_TYPES = {
    "scheduled": {"data_interval_start": D6, "data_interval_end": D7, "logical_date": D6, "run_after": D7},
    "asset-or-kafka-triggered": {"events": {"a": [SimpleNamespace(asset=_ASSET, timestamp=D6, extra={})]}, "run_after": D6},
    "manual-with-logical-date": {"data_interval_start": D5, "data_interval_end": D6, "logical_date": D6, "run_after": D6},
    "manual-without-logical-date": {"run_after": D6 + timedelta(hours=3)},
    "backfill": {"data_interval_start": D5, "data_interval_end": D6, "logical_date": D5, "run_after": D6},
}


@pytest.mark.parametrize("run_type", sorted(RUN_TYPES))
@pytest.mark.parametrize("name", ["incr", "whole"])
def test_full_and_incremental_runs_load_no_window_whatever_the_run_type(dags, name, run_type):
    """``full`` reloads the whole object, ``incremental`` continues from its position: the run's dates do not matter."""
    assert dags[name].get_task("ingest")._window(_context(**RUN_TYPES[run_type])) is None


@pytest.mark.parametrize("run_type", sorted(RUN_TYPES))
def test_a_partitioned_run_of_every_run_type_gets_a_window(dags, run_type):
    window = dags["daily"].get_task("ingest")._window(_context(**RUN_TYPES[run_type]))
    assert window.end - window.start >= timedelta(hours=6) and window.end <= D7


def test_a_stream_run_says_it_continues_from_the_newest_position():
    from airflow_provider_chimera.ingest.windows import incremental_note

    assert incremental_note("stream").startswith("stream run: continues from the newest position")
