"""Protecting classified columns: the column functions, the protector, and a pipeline's extract."""

from __future__ import annotations

import hashlib
import hmac
import json

import pyarrow as pa
import pytest
from cryptography.fernet import Fernet

from airflow_provider_chimera.governance.policy import Policy, PolicyError
from airflow_provider_chimera.governance.protect import (
    ClassificationError,
    as_stored,
    Protector,
    Rule,
    classification_property,
    column_rules,
    encrypt,
    keyed_hash,
    mask,
    protect_extract,
)
from airflow_provider_chimera.settings import load_settings
from airflow_provider_chimera.sources.base import Extract, Position, Rejected
from tests.helpers import pipeline_for, read_table, record_schema, run_pipeline, single_object_source

KEY = b"qa-pii-key"
FERNET_KEY = Fernet.generate_key().decode()
POLICY = Policy(methods={"public": "keep", "internal": "keep", "pii": "keyed_hash", "secret": "drop"})


def _hmac(text: str) -> str:
    return hmac.new(KEY, text.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def keys(monkeypatch):
    monkeypatch.setenv("QA_PII_KEY", KEY.decode())
    monkeypatch.setenv("QA_FERNET_KEY", FERNET_KEY)
    monkeypatch.setenv("AIRFLOW__CHIMERA__PII_KEY_SECRET", "${env:QA_PII_KEY}")
    monkeypatch.setenv("AIRFLOW__CHIMERA__ENCRYPTION_KEY_SECRET", "${env:QA_FERNET_KEY}")
    monkeypatch.delenv("AIRFLOW__CHIMERA__POLICIES_CONFIG", raising=False)
    return load_settings()


# --- column functions ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [5, 5000])  # Python's hmac below 256 values, DuckDB above: the same digests
def test_keyed_hash_is_hmac_sha256_of_the_text_and_keeps_nulls(size):
    values = [None if i % 7 == 0 else f"user{i}@example.com" for i in range(size)]
    hashed = keyed_hash(pa.array(values), KEY)
    assert hashed.type == pa.string()
    assert hashed.to_pylist() == [None if v is None else _hmac(v) for v in values]


@pytest.mark.parametrize("size", [3, 1000])
def test_keyed_hash_of_numbers_and_bytes(size):
    numbers = pa.array(list(range(size)), pa.int64())
    assert keyed_hash(numbers, KEY).to_pylist() == [_hmac(str(i)) for i in range(size)]
    blobs = pa.array([bytes([i % 256, 0xFF]) for i in range(size)], pa.binary())
    assert keyed_hash(blobs, KEY).to_pylist() == [hmac.new(KEY, bytes([i % 256, 0xFF]), hashlib.sha256).hexdigest() for i in range(size)]


def test_a_long_key_is_hashed_first_as_hmac_says():
    key = b"k" * 100
    values = [f"v{i}" for i in range(300)]
    assert keyed_hash(pa.array(values), key).to_pylist() == [hmac.new(key, v.encode(), hashlib.sha256).hexdigest() for v in values]


def test_mask_keeps_the_last_characters_of_long_enough_values():
    values = pa.array(["alice@example.com", "bob", None, "12345678", "héllo wörld"])
    assert mask(values, 4).to_pylist() == ["***.com", "***", None, "***5678", "***örld"]
    assert mask(values, 0).to_pylist() == ["***", "***", None, "***", "***"]
    assert mask(pa.array([1234567890, None]), 3).to_pylist() == ["***890", None]
    assert mask(pa.array([b"\x00\x01secret"]), 2).to_pylist() == ["***"]


def test_encrypt_gives_fernet_tokens_that_decrypt_to_the_value():
    fernet = Fernet(FERNET_KEY.encode())
    tokens = encrypt(pa.array(["s3cret", None, "other"]), fernet).to_pylist()
    assert tokens[1] is None
    assert [fernet.decrypt(t.encode()).decode() for t in (tokens[0], tokens[2])] == ["s3cret", "other"]


def test_nested_columns_can_only_be_dropped():
    with pytest.raises(PolicyError, match=r"^column 'tags': a list<item: string> column can only be dropped"):
        keyed_hash(pa.array([["a"]]), KEY, "tags")


# --- the protector ---------------------------------------------------------------------------------

SOURCE_SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("email", pa.string()),
        pa.field("phone", pa.string()),
        pa.field("token", pa.string()),
        pa.field("country", pa.string()),
    ]
)


def _protector(settings, **methods) -> Protector:
    policy = Policy(methods={**POLICY.methods, **methods}, mask_keep_last=2)
    rules = [Rule("email", "pii", policy.method("pii")), Rule("token", "secret", policy.method("secret")), Rule("country", "public", "keep")]
    return Protector(rules, policy, settings)


