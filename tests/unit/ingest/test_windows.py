"""Which window a ``partitioned`` run loads, for every run type of docs/run-windows.md (plain Python:
the facts an Airflow run holds are passed in)."""

from __future__ import annotations

import datetime as dt

import pytest

from airflow_provider_chimera.contract.model import PartitionedMode
from airflow_provider_chimera.ingest.runconf import RunConf, RunConfError, parse_run_conf
from airflow_provider_chimera.ingest.windows import AssetEventFacts, RunFacts, derive_window, incremental_note, window_extra

UTC = dt.UTC
DAY = PartitionedMode(type="partitioned", column="ts", granularity="day")
HOUR = PartitionedMode(type="partitioned", column="ts", granularity="hour")
D5, D6, D7 = (dt.datetime(2026, 12, day, tzinfo=UTC) for day in (5, 6, 7))
NOON6 = D6 + dt.timedelta(hours=12)


def _derive(mode=DAY, conf=None, **facts):
    return derive_window(mode, parse_run_conf(conf, "f.json: pipeline p"), RunFacts(**facts), where="f.json: pipeline p")


def _span(chosen):
    return (chosen.window.start, chosen.window.end, chosen.basis)


def window_extra_of(start, end):
    return {"window": {"start": start.isoformat(), "end": end.isoformat()}}


# Every partitioned row of the table in docs/run-windows.md: (run type, conf, facts, window, basis).
ROWS = [
    # Scheduled @daily run at midnight of Dec 7: its data-interval timetable gives [Dec 6, Dec 7).
    ("scheduled", None, {"data_interval_start": D6, "data_interval_end": D7, "logical_date": D6, "run_after": D7}, D6, D7, "data interval"),
    # Scheduled every 6 hours (a duration): the 6 hours that just ended, whatever the granularity.
    ("scheduled-duration", None, {"data_interval_start": NOON6 - dt.timedelta(hours=6), "data_interval_end": NOON6, "run_after": NOON6},
     NOON6 - dt.timedelta(hours=6), NOON6, "data interval"),
    # Backfill of Dec 5 (one of its runs): the interval Airflow gives it.
    ("backfill", None, {"data_interval_start": D5, "data_interval_end": D6, "logical_date": D5, "run_after": D6}, D5, D6, "data interval"),
    # Manual run with a logical date of a timed pipeline: Airflow infers the last full period before it.
    ("manual-logical-date-timed", None, {"data_interval_start": D5, "data_interval_end": D6, "logical_date": NOON6, "run_after": NOON6},
     D5, D6, "data interval"),
    # Manual run with a logical date of an adhoc or event pipeline: a zero-length interval at it.
    ("manual-logical-date-adhoc", None, {"data_interval_start": NOON6, "data_interval_end": NOON6, "logical_date": NOON6, "run_after": NOON6},
     D6, D7, "logical date"),
    # Manual (UI or REST) without a logical date: no interval at all; the last full day before run_after.
    ("manual-no-logical-date", None, {"run_after": NOON6}, D5, D6, "schedule"),
    ("manual-no-logical-date-at-midnight", None, {"run_after": D7}, D6, D7, "schedule"),
    # Run conf: a span, or one date meaning the day holding it; it wins over everything else.
    ("conf-span", {"window": {"start": "2026-12-01", "end": "2026-12-03"}}, {"run_after": NOON6},
     dt.datetime(2026, 12, 1, tzinfo=UTC), dt.datetime(2026, 12, 3, tzinfo=UTC), "run conf"),
    ("conf-date", {"window": "2026-12-02"}, {"data_interval_start": D5, "data_interval_end": D6, "run_after": D6},
     dt.datetime(2026, 12, 2, tzinfo=UTC), dt.datetime(2026, 12, 3, tzinfo=UTC), "run conf"),
    ("conf-time-with-offset", {"window": "2026-12-06T01:30:00+02:00"}, {}, D5, D6, "run conf"),
    # Asset-triggered (Airflow 3 gives such runs no logical date): the event's extra window, else its timestamp's day.
    ("asset-event", None, {"asset_events": (AssetEventFacts(NOON6, {}, "s3://landing/x"),), "run_after": NOON6}, D6, D7, "asset event"),
    ("asset-event-window", None, {"asset_events": (AssetEventFacts(D7 + dt.timedelta(minutes=5), window_extra_of(D6, D7)),),
                                  "run_after": D7}, D6, D7, "asset event"),
    # Kafka-triggered: the watcher's event, by its timestamp.
    ("kafka-event", None, {"asset_events": (AssetEventFacts(D5 + dt.timedelta(hours=3), {"payload": "m"}, "kafka://events_kafka/t"),)},
     D5, D6, "asset event"),
    # Several events queued into one run: the span of all their windows, none left unloaded.
    ("asset-events", None, {"asset_events": (AssetEventFacts(D5), AssetEventFacts(NOON6), AssetEventFacts(D5 + dt.timedelta(hours=1)))},
     D5, D7, "asset events"),
    ("asset-events-windows-with-a-gap", None, {"asset_events": (
        AssetEventFacts(D7, window_extra_of(D6, D7)), AssetEventFacts(D7 + dt.timedelta(minutes=1), window_extra_of(D5 - dt.timedelta(days=1), D5)))},
     D5 - dt.timedelta(days=1), D7, "asset events"),
]


