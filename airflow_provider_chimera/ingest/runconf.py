"""The DAG run conf a pipeline run accepts, as a Pydantic model (no Airflow).

``adopt_from``: where an adopted table's data ends in the source (``ingest.resume``);
``adopt_table``: adopt a table another pipeline or none created (``writer.ownership``);
``window``: the window a ``partitioned`` run loads, ``{"start": ..., "end": ...}`` (ISO-8601,
UTC unless an offset is given) or one date or time, meaning the ``granularity`` period holding it.
Other keys are not checked here. The DAGs declare the same options as Airflow ``Param``s
(``factory.params``), so the UI's trigger form shows them; a value of ``None`` means "not given".
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Union

from pydantic import BaseModel, ConfigDict, Discriminator, StrictBool, Tag, TypeAdapter, ValidationError, field_validator

from airflow_provider_chimera.errors import FixRequired

DESCRIPTIONS = {
    "window": (
        "partitioned pipelines only: the window to load, {\"start\": \"2026-12-01\", \"end\": \"2026-12-02\"} "
        "(ISO-8601, UTC unless an offset is given, end excluded) or one date or time, meaning the period "
        "(hour, day, month or year, the mode's granularity) holding it. Empty: the run's data interval, "
        "else its triggering asset event, its logical date, or the last full period before the run (docs/run-windows.md)."
    ),
    "adopt_from": (
        "incremental pipelines, first run on an existing table only: where the table's data ends in the "
        "source (the last cursor value, file globs already ingested, or {\"<partition>\": <next offset>} "
        "for Kafka); ignored once the table records a position."
    ),
    "adopt_table": "adopt a target table that another pipeline, or none, created (audited).",
}


class WindowSpan(BaseModel):
    """``{"start": ..., "end": ...}``: a half-open window, end excluded."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: dt.datetime
    end: dt.datetime

    @field_validator("start", "end", mode="before")
    @classmethod
    def _instant(cls, value: Any) -> dt.datetime:
        return instant(value)


def _shape(value: Any) -> str:
    return "span" if isinstance(value, (dict, WindowSpan)) else "instant"


# A window is a span or one instant; the discriminator keeps errors to the shape given.
WindowValue = Annotated[
    Union[Annotated[WindowSpan, Tag("span")], Annotated[dt.datetime, Tag("instant")]], Discriminator(_shape)
]


class RunConf(BaseModel):
    """A DAG run's conf: the options a run reads here; other keys are left to their readers."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    window: WindowValue | None = None
    adopt_from: Any = None
    adopt_table: StrictBool | None = None

    @field_validator("window", mode="before")
    @classmethod
    def _window(cls, value: Any) -> Any:
        if value is None or isinstance(value, dict):
            return value
        return instant(value)


class RunConfError(FixRequired, ValueError):
    """A run conf value the run cannot take: names the field."""


def instant(value: Any) -> dt.datetime:
    """An ISO-8601 date or date-time (or a ``datetime``) as an aware UTC-based datetime."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO-8601 date or date-time (2026-12-01 or 2026-12-01T06:00:00Z)") from None
    else:
        raise ValueError(f"expected an ISO-8601 date or date-time string, got {type(value).__name__} {value!r}")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def parse_run_conf(conf: dict[str, Any] | None, where: str) -> RunConf:
    """``conf`` as a :class:`RunConf`; a bad value raises :class:`RunConfError` (``FixRequired``)
    naming the field, e.g. ``run conf window.start: ...``."""
    try:
        return RunConf.model_validate(conf or {})
    except ValidationError as exc:
        problems = "; ".join(_problem(error) for error in exc.errors())
        raise RunConfError(f"{where}: run conf {problems}") from None


def _problem(error: Any) -> str:
    # The window's shape tag (window.span.start) is no field the user wrote: left out.
    field = ".".join(str(part) for part in error["loc"] if part not in ("span", "instant"))
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{field}: {message}"


_WINDOW = TypeAdapter(WindowValue)


def parse_window(value: Any, where: str) -> WindowSpan | dt.datetime:
    """One window value outside a run conf (an asset event's ``extra["window"]``); ``where`` names it."""
    try:
        return _WINDOW.validate_python(value if isinstance(value, dict) else instant(value))
    except (ValidationError, ValueError) as exc:
        problems = "; ".join(_problem(e) for e in exc.errors()) if isinstance(exc, ValidationError) else str(exc)
        raise RunConfError(f"{where}: {problems}") from None
