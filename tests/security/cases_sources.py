"""Sources: placeholders only in the password slot and within the team's prefix (1), file and PDF
paths below their base (2), Snowflake URIs without host, port or protocol keys (5)."""

from __future__ import annotations

from tests.security.corpus import SAMPLES, HostileCase


def _database(kind: str, uri: str, name: str = "public.orders"):
    """Make the hostile intent's source a ``kind`` database read through ``uri``."""

    def mutate(data):
        obj = {"name": name, "ingestion": {"trigger": {"type": "adhoc"}, "mode": {"type": "full"},
                                           "target": {"namespace": "team_b", "table": "orders"}}}
        if kind in ("mongodb", "kafka"):
            obj["schema"] = {"fields": [{"name": "id", "type": "long"}]}
        if kind == "kafka":
            obj["format"] = "json"
        data["sources"][0] = {"name": "db", "type": kind, "connection": {"uri": uri}, "objects": [obj]}
    return mutate


def _files(uri: str | None = None, path: str | None = None, kind: str = "file"):
    """Change the hostile intent's file source's base location and/or object path."""

    def mutate(data):
        source = data["sources"][0]
        if uri is not None:
            source["connection"] = {"uri": uri}
        if path is not None:
            source["objects"][0]["path"] = path
        if kind == "pdf":
            source["type"] = "pdf"
            obj = source["objects"][0]
            del obj["format"], obj["schema"]
    return mutate


URI = "/sources/0/connection/uri"
PATH = "/sources/0/objects/0/path"
SLOT = "is outside the password slot of the uri"

CASES = [
    # 1. Placeholders: password slot only, the team's prefix only, no platform names.
    HostileCase("placeholder-in-database", "1", URI, "placeholder ${env:B_DB} " + SLOT,
                _database("postgres", "postgresql://reader:${secret:B_PG}@db.example.org:5432/${env:B_DB}")),
    HostileCase("placeholder-in-mysql-path", "1", URI, "placeholder ${secret:B_NAME} " + SLOT,
                _database("mysql", "mysql://reader:${secret:B_PW}@db.example.org:3306/${secret:B_NAME}")),
    HostileCase("placeholder-in-query", "1", URI, "placeholder ${env:B_SOURCE} " + SLOT,
                _database("mongodb", "mongodb://reader:${secret:B_MONGO}@mongo.example.org:27017/shop?authSource=${env:B_SOURCE}",
                          name="orders")),
    HostileCase("placeholder-in-broker-path", "1", URI, "placeholder ${env:B_TOPIC} " + SLOT,
                _database("kafka", "kafka://broker.example.org:9092/${env:B_TOPIC}", name="orders")),
    HostileCase("placeholder-in-snowflake-query", "1", URI, "placeholder ${secret:B_TOKEN} " + SLOT,
                _database("snowflake", "snowflake://reader:${secret:B_SF}@acct/DB/PUBLIC?warehouse=${secret:B_TOKEN}",
                          name="PUBLIC.ORDERS")),
    HostileCase("platform-key-in-password-slot", "1", URI, "placeholder ${env:QA_PII_KEY} is not available to intents",
                _database("postgres", "postgresql://reader:${env:QA_PII_KEY}@db.example.org/shop"),
                env={"AIRFLOW__CHIMERA__PII_KEY_SECRET": "${env:QA_PII_KEY}"}),
    HostileCase("other-teams-prefix-in-file-base", "1", URI, "placeholder ${env:A_LANDING} is not available to team 'team-b'",
                _files(uri="file://${env:A_LANDING}"), tenancy=True),
    # 2. File and PDF paths stay below the base; the kernel's pseudo-files are never a base.
    HostileCase("absolute-path", "2", PATH, "is absolute", _files(path="/etc/passwd")),
    HostileCase("home-path", "2", PATH, "is absolute", _files(path="~/.ssh/id_rsa")),
    HostileCase("url-path", "2", PATH, "is a URL", _files(path="file:///proc/self/environ")),
    HostileCase("remote-url-path", "2", PATH, "is a URL", _files(path="s3://other-bucket/*.csv")),
    HostileCase("dot-dot-path", "2", PATH, "climbs out of the source's base location", _files(path="../retail/*.csv")),
    HostileCase("dot-dot-glob", "2", PATH, "climbs out of the source's base location", _files(path="*/../../*.csv")),
    HostileCase("pdf-dot-dot-path", "2", PATH, "climbs out of the source's base location",
                _files(path="../../../etc/*.pdf", kind="pdf")),
    HostileCase("placeholder-in-path", "2", PATH, "holds a placeholder", _files(path="${env:HOME}/x.csv")),
    HostileCase("proc-base", "2", URI, "may not be read by a file source", _files(uri="file:///proc/self")),
    HostileCase("dot-dot-base", "2", URI, "may not be read by a file source", _files(uri=f"file://{SAMPLES}/landing_b/../../..")),
    HostileCase("root-base-proc-path", "2", PATH, "reaches a system folder", _files(uri="file:///", path="proc/self/environ")),
    HostileCase("file-base-outside-roots", "2", URI, "is not under the file roots of team 'team-b'",
                _files(uri="file:///etc"), tenancy=True),
    # 5. Snowflake: only warehouse, role, schema, database and application in the query.
    HostileCase("snowflake-host-key", "5", URI, "query key(s) 'host', 'port', 'protocol' may not be set",
                _database("snowflake", "snowflake://reader:${secret:B_SF}@acct/DB/PUBLIC?host=evil.example.org&port=80&protocol=http",
                          name="PUBLIC.ORDERS")),
    HostileCase("snowflake-token-file", "5", URI, "query key(s) 'authenticator', 'token_file_path' may not be set",
                _database("snowflake", "snowflake://reader@acct/DB?authenticator=oauth&token_file_path=/proc/self/environ",
                          name="PUBLIC.ORDERS")),
    HostileCase("snowflake-private-key-file", "5", URI, "query key(s) 'private_key_file' may not be set",
                _database("snowflake", "snowflake://reader@acct/DB?private_key_file=/var/run/secrets/key.p8&warehouse=WH",
                          name="PUBLIC.ORDERS")),
    HostileCase("snowflake-port", "5", URI, "names a port",
                _database("snowflake", "snowflake://reader:${secret:B_SF}@acct:8080/DB/PUBLIC", name="PUBLIC.ORDERS")),
]