def test_schema_drops_secrets_types_protected_columns_as_text_and_documents_each_class(keys):
    schema = _protector(keys).schema(SOURCE_SCHEMA)
    assert schema.names == ["id", "email", "phone", "country"]
    assert schema.field("email").type == pa.string()
    docs = {f.name: (f.metadata or {}).get(b"doc") for f in schema}
    assert docs == {"id": None, "email": b"pii: keyed hash (HMAC-SHA256, hex)", "phone": None, "country": b"public"}


def test_batch_hashes_pii_and_drops_secrets(keys):
    protector = _protector(keys)
    schema = protector.schema(SOURCE_SCHEMA)
    batch = pa.RecordBatch.from_pylist(
        [{"id": i, "email": f"u{i}@x.org", "phone": "555", "token": f"tok-{i}", "country": "NL"} for i in range(1000)],
        schema=SOURCE_SCHEMA,
    )
    out = protector.batch(batch, schema)
    assert out.schema == schema
    assert out.column("email").to_pylist() == [_hmac(f"u{i}@x.org") for i in range(1000)]
    assert out.column("country").to_pylist() == ["NL"] * 1000


def test_a_policy_may_mask_pii_and_encrypt_secrets(keys):
    protector = _protector(keys, pii="mask", secret="encrypt")
    schema = protector.schema(SOURCE_SCHEMA)
    out = protector.batch(pa.RecordBatch.from_pylist([{"id": 1, "email": "ann@x.org", "token": "tok-1"}], schema=SOURCE_SCHEMA), schema)
    assert out.column("email").to_pylist() == ["***rg"]
    assert Fernet(FERNET_KEY.encode()).decrypt(out.column("token")[0].as_py().encode()) == b"tok-1"
    assert schema.field("token").metadata[b"doc"] == b"secret: encrypted (Fernet)"
    assert schema.field("email").metadata[b"doc"] == b"pii: masked, last 2 characters kept"


def test_pii_without_a_key_fails_naming_the_setting(monkeypatch):
    monkeypatch.delenv("AIRFLOW__CHIMERA__PII_KEY_SECRET", raising=False)
    with pytest.raises(PolicyError, match=r"^keyed_hash of columns \['email'\] needs a key: set \[chimera\] pii_key_secret"):
        _protector(load_settings())


def test_an_encryption_key_that_is_not_a_fernet_key_is_refused_without_showing_it(monkeypatch, keys):
    monkeypatch.setenv("QA_FERNET_KEY", "short-and-wrong")
    with pytest.raises(PolicyError) as raised:
        _protector(load_settings(), secret="encrypt")
    assert "short-and-wrong" not in str(raised.value)
    assert str(raised.value).startswith("[chimera] encryption_key_secret: the key it names is not a Fernet key")


# --- quarantined records ---------------------------------------------------------------------------


def test_a_rejected_json_record_has_pii_hashed_secrets_dropped_and_no_value_in_its_reason(keys):
    record = Rejected(
        reason="field 'id' does not hold a long (got 'ann@x.org')",
        position="0/7",
        raw=json.dumps({"id": "x", "email": "ann@x.org", "token": "tok-9", "country": "NL"}),
    )
    protected = _protector(keys).rejected(record)
    assert json.loads(protected.raw) == {"id": "x", "email": _hmac("ann@x.org"), "country": "NL"}
    assert protected.reason == "field 'id' does not hold a long (got '***')"
    assert protected.position == "0/7"


def test_a_payload_that_is_not_json_is_encrypted_else_hashed_else_withheld(monkeypatch, keys):
    record = Rejected(reason="not valid JSON", position="f.csv#3", raw="3,ann@x.org,tok-9")
    raw = _protector(keys).rejected(record).raw
    assert raw.startswith("fernet:")
    assert Fernet(FERNET_KEY.encode()).decrypt(raw.removeprefix("fernet:").encode()) == b"3,ann@x.org,tok-9"
    monkeypatch.delenv("AIRFLOW__CHIMERA__ENCRYPTION_KEY_SECRET")
    assert _protector(load_settings()).rejected(record).raw == "hmac-sha256:" + _hmac("3,ann@x.org,tok-9")
    monkeypatch.delenv("AIRFLOW__CHIMERA__PII_KEY_SECRET")
    assert _protector(load_settings(), pii="mask").rejected(record).raw is None


def test_records_of_objects_without_protected_columns_stay_as_they_are(keys):
    record = Rejected(reason="not valid JSON", position="p", raw="{broken")
    protector = Protector([Rule("country", "public", "keep")], POLICY, keys)
    assert protector.rejected(record) is record


