"""Removing the Kafka topics an onboarding test created (shared by the event and CLI tests)."""

from __future__ import annotations

from collections.abc import Callable, Iterable


def topic_dropper(admin, topics: Iterable[str]) -> Callable[[], None]:
    """A cleanup that deletes those of ``topics`` that exist on ``admin``'s cluster."""
    names = list(topics)

    def drop() -> None:
        existing = set(admin.list_topics(timeout=10).topics)
        mine = [t for t in names if t in existing]
        for future in (admin.delete_topics(mine).values() if mine else []):
            future.result(timeout=30)

    return drop
