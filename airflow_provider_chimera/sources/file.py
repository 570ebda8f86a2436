"""Files: CSV, JSON (JSON Lines or one array) and Parquet, local or through any fsspec URL.

The source ``connection`` is the base location (``{"uri": "file:///data/shop"}`` or an fsspec
URL such as ``s3://bucket/prefix``); an object's ``path`` is a glob below it (or an absolute
URL). ``incremental`` mode reads only files no earlier snapshot recorded.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import fsspec
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from airflow_provider_chimera.contract.arrow import arrow_schema
from airflow_provider_chimera.contract.model import IncrementalMode, SourceObject
from airflow_provider_chimera.sources.base import Extract, Position, SourceHook, resolve_uri
from airflow_provider_chimera.sources.jsonrows import JsonRows
from airflow_provider_chimera.sources.window import Window


class FileReadError(ValueError):
    """A file that cannot be read as its object's format and schema; names the file."""


class FileSourceHook(SourceHook):
    """Reads file sets of one base location."""

    source_type = "file"
    conn_type = "chimera_file"
    hook_name = "Chimera file set"

    def base_url(self) -> str:
        connection = self.source.connection
        if connection.uri is not None:
            return resolve_uri(connection)
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(connection.conn_id)
        return (conn.extra_dejson.get("path") or conn.host or "").rstrip("/")

    def _filesystem(self, pattern: str) -> tuple[fsspec.AbstractFileSystem, str]:
        base = self.base_url()
        url = pattern if "://" in pattern or pattern.startswith("/") else f"{base.rstrip('/')}/{pattern}"
        fs, path = fsspec.core.url_to_fs(url)
        return fs, path

    def list_files(self, obj: SourceObject) -> tuple[fsspec.AbstractFileSystem, list[str]]:
        assert obj.path is not None
        fs, pattern = self._filesystem(obj.path)
        return fs, sorted(fs.glob(pattern))

    def pending_files(self, obj: SourceObject, since: Position | None) -> tuple[fsspec.AbstractFileSystem, list[str], list[str]]:
        """``(fs, files to read, files read once they are)``: in ``incremental`` mode only files no
        snapshot recorded, every matching file otherwise."""
        fs, files = self.list_files(obj)
        if not (obj.ingestion is not None and isinstance(obj.ingestion.mode, IncrementalMode)):
            return fs, files, files
        seen = set(since.files) if since else set()
        todo = [f for f in files if f not in seen]
        return fs, todo, sorted(seen | set(todo))

    def extract(self, obj: SourceObject, since: Position | None, window: Window | None = None) -> FileExtract:
        fs, todo, done = self.pending_files(obj, since)
        return FileExtract(fs, obj, todo, done, self.batch_rows, window)

    def adopted_position(self, obj: SourceObject, value: object) -> Position:
        """A glob, or a list of globs, written like an object's ``path``: the files they match
        count as already ingested. A glob that matches no file is an error."""
        patterns = [value] if isinstance(value, str) else value
        if not isinstance(patterns, list) or not patterns or not all(isinstance(p, str) and p for p in patterns):
            raise ValueError(f"adopt_from: expected a glob or a list of globs of files already ingested, got {value!r}")
        files: set[str] = set()
        for pattern in patterns:
            fs, path = self._filesystem(pattern)
            matched = fs.glob(path)
            if not matched:
                raise ValueError(f"adopt_from: {pattern!r} matches no file")
            files.update(matched)
        return Position(files=sorted(files))

    def probe(self) -> str:
        fs, path = self._filesystem("")
        fs.ls(path)
        return "the base location is readable"

    def check_object(self, obj: SourceObject) -> list[str]:
        """The path must match a file; for CSV and Parquet, the first file's header must hold the
        object's columns (all declared fields when it names none). JSON records may leave fields
        out, so their fields are not looked for."""
        fs, files = self.list_files(obj)
        if not files:
            return [f"path {obj.path!r} matches no file"]
        if obj.format not in ("csv", "parquet"):
            return []
        wanted = obj.columns or ([f.name for f in obj.schema_.fields] if obj.schema_ else [])
        try:
            with fs.open(files[0], "rb") as handle:
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
        fs, path = self._filesystem("")
        return sorted(name.rsplit("/", 1)[-1] for name in fs.ls(path, detail=False))


class FileExtract(Extract):
    def __init__(
        self,
        fs: fsspec.AbstractFileSystem,
        obj: SourceObject,
        files: list[str],
        done: list[str],
        batch_rows: int,
        window: Window | None = None,
    ):
        assert obj.schema_ is not None and obj.format is not None
        self.fs = fs
        self.obj = obj
        self.files = files
        self._done = done
        self.batch_rows = batch_rows
        self.schema = arrow_schema(obj.schema_, obj.columns)
        self.window = window
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
                    batch = batch.select(self.schema.names).cast(self.schema)
                    if self.window is not None:
                        # Files have no server to evaluate the window: rows outside it are dropped here.
                        batch = self.window.filter(batch)
                    yield batch
            except (pa.ArrowInvalid, pa.ArrowTypeError, json.JSONDecodeError, KeyError) as exc:
                raise FileReadError(f"{name}: cannot read as {self.obj.format} with the declared schema: {exc}") from exc

    def _read(self, name: str) -> Iterator[pa.RecordBatch]:
        fmt = self.obj.format
        assert self.obj.schema_ is not None
        full = arrow_schema(self.obj.schema_)
        with self.fs.open(name, "rb") as handle:
            if fmt == "parquet":
                yield from pq.ParquetFile(handle).iter_batches(batch_size=self.batch_rows, columns=self.schema.names)
            elif fmt == "csv":
                reader = pacsv.open_csv(
                    handle,
                    read_options=pacsv.ReadOptions(block_size=1 << 22),
                    convert_options=pacsv.ConvertOptions(
                        column_types=full, include_columns=self.schema.names, strings_can_be_null=True
                    ),
                )
                yield from _rechunk(reader, self.batch_rows)
            elif fmt == "json":
                yield from self._read_json(handle, name, full)
            else:  # the contract admits no other format
                raise FileReadError(f"{name}: unknown format {fmt!r}")

    def _read_json(self, handle, name: str, full: pa.Schema) -> Iterator[pa.RecordBatch]:
        head = handle.read(4096).lstrip()
        handle.seek(0)
        if head.startswith(b"["):
            # One JSON array: pyarrow streams only JSON Lines, so the array is decoded whole and
            # re-read as lines, giving both JSON forms the same type conversion.
            lines = b"\n".join(json.dumps(row).encode() for row in json.load(handle))
            handle = io.BytesIO(lines)
        rows = JsonRows.of(self.obj.schema_)
        if rows.json_fields:
            # ``json`` fields may hold objects: re-encoded in Python, a block of lines at a time.
            for lines in _line_blocks(handle, 1 << 22):
                yield from _rechunk(rows.read(lines).to_batches(), self.batch_rows)
            return
        reader = pajson.open_json(handle, read_options=pajson.ReadOptions(block_size=1 << 22), parse_options=rows.options())
        for batch in _rechunk(reader, self.batch_rows):
            yield rows.finish(pa.Table.from_batches([batch])).to_batches()[0] if rows.read_schema != rows.schema else batch


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