# --- pipelines -------------------------------------------------------------------------------------


def _file_source(base, classification: dict, **ingestion) -> dict:
    schema = record_schema(["id"], id="long", email="string", token="string", country="string")
    source = single_object_source(
        "file", {"uri": base.as_uri()}, "people", {"type": "full"}, "people", path="*.jsonl", format="json", schema=schema
    )
    source["objects"][0]["ingestion"].update(classification=classification, **ingestion)
    return source


def test_a_classified_column_the_object_lacks_names_the_json_path(tmp_path, keys):
    # The contract knows a file object's columns; a database table's are known once read.
    source = _file_source(tmp_path, {"email": "pii"})
    pipeline = pipeline_for(source)
    with pytest.raises(ClassificationError) as raised:
        column_rules(pipeline, ["id", "mail"], POLICY)
    assert str(raised.value) == (
        "test.json: /sources/(name=src)/objects/0/ingestion/classification/email: column 'email' is classified 'pii', "
        "but 'people' has no such column (its columns: ['id', 'mail'])"
    )


def test_column_names_match_ignoring_case_when_the_source_spells_them_otherwise(tmp_path, keys):
    pipeline = pipeline_for(_file_source(tmp_path, {"email": "pii"}))
    assert column_rules(pipeline, ["ID", "EMAIL"], POLICY) == [Rule("EMAIL", "pii", "keyed_hash")]


def test_the_table_property_lists_each_classified_column_with_its_method(tmp_path, keys):
    pipeline = pipeline_for(_file_source(tmp_path, {"email": "pii", "token": "secret", "country": "public"}))
    (value,) = classification_property(pipeline, keys).values()
    assert json.loads(value) == {
        "country": {"class": "public", "method": "keep"},
        "email": {"class": "pii", "method": "keyed_hash"},
        "token": {"class": "secret", "method": "drop"},
    }
    assert classification_property(pipeline_for(_file_source(tmp_path, {})), keys) == {}


class _Fake(Extract):
    schema = SOURCE_SCHEMA

    def __init__(self):
        self.rejected = [Rejected(reason="r", position="1", raw='{"email": "a@b.c"}')]
        self.tombstones = 3

    def batches(self):
        yield pa.RecordBatch.from_pylist([{"id": 1, "email": "a@b.c", "token": "t"}], schema=SOURCE_SCHEMA)

    def position(self) -> Position:
        return Position(cursor="9")


def test_the_protected_extract_counts_rows_protects_each_rejected_record_once_and_passes_the_rest_on(tmp_path, keys):
    source = _file_source(tmp_path, {"email": "pii", "token": "secret"})
    extract = protect_extract(_Fake(), pipeline_for(source), keys)
    assert extract.schema.names == ["id", "email", "phone", "country"]
    (batch,) = list(extract.batches())
    assert (extract.rows_read, batch.column("email").to_pylist()) == (1, [_hmac("a@b.c")])
    first = extract.rejected
    assert first == extract.rejected and json.loads(first[0].raw) == {"email": _hmac("a@b.c")}
    assert (extract.position(), extract.tombstones) == (Position(cursor="9"), 3)


def test_an_ingested_table_holds_hashes_no_secret_column_and_documents_its_classes(tmp_path, catalog, keys):
    rows = [{"id": i, "email": f"p{i}@example.com", "token": f"tok-{i}", "country": "NL"} for i in range(3)]
    (tmp_path / "people.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    classification = {"email": "pii", "token": "secret", "country": "public"}
    assert run_pipeline(pipeline_for(_file_source(tmp_path, classification)))["rows"] == 3
    table = catalog.load_table("qa.people")
    assert [f.name for f in table.schema().fields] == ["id", "email", "country"]
    assert table.schema().find_field("email").doc == "pii: keyed hash (HMAC-SHA256, hex)"
    assert table.schema().find_field("country").doc == "public"
    assert json.loads(table.properties["chimera.classification"])["token"] == {"class": "secret", "method": "drop"}
    assert sorted(read_table(catalog, "qa.people").column("email").to_pylist()) == sorted(_hmac(r["email"]) for r in rows)


def test_expected_columns_are_adjusted_to_what_the_table_stores(tmp_path, keys):
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Column:
        name: str
        type: str | None = None

    pipeline = pipeline_for(_file_source(tmp_path, {"id": "pii", "token": "secret", "country": "public"}))
    columns = [Column("id", "bigint"), Column("email", "varchar"), Column("token", "varchar"), Column("country")]
    assert as_stored(pipeline, columns, keys) == [Column("id", "varchar"), Column("email", "varchar"), Column("country")]
