"""The hostile-intent corpus: intents a semi-trusted team might push, each with the error it must get.

Every case is an intent document (or raw bytes) dropped into an intents folder beside a good
intent of another team. ``test_hostile_corpus`` asserts, for each case, that
``chimera intent validate`` exits 2 naming the file, the JSON path and the reason, and that the
factory still builds every DAG of the good intent while it builds none of the hostile one's.

Cases live in the ``cases_*.py`` modules beside this one, grouped by area; each module exports
``CASES``, a list of :class:`HostileCase`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"

TEAM_A = {"name": "team-a", "support_email": "a@example.org"}
TEAM_B = {"name": "team-b", "support_email": "b@example.org"}
DECLARATION = {"declared_by": "qa", "statement": "test data", "declared_at": "2026-12-01"}

# The platform's tenancy file for cases that need one (``HostileCase.tenancy``): two teams.
TENANCY: dict[str, Any] = {
    "version": 1,
    "teams": {
        "team-a": {
            "support_email": "team-a@platform.example.org",
            "namespaces": ["team_a"],
            "connections": ["a_postgres"],
            "secrets_prefix": "A_",
            "file_roots": [f"file://{SAMPLES}/retail"],
            "intents_path": "a/",
        },
        "team-b": {
            "support_email": "team-b@platform.example.org",
            "namespaces": ["team_b"],
            "connections": ["b_postgres"],
            "secrets_prefix": "B_",
            "file_roots": [f"file://{SAMPLES}/landing_b"],
            "intents_path": "b/",
        },
    },
}


def file_source(name: str = "files", uri: str | None = None, path: str = "customers.csv", table: str = "customers",
                namespace: str = "team_a") -> dict[str, Any]:
    """A CSV file source with one object, read from the sample retail folder by default."""
    return {
        "name": name,
        "type": "file",
        "connection": {"uri": uri or f"file://{SAMPLES}/retail"},
        "objects": [
            {
                "name": "customers",
                "path": path,
                "format": "csv",
                "schema": {"fields": [{"name": "customer_id", "type": "long", "nullable": False},
                                      {"name": "name", "type": "string"}]},
                "ingestion": {
                    "trigger": {"type": "adhoc"},
                    "mode": {"type": "full"},
                    "target": {"namespace": namespace, "table": table},
                },
            }
        ],
    }


def good_intent() -> dict[str, Any]:
    """Team A's valid intent: one pipeline, ``good_files_customers``."""
    return {"version": 1, "name": "good", "team": dict(TEAM_A), "project": "team_a",
            "declaration": dict(DECLARATION), "sources": [file_source()]}


def hostile_base(name: str = "hostile") -> dict[str, Any]:
    """Team B's intent before a case makes it hostile: valid on its own, one pipeline."""
    return {"version": 1, "name": name, "team": dict(TEAM_B), "project": "team_b", "declaration": dict(DECLARATION),
            "sources": [file_source(uri=f"file://{SAMPLES}/landing_b", path="*.csv", namespace="team_b")]}


@dataclass
class HostileCase:
    """One hostile intent and the problem it must be rejected with."""

    id: str
    point: str  # the control it tests: "tenancy" or the hardening point's number
    path: str  # the JSON path the problem names ("" for the whole document)
    message: str  # a part of the problem's message
    mutate: Callable[[dict[str, Any]], Any] | None = None  # change hostile_base() in place (or return a new document)
    raw: bytes | None = None  # the file's bytes, instead of a document
    tenancy: bool = False  # run with TENANCY as the tenancy file
    folder: str = ""  # where the file goes in the intents folder ("b/" with tenancy by default)
    file_name: str = "hostile.json"
    env: dict[str, str] = field(default_factory=dict)  # environment variables of the case

    def document(self) -> Any:
        data = hostile_base(Path(self.file_name).stem)
        if self.mutate is not None:
            result = self.mutate(data)
            if result is not None:
                data = result
        return copy.deepcopy(data)
