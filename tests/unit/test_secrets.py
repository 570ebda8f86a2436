"""The scrubber that keeps credentials out of reports (``airflow_provider_chimera.secrets``)."""

from __future__ import annotations

import pytest

from airflow_provider_chimera.secrets import Scrubber


def test_known_secrets_are_masked_as_written_and_url_encoded():
    scrub = Scrubber(["p@ss w/rd%"])
    text = "failed: 'p@ss w/rd%' in postgresql://u:p%40ss%20w%2Frd%25@h/db and p%40ss+w%2Frd%25"
    assert scrub(text) == "failed: '***' in postgresql://u:***@h/db and ***"


def test_short_secrets_are_masked_too():
    assert Scrubber(["qa"])("user qa, password qa") == "user ***, password ***"


def test_the_longest_secret_wins_when_one_contains_another():
    assert Scrubber(["abc", "abcdef"])("x abcdef y abc") == "x *** y ***"


def test_empty_and_missing_values_mask_nothing():
    scrub = Scrubber(["", None])
    assert scrub("nothing to hide") == "nothing to hide"


def test_secrets_added_later_are_masked():
    scrub = Scrubber()
    assert scrub("token t0k3n") == "token t0k3n"
    scrub.add("t0k3n")
    assert scrub("token t0k3n") == "token ***"


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        ("cannot reach postgresql://chimera:unknown@db:5432/x", "cannot reach postgresql://chimera:***@db:5432/x"),
        ("mongodb+srv://:onlypass@cluster/db", "mongodb+srv://:***@cluster/db"),
        ("two: a://u:p1@h b://v:p2@k", "two: a://u:***@h b://v:***@k"),
        ("no password: postgresql://chimera@db:5432/x", "no password: postgresql://chimera@db:5432/x"),
        ("a port: http://host:8080/path@x", "a port: http://host:8080/path@x"),
    ],
)
def test_uri_passwords_are_masked_without_knowing_them(text, scrubbed):
    assert Scrubber()(text) == scrubbed


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        ("dsn host=db password=hunter2 user=x", "dsn host=db password=*** user=x"),
        ("?user=x&Token=abc123&db=y", "?user=x&Token=***&db=y"),
        ("placeholder ${secret:NOPE} has no value", "placeholder ${secret:NOPE} has no value"),
        ("password authentication failed", "password authentication failed"),
    ],
)
def test_password_parameters_are_masked(text, scrubbed):
    assert Scrubber()(text) == scrubbed


def test_the_secrets_module_is_the_ground_floor():
    """It imports nothing of Chimera but the error tree, the tenancy model and the settings."""
    import ast
    from pathlib import Path

    import airflow_provider_chimera.secrets as module

    tree = ast.parse(Path(module.__file__).read_text())
    ours = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("airflow_provider_chimera")
    }
    assert ours <= {"airflow_provider_chimera.errors", "airflow_provider_chimera.tenancy.model", "airflow_provider_chimera.settings"}
