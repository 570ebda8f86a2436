"""Schema evolution: ``evolve`` adds nullable columns and widens types; ``fail`` names every difference."""

from __future__ import annotations

import decimal

import pyarrow as pa
import pytest
from pyiceberg.types import DecimalType, DoubleType, IntegerType, LongType, StringType

from airflow_provider_chimera.sources.base import Position
from airflow_provider_chimera.writer import CommitInfo, IcebergWriter
from airflow_provider_chimera.writer.iceberg import SchemaMismatchError


def _info():
    return lambda: CommitInfo(pipeline="p1", run_id="r", source="s/o", position=Position())


def _write(writer: IcebergWriter, mode: str = "append", **columns: tuple[pa.DataType, list]):
    schema = pa.schema([pa.field(name, kind) for name, (kind, _) in columns.items()])
    batch = pa.RecordBatch.from_pydict({name: values for name, (_, values) in columns.items()}, schema=schema)
    return writer.write(schema, iter([batch]), mode, _info())


def _types(writer: IcebergWriter) -> dict[str, object]:
    return {f.name: f.field_type for f in writer.load().schema().fields}


def test_evolve_adds_a_nullable_column_and_keeps_the_old_rows(catalog):
    writer = IcebergWriter(catalog, "qa", "t")
    _write(writer, id=(pa.int64(), [1, 2]))
    _write(writer, id=(pa.int64(), [3]), note=(pa.string(), ["new"]))
    table = writer.load()
    assert _types(writer) == {"id": LongType(), "note": StringType()}
    assert table.schema().find_field("note").optional
    assert sorted(table.scan().to_arrow().to_pylist(), key=lambda r: r["id"]) == [
        {"id": 1, "note": None}, {"id": 2, "note": None}, {"id": 3, "note": "new"}
    ]


def test_evolve_adds_a_source_column_declared_not_null_as_nullable(catalog):
    writer = IcebergWriter(catalog, "qa", "t")
    _write(writer, id=(pa.int64(), [1]))
    schema = pa.schema([pa.field("id", pa.int64()), pa.field("code", pa.string(), nullable=False)])
    writer.write(schema, iter([pa.RecordBatch.from_pydict({"id": [2], "code": ["x"]}, schema=schema)]), "append", _info())
    assert writer.load().schema().find_field("code").optional  # the table's older rows have none


def test_evolve_widens_int_to_long_float_to_double_and_decimal_precision(catalog):
    writer = IcebergWriter(catalog, "qa", "t")
    _write(writer, n=(pa.int32(), [1]), x=(pa.float32(), [1.5]), amount=(pa.decimal128(10, 2), [decimal.Decimal("1.25")]))
    big = 2**40
    _write(writer, n=(pa.int64(), [big]), x=(pa.float64(), [0.1]), amount=(pa.decimal128(14, 2), [decimal.Decimal("123456789012.34")]))
    assert _types(writer) == {"n": LongType(), "x": DoubleType(), "amount": DecimalType(14, 2)}
    rows = sorted(writer.load().scan().to_arrow().to_pylist(), key=lambda r: r["n"])
    assert [r["n"] for r in rows] == [1, big]
    assert [r["x"] for r in rows] == [1.5, 0.1]
    assert [r["amount"] for r in rows] == [decimal.Decimal("1.25"), decimal.Decimal("123456789012.34")]


def test_a_narrower_source_type_is_written_into_the_wider_column(catalog):
    writer = IcebergWriter(catalog, "qa", "t")
    _write(writer, n=(pa.int64(), [2**40]))
    _write(writer, n=(pa.int32(), [7]))
    assert _types(writer) == {"n": LongType()}
    assert sorted(writer.load().scan().to_arrow().column("n").to_pylist()) == [7, 2**40]


