"""Pipeline and dataset names, as the contract fixes them."""

from __future__ import annotations

import re

_OUTSIDE = re.compile(r"[^a-z0-9_]")


def normalise(name: str) -> str:
    """Lower-case and replace every character outside ``[a-z0-9_]`` by ``_``."""
    return _OUTSIDE.sub("_", name.lower())


def pipeline_id(intent: str, source: str, obj: str) -> str:
    """``<intent>_<source>_<object>``, normalised: ``sales_crm_crm_public_customers``."""
    return normalise(f"{intent}_{source}_{obj}")
