"""What every source hook provides: an :class:`Extract` of bounded Arrow record batches.

A source hook owns the connection to one source system (through the Airflow provider's hook
where one exists). ``extract`` reads one object, starting after the :class:`Position` the last
committed Iceberg snapshot recorded, and reports the new position once its batches are consumed.
"""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from airflow_provider_chimera.contract.model import Connection, Source, SourceObject


class Position(BaseModel):
    """How far a pipeline has read its source; recorded in each Iceberg snapshot summary."""

    model_config = ConfigDict(extra="forbid")

    cursor: str | None = None
    files: list[str] = Field(default_factory=list)
    offsets: dict[str, int] = Field(default_factory=dict)


class Extract(ABC):
    """One read of one object: a schema, a stream of batches, and the position reached."""

    schema: pa.Schema

    @abstractmethod
    def batches(self) -> Iterator[pa.RecordBatch]:
        """Yield record batches of at most the configured number of rows."""

    @abstractmethod
    def position(self) -> Position:
        """The position after every batch has been consumed."""

    def reader(self) -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_batches(self.schema, self.batches())


class SourceHook(ABC):
    """Base of the per-type source hooks in this package."""

    source_type: str

    def __init__(self, source: Source, batch_rows: int = 65_536):
        self.source = source
        self.batch_rows = batch_rows

    @abstractmethod
    def extract(self, obj: SourceObject, since: Position | None) -> Extract:
        """Read ``obj`` past ``since`` (``None``: from the beginning)."""

    @abstractmethod
    def test_connection(self) -> tuple[bool, str]:
        """Open a real connection; ``(ok, message)`` as Airflow's hooks report it."""


_PLACEHOLDER = re.compile(r"\$\{(secret|env):([A-Za-z0-9_.-]+)\}")


class UnresolvedSecretError(LookupError):
    pass


def resolve_uri(connection: Connection) -> str:
    """The connection URI with ``${env:NAME}`` and ``${secret:NAME}`` placeholders filled in.

    ``env`` reads the process environment; ``secret`` asks Airflow's secrets backends (the
    Variable of that name). The result holds credentials: never log it.
    """
    assert connection.uri is not None

    def fill(match: re.Match[str]) -> str:
        kind, name = match.group(1), match.group(2)
        if kind == "env":
            value = os.environ.get(name)
        else:
            from airflow.sdk import Variable

            value = Variable.get(name, default=None)
        if value is None:
            raise UnresolvedSecretError(f"placeholder ${{{kind}:{name}}} has no value")
        return value

    return _PLACEHOLDER.sub(fill, connection.uri)
