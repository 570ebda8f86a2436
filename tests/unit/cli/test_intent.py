"""``chimera intent``: schema, validate (exit codes, text and JSON output) and new (templates)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from airflow_provider_chimera.cli.app import app
from airflow_provider_chimera.contract.schema import intent_schema
from airflow_provider_chimera.contract.templates import PLACEHOLDERS, SOURCE_TYPES
from airflow_provider_chimera.contract.validate import check_bytes

REPO = Path(__file__).resolve().parents[3]
runner = CliRunner()

# A valid value for every placeholder a template may hold.
FILLED = {
    "<intent_name>": "web_shop",
    "<team_name>": "shop-analytics",
    "<support_email>": "shop-data@example.com",
    "<project>": "shop",
    "<declared_by>": "sam.lee",
    "<statement>": "Authorised by the shop's system owner.",
    "<declared_at>": "2026-11-25",
    "<source_name>": "shop",
    "<conn_id>": "shop_source",
    "<folder_uri>": "file:///data/shop",
    "<schema.table>": "public.orders",
    "<collection>": "orders",
    "<topic>": "shop.orders",
    "<object_name>": "orders",
    "<glob>": "orders/*.csv",
    "<field_name>": "order_id",
    "<cursor_column>": "updated_at",
    "<target_table>": "orders",
}


def _invoke(*args: str):
    return runner.invoke(app, list(args), prog_name="chimera")


@pytest.mark.parametrize("command", [["intent"], ["intent", "schema"], ["intent", "validate"], ["intent", "new"]])
def test_every_intent_command_has_help(command):
    result = _invoke(*command, "--help")
    assert result.exit_code == 0, result.output
    assert f"Usage: chimera {' '.join(command)}" in result.output


def test_schema_prints_the_shipped_schema():
    result = _invoke("intent", "schema")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == intent_schema()
    assert intent_schema() == json.loads((REPO / "airflow_provider_chimera/contract/intent.schema.json").read_text())


def test_validate_accepts_the_samples_in_several_paths():
    result = _invoke("intent", "validate", str(REPO / "intents"), str(REPO / "tests/fixtures/intents/sales_crm.json"))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"ok {REPO / 'intents' / 'retail_shop.json'}",
        f"ok {REPO / 'tests/fixtures/intents/sales_crm.json'}",
    ]


def _folder_with_problems(tmp_path: Path) -> Path:
    folder = tmp_path / "intents"
    folder.mkdir()
    shutil.copy(REPO / "intents" / "retail_shop.json", folder)
    copy = json.loads((REPO / "intents" / "retail_shop.json").read_text())
    copy["name"] = "retail_copy"
    (folder / "retail_copy.json").write_text(json.dumps(copy, indent=2))  # writes the same three tables
    (folder / "bad.json").write_text(json.dumps({"version": 1, "name": "bad"}))
    return folder


def test_validate_reports_every_problem_and_exits_2(tmp_path):
    folder = _folder_with_problems(tmp_path)
    good = REPO / "tests/fixtures/intents/sales_crm.json"
    result = _invoke("intent", "validate", str(good), str(folder))
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [f"ok {good}"]
    errors = result.stderr.splitlines()
    assert (
        f'{folder / "bad.json"}: /team: \'team\' is required (add "team": {{"name": "...", "support_email": "..."}}, the team that owns the datasets)'
        in errors
    )
    where = "/sources/0/objects/0/ingestion/target/table"
    assert any(
        line.startswith(
            f"{folder / 'retail_copy.json'}: {where}: writes target table retail.customers, as does {folder / 'retail_shop.json'}: {where}"
        )
        for line in errors
    )
    assert errors[-1] == "10 problem(s) in 3 of 4 file(s)"  # bad.json: 4 missing fields; each copy: 3 shared tables


def test_validate_json_format(tmp_path):
    folder = _folder_with_problems(tmp_path)
    result = _invoke("intent", "validate", "--format", "json", str(folder))
    assert result.exit_code == 2
    rows = json.loads(result.stdout)
    assert all(set(row) == {"file", "path", "message", "hint"} and row["hint"] for row in rows)
    by_file: dict[str, list[str]] = {}
    for row in rows:
        by_file.setdefault(Path(row["file"]).name, []).append(row["path"])
    assert by_file == {
        "bad.json": ["/declaration", "/project", "/sources", "/team"],
        "retail_copy.json": [f"/sources/{s}/objects/{o}/ingestion/target/table" for s, o in [(0, 0), (0, 1), (1, 0)]],
        "retail_shop.json": [f"/sources/{s}/objects/{o}/ingestion/target/table" for s, o in [(0, 0), (0, 1), (1, 0)]],
    }


def test_validate_json_format_is_an_empty_list_when_all_is_well():
    result = _invoke("intent", "validate", "--format", "json", str(REPO / "intents"))
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []


def test_validate_a_missing_path_fails(tmp_path):
    result = _invoke("intent", "validate", str(tmp_path / "nope.json"))
    assert result.exit_code == 2
    assert f"{tmp_path / 'nope.json'}: /: cannot read: No such file or directory" in result.stderr


@pytest.mark.parametrize("source_type", SOURCE_TYPES)
def test_new_prints_a_template_that_validates_once_filled(tmp_path, source_type):
    assert set(SOURCE_TYPES) == {"postgres", "mysql", "snowflake", "mongodb", "kafka", "file", "pdf"}
    result = _invoke("intent", "new", "--source-type", source_type)
    assert result.exit_code == 0, result.output
    template = result.stdout
    used = [p for p in PLACEHOLDERS if f'"{p}"' in template]
    assert "<intent_name>" in used and "<target_table>" in used
    for placeholder in used:  # the header explains every placeholder the template holds
        assert placeholder in result.stderr

    _, unfilled = check_bytes(template.encode(), "web_shop.json", stem="web_shop")
    assert {p.message for p in unfilled} == {f"placeholder {p} is not filled in" for p in used}

    filled = template
    for placeholder in used:
        filled = filled.replace(f'"{placeholder}"', json.dumps(FILLED[placeholder]))
    intent, problems = check_bytes(filled.encode(), "web_shop.json", stem="web_shop")
    assert problems == []
    assert intent.sources[0].type == source_type
    assert intent.sources[0].objects[0].ingestion is not None


def test_new_takes_the_intent_name(tmp_path):
    result = _invoke("intent", "new", "--source-type", "postgres", "--name", "sales_crm")
    assert json.loads(result.stdout)["name"] == "sales_crm"
    assert "intents/sales_crm.json" in result.stderr
    assert "<intent_name>" not in result.stdout


def test_new_rejects_an_unknown_source_type():
    result = _invoke("intent", "new", "--source-type", "oracle")
    assert result.exit_code == 2
    assert "oracle" in result.output