def test_a_column_missing_from_the_source_is_kept_and_written_as_null(catalog):
    writer = IcebergWriter(catalog, "qa", "t")
    schema = pa.schema([pa.field("id", pa.int64()), pa.field("code", pa.string(), nullable=False)])
    writer.write(schema, iter([pa.RecordBatch.from_pydict({"id": [1], "code": ["x"]}, schema=schema)]), "append", _info())
    assert writer.load().schema().find_field("code").required
    _write(writer, id=(pa.int64(), [2]))
    table = writer.load()
    assert table.schema().find_field("code").optional  # a required column the source dropped
    assert sorted(table.scan().to_arrow().to_pylist(), key=lambda r: r["id"]) == [{"id": 1, "code": "x"}, {"id": 2, "code": None}]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (pa.int64(), pa.string(), "column 'n' changes from long to string, which Iceberg cannot widen to"),
        (pa.float64(), pa.int64(), "column 'n' changes from double to long, which Iceberg cannot widen to"),
        (pa.decimal128(10, 2), pa.decimal128(12, 4), r"column 'n' changes from decimal\(10, 2\) to decimal\(12, 4\), which Iceberg cannot widen to"),
    ],
)
def test_an_incompatible_type_change_stops_the_run_naming_the_column(catalog, old, new, message):
    writer = IcebergWriter(catalog, "qa", "t")
    _write(writer, id=(pa.int64(), [1]), n=(old, [None]))
    with pytest.raises(SchemaMismatchError, match=rf"^qa.t: cannot evolve the table: {message}$"):
        _write(writer, id=(pa.int64(), [2]), n=(new, [None]))
    assert writer.load().scan().to_arrow().num_rows == 1


def test_fail_spells_out_every_difference(catalog):
    writer = IcebergWriter(catalog, "qa", "t", schema_evolution="fail")
    _write(writer, id=(pa.int32(), [1]), gone=(pa.string(), ["x"]), ratio=(pa.float64(), [0.5]))
    with pytest.raises(SchemaMismatchError) as caught:
        _write(writer, id=(pa.int64(), [2]), ratio=(pa.float32(), [0.5]), added=(pa.date32(), [None]))
    assert str(caught.value) == (
        "qa.t: the source's schema differs from the table's and schema_evolution is 'fail': "
        "column 'id' widens from int to long; "
        "column 'ratio' narrows from double to float; "
        "column 'added' (date) is added; "
        "column 'gone' (string) is missing from the source"
    )
    assert _types(writer) == {"id": IntegerType(), "gone": StringType(), "ratio": DoubleType()}
    assert writer.load().scan().to_arrow().num_rows == 1


def test_fail_accepts_the_same_schema(catalog):
    writer = IcebergWriter(catalog, "qa", "t", schema_evolution="fail")
    _write(writer, id=(pa.int64(), [1]), s=(pa.string(), ["a"]))
    # Arrow types Iceberg stores alike are no difference.
    _write(writer, id=(pa.int64(), [2]), s=(pa.large_string(), ["b"]))
    assert writer.load().scan().to_arrow().num_rows == 2


def test_nested_columns_are_compared_by_shape_not_field_ids(catalog):
    writer = IcebergWriter(catalog, "qa", "t", schema_evolution="fail")
    point = pa.struct([("x", pa.int32()), ("tags", pa.list_(pa.string()))])
    ids, counts = pa.list_(pa.int64()), pa.map_(pa.string(), pa.int32())
    _write(writer, ids=(ids, [[1, 2]]), p=(point, [{"x": 1, "tags": ["a"]}]), m=(counts, [[("k", 1)]]))
    _write(writer, ids=(ids, [[3]]), p=(point, [None]), m=(counts, [None]))
    assert sorted(writer.load().scan().to_arrow().column("ids").to_pylist()) == [[1, 2], [3]]
    with pytest.raises(SchemaMismatchError, match=r"column 'ids' changes from list<long> to list<string>"):
        IcebergWriter(catalog, "qa", "t").write(
            pa.schema([("ids", pa.list_(pa.string()))]), iter([]), "append", _info()
        )


def test_a_failed_run_leaves_the_schema_as_it_was(catalog):
    from airflow_provider_chimera.contract.model import Dedup
    from airflow_provider_chimera.writer.dedup import DedupError

    writer = IcebergWriter(catalog, "qa", "t", dedup=Dedup(keys=["id"]))
    _write(writer, id=(pa.int32(), [1]))
    with pytest.raises(DedupError):  # the schema change is staged in the run's transaction
        _write(writer, id=(pa.int64(), [None]), note=(pa.string(), ["x"]))
    assert _types(writer) == {"id": IntegerType()}
    _write(writer, id=(pa.int64(), [2]), note=(pa.string(), ["x"]))
    assert _types(writer) == {"id": LongType(), "note": StringType()}
    assert sorted(writer.load().scan().to_arrow().to_pylist(), key=lambda r: r["id"]) == [{"id": 1, "note": None}, {"id": 2, "note": "x"}]
