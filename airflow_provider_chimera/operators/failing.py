"""How Chimera's tasks fail (``errors``): an error that needs the intent, the source or the platform
fixed fails the task at once, saying what to fix; any other error is raised as is, and Airflow
retries the task as ``[chimera] task_retries`` says."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from airflow_provider_chimera.errors import NOT_RETRIED, FixRequired


def fail_now(exc: FixRequired) -> BaseException:
    """The ``AirflowFailException`` that fails a task without retries, naming ``exc``'s fix
    (raise it ``from exc``)."""
    from airflow.sdk.exceptions import AirflowFailException

    return AirflowFailException(f"{exc} ({NOT_RETRIED})")


@contextmanager
def failing_fast() -> Iterator[None]:
    """Around a task's work: :class:`~airflow_provider_chimera.errors.FixRequired` becomes
    :func:`fail_now`'s exception; everything else passes through untouched."""
    try:
        yield
    except FixRequired as exc:
        raise fail_now(exc) from exc