@pytest.mark.parametrize(("conf", "facts", "start", "end", "basis"), [row[1:] for row in ROWS], ids=[row[0] for row in ROWS])
def test_every_run_type_loads_the_documented_window(conf, facts, start, end, basis):
    chosen = _derive(conf=conf, **facts)
    assert _span(chosen) == (start, end, basis)
    assert basis in str(chosen) and str(chosen.window) in str(chosen)


def test_clearing_an_old_run_reloads_exactly_its_window():
    """A cleared run keeps its conf, interval, logical date, run_after and events: the same window, whenever it reruns."""
    for facts in ({"data_interval_start": D5, "data_interval_end": D6, "run_after": D6}, {"run_after": D6},
                  {"logical_date": D5 + dt.timedelta(hours=3), "run_after": D5 + dt.timedelta(hours=3)},
                  {"asset_events": (AssetEventFacts(D5 + dt.timedelta(hours=2)),)}):
        first = derive_window(DAY, RunConf(), RunFacts(**facts), now=D6)
        again = derive_window(DAY, RunConf(), RunFacts(**facts), now=D7 + dt.timedelta(days=30))
        assert (first.window, first.basis) == (again.window, again.basis)
        assert (first.window.start, first.window.end) == (D5, D6)


@pytest.mark.parametrize(
    ("mode", "run_after", "start", "end"),
    [
        (HOUR, dt.datetime(2026, 12, 6, 0, 10, tzinfo=UTC), dt.datetime(2026, 12, 5, 23, tzinfo=UTC), D6),
        (PartitionedMode(type="partitioned", column="ts", granularity="month"), dt.datetime(2026, 1, 15, tzinfo=UTC),
         dt.datetime(2025, 12, 1, tzinfo=UTC), dt.datetime(2026, 1, 1, tzinfo=UTC)),
        (PartitionedMode(type="partitioned", column="ts", granularity="month"), dt.datetime(2026, 3, 1, tzinfo=UTC),
         dt.datetime(2026, 2, 1, tzinfo=UTC), dt.datetime(2026, 3, 1, tzinfo=UTC)),
        (PartitionedMode(type="partitioned", column="ts", granularity="year"), dt.datetime(2026, 7, 1, tzinfo=UTC),
         dt.datetime(2025, 1, 1, tzinfo=UTC), dt.datetime(2026, 1, 1, tzinfo=UTC)),
    ],
)
def test_without_anything_else_the_last_full_period_before_run_after(mode, run_after, start, end):
    chosen = _derive(mode, run_after=run_after)
    assert _span(chosen) == (start, end, "schedule")


def test_a_run_with_nothing_at_all_takes_the_period_before_now():
    chosen = derive_window(DAY, RunConf(), RunFacts(), now=NOON6)
    assert _span(chosen) == (D5, D6, "schedule")


@pytest.mark.parametrize(
    ("conf", "field"),
    [
        ({"window": {"start": "yesterday", "end": "2026-12-02"}}, "window.start"),
        ({"window": {"start": "2026-12-01"}}, "window.end"),
        ({"window": {"start": "2026-12-01", "end": "2026-12-02", "until": "x"}}, "window.until"),
        ({"window": 20261201}, "window"),
        ({"window": "not a date"}, "window"),
        ({"adopt_table": "yes"}, "adopt_table"),
    ],
)
def test_a_bad_run_conf_names_its_field(conf, field):
    with pytest.raises(RunConfError, match=rf"^f.json: pipeline p: run conf {field}: "):
        parse_run_conf(conf, "f.json: pipeline p")


def test_an_empty_window_is_refused():
    from airflow_provider_chimera.errors import FixRequired

    with pytest.raises(FixRequired, match=r"end 2026-12-01T00:00:00\+00:00 is not after start"):
        _derive(conf={"window": {"start": "2026-12-02", "end": "2026-12-01"}})


def test_a_bad_window_in_an_asset_events_extra_names_the_event():
    events = (AssetEventFacts(NOON6, {"window": {"start": "2026-12-06"}}, "s3://landing/x"),)
    with pytest.raises(RunConfError, match=r"asset event s3://landing/x at 2026-12-06T12:00:00\+00:00: extra window: end: Field required"):
        _derive(asset_events=events)


def test_the_form_s_empty_values_mean_not_given():
    conf = parse_run_conf({"window": None, "adopt_from": None, "adopt_table": False, "other": 1}, "p")
    assert (conf.window, conf.adopt_from, conf.adopt_table) == (None, None, False)
    assert _span(derive_window(DAY, conf, RunFacts(run_after=NOON6))) == (D5, D6, "schedule")


def test_naive_conf_times_are_utc():
    chosen = _derive(HOUR, conf={"window": "2026-12-06T10:15"})
    assert (chosen.window.start, chosen.window.end) == (D6 + dt.timedelta(hours=10), D6 + dt.timedelta(hours=11))


def test_a_partitioned_run_announces_its_window_for_the_pipelines_it_triggers():
    chosen = _derive(data_interval_start=D5, data_interval_end=D6)
    extra = window_extra(chosen.window)
    assert extra == {"window": {"start": "2026-12-05T00:00:00+00:00", "end": "2026-12-06T00:00:00+00:00"}}
    downstream = _derive(HOUR, asset_events=(AssetEventFacts(D6 + dt.timedelta(minutes=1), extra),))
    assert _span(downstream) == (D5, D6, "asset event")


def test_incremental_runs_say_they_continue_from_the_newest_position():
    note = incremental_note("incremental")
    assert "continues from the newest position" in note and "clearing an old run does not reload its interval" in note
