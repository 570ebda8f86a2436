"""`--since` values, and the recovery DAG built without I/O."""

from __future__ import annotations

import datetime as dt

import pytest

from airflow_provider_chimera.recovery.run import parse_since

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("6h", NOW - dt.timedelta(hours=6)),
        ("90m", NOW - dt.timedelta(minutes=90)),
        ("2d", NOW - dt.timedelta(days=2)),
        ("2026-11-25T08:00", dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)),
        ("2026-11-25T08:00+01:00", dt.datetime(2026, 11, 25, 7, 0, tzinfo=dt.UTC)),
    ],
)
def test_since_is_a_time_or_a_span_back_from_now(text, expected):
    assert parse_since(text, NOW) == expected


def test_a_since_that_is_neither_says_what_it_takes():
    with pytest.raises(ValueError) as error:
        parse_since("yesterday", NOW)
    assert str(error.value) == (
        "--since 'yesterday': give a time (2026-11-25T08:00, UTC unless an offset is given) or a span back from now (6h, 90m, 2d)"
    )


def test_the_recovery_dag_is_manual_with_since_and_dry_run_params():
    from airflow_provider_chimera.factory.recovery import RECOVERY, build_recovery_dags

    dag = build_recovery_dags()[RECOVERY]
    assert dag.schedule is None
    assert dag.task_ids == ["recover"]
    assert (dag.params["since"], dag.params["dry_run"]) == ("24h", False)
    assert dag.get_task("recover").retries == 0
