"""MariaDB (standing in for MySQL) → Iceberg over TCP against the server `make services` starts."""

from __future__ import annotations

import pyarrow as pa
import pytest

from airflow_provider_chimera.sources.base import UnsupportedColumnError
from tests.helpers import pipeline_for, read_table, run_pipeline, single_object_source


def test_wide_decimals_and_mariadb_uuid_inet_are_read_as_text(mysql_tables, catalog):
    cur = mysql_tables("qa_mysql", "qa_types")
    cur.execute("CREATE TABLE qa_types (id INT, big DECIMAL(50,2), ref UUID, addr INET6, bits BIT(64))")
    cur.execute(
        "INSERT INTO qa_types VALUES (1, 123456789012345678901234567890123456789012345.67, "
        "'c4ca4238-a0b9-2382-0dcc-509a6f75849b', '2001:db8::1', b'101')"
    )
    source = single_object_source("mysql", {"conn_id": "qa_mysql"}, "qa_types", {"type": "full"}, "types")
    assert run_pipeline(pipeline_for(source))["rows"] == 1
    table = read_table(catalog, "qa.types")
    assert [table.schema.field(c).type for c in ("big", "ref", "addr", "bits")] == [pa.large_string()] * 3 + [pa.int64()]
    assert table.to_pylist() == [
        {
            "id": 1,
            "big": "123456789012345678901234567890123456789012345.67",
            "ref": "c4ca4238-a0b9-2382-0dcc-509a6f75849b",
            "addr": "2001:db8::1",
            "bits": 5,
        }
    ]


def test_unsupported_type_names_the_column(mysql_tables, catalog):
    cur = mysql_tables("qa_mysql", "qa_shapes")
    cur.execute("CREATE TABLE qa_shapes (id INT, shape POINT)")
    source = single_object_source("mysql", {"conn_id": "qa_mysql"}, "qa_shapes", {"type": "full"}, "shapes")
    with pytest.raises(UnsupportedColumnError, match=r"^column 'shape': MySQL type 'point' has no Iceberg mapping$"):
        run_pipeline(pipeline_for(source))
