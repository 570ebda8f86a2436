"""Files: CSV, JSON (JSON Lines or one array) and Parquet, local or through any fsspec URL.

The source ``connection`` is the base location (``{"uri": "file:///data/shop"}`` or an fsspec
URL such as ``s3://bucket/prefix`` once its fsspec package is installed: not part of Chimera); an object's ``path`` is a glob below it, and every file
it matches must really lie below it and the team's ``file_roots`` (:mod:`.paths`: links are
followed before anything is read). ``incremental`` mode reads only files no earlier snapshot recorded.

Records that do not fit the declared schema (a CSV row with too few or too many fields, a value
not of its column's type, a null in a non-nullable column, a JSON line that is not an object)
go to quarantine with the reason and their position ``<file>#<n>``, the n-th record of the file
(CSV rows after the header, JSON lines that are not blank, elements of a JSON array, Parquet
rows); the file's other records are written. Files are read in bulk by Arrow; only a file in
which that fails is read again as text to find the records at fault (:mod:`.records`). A file
that cannot be read at all (a corrupt Parquet file, a missing column) stops the run naming it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import fsspec
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from airflow_provider_chimera.contract.arrow import arrow_schema
from airflow_provider_chimera.contract.model import FullMode, IncrementalMode, SourceObject
from airflow_provider_chimera.errors import FixRequired
from airflow_provider_chimera.sources.base import CheckWarning, Extract, Position, Rejected, SourceReader
from airflow_provider_chimera.sources.jsonarray import JsonArrayError, array_items
from airflow_provider_chimera.sources.paths import Confinement, checked_pattern
from airflow_provider_chimera.sources.records import READ_ERRORS, JsonRecords, conform, row_json
from airflow_provider_chimera.sources.window import Window


class FileReadError(FixRequired, ValueError):
    """A file that cannot be read as its object's format and schema; names the file."""


class FileReader(SourceReader):
    """Reads file sets of one base location."""

    source_type = "file"

    def base_url(self) -> str:
        connection = self.source.connection
        if connection.uri is not None:
            return self.resolved_uri()
        from airflow_provider_chimera.hooks.file import FileConnectionHook

        return FileConnectionHook(connection.conn_id).base_url()

    def confinement(self) -> Confinement:
        """The base location, checked, and what below it may be read (:mod:`.paths`): the team's
        ``file_roots`` bound a base the intent names, not a platform-owned connection's."""
        fs, base = fsspec.core.url_to_fs(self.base_url())
        roots = self.grant.file_roots if self.source.connection.uri is not None else None
        return Confinement(fs, base, roots, f"source {self.source.name!r}")

    def _filesystem(self, pattern: str) -> tuple[Confinement, str]:
        """The confinement of the base and ``pattern`` (relative to the base, checked) as a path of its filesystem."""
        confinement = self.confinement()
        if pattern:
            checked_pattern(pattern, f"source {self.source.name!r}")
        _, path = fsspec.core.url_to_fs(f"{self.base_url().rstrip('/')}/{pattern}")
        return confinement, path

    def list_files(self, obj: SourceObject) -> tuple[Confinement, list[str]]:
        """The files ``obj``'s path matches, each checked to lie below the base and the team's roots."""
        assert obj.path is not None
        confinement, pattern = self._filesystem(obj.path)
        files = sorted(confinement.fs.glob(pattern))
        for name in files:
            confinement.check(name)
        return confinement, files

    def pending_files(self, obj: SourceObject, since: Position | None) -> tuple[Confinement, list[str], list[str]]:
        """``(confinement, files to read, files read once they are)``: in ``incremental`` mode only
        files no snapshot recorded, every matching file otherwise."""
        confinement, files = self.list_files(obj)
        if not files and obj.ingestion is not None and isinstance(obj.ingestion.mode, FullMode):
            # A full reload of nothing would replace the table with an empty one.
            raise FileReadError(f"{obj.name}: path {obj.path!r} matches no file")
        if not (obj.ingestion is not None and isinstance(obj.ingestion.mode, IncrementalMode)):
            return confinement, files, files
        seen = set(since.files) if since else set()
        todo = [f for f in files if f not in seen]
        return confinement, todo, sorted(seen | set(todo))

    def extract(
        self, obj: SourceObject, since: Position | None, window: Window | None = None, limit: int | None = None
    ) -> FileExtract:
        """``limit`` is ignored: every record past ``since`` is read (``stream`` mode reads Kafka only)."""
        confinement, todo, done = self.pending_files(obj, since)
        return FileExtract(confinement, obj, todo, done, self.batch_rows, window)

    def adopted_position(self, obj: SourceObject, value: object) -> Position:
        """A glob, or a list of globs, written like an object's ``path``: the files they match
        count as already ingested. A glob that matches no file is an error."""
        patterns = [value] if isinstance(value, str) else value
        if not isinstance(patterns, list) or not patterns or not all(isinstance(p, str) and p for p in patterns):
            raise ValueError(f"adopt_from: expected a glob or a list of globs of files already ingested, got {value!r}")
        files: set[str] = set()
        for pattern in patterns:
            confinement, path = self._filesystem(pattern)
            matched = confinement.fs.glob(path)
            if not matched:
                raise ValueError(f"adopt_from: {pattern!r} matches no file")
            files.update(matched)
        return Position(files=sorted(files))

    def probe(self) -> str:
        confinement, path = self._filesystem("")
        confinement.fs.ls(path)
        return "the base location is readable"

    def check_object(self, obj: SourceObject) -> list[str]:
        """The path must match a file; for CSV and Parquet, the first file's header must hold the
        object's columns (all declared fields when it names none). JSON records may leave fields
        out, so their fields are not looked for.

        No file yet (an empty or missing landing folder) is only a :class:`CheckWarning` when the
        object declares its schema: files arrive later and its runs read them then (decision 0055).
        """
        confinement, files = self.list_files(obj)
        if not files and obj.schema_ is not None:
            full = obj.ingestion is not None and isinstance(obj.ingestion.mode, FullMode)
            return [CheckWarning(
                f"path {obj.path!r} matches no file yet; its schema is declared, so onboarding goes on and "
                + ("its runs fail until a file arrives (a full reload of nothing would empty the table)" if full
                   else "its runs load the files as they arrive")
            )]
        if not files:
            return [f"path {obj.path!r} matches no file"]
        if obj.format not in ("csv", "parquet"):
            return []
        wanted = obj.columns or ([f.name for f in obj.schema_.fields] if obj.schema_ else [])
        try:
            with confinement.open(files[0]) as handle:
                if obj.format == "parquet":
                    header = pq.ParquetFile(handle).schema_arrow.names
                else:
                    header = pacsv.open_csv(handle, read_options=pacsv.ReadOptions(block_size=1 << 20)).schema.names
        except pa.ArrowException as exc:
            return [f"{files[0]}: cannot read as {obj.format}: {exc}"]
        missing = [c for c in wanted if c not in header]
        return [f"columns {missing} are not in {files[0]}"] if missing else []

    def list_objects(self) -> list[str]:
        """The entries of the base location."""
        confinement, path = self._filesystem("")
        return sorted(name.rsplit("/", 1)[-1] for name in confinement.fs.ls(path, detail=False))


