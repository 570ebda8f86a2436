"""pyiceberg's ``Transaction.table_metadata``, computed once per transaction state instead of on every read.

In pyiceberg 0.12 the property replays every staged update onto the table's metadata and ends in
``model_copy(deep=True)``: each read deep-copies the whole metadata, snapshot list, refs and logs
included. A commit reads it about fifty times (the snapshot producer's ``schema()``, ``spec()``,
its summary, the delete's evaluators), so a small run's commit spent ~0.1 s copying, and more as the
table's history grows (docs/decisions/0076; ``bench/runcost/profile_task.py`` shows it as
``copy.deepcopy`` under ``update_table_metadata``).

The cache is the one proposed upstream (apache/iceberg-python#3302, #3784), not a change of
meaning: it is keyed on the identity of the two inputs, the table's metadata object and the
tuple of staged updates. Both are replaced, never mutated, when a transaction stages an update
or a table is refreshed, so a new state misses the cache by itself. The one visible difference:
``last_updated_ms`` of repeated reads of one state is the same instead of re-stamped with "now";
the timestamp written at commit is unchanged.

Installed when ``airflow_provider_chimera.writer`` is imported; a pyiceberg whose property is
not the one this was written against (a release that fixed it) is left alone.
"""

from __future__ import annotations

from pyiceberg.table import Transaction
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.update import update_table_metadata

_ORIGINAL = Transaction.__dict__.get("table_metadata")


def _cached_table_metadata(self: Transaction) -> TableMetadata:
    base, updates = self._table.metadata, self._updates  # noqa: SLF001 (the property's own inputs)
    cached = self.__dict__.get("_chimera_metadata")
    if cached is not None and cached[0] is base and cached[1] is updates:
        return cached[2]
    metadata = update_table_metadata(base, updates)
    self.__dict__["_chimera_metadata"] = (base, updates, metadata)
    return metadata


def install() -> bool:
    """Put the cached property on ``Transaction``; False when pyiceberg's own is not the one it replaces."""
    current = Transaction.__dict__.get("table_metadata")
    if current is not None and getattr(current, "fget", None) is _cached_table_metadata:
        return True
    if not isinstance(_ORIGINAL, property) or current is not _ORIGINAL or _ORIGINAL.fget is None:
        return False
    if _ORIGINAL.fget.__code__.co_names[:1] != ("update_table_metadata",):  # the 0.12 body: one call, no cache
        return False
    Transaction.table_metadata = property(_cached_table_metadata, doc=_ORIGINAL.__doc__)  # type: ignore[assignment]
    return True


INSTALLED = install()
