"""The onboarding page (filled in below)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pydantic import BaseModel

from airflow_provider_chimera.registry.db import Registry


class Onboarding(BaseModel):
    intents: list = []


def load_onboarding(registry: Registry, readable: Callable[[Iterable[str]], set[str]]) -> Onboarding:
    return Onboarding()
