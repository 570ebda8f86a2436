"""Intent validation: each "Must be rejected" rule of the contract names file, JSON path and a hint."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from airflow_provider_chimera.sources.registry import registered_names
from airflow_provider_chimera.contract import IntentError, parse_intent
from airflow_provider_chimera.contract.timing import PRESETS
from airflow_provider_chimera.contract.validate import check_bytes, check_file, check_folder, validate_paths
from tests.helpers import DECLARATION, TEAM

FIELDS = {"fields": [{"name": "id", "type": "long", "nullable": False}, {"name": "ts", "type": "timestamptz"}]}


def _ingestion(table: str, mode: dict | None = None, **more) -> dict:
    return {
        "trigger": {"type": "timed", "schedule": "@hourly"},
        "mode": mode or {"type": "full"},
        "target": {"table": table},
        **more,
    }


# One source of every type; each test breaks exactly one rule in it.
BASE = {
    "version": 1,
    "name": "bad",
    "team": TEAM,
    "project": "qa",
    "declaration": DECLARATION,
    "sources": [
        {
            "name": "db",
            "type": "postgres",
            "connection": {"conn_id": "qa_postgres"},
            "objects": [
                {
                    "name": "public.customers",
                    "ingestion": {
                        **_ingestion("customers", {"type": "incremental", "cursor": "updated_at"}),
                        "target": {"table": "customers", "kind": "mdm", "keys": ["id"]},
                    },
                },
                {
                    "name": "public.orders",
                    "ingestion": _ingestion("orders", {"type": "partitioned", "column": "order_date"}),
                },
            ],
        },
        {
            "name": "events",
            "type": "kafka",
            "connection": {"conn_id": "qa_kafka"},
            "objects": [
                {"name": "web.clicks", "schema": FIELDS, "ingestion": _ingestion("clicks", {"type": "incremental"})}
            ],
        },
        {
            "name": "landing",
            "type": "file",
            "connection": {"uri": "file:///data/landing"},
            "objects": [
                {
                    "name": "orders",
                    "path": "orders/*.csv",
                    "format": "csv",
                    "schema": FIELDS,
                    "ingestion": _ingestion("file_orders"),
                }
            ],
        },
        {
            "name": "docs",
            "type": "mongodb",
            "connection": {"uri": "mongodb://app:${secret:mongo_password}@db:27017/app"},
            "objects": [{"name": "profiles", "schema": FIELDS, "ingestion": _ingestion("profiles")}],
        },
    ],
}


def _check(tmp_path: Path, data: dict, stem: str = "bad") -> tuple[str, list[tuple[str, str]]]:
    """Validate ``data`` as ``<stem>.json``: the file name and every problem as (path, message)."""
    file = tmp_path / f"{stem}.json"
    file.write_text(json.dumps(data, indent=2))
    intent, problems = check_file(file)
    assert (intent is None) == bool(problems)
    for problem in problems:
        assert problem.file == str(file)
        assert problem.hint, f"no hint for {problem}"
        assert str(problem) == f"{file}: {problem.path}: {problem.message} ({problem.hint})"
    return str(file), [(p.path, p.message) for p in problems]


def _broken(edit) -> dict:
    data = copy.deepcopy(BASE)
    edit(data)
    return data


def test_the_base_intent_is_valid(tmp_path):
    assert _check(tmp_path, BASE)[1] == []


# --- name -----------------------------------------------------------------------------------


def test_name_must_equal_the_file_stem(tmp_path):
    file, problems = _check(tmp_path, BASE, stem="other")
    assert problems == [("/name", "name 'bad' must equal the file stem 'other'")]


def test_name_must_be_lower_case_letters_digits_and_underscore(tmp_path):
    data = _broken(lambda d: d.update(name="Bad-Name"))
    _, problems = _check(tmp_path, data, stem="Bad-Name")
    assert problems == [("/name", "'Bad-Name' is not a valid name")]


def test_source_name_must_be_lower_case_letters_digits_and_underscore(tmp_path):
    data = _broken(lambda d: d["sources"][1].update(name="Events"))
    assert _check(tmp_path, data)[1] == [("/sources/1/name", "'Events' is not a valid name")]


# --- team and declaration -------------------------------------------------------------------


def test_missing_team(tmp_path):
    data = _broken(lambda d: d.pop("team"))
    assert _check(tmp_path, data)[1] == [("/team", "'team' is required")]


def test_support_email_must_be_an_email(tmp_path):
    data = _broken(lambda d: d.update(team={"name": "qa", "support_email": "qa-at-example.com"}))
    assert _check(tmp_path, data)[1] == [("/team/support_email", "'qa-at-example.com' is not an email address")]


def test_missing_declaration(tmp_path):
    data = _broken(lambda d: d.pop("declaration"))
    assert _check(tmp_path, data)[1] == [("/declaration", "'declaration' is required")]


# --- connections ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "postgresql://app:hunter2@db:5432/crm",
        "mongodb://:hunter2@db:27017/app",
        "snowflake://app@acct/db?password=hunter2",
        "https://api.example.com/v1?token=hunter2",
    ],
)
def test_uri_with_a_literal_password_or_token(tmp_path, uri):
    data = _broken(lambda d: d["sources"][0].update(connection={"uri": uri}))
    file, problems = _check(tmp_path, data)
    assert problems == [("/sources/0/connection/uri", "the uri carries a literal password or token")]
    _, found = check_file(Path(file))
    assert "hunter2" not in str(found[0])


@pytest.mark.parametrize(
    "uri",
    [
        "postgresql://app:${secret:crm_password}@db:5432/crm",
        "snowflake://app@acct/db?password=${env:SNOWFLAKE_PASSWORD}",
        "file:///data/landing",
    ],
)
def test_uri_with_placeholders_is_accepted(tmp_path, uri):
    data = _broken(lambda d: d["sources"][0].update(connection={"uri": uri}))
    assert _check(tmp_path, data)[1] == []


# --- sources and objects --------------------------------------------------------------------


def test_unknown_source_type(tmp_path):
    data = _broken(lambda d: d["sources"][0].update(type="oracle"))
    ((path, message),) = _check(tmp_path, data)[1]
    assert path == "/sources/0/type"
    # Names the installed types: the built-in ones, then those packages register.
    assert message == "unknown source type 'oracle'; installed: " + ", ".join(registered_names())
    assert registered_names()[:7] == ("postgres", "mysql", "snowflake", "mongodb", "kafka", "file", "pdf")


def test_duplicate_source_name(tmp_path):
    data = _broken(lambda d: d["sources"][2].update(name="db"))
    assert _check(tmp_path, data)[1] == [("/sources/2/name", "source 'db' appears twice (first at /sources/0)")]


def test_duplicate_object_name_within_a_source(tmp_path):
    data = _broken(lambda d: d["sources"][0]["objects"][1].update(name="public.customers"))
    assert _check(tmp_path, data)[1] == [
        (
            "/sources/0/objects/1/name",
            "object 'public.customers' appears twice in source 'db' (first at /sources/0/objects/0)",
        )
    ]


def test_same_object_name_in_two_sources_is_accepted(tmp_path):
    data = _broken(lambda d: d["sources"][2]["objects"][0].update(name="public.orders"))
    assert _check(tmp_path, data)[1] == []


@pytest.mark.parametrize(("index", "source_type"), [(1, "kafka"), (2, "file"), (3, "mongodb")])
def test_objects_without_schema(tmp_path, index, source_type):
    data = _broken(lambda d: d["sources"][index]["objects"][0].pop("schema"))
    assert _check(tmp_path, data)[1] == [
        (f"/sources/{index}/objects/0/schema", f"a '{source_type}' object needs a 'schema'")
    ]


def test_the_second_object_without_schema_is_named(tmp_path):
    def edit(d):
        d["sources"][1]["objects"].append(
            {"name": "web.views", "ingestion": _ingestion("views", {"type": "incremental"})}
        )

    assert _check(tmp_path, _broken(edit))[1] == [("/sources/1/objects/1/schema", "a 'kafka' object needs a 'schema'")]


# --- ingestion ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["mdm", "reference"])
def test_history_targets_without_keys(tmp_path, kind):
    data = _broken(
        lambda d: d["sources"][0]["objects"][0]["ingestion"].update(target={"table": "customers", "kind": kind})
    )
    assert _check(tmp_path, data)[1] == [
        ("/sources/0/objects/0/ingestion/target/keys", f"a '{kind}' target needs 'keys'")
    ]


def test_history_target_with_empty_keys(tmp_path):
    data = _broken(lambda d: d["sources"][0]["objects"][0]["ingestion"]["target"].update(keys=[]))
    assert _check(tmp_path, data)[1] == [("/sources/0/objects/0/ingestion/target/keys", "a 'mdm' target needs 'keys'")]


@pytest.mark.parametrize("source_type", ["postgres", "mysql", "snowflake"])
def test_incremental_without_cursor(tmp_path, source_type):
    def edit(d):
        d["sources"][0]["type"] = source_type
        d["sources"][0]["objects"][0]["ingestion"]["mode"] = {"type": "incremental"}

    assert _check(tmp_path, _broken(edit))[1] == [
        (
            "/sources/0/objects/0/ingestion/mode/cursor",
            f"'incremental' mode needs a 'cursor' for a '{source_type}' source",
        )
    ]


def test_incremental_without_cursor_is_accepted_for_kafka_file_and_pdf(tmp_path):
    def edit(d):
        d["sources"][2]["objects"][0]["ingestion"]["mode"] = {"type": "incremental"}
        d["sources"].append(
            {
                "name": "contracts",
                "type": "pdf",
                "connection": {"uri": "file:///data/contracts"},
                "objects": [
                    {"name": "signed", "path": "*.pdf", "ingestion": _ingestion("pages", {"type": "incremental"})}
                ],
            }
        )

    assert _check(tmp_path, _broken(edit))[1] == []  # source 1 (kafka) has no cursor either


def test_partitioned_mode_without_column(tmp_path):
    data = _broken(lambda d: d["sources"][0]["objects"][1]["ingestion"].update(mode={"type": "partitioned"}))
    assert _check(tmp_path, data)[1] == [
        ("/sources/0/objects/1/ingestion/mode/column", "'partitioned' mode needs a 'column'")
    ]


@pytest.mark.parametrize(
    "schedule", [*PRESETS, "0 * * * *", "*/15 8-18 * * MON-FRI", "0 0 1 */3 *", "PT15M", "P1D", "PT1H30M"]
)
def test_valid_schedules(tmp_path, schedule):
    data = _broken(lambda d: d["sources"][0]["objects"][0]["ingestion"]["trigger"].update(schedule=schedule))
    assert _check(tmp_path, data)[1] == []


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("61 * * * *", "'61 * * * *' is not a valid cron expression"),
        ("0 0 31 2 MON-FRIDAY", "'0 0 31 2 MON-FRIDAY' is not a valid cron expression"),
        ("* * *", "'* * *' is not a cron expression of five fields (minute hour day month weekday)"),
        ("0 0 * * * 30", "'0 0 * * * 30' is not a cron expression of five fields (minute hour day month weekday)"),
        ("every hour", "'every hour' is not a cron expression of five fields (minute hour day month weekday)"),
        ("@midnight", "unknown schedule preset '@midnight'"),
        ("@every_hour", "unknown schedule preset '@every_hour'"),
        ("P", "'P' is not an ISO-8601 duration"),
        ("P1X", "'P1X' is not an ISO-8601 duration"),
        ("PT0S", "duration 'PT0S' must be longer than zero"),
    ],
)
def test_invalid_schedules(tmp_path, schedule, message):
    data = _broken(lambda d: d["sources"][0]["objects"][0]["ingestion"]["trigger"].update(schedule=schedule))
    assert _check(tmp_path, data)[1] == [("/sources/0/objects/0/ingestion/trigger/schedule", message)]


def test_invalid_schedule_in_source_defaults_is_reported_there_once(tmp_path):
    def edit(d):
        d["sources"][0]["defaults"] = {"trigger": {"type": "timed", "schedule": "61 * * * *"}}
        for obj in d["sources"][0]["objects"]:
            del obj["ingestion"]["trigger"]

    assert _check(tmp_path, _broken(edit))[1] == [
        ("/sources/0/defaults/trigger/schedule", "'61 * * * *' is not a valid cron expression")
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [("2h", "'2h' is not an ISO-8601 duration"), ("2026-01-01", "'2026-01-01' is not an ISO-8601 duration")],
)
def test_sla_durations(tmp_path, value, message):
    data = _broken(
        lambda d: d["sources"][0]["objects"][0]["ingestion"].update(sla={"fresh_within": "PT2H", "warn_after": value})
    )
    assert _check(tmp_path, data)[1] == [("/sources/0/objects/0/ingestion/sla/warn_after", message)]


def test_the_model_alone_rejects_an_invalid_schedule_too():
    """The DAG factory loads intents with the model: a bad schedule never reaches Airflow."""
    data = _broken(lambda d: d["sources"][0]["objects"][0]["ingestion"]["trigger"].update(schedule="61 * * * *"))
    with pytest.raises(IntentError) as info:
        parse_intent(json.dumps(data).encode(), "intents/bad.json", stem="bad")
    assert [str(p) for p in info.value.problems] == [
        "intents/bad.json: /sources/0/objects/0/ingestion/trigger/schedule: '61 * * * *' is not a valid cron expression "
        f"({info.value.problems[0].hint})"
    ]


# --- everything at once ---------------------------------------------------------------------


def test_every_problem_of_a_file_is_reported_at_once(tmp_path):
    def edit(d):
        del d["team"]
        d["sources"][0]["type"] = "oracle"
        del d["sources"][1]["objects"][0]["schema"]
        d["sources"][2]["name"] = "db"
        d["sources"][0]["objects"][1]["ingestion"]["trigger"]["schedule"] = "@fortnightly"

    assert _check(tmp_path, _broken(edit))[1] == [
        ("/sources/0/objects/1/ingestion/trigger/schedule", "unknown schedule preset '@fortnightly'"),
        ("/sources/0/type", "unknown source type 'oracle'; installed: " + ", ".join(registered_names())),
        ("/sources/1/objects/0/schema", "a 'kafka' object needs a 'schema'"),
        ("/sources/2/name", "source 'db' appears twice (first at /sources/0)"),
        ("/team", "'team' is required"),
    ]


def test_invalid_json_names_line_and_column(tmp_path):
    file = tmp_path / "bad.json"
    file.write_text('{\n  "version": 1,\n  "name": "bad",,\n}')
    _, problems = check_file(file)
    assert [str(p) for p in problems] == [
        f"{file}: /: not valid JSON: Expecting property name enclosed in double quotes at line 3 column 17 ({problems[0].hint})"
    ]


def test_a_key_given_twice_is_reported(tmp_path):
    raw = json.dumps(BASE, indent=2).replace('"project": "qa"', '"project": "qa", "project": "other"')
    _, problems = check_bytes(raw.encode(), "bad.json", stem="bad")
    assert [(p.path, p.message) for p in problems] == [
        ("/project", "key 'project' appears more than once in this object")
    ]


def test_unknown_fields_are_named(tmp_path):
    data = _broken(lambda d: d["sources"][0]["objects"][0]["ingestion"]["target"].update(tabel="x"))
    assert _check(tmp_path, data)[1] == [("/sources/0/objects/0/ingestion/target/tabel", "unknown field 'tabel'")]


def test_unfilled_placeholders_are_named(tmp_path):
    data = _broken(lambda d: d["sources"][0]["connection"].update(conn_id="<conn_id>"))
    assert _check(tmp_path, data)[1] == [("/sources/0/connection/conn_id", "placeholder <conn_id> is not filled in")]


# --- across the intents folder --------------------------------------------------------------


def _intent(name: str, source: str, obj: str, table: str, namespace: str | None = None, project: str = "sales") -> dict:
    target = {"table": table, **({"namespace": namespace} if namespace else {})}
    return {
        "version": 1,
        "name": name,
        "team": TEAM,
        "project": project,
        "declaration": DECLARATION,
        "sources": [
            {
                "name": source,
                "type": "postgres",
                "connection": {"conn_id": "crm"},
                "objects": [{"name": obj, "ingestion": {**_ingestion(table), "target": target}}],
            }
        ],
    }


def _write(folder: Path, **intents: dict) -> None:
    for stem, data in intents.items():
        (folder / f"{stem}.json").write_text(json.dumps(data))


def test_two_pipelines_in_two_files_writing_one_table_name_both_places(tmp_path):
    _write(
        tmp_path,
        crm_a=_intent("crm_a", "crm", "public.orders", "orders", namespace="sales"),
        crm_b=_intent("crm_b", "crm", "public.orders", "orders"),  # namespace: the project, "sales"
    )
    report = validate_paths([tmp_path])
    a, b = tmp_path / "crm_a.json", tmp_path / "crm_b.json"
    where = "/sources/0/objects/0/ingestion/target/table"
    assert [str(p) for p in report.problems] == [
        f"{a}: {where}: writes target table sales.orders, as does {b}: {where} ({report.problems[0].hint})",
        f"{b}: {where}: writes target table sales.orders, as does {a}: {where} ({report.problems[1].hint})",
    ]
    assert report.files == [a, b]


def test_two_pipelines_in_one_file_writing_one_table(tmp_path):
    def edit(d):
        d["sources"][2]["objects"][0]["ingestion"]["target"] = {"table": "orders", "namespace": "qa"}

    file, problems = _check(tmp_path, _broken(edit))
    assert problems == []  # a single file's check knows no folder...
    report = validate_paths([Path(file)])  # ...validating it does
    assert [(p.path, p.message) for p in report.problems] == [
        (
            "/sources/0/objects/1/ingestion/target/table",
            f"writes target table qa.orders, as does {file}: /sources/2/objects/0/ingestion/target/table",
        ),
        (
            "/sources/2/objects/0/ingestion/target/table",
            f"writes target table qa.orders, as does {file}: /sources/0/objects/1/ingestion/target/table",
        ),
    ]


def test_target_tables_are_lower_case_so_none_differ_only_in_case(tmp_path):
    # Catalogs differ in case sensitivity: a table name is lower-case (decision 0026).
    _write(tmp_path, one=_intent("one", "crm", "a", "Orders"), two=_intent("two", "crm", "b", "orders"))
    problems = validate_paths([tmp_path]).problems
    assert [(Path(p.file).name, p.path, p.message) for p in problems] == [
        (
            "one.json",
            "/sources/0/objects/0/ingestion/target/table",
            "'Orders' is not a name of lower-case letters, digits and '_' starting with a letter",
        )
    ]


def test_colliding_pipeline_ids_name_both_objects(tmp_path):
    # sales + crm_x + y and sales_crm + x + y both normalise to sales_crm_x_y.
    _write(tmp_path, sales=_intent("sales", "crm_x", "y", "t1"), sales_crm=_intent("sales_crm", "x", "y", "t2"))
    report = validate_paths([tmp_path])
    one, two = tmp_path / "sales.json", tmp_path / "sales_crm.json"
    assert [(p.file, p.path, p.message) for p in report.problems] == [
        (
            str(one),
            "/sources/0/objects/0/name",
            f"has pipeline id 'sales_crm_x_y', as does the object at {two}: /sources/0/objects/0/name",
        ),
        (
            str(two),
            "/sources/0/objects/0/name",
            f"has pipeline id 'sales_crm_x_y', as does the object at {one}: /sources/0/objects/0/name",
        ),
    ]


def test_check_folder_is_a_pure_function_of_the_intents(tmp_path):
    from airflow_provider_chimera.contract.model import Intent

    intents = {
        Path("intents/a.json"): Intent.model_validate(_intent("a", "crm", "public.Orders", "orders")),
        Path("intents/b.json"): Intent.model_validate(_intent("b", "erp", "orders", "erp_orders")),
        Path("intents/c.json"): Intent.model_validate(_intent("c", "crm", "orders", "orders", namespace="other")),
    }
    assert check_folder(intents) == []
    intents[Path("intents/c.json")] = Intent.model_validate(_intent("c", "crm", "orders", "orders"))
    assert [(p.file, p.path) for p in check_folder(intents)] == [
        ("intents/a.json", "/sources/0/objects/0/ingestion/target/table"),
        ("intents/c.json", "/sources/0/objects/0/ingestion/target/table"),
    ]


def test_every_file_is_reported_and_folders_are_checked_on_their_own(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    _write(one, first=_intent("first", "crm", "a", "orders"), broken={"version": 1, "name": "broken"})
    _write(two, second=_intent("second", "crm", "a", "orders"), wrong=_intent("other", "crm", "b", "x"))
    report = validate_paths([one, two])
    assert {(Path(p.file).name, p.path) for p in report.problems} == {
        ("broken.json", "/team"),
        ("broken.json", "/project"),
        ("broken.json", "/declaration"),
        ("broken.json", "/sources"),
        ("wrong.json", "/name"),
    }  # first.json and second.json write the same table, but in different folders
    assert len(report.files) == 4


# --- source defaults ------------------------------------------------------------------------


def test_a_rule_broken_by_inherited_defaults_is_reported_at_the_defaults(tmp_path):
    def edit(d):
        d["sources"][0]["defaults"] = {"mode": {"type": "incremental"}, "priority": "high"}
        for obj in d["sources"][0]["objects"]:
            del obj["ingestion"]["mode"]

    assert _check(tmp_path, _broken(edit))[1] == [
        ("/sources/0/defaults/mode/cursor", "'incremental' mode needs a 'cursor' for a 'postgres' source")
    ]


def test_an_ingestion_block_incomplete_after_merging_the_defaults(tmp_path):
    def edit(d):
        d["sources"][0]["defaults"] = {"trigger": {"type": "adhoc"}}
        del d["sources"][0]["objects"][1]["ingestion"]["target"]

    file, problems = _check(tmp_path, _broken(edit))
    assert problems == [("/sources/0/objects/1/ingestion/target", "Field required")]
    _, found = check_file(Path(file))
    assert found[0].hint == 'add "target": {"table": "..."} (namespace defaults to the project)'
