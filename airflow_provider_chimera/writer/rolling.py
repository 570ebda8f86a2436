"""Data files of an unpartitioned table written as the batches arrive, one row group at a time.

pyiceberg writes a data file from a whole Arrow table: a write that gathers a file's worth of
batches first (``target_file_size_mb``) reads, then stops reading while it encodes the file, and
after the source's last batch still has a whole file to encode. :func:`rolling_data_files` keeps
one Parquet file open instead and encodes a row group each time ``group_bytes`` of Arrow data
have arrived (Parquet's encoding and compression release the GIL, so the source's reader keeps
reading meanwhile); a file is closed, and a new one opened, once it holds ``file_bytes``. After
the last batch only the last row group is left to encode.

The files are what pyiceberg's own ``write_file`` makes: the same file schema (sanitised names,
field ids), the same writer and properties (compression, row-group limit), the same statistics
and file names. Partitioned tables are written with pyiceberg's (``writer.iceberg``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pyarrow as pa
from pyiceberg.io import FileIO
from pyiceberg.io.fileformat import FileFormatFactory
from pyiceberg.io.pyarrow import _to_requested_schema, pyarrow_to_schema
from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
from pyiceberg.schema import sanitize_column_names
from pyiceberg.table import DOWNCAST_NS_TIMESTAMP_TO_US_ON_WRITE, TableProperties
from pyiceberg.table.locations import load_location_provider
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.typedef import Record
from pyiceberg.utils.config import Config

GROUP_BYTES = 16 << 20  # Arrow bytes per row group: what is left to encode after the last batch


def rolling_data_files(
    batches: Iterator[pa.RecordBatch],
    schema: pa.Schema,
    table_metadata: TableMetadata,
    io: FileIO,
    file_bytes: int,
    opening: Callable[[str], None] = lambda path: None,
    group_bytes: int | None = None,
) -> Iterator[DataFile]:
    """The data files holding ``batches`` (of Arrow ``schema``), each yielded once closed.

    ``opening(path)`` is called before a file is created, so that a failed attempt can delete a
    file it was still writing (``writer.attempt``). ``group_bytes``: :data:`GROUP_BYTES` unless told."""
    group_bytes = group_bytes or GROUP_BYTES
    file_format = FileFormat(table_metadata.properties.get(TableProperties.WRITE_FILE_FORMAT, TableProperties.WRITE_FILE_FORMAT_DEFAULT))
    model = FileFormatFactory.get(file_format)
    locations = load_location_provider(table_location=table_metadata.location, table_properties=table_metadata.properties)
    table_schema = table_metadata.schema()
    file_schema = sanitize_column_names(table_schema)
    downcast = Config().get_bool(DOWNCAST_NS_TIMESTAMP_TO_US_ON_WRITE) or False
    task_schema = pyarrow_to_schema(
        schema, name_mapping=table_schema.name_mapping, downcast_ns_timestamp_to_us=downcast,
        format_version=table_metadata.format_version,
    )
    write_uuid = uuid.uuid4()
    count = 0
    writer = None
    path = ""
    output = None
    pending: list[pa.RecordBatch] = []
    pending_bytes = file_size = 0

    def flush() -> None:
        nonlocal pending, pending_bytes, file_size
        assert writer is not None
        writer.write(pa.Table.from_batches(pending))
        file_size += pending_bytes
        pending, pending_bytes = [], 0

    def close() -> DataFile:
        nonlocal writer, file_size
        assert writer is not None and output is not None
        if pending:
            flush()
        statistics = writer.close()
        writer, file_size = None, 0
        return DataFile.from_args(
            content=DataFileContent.DATA, file_path=path, file_format=file_format, partition=Record(),
            file_size_in_bytes=len(output), sort_order_id=None, spec_id=table_metadata.default_spec_id,
            equality_ids=None, key_metadata=None, **statistics.to_serialized_dict(),
        )

    for batch in batches:
        if not batch.num_rows:
            continue
        if writer is None:
            path = locations.new_data_location(data_file_name=f"00000-{count}-{write_uuid}.{model.file_extension()}")
            count += 1
            opening(path)
            output = io.new_output(path)
            writer = model.create_writer(output, file_schema, table_metadata.properties)
        pending.append(_to_requested_schema(
            requested_schema=file_schema, file_schema=task_schema, batch=batch,
            downcast_ns_timestamp_to_us=downcast, include_field_ids=True, format_model=model,
        ))
        pending_bytes += batch.nbytes
        if pending_bytes >= group_bytes:
            flush()
        if file_size + pending_bytes >= file_bytes:
            yield close()
    if writer is not None:
        yield close()