class FileExtract(Extract):
    def __init__(
        self,
        confinement: Confinement,
        obj: SourceObject,
        files: list[str],
        done: list[str],
        batch_rows: int,
        window: Window | None = None,
    ):
        assert obj.schema_ is not None and obj.format is not None
        self.confinement = confinement
        self.obj = obj
        self.files = files
        self._done = done
        self.batch_rows = batch_rows
        self.schema = arrow_schema(obj.schema_, obj.columns)
        self.window = window
        self.rejected: list[Rejected] = []
        self._labels = {f.name: f.type for f in obj.schema_.fields}
        if window is not None:
            if window.column not in self.schema.names:
                raise LookupError(f"{obj.name}: partition column {window.column!r} is not among the columns read")
            window.bounds(self.schema.field(window.column).type)  # a date or timestamp column, or raise

    def position(self) -> Position:
        return Position(files=self._done)

    def batches(self) -> Iterator[pa.RecordBatch]:
        for name in self.files:
            try:
                for batch in self._read(name):
                    if self.window is not None:
                        # Files have no server to evaluate the window: rows outside it are dropped here.
                        batch = self.window.filter(batch)
                    if batch.num_rows:
                        yield batch
            except (pa.ArrowInvalid, pa.ArrowTypeError, json.JSONDecodeError, KeyError) as exc:
                raise FileReadError(f"{name}: cannot read as {self.obj.format} with the declared schema: {exc}") from exc

    def _read(self, name: str) -> Iterator[pa.RecordBatch]:
        """The file's records that fit, in batches of the object's schema; the others rejected."""
        fmt = self.obj.format
        with self.confinement.open(name) as handle:
            if fmt == "parquet":
                first = 0
                for batch in pq.ParquetFile(handle).iter_batches(batch_size=self.batch_rows, columns=self.schema.names):
                    yield from self._fit(batch, name, first)
                    first += batch.num_rows
            elif fmt == "csv":
                yield from self._read_csv(handle, name)
            elif fmt == "json":
                yield from self._read_json(handle, name)
            else:  # the contract admits no other format
                raise FileReadError(f"{name}: unknown format {fmt!r}")

    def _fit(self, data: pa.RecordBatch | pa.Table, name: str, first: int) -> Iterator[pa.RecordBatch]:
        """``data`` (records ``first + 1`` on of file ``name``) cast to the schema; rows that do not fit rejected."""
        table, reasons = conform(data, self.schema, self._labels)
        for row, reason in reasons.items():
            self.rejected.append(Rejected(reason=reason, position=f"{name}#{first + row + 1}", raw=row_json(data, row)))
        yield from table.to_batches()

    def _fit_records(self, records: JsonRecords, payloads: list[bytes], name: str, first: int) -> Iterator[pa.RecordBatch]:
        table, reasons = records.read(payloads)
        for row, reason in reasons.items():
            raw = payloads[row].decode("utf-8", errors="replace")
            self.rejected.append(Rejected(reason=reason, position=f"{name}#{first + row + 1}", raw=raw))
        yield from table.to_batches()

    def _read_csv(self, handle, name: str) -> Iterator[pa.RecordBatch]:
        assert self.obj.schema_ is not None
        invalid: list[Rejected] = []

        def skip(row) -> str:  # a row with too few or too many fields
            where = name if row.number is None else f"{name}:line {row.number}"
            reason = f"{row.actual_columns} fields where the header has {row.expected_columns}"
            invalid.append(Rejected(reason=reason, position=where, raw=row.text))
            return "skip"

        read = pacsv.ReadOptions(block_size=1 << 22)
        parse = pacsv.ParseOptions(invalid_row_handler=skip)
        typed = pacsv.ConvertOptions(
            column_types=arrow_schema(self.obj.schema_), include_columns=self.schema.names, strings_can_be_null=True
        )
        consumed = 0
        try:
            reader = pacsv.open_csv(handle, read_options=read, parse_options=parse, convert_options=typed)
            for batch in _rechunk(reader, self.batch_rows):
                yield from self._fit(batch, name, consumed)
                consumed += batch.num_rows
        except READ_ERRORS:
            # A value not of its column's type: the file is read again as text, from the first
            # record not yet passed on, and each column cast, so that the rows at fault stand out.
            invalid.clear()
            handle.seek(0)
            text = pacsv.ConvertOptions(
                column_types={c: pa.string() for c in self.schema.names}, include_columns=self.schema.names, strings_can_be_null=True
            )
            seen = 0
            for batch in _rechunk(pacsv.open_csv(handle, read_options=read, parse_options=parse, convert_options=text), self.batch_rows):
                if seen + batch.num_rows <= consumed:
                    seen += batch.num_rows
                    continue
                if seen < consumed:
                    batch, seen = batch.slice(consumed - seen), consumed
                yield from self._fit(batch, name, seen)
                seen += batch.num_rows
        self.rejected.extend(invalid)

    def _read_json(self, handle, name: str) -> Iterator[pa.RecordBatch]:
        assert self.obj.schema_ is not None
        records = JsonRecords(self.obj.schema_, self.obj.columns)
        head = handle.read(4096).lstrip()
        handle.seek(0)
        if head.startswith(b"["):
            # One JSON array: streamed element by element (.jsonarray), each read like a JSON line,
            # so a large array costs one batch of memory. Where the array breaks, the elements
            # before are kept and the break is quarantined with its position.
            payloads: list[bytes] = []
            first = 0
            try:
                for payload in array_items(handle):
                    payloads.append(payload)
                    if len(payloads) == self.batch_rows:
                        yield from self._fit_records(records, payloads, name, first)
                        first, payloads = first + len(payloads), []
            except JsonArrayError as exc:
                self.rejected.append(Rejected(reason=exc.reason, position=f"{name}#{exc.index + 1}"))
            if payloads:
                yield from self._fit_records(records, payloads, name, first)
            return
        rows, skip = records.rows, 0
        if not rows.json_fields:
            # Arrow's streaming reader first; ``json`` fields holding objects take the path below.
            try:
                reader = pajson.open_json(handle, read_options=pajson.ReadOptions(block_size=1 << 22), parse_options=rows.options())
                for batch in _rechunk(reader, self.batch_rows):
                    data = rows.finish(pa.Table.from_batches([batch])) if rows.read_schema != rows.schema else batch
                    yield from self._fit(data, name, skip)
                    skip += batch.num_rows
                return
            except READ_ERRORS:
                pass  # a record at fault: the rest is read record by record below
        number = 0
        # A handle of its own: Arrow's reader may still be reading ahead on ``handle`` after its
        # error, moving the position under a seek(0), and the file's last records were then lost.
        with self.confinement.open(name) as fresh:
            for block in _line_blocks(fresh, 1 << 22):
                lines = [line for line in block.split(b"\n") if line.strip()]
                if skip:
                    passed = min(skip, len(lines))
                    lines, skip, number = lines[passed:], skip - passed, number + passed
                for start in range(0, len(lines), self.batch_rows):
                    part = lines[start : start + self.batch_rows]
                    yield from self._fit_records(records, part, name, number)
                    number += len(part)


def _line_blocks(handle, size: int) -> Iterator[bytes]:
    """Whole lines, about ``size`` bytes at a time."""
    rest = b""
    while block := handle.read(size):
        block = rest + block
        cut = block.rfind(b"\n")
        if cut < 0:
            rest = block
            continue
        yield block[:cut]
        rest = block[cut + 1 :]
    if rest.strip():
        yield rest


def _rechunk(reader, batch_rows: int) -> Iterator[pa.RecordBatch]:
    for batch in reader:
        for start in range(0, batch.num_rows, batch_rows):
            yield batch.slice(start, batch_rows)
