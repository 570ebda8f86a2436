"""The contract: what a hostile file can do to the reader, names, limits and check expressions."""

from __future__ import annotations

import json

from tests.security.cases_tenancy import _set
from tests.security.corpus import HostileCase, hostile_base

OBJECT = "sources.0.objects.0"
INGESTION = f"{OBJECT}.ingestion"
TARGET = f"{INGESTION}.target"
AT = "/sources/0/objects/0"


def _postgres(uri: str):
    """A Postgres source reading ``public.orders`` through ``uri``."""
    return _set(**{"sources.0.type": "postgres", "sources.0.connection": {"uri": uri},
                   "sources.0.objects": [{"name": "public.orders", "ingestion": {
                       "trigger": {"type": "adhoc"}, "mode": {"type": "full"},
                       "target": {"namespace": "team_b", "table": "orders"}}}]})


def _check(expression: str):
    return _set(**{f"{INGESTION}.quality": [{"check": "failed_rows", "expression": expression}]})


def _text() -> str:
    return json.dumps(hostile_base())


CASES = [
    # 3. Decoding: every problem is a clear file: /path: message, never a crash.
    HostileCase("not-utf8", "3", "", "not UTF-8 text", raw=_text().replace('"team_b"', '"team_\xff"', 1).encode("latin-1")),
    HostileCase("byte-order-mark", "3", "", "byte order mark", raw=b"\xef\xbb\xbf" + _text().encode()),
    HostileCase("deep-nesting", "3", "", "nests deeper", raw=_text()[:-1].encode() + b', "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
    HostileCase("moderately-deep-nesting", "3", "", "nests deeper", raw=_text()[:-1].encode() + b', "x": ' + b"[" * 500 + b"]" * 500 + b"}"),
    HostileCase("huge-integer", "3", "", "a number is too long", raw=_text()[:-1].encode() + b', "x": ' + b"9" * 5000 + b"}"),
    HostileCase("nan", "3", "", "NaN is not a number", raw=_text()[:-1].encode() + b', "x": NaN}'),
    HostileCase("infinity", "3", "", "Infinity is not a number", raw=_text()[:-1].encode() + b', "x": -Infinity}'),
    HostileCase("huge-file", "3", "", "more than an intent may have",
                raw=_text()[:-1].encode() + b', "x": "' + b"a" * (1024 * 1024) + b'"}'),
    HostileCase("duplicate-key", "3", "/sources/0/objects/0/ingestion/target/table", "appears more than once",
                raw=_text().replace('"table": "customers"', '"table": "customers", "table": "other"').encode()),
    # 3. Airflow's own limits: DAG id, tags, asset URIs, hosts.
    HostileCase("dag-id-too-long", "3", f"{AT}/name", "more than Airflow's 250", _set(**{f"{OBJECT}.name": "c" * 260})),
    HostileCase("tag-too-long", "3", "/team/name", "at most 100 characters", _set(**{"team.name": "t" * 101})),
    HostileCase("project-tag-too-long", "3", "/project", "at most 100 characters", _set(project="p" * 101)),
    HostileCase("reserved-asset-scheme", "3", f"{AT}/ingestion/trigger/on", "'airflow' is reserved",
                _set(**{f"{INGESTION}.trigger": {"type": "event", "on": "airflow://other_team_dag"}})),
    HostileCase("asset-uri-too-long", "3", f"{AT}/ingestion/trigger/on", "longer than 1500",
                _set(**{f"{INGESTION}.trigger": {"type": "event", "on": "iceberg://c.team_b." + "t" * 1500}})),
    HostileCase("bad-kafka-topic", "3", f"{AT}/ingestion/trigger/on", "no Kafka topic name",
                _set(**{f"{INGESTION}.trigger": {"type": "event", "on": "orders events"}})),
    HostileCase("placeholder-host", "3", "/sources/0/connection/uri", "host holds a placeholder",
                _postgres("postgresql://reader:${secret:B_PASSWORD}@${env:B_HOST}/shop")),
    HostileCase("placeholder-port", "3", "/sources/0/connection/uri", "host holds a placeholder",
                _postgres("postgresql://reader:${secret:B_PASSWORD}@db.example.org:${env:B_PORT}/shop")),
    HostileCase("port-not-a-number", "3", "/sources/0/connection/uri", "is no port number",
                _postgres("postgresql://reader:${secret:B_PASSWORD}@db.example.org:99999/shop")),
    HostileCase("object-name-breaks-asset-uri", "3", f"{AT}/name", "holds '/', '?' or '#'",
                _set(**{"sources.0.type": "postgres", "sources.0.connection": {"conn_id": "b_postgres"},
                        "sources.0.objects": [{"name": "public.orders/../../x", "ingestion": {
                            "trigger": {"type": "adhoc"}, "mode": {"type": "full"},
                            "target": {"namespace": "team_b", "table": "orders"}}}]})),
    HostileCase("absurd-duration", "3", f"{AT}/ingestion/sla/fresh_within", "longer than 366 days",
                _set(**{f"{INGESTION}.sla": {"fresh_within": "P99999999999999999Y"}})),
    HostileCase("absurd-schedule-duration", "3", f"{AT}/ingestion/trigger/schedule", "longer than 366 days",
                _set(**{f"{INGESTION}.trigger": {"type": "timed", "schedule": "P999999999D"}})),
    # ...and whatever else Airflow itself refuses when the factory builds the DAG, validate refuses too.
    HostileCase("file-base-port-not-a-number", "3", "/sources/0/connection/uri", "is no port number",
                _set(**{"sources.0.connection": {"uri": "http://[::1]:x/landing"}})),
    HostileCase("file-base-of-a-database-scheme", "3", "/sources/0/connection/uri", "Airflow refuses the pipeline",
                _set(**{"sources.0.connection": {"uri": "postgresql://db.example.org"}})),
    # 4. Namespace and table names; the quarantine suffix is reserved.
    HostileCase("namespace-upper-case", "4", f"{AT}/ingestion/target/namespace", "is not a name of lower-case letters",
                _set(**{f"{TARGET}.namespace": "Team_B"})),
    HostileCase("namespace-with-dot", "4", f"{AT}/ingestion/target/namespace", "is not a name of lower-case letters",
                _set(**{f"{TARGET}.namespace": "team_a.x"})),
    HostileCase("table-with-quote", "4", f"{AT}/ingestion/target/table", "is not a name of lower-case letters",
                _set(**{f"{TARGET}.table": 'orders"; drop'})),
    HostileCase("project-not-a-namespace", "4", "/project", "is not a name of lower-case letters", _set(project="Team B")),
    HostileCase("quarantine-table", "4", f"{AT}/ingestion/target/table", "reserved for the quarantine table",
                _set(**{f"{TARGET}.table": "customers__quarantine"})),
    HostileCase("quarantine-table-in-defaults", "4", "/sources/0/defaults/target/table", "reserved for the quarantine table",
                _set(**{"sources.0.defaults": {"target": {"table": "orders__quarantine"}}})),
    # 7. SLA durations are capped; every name fits its registry column.
    HostileCase("sla-over-a-year", "7", f"{AT}/ingestion/sla/fresh_within", "longer than 366 days",
                _set(**{f"{INGESTION}.sla": {"fresh_within": "P400D"}})),
    HostileCase("sla-warn-over-a-year", "7", f"{AT}/ingestion/sla/warn_after", "longer than 366 days",
                _set(**{f"{INGESTION}.sla": {"fresh_within": "PT1H", "warn_after": "P2Y"}})),
    HostileCase("sla-zero", "7", f"{AT}/ingestion/sla/fresh_within", "must be longer than zero",
                _set(**{f"{INGESTION}.sla": {"fresh_within": "PT0S"}})),
    HostileCase("freshness-check-over-a-year", "7", f"{AT}/ingestion/quality/0/fresh_within", "longer than 366 days",
                _set(**{f"{INGESTION}.quality": [{"check": "freshness", "column": "customer_id", "fresh_within": "P5000D"}]})),
    HostileCase("source-name-too-long", "7", "/sources/0/name", "at most 200 characters", _set(**{"sources.0.name": "s" * 201})),
    HostileCase("object-name-too-long", "7", f"{AT}/name", "at most 500 characters", _set(**{f"{OBJECT}.name": "o" * 501})),
    HostileCase("table-name-too-long", "7", f"{AT}/ingestion/target/table", "at most 200 characters",
                _set(**{f"{TARGET}.table": "t" * 201})),
    HostileCase("column-name-too-long", "7", f"{AT}/schema/fields/1/name", "at most 250 characters",
                _set(**{f"{OBJECT}.schema.fields.1.name": "n" * 251})),
    # 10. A check expression is one expression.
    HostileCase("check-second-statement", "10", f"{AT}/ingestion/quality/0/expression", "never a second statement",
                _check("customer_id < 0; DROP VIEW team_b.customers__load")),
    HostileCase("check-breaks-out-of-where", "10", f"{AT}/ingestion/quality/0/expression", "no SQL expression",
                _check("customer_id < 0) OR (1=1")),
    HostileCase("check-comment", "10", f"{AT}/ingestion/quality/0/expression", "holds a comment",
                _check("customer_id < 0 OR 1=1 --")),
    HostileCase("check-block-comment", "10", f"{AT}/ingestion/quality/0/expression", "holds a comment",
                _check("customer_id < 0 /* ; CREATE VIEW x AS SELECT 1 */")),
    HostileCase("check-subquery", "10", f"{AT}/ingestion/quality/0/expression", "holds a query",
                _check("customer_id IN (SELECT customer_id FROM team_a.customers)")),
    HostileCase("check-statement", "10", f"{AT}/ingestion/quality/0/expression", "a check is one expression",
                _check("CREATE OR REPLACE VIEW team_b.customers__load AS SELECT 1 AS customer_id")),
    HostileCase("check-reads-files", "10", f"{AT}/ingestion/quality/0/expression", "reads outside the rows checked",
                _check("read_text('/proc/self/environ') IS NOT NULL")),
    # 11. Control characters in names, the minimum schedule interval.
    HostileCase("control-in-object-name", "11", f"{AT}/name", "non-printable character U+0000",
                _set(**{f"{OBJECT}.name": "custo\u0000mers"})),
    HostileCase("newline-in-column", "11", f"{AT}/schema/fields/1/name", "non-printable character U+000A",
                _set(**{f"{OBJECT}.schema.fields.1.name": "name\nDROP"})),
    HostileCase("escape-in-team-tag", "11", "/team/name", "non-printable character U+001B",
                _set(**{"team.name": "team-b\u001b[31m"})),
    HostileCase("bidi-override-in-column-list", "11", f"{AT}/columns/0", "non-printable character U+202E",
                _set(**{f"{OBJECT}.columns": ["customer_id\u202e"]})),
    HostileCase("control-in-classification-key", "11", f"{AT}/ingestion/classification/name\t", "non-printable character U+0009",
                _set(**{f"{INGESTION}.classification": {"name\t": "pii"}})),
    HostileCase("control-in-namespace", "11", f"{AT}/ingestion/target/namespace", "is not a name of lower-case letters",
                _set(**{f"{TARGET}.namespace": "team_b\u0007"})),
    HostileCase("schedule-every-minute", "11", f"{AT}/ingestion/trigger/schedule", "min_schedule_interval",
                _set(**{f"{INGESTION}.trigger": {"type": "timed", "schedule": "* * * * *"}})),
    HostileCase("schedule-burst", "11", f"{AT}/ingestion/trigger/schedule", "min_schedule_interval",
                _set(**{f"{INGESTION}.trigger": {"type": "timed", "schedule": "0-4 3 * * *"}})),
    HostileCase("schedule-duration-too-short", "11", f"{AT}/ingestion/trigger/schedule", "min_schedule_interval",
                _set(**{f"{INGESTION}.trigger": {"type": "timed", "schedule": "PT30S"}})),
]
