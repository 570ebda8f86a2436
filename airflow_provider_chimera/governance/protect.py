"""Applying the classification policy to what a pipeline reads, before anything is written.

:func:`protect_extract` wraps a source's extract: every batch, its schema and the records it
rejects leave the wrapper protected, so classified values never reach the table, the quarantine
table, logs or XCom in clear. Columns are protected with Arrow compute (``mask``), DuckDB's
vectorised SHA-256 (``keyed_hash``, HMAC computed over whole columns) or, for ``encrypt``, one
Fernet token per value. Each column's class and method become its Iceberg column doc (Arrow field
metadata ``doc``) and the table property ``chimera.classification``.

A rejected record's ``raw`` value is protected the same way when it is a JSON object (top-level
fields only); a payload that cannot be parsed into fields, of an object with protected columns,
is kept as ``fernet:<token>`` when ``[chimera] encryption_key_secret`` is set, else as
``hmac-sha256:<hex>`` when ``pii_key_secret`` is, else not at all. Classified values found in a
record are also cut out of its reason.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_chimera.errors import FixRequired
from airflow_provider_chimera.pipelines import Pipeline
from airflow_provider_chimera.governance.policy import (
    SENSITIVE,
    Method,
    Policy,
    PolicyError,
    policy_for,
    resolve_key,
)
from airflow_provider_chimera.secrets import MASK, Scrubber
from airflow_provider_chimera.settings import ChimeraSettings
from airflow_provider_chimera.sources.base import Extract, Position, Rejected

PROPERTY = "chimera.classification"
DOC_KEY = b"doc"
_DOCS: dict[str, str] = {
    "keep": "stored as read",
    "keyed_hash": "keyed hash (HMAC-SHA256, hex)",
    "mask": "masked",
    "encrypt": "encrypted (Fernet)",
}
C = TypeVar("C")
# Below this many values, Python's hmac is faster than a round trip through DuckDB (same result).
_SMALL = 256


class ClassificationError(FixRequired, LookupError):
    """A classification that names a column the object does not have; names file and JSON path."""


@dataclass(frozen=True)
class Rule:
    column: str  # as the data names it
    classification: str
    method: Method


# --- column functions (vectorised) --------------------------------------------------------------


def _text(values: pa.Array, column: str) -> pa.Array:
    """The values as UTF-8 text (strings as they are; numbers, dates and times as Arrow writes them),
    or as bytes for binary columns."""
    kind = values.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return values
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind):
        return values.cast(pa.binary())
    if pa.types.is_nested(kind) or pa.types.is_dictionary(kind):
        raise PolicyError(f"column {column!r}: a {kind} column can only be dropped, not hashed, masked or encrypted")
    return pc.cast(values, pa.string())


def _hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    block = hashlib.sha256(key).digest() if len(key) > 64 else key
    block = block.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)


_DUCK = threading.local()


def keyed_hash(values: pa.Array, key: bytes, column: str = "value") -> pa.Array:
    """HMAC-SHA256 of each value's text (or bytes) under ``key``, as 64 lower-case hex characters;
    nulls stay null. Large arrays are hashed by DuckDB without a Python loop."""
    data = _text(values, column)
    if len(data) < _SMALL:
        out = [None if v is None else hmac.digest(key, v if isinstance(v, bytes) else v.encode(), "sha256").hex() for v in data.to_pylist()]
        return pa.array(out, pa.string())
    import duckdb

    con = getattr(_DUCK, "con", None)
    if con is None:
        con = _DUCK.con = duckdb.connect()
    ipad, opad = _hmac_pads(key)
    message = "v" if pa.types.is_binary(data.type) else "encode(v)"
    con.register("chimera_values", pa.table({"v": data}))
    try:
        result = con.sql(
            f"SELECT sha256($opad || unhex(sha256($ipad || {message}))) AS h FROM chimera_values",
            params={"ipad": ipad, "opad": opad},
        ).to_arrow_table()
    finally:
        con.unregister("chimera_values")
    return result.column("h").combine_chunks().cast(pa.string())


def mask(values: pa.Array, keep_last: int, column: str = "value") -> pa.Array:
    """``***`` and the last ``keep_last`` characters, or ``***`` alone for values shorter than
    twice that (and for binary values); nulls stay null."""
    data = _text(values, column)
    hidden = pa.scalar(MASK, pa.string())
    if keep_last == 0 or pa.types.is_binary(data.type):
        return pc.if_else(pc.is_valid(data), hidden, pa.scalar(None, pa.string()))
    data = data.cast(pa.string())
    tail = pc.utf8_slice_codeunits(data, start=-keep_last)
    shown = pc.binary_join_element_wise(hidden, tail, pa.scalar("", pa.string()))
    return pc.if_else(pc.greater_equal(pc.utf8_length(data), 2 * keep_last), shown, hidden).cast(pa.string())


def encrypt(values: pa.Array, fernet, column: str = "value") -> pa.Array:
    """A Fernet token (text) per value; nulls stay null. Fernet tokens are random per value, so
    this is one library call per value."""
    data = _text(values, column)
    out = [None if v is None else fernet.encrypt(v if isinstance(v, bytes) else v.encode()).decode() for v in data.to_pylist()]
    return pa.array(out, pa.string())


# --- the protector ------------------------------------------------------------------------------


class Protector:
    """The rules of one pipeline and the keys they need (resolved once, when first needed)."""

    def __init__(self, rules: list[Rule], policy: Policy, settings: ChimeraSettings):
        self.rules = {rule.column: rule for rule in rules}
        self.policy = policy
        self.settings = settings
        self._pii_key: bytes | None = None
        self._fernet = None
        methods = {rule.method for rule in rules}
        names = sorted(rule.column for rule in rules if rule.method == "keyed_hash")
        if "keyed_hash" in methods:
            self._pii_key = self._key("pii_key_secret", f"keyed_hash of columns {names}").encode()
        if "encrypt" in methods:
            names = sorted(rule.column for rule in rules if rule.method == "encrypt")
            self._fernet = self._make_fernet(f"encrypt of columns {names}")

    def _key(self, setting: str, purpose: str) -> str:
        return resolve_key(setting, getattr(self.settings, setting), purpose)

    def _make_fernet(self, purpose: str):
        from cryptography.fernet import Fernet

        key = self._key("encryption_key_secret", purpose)
        try:
            return Fernet(key.encode())
        except (ValueError, TypeError):
            raise PolicyError(
                "[chimera] encryption_key_secret: the key it names is not a Fernet key "
                "(32 url-safe base64-encoded bytes; make one with Fernet.generate_key())"
            ) from None

    @property
    def protected(self) -> dict[str, Rule]:
        """Rules that change or drop the column (every ``pii`` and ``secret`` one)."""
        return {name: rule for name, rule in self.rules.items() if rule.method != "keep"}

    @property
    def sensitive(self) -> bool:
        return any(rule.classification in SENSITIVE for rule in self.rules.values()) or bool(self.protected)

    # Arrow ---------------------------------------------------------------------------------------

    def schema(self, schema: pa.Schema) -> pa.Schema:
        """``schema`` as the table stores it: protected columns are text, dropped ones are gone,
        and each classified column's doc names its class and method."""
        fields = []
        for field in schema:
            rule = self.rules.get(field.name)
            if rule is None:
                fields.append(field)
            elif rule.method != "drop":
                kind = field.type if rule.method == "keep" else pa.string()
                doc = rule.classification if rule.method == "keep" else f"{rule.classification}: {_DOCS[rule.method]}"
                if rule.method == "mask":
                    doc += f", last {self.policy.mask_keep_last} characters kept"
                metadata = {**(field.metadata or {}), DOC_KEY: doc.encode()}
                fields.append(pa.field(field.name, kind, nullable=field.nullable, metadata=metadata))
        return pa.schema(fields, metadata=schema.metadata)

    def column(self, rule: Rule, values: pa.Array) -> pa.Array:
        if rule.method == "keyed_hash":
            assert self._pii_key is not None
            return keyed_hash(values, self._pii_key, rule.column)
        if rule.method == "mask":
            return mask(values, self.policy.mask_keep_last, rule.column)
        if rule.method == "encrypt":
            return encrypt(values, self._fernet, rule.column)
        return values

    def batch(self, batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
        """``batch`` with each classified column protected (``schema``: :meth:`schema` of its schema)."""
        if not self.protected and batch.schema.equals(schema):
            return batch
        arrays = []
        for name, values in zip(batch.schema.names, batch.columns):
            rule = self.rules.get(name)
            if rule is None or rule.method == "keep":
                kind = schema.field(name).type
                arrays.append(values if values.type == kind else values.cast(kind))
            elif rule.method != "drop":
                arrays.append(self.column(rule, values))
        return pa.RecordBatch.from_arrays(arrays, schema=schema)

    # quarantine ------------------------------------------------------------------------------------

    def rejected(self, record: Rejected) -> Rejected:
        """``record`` with its raw value protected and classified values cut out of its reason."""
        if not self.sensitive:
            return record
        clear: list[str] = []
        raw = record.raw
        if raw is not None:
            parsed = _json_object(raw)
            if parsed is not None:
                raw = json.dumps(self._protect_fields(parsed, clear), ensure_ascii=False, default=str)
            else:
                clear.append(raw)
                raw = self._opaque(raw)
        reason = Scrubber(clear)(record.reason) if clear else record.reason
        return record.model_copy(update={"raw": raw, "reason": reason})

    def _protect_fields(self, record: dict[str, Any], clear: list[str]) -> dict[str, Any]:
        out = dict(record)
        for name, value in record.items():
            rule = self.rules.get(name)
            if rule is None or rule.method == "keep" or value is None:
                continue
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
            clear.extend({text, str(value)})
            if rule.method == "drop":
                del out[name]
            else:
                out[name] = self.column(rule, pa.array([text], pa.string()))[0].as_py()
        return out

    def _opaque(self, raw: str) -> str | None:
        """A payload whose fields cannot be told apart: encrypted, else keyed-hashed, else withheld."""
        fernet = self._fernet or self._optional_fernet()
        if fernet is not None:
            return "fernet:" + fernet.encrypt(raw.encode()).decode()
        key = self._pii_key or self._optional_key("pii_key_secret")
        if key is not None:
            return "hmac-sha256:" + hmac.digest(key, raw.encode(), "sha256").hex()
        return None

    def _optional_key(self, setting: str) -> bytes | None:
        if not getattr(self.settings, setting):
            return None
        return self._key(setting, "protecting quarantined payloads").encode()

    def _optional_fernet(self):
        if not self.settings.encryption_key_secret:
            return None
        self._fernet = self._make_fernet("protecting quarantined payloads")
        return self._fernet


def _json_object(raw: str) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


# --- pipelines ------------------------------------------------------------------------------------


def classification_property(pipeline: Pipeline, settings: ChimeraSettings) -> dict[str, str]:
    """``{"chimera.classification": JSON}`` of column -> class and method (empty: nothing classified)."""
    classification = pipeline.ingestion.classification
    if not classification:
        return {}
    policy = policy_for(pipeline.project, settings)
    value = {column: {"class": cls, "method": policy.method(cls)} for column, cls in sorted(classification.items())}
    return {PROPERTY: json.dumps(value, separators=(",", ":"))}


def as_stored(pipeline: Pipeline, columns: list[C], settings: ChimeraSettings | None = None) -> list[C]:
    """``columns`` (dataclasses with ``name`` and ``type``, a DuckDB type name or ``None``) as the
    target stores them under the pipeline's classification: dropped columns left out, keyed-hashed,
    masked and encrypted ones as text (``varchar``)."""
    classification = pipeline.ingestion.classification
    if not classification:
        return columns
    from airflow_provider_chimera.settings import load_settings

    policy = policy_for(pipeline.project, settings or load_settings())
    methods = {name.lower(): policy.method(cls) for name, cls in classification.items()}
    out = []
    for column in columns:
        method = methods.get(column.name.lower(), "keep")
        if method == "keep":
            out.append(column)
        elif method != "drop":
            out.append(dataclasses.replace(column, type="varchar" if column.type else None))
    return out


def column_rules(pipeline: Pipeline, names: list[str], policy: Policy) -> list[Rule]:
    """One rule per classified column, matched to ``names`` (exactly, else ignoring case).

    A column the object does not have is an error naming the intent file and the JSON path of
    its classification; a classification inherited from the source's ``defaults`` applies to the
    objects that have the column and is ignored by the others.
    """
    classification = pipeline.ingestion.classification
    inherited = _inherited(pipeline)
    lowered: dict[str, list[str]] = {}
    for name in names:
        lowered.setdefault(name.lower(), []).append(name)
    rules = []
    for column, cls in classification.items():
        actual = column if column in names else (lowered.get(column.lower()) or [None, None])
        if isinstance(actual, list):
            actual = actual[0] if len(actual) == 1 else None
        if actual is None:
            if inherited:
                continue
            raise ClassificationError(
                f"{pipeline.intent_file}: {_object_path(pipeline)}/ingestion/classification/{column}: "
                f"column {column!r} is classified {cls!r}, but {pipeline.object.name!r} has no such column "
                f"(its columns: {names})"
            )
        rules.append(Rule(actual, cls, policy.method(cls)))
    return rules


def _inherited(pipeline: Pipeline) -> bool:
    defaults = pipeline.source.defaults
    return defaults is not None and defaults.classification is not None and defaults.classification == pipeline.ingestion.classification


def _object_path(pipeline: Pipeline) -> str:
    """The JSON path of the pipeline's object in its intent file (source by name if the file is not at hand)."""
    objects = pipeline.source.objects if isinstance(pipeline.source.objects, list) else []
    j = next((i for i, obj in enumerate(objects) if obj.name == pipeline.object.name), None)
    try:
        from pathlib import Path

        from airflow_provider_chimera.contract.load import load_intent

        sources = load_intent(Path(pipeline.intent_file)).intent.sources
        i = next(i for i, source in enumerate(sources) if source.name == pipeline.source.name)
        return f"/sources/{i}/objects/{j}"
    except Exception:  # the file moved or is not a file (tests, onboarded copies): name the source
        return f"/sources/(name={pipeline.source.name})/objects/{j}"


class ProtectedExtract(Extract):
    """A source's extract whose batches, schema and rejected records are protected.

    Counts the rows it passes on (``rows_read``), for the quarantine threshold.
    """

    def __init__(self, inner: Extract, protector: Protector):
        self.inner = inner
        self.protector = protector
        self.schema = protector.schema(inner.schema)
        self.rows_read = 0
        self._rejected: list[Rejected] = []
        self._seen = 0

    def batches(self) -> Iterator[pa.RecordBatch]:
        for batch in self.inner.batches():
            self.rows_read += batch.num_rows
            yield self.protector.batch(batch, self.schema)

    def position(self) -> Position:
        return self.inner.position()

    @property
    def rejected(self) -> list[Rejected]:
        """The source's rejected records, protected (each once, however often this is read)."""
        source = self.inner.rejected or []
        for record in source[self._seen :]:
            self._rejected.append(self.protector.rejected(record))
        self._seen = len(source)
        return list(self._rejected)

    def spool_rejected(self, spool: Any) -> None:
        """From now on send each record the source rejects, protected, to ``spool`` (anything
        with ``add``, e.g. :class:`~airflow_provider_chimera.writer.quarantine.QuarantineSpool`)
        at once, instead of keeping it: memory stays bounded however many records are rejected."""
        kept = self.inner.rejected
        if kept is None:
            return  # a source that rejects nothing
        self.inner.rejected = _Forwarding(lambda record: spool.add(self.protector.rejected(record)))
        self.inner.rejected.extend(kept[self._seen :])
        self._seen = 0

    def __getattr__(self, name: str) -> Any:  # anything else the source offers (e.g. tombstones)
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)


class _Forwarding(list):
    """Stands in for a source's list of rejected records: each record goes on to ``send`` at once
    and the list stays empty."""

    def __init__(self, send):
        super().__init__()
        self._send = send

    def append(self, record) -> None:
        self._send(record)

    def extend(self, records) -> None:
        for record in records:
            self._send(record)

    def __iadd__(self, records):
        self.extend(records)
        return self


def protect_extract(extract: Extract, pipeline: Pipeline, settings: ChimeraSettings) -> ProtectedExtract:
    """``extract`` protected by the pipeline's classification and its project's policy."""
    policy = policy_for(pipeline.project, settings)
    return ProtectedExtract(extract, Protector(column_rules(pipeline, extract.schema.names, policy), policy, settings))
