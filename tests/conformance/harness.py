"""What a source type provides to the conformance suite: a :class:`SourceHarness`.

The suite (``test_conformance.py``) runs the same checks, :data:`CHECKS`, against every harness
found in :mod:`tests.conformance.harnesses`: one module per source type (or per variant of one,
such as the file source's CSV and JSON), each defining one or more :class:`SourceHarness`
subclasses. A harness knows how to put data into its real service; the suite knows what a source
must then do. ``docs/sources/conformance.md`` says how to write one.

Rows are numbered: row ``n`` (from 1) holds ``n`` in the harness's :attr:`~SourceHarness.key`
column (or says it otherwise, :meth:`~SourceHarness.row_number`), and rows with a larger number come after the cursor of those with a smaller one.
"""

from __future__ import annotations

import importlib
import pkgutil
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import pytest

from tests.helpers import single_object_source

# Every check the suite runs, by the name a harness uses to declare it not applicable.
CHECKS: dict[str, str] = {
    "type_mapping": "the representative types land with the expected Iceberg types and values",
    "full_reload": "a second `full` run replaces the table, never duplicates it",
    "incremental": "an `incremental` run reads only what is past the position (cursor, offsets, files)",
    "unchanged_rerun": "an `incremental` run over an unchanged source commits nothing (no new snapshot)",
    "missing_object": "a missing object is named by `check_object` and by the run's error",
    "quarantine": "a bad record goes to `<table>__quarantine` with a reason, the good ones are committed",
    "bounded_batches": "no batch of an extract holds more than `batch_rows` rows",
    "connection_test": "`test_connection()` is ok on the service; unreachable, it says why without the secret",
}

# The Iceberg table every check writes to: ``qa.conformance`` of the test's own warehouse.
TABLE = "conformance"


class SourceHarness(ABC):
    """One source type (or variant) as the conformance suite drives it, against its real service.

    Built once per test with pytest's ``request``; :meth:`prepare` is called first. Everything it
    creates must be removed after the test (register undo callables with the ``cleanups`` fixture).
    """

    #: The intent's source ``type``.
    source_type: ClassVar[str]
    #: The harness's name in test ids (``file-csv``); the source type by default.
    name: ClassVar[str] = ""
    #: The column holding each row's number ``n``.
    key: ClassVar[str] = "id"
    #: The ``mode`` block of an ``incremental`` run (files and Kafka need no cursor).
    incremental_mode: ClassVar[dict[str, Any]] = {"type": "incremental", "cursor": "updated_at"}
    #: Checks (names of :data:`CHECKS`) that cannot apply to this source, each with the reason.
    #: The suite reports them as skipped with that reason; never use this for a service that is down.
    not_applicable: ClassVar[dict[str, str]] = {}

    def __init__(self, request: pytest.FixtureRequest):
        self.request = request

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        unknown = set(cls.__dict__.get("not_applicable", {})) - set(CHECKS)
        if unknown:
            raise TypeError(f"{cls.__name__}.not_applicable names checks that do not exist: {sorted(unknown)}")

    @classmethod
    def test_id(cls) -> str:
        return cls.name or cls.source_type

    def fixture(self, name: str) -> Any:
        """A pytest fixture's value (``cleanups``, ``services``, ``pg_schema``, ``tmp_path``...)."""
        return self.request.getfixturevalue(name)

    # --- what each source provides ---------------------------------------------------------

    @abstractmethod
    def prepare(self) -> None:
        """Check the service answers (failing, never skipping: ``tests.conftest.require_service``)
        and make a clean, empty place to work in; the object itself does not exist yet."""

    @abstractmethod
    def connection(self) -> dict[str, Any]:
        """The intent's ``connection`` block reaching the service."""

    @property
    @abstractmethod
    def object_name(self) -> str:
        """The ``name`` of the object the harness creates (table, topic, collection...)."""

    def object_fields(self) -> dict[str, Any]:
        """Other fields of the intent's object (``path``, ``format``, ``schema``...)."""
        return {}

    @abstractmethod
    def create_object(self, rows: int) -> None:
        """Create the object holding rows ``1..rows`` of the representative types."""

    @abstractmethod
    def append_rows(self, first: int, last: int) -> None:
        """Add rows ``first..last`` past the position an earlier run reached (a new file for files)."""

    def add_bad_record(self) -> str:
        """Add one record that cannot be ingested; returns a part of the quarantine reason expected.
        Declare ``quarantine`` not applicable instead when the source cannot hold one."""
        raise NotImplementedError(f"{type(self).__name__} cannot add a bad record")

    @abstractmethod
    def expected_types(self) -> dict[str, str]:
        """The Iceberg type of every column of the target, as pyiceberg prints it (``decimal(12, 2)``)."""

    @abstractmethod
    def expected_row(self, n: int) -> dict[str, Any]:
        """Row ``n`` as read back from the Iceberg table (``table.to_pylist()``)."""

    def row_number(self, row: dict[str, Any]) -> int:
        """The number ``n`` of a row read back from the Iceberg table: its :attr:`key` column, by default."""
        return int(row[self.key])

    def missing_object_source(self) -> tuple[dict[str, Any], str]:
        """The source block of an object that does not exist at the source, and the name both
        ``check_object`` and the run's error must show (the object's name unless the source
        addresses objects otherwise, as files do by ``path``)."""
        return self.source({"type": "full"}, object_name="chimera_missing"), "chimera_missing"

    @abstractmethod
    def unreachable_connection(self) -> tuple[dict[str, Any], str]:
        """A ``connection`` block that cannot connect (a wrong password, or a host or port nothing
        answers on), and the secret it holds, which no message may show."""

    # --- built from the above ----------------------------------------------------------------

    def source(self, mode: dict[str, Any], *, object_name: str | None = None, **object_fields: Any) -> dict[str, Any]:
        """The intent's source block: the object (or ``object_name``) in ``mode``, written to ``qa.conformance``."""
        fields = {**self.object_fields(), **object_fields}
        return single_object_source(
            self.source_type, self.connection(), object_name or self.object_name, mode, TABLE, source_name="conf", **fields
        )


def registered_harnesses() -> list[type[SourceHarness]]:
    """Every concrete :class:`SourceHarness` of the modules in :mod:`tests.conformance.harnesses`, by name."""
    from tests.conformance import harnesses

    found: dict[str, type[SourceHarness]] = {}
    for module_info in pkgutil.iter_modules(harnesses.__path__):
        module = importlib.import_module(f"{harnesses.__name__}.{module_info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, SourceHarness) and value.__module__ == module.__name__:
                if not getattr(value, "__abstractmethods__", None):
                    found[value.test_id()] = value
    return [found[name] for name in sorted(found)]


def cases(check: str) -> list[Any]:
    """The pytest parameters of ``check``: one per registered harness, skipped with the harness's
    reason where it declares the check not applicable."""
    assert check in CHECKS, check
    params = []
    for harness in registered_harnesses():
        reason = harness.not_applicable.get(check)
        marks = [pytest.mark.skip(reason=f"not applicable to {harness.test_id()}: {reason}")] if reason else []
        params.append(pytest.param(harness, id=harness.test_id(), marks=marks))
    return params
