"""Errors that need the intent or the source fixed fail the task at once; transient ones are retried."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_chimera.errors import NOT_RETRIED, ChimeraError, FixRequired, Transient
from airflow_provider_chimera.operators.ingest import IngestOperator
from tests.helpers import mark_onboarded, pipeline_for


def _source(base, path: str = "*.csv") -> dict:
    obj = {"name": "items", "path": path, "format": "csv",
           "schema": {"fields": [{"name": "id", "type": "long", "nullable": False}]},
           "ingestion": {"trigger": {"type": "adhoc"}, "mode": {"type": "full"}, "target": {"namespace": "qa", "table": "items"}}}
    return {"name": "drop", "type": "file", "connection": {"uri": base}, "objects": [obj]}


def test_an_error_that_needs_a_fix_fails_the_task_at_once_saying_what_to_fix(tmp_path, catalog, monkeypatch):
    monkeypatch.delenv("QA_MISSING_BASE", raising=False)
    pipeline = pipeline_for(_source("${env:QA_MISSING_BASE}"))
    mark_onboarded(pipeline)
    operator = IngestOperator(task_id="ingest", pipeline=pipeline)

    with pytest.raises(AirflowFailException) as failed:
        operator.execute({"run_id": "r1"})

    assert isinstance(failed.value.__cause__, FixRequired)
    assert "placeholder ${env:QA_MISSING_BASE} has no value" in str(failed.value)
    assert str(failed.value).endswith(f"({NOT_RETRIED})")


def test_a_transient_error_is_raised_as_is_for_airflow_to_retry(tmp_path, catalog, monkeypatch):
    (tmp_path / "a.csv").write_text("id\n1\n")
    monkeypatch.setenv("CHIMERA_FAIL_AT", "after_read")  # an injected failure: a RuntimeError, not a fix
    pipeline = pipeline_for(_source(tmp_path.as_uri()))
    mark_onboarded(pipeline)
    operator = IngestOperator(task_id="ingest", pipeline=pipeline)

    with pytest.raises(RuntimeError, match="failure injected at after_read") as failed:
        operator.execute({"run_id": "r1"})

    assert not isinstance(failed.value, (AirflowFailException, FixRequired))


def test_every_error_of_the_tree_is_either_fix_required_or_transient():
    import importlib
    import pkgutil

    import airflow_provider_chimera as package

    for module in pkgutil.walk_packages(package.__path__, "airflow_provider_chimera."):
        if ".migrations" not in module.name:  # alembic's scripts run only under alembic
            importlib.import_module(module.name)

    def leaves(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from leaves(sub)

    unplaced = [c.__qualname__ for c in leaves(ChimeraError) if c not in (FixRequired, Transient)
                and not issubclass(c, (FixRequired, Transient))]
    assert unplaced == []
    assert {"SchemaMismatchError", "PolicyError", "IntentError", "UnsupportedColumnError", "TableOwnershipError",
            "AuthorizationError", "QualityGateError"} <= {c.__name__ for c in leaves(FixRequired)}
    assert {"PublishError", "RegistryUnreachable"} <= {c.__name__ for c in leaves(Transient)}


def test_failing_fast_fails_a_fix_required_error_at_once_and_passes_others_through():
    from airflow_provider_chimera.operators.failing import failing_fast

    class BadIntent(FixRequired, ValueError):
        pass

    with pytest.raises(AirflowFailException) as failed, failing_fast():
        raise BadIntent("column 'x' is not in the table: fix the intent")
    assert str(failed.value) == f"column 'x' is not in the table: fix the intent ({NOT_RETRIED})"
    assert isinstance(failed.value.__cause__, BadIntent)
    with pytest.raises(ConnectionError), failing_fast():
        raise ConnectionError("service down")


def test_every_chimera_operator_fails_fast_on_errors_that_need_a_fix():
    """Each operator's execute() runs its work under failing_fast() (or, for the ingest task, fail_now)."""
    import ast
    from pathlib import Path

    import airflow_provider_chimera.operators as operators

    for path in sorted(Path(operators.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name == "execute":
                text = ast.unparse(node)
                assert "failing_fast()" in text or "fail_now(" in text, f"{path.name}: execute() does not fail fast on FixRequired"
