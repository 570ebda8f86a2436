"""Showing rows of a target table to a person: classified columns never in clear.

How a classified column is stored comes from the table property ``chimera.classification``
(written when the table is created). Columns stored keyed-hashed or masked are shown as stored;
encrypted ones as ``***`` (never decrypted); a ``pii`` or ``secret`` column whose protection the
table does not record (classified after the table was created, or kept by an older policy) is
masked on output: ``pii`` with the project's ``mask``, ``secret`` as ``***``.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_chimera.governance.policy import SENSITIVE, Policy
from airflow_provider_chimera.governance.protect import PROPERTY, mask
from airflow_provider_chimera.secrets import MASK


def stored_classification(properties: dict[str, str]) -> dict[str, dict[str, str]]:
    """The table property ``chimera.classification`` (column -> ``{"class", "method"}``), or nothing."""
    try:
        value = json.loads(properties.get(PROPERTY, "{}"))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def for_display(table: pa.Table, classification: dict[str, str], properties: dict[str, str], policy: Policy) -> pa.Table:
    """``table`` with every ``pii``/``secret`` column as it may be shown (see the module's rules)."""
    stored = stored_classification(properties)
    lowered = {name.lower(): cls for name, cls in classification.items()}
    columns = []
    for name, values in zip(table.column_names, table.columns):
        record = stored.get(name) or {}
        classes = {lowered.get(name.lower()), record.get("class")}
        if not classes & set(SENSITIVE):
            columns.append(values)
            continue
        method = record.get("method")
        if method in ("keyed_hash", "mask"):
            columns.append(values)  # stored protected
        elif "secret" in classes or method == "encrypt":
            columns.append(pc.if_else(pc.is_valid(values), pa.scalar(MASK, pa.string()), pa.scalar(None, pa.string())))
        else:
            columns.append(mask(values.combine_chunks(), policy.mask_keep_last, name))
    return pa.Table.from_arrays(columns, names=table.column_names)
