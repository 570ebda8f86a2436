#!/usr/bin/env bash
# An Iceberg REST catalog on S3-compatible storage, on 127.0.0.1, without Docker (docs/cluster.md).
#
#   bash scripts/catalog.sh start     # the S3 store, its bucket, then the REST catalog; waits until both answer
#   bash scripts/catalog.sh stop      # stops what `start` started (by the pids it recorded), nothing else
#   bash scripts/catalog.sh status    # one line per part: running (pid, address) or stopped; exit 3 unless both answer
#
# Parts:
#   s3            moto's S3 server (`python -m moto.server`), bucket $CHIMERA_S3_BUCKET created on start
#   rest-catalog  Apache Iceberg's RESTCatalogServer (the code of the apache/iceberg-rest-fixture image),
#                 its jars resolved from Maven Central by cluster/rest-catalog/pom.xml (cached), backed
#                 by Iceberg's JDBC catalog in the PostgreSQL database $CHIMERA_REST_CATALOG_DB (created
#                 when missing) and writing table files through S3FileIO to s3://$CHIMERA_S3_BUCKET/
#
# Addresses and keys: scripts/cluster.env (PostgreSQL's: scripts/services.env; PostgreSQL itself is
# `make services`'). Environment: CHIMERA_PYTHON, the Python with moto and boto3 (default: the
# repository's .venv). `start` is idempotent. moto keeps objects in memory: when `start` has to
# start the store afresh, it also empties the catalog's database, whose tables would point at files
# that are gone. State, pids and logs live in .cluster/ (git-ignored).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=$ROOT/.cluster
LOGS=$STATE/logs
set -a  # PostgreSQL's address and user (services.env), the catalog's and the store's (cluster.env)
for env_file in services.env cluster.env; do
  # shellcheck source=/dev/null
  source "$ROOT/scripts/$env_file"
done
set +a
PYTHON=${CHIMERA_PYTHON:-$ROOT/.venv/bin/python}
S3_URL=http://$CHIMERA_S3_HOST:$CHIMERA_S3_PORT
REST_URL=http://$CHIMERA_REST_CATALOG_HOST:$CHIMERA_REST_CATALOG_PORT
REST_DIR=$STATE/rest-catalog
S3_PID=$STATE/s3.pid
REST_PID=$STATE/rest-catalog.pid

mkdir -p "$STATE" "$LOGS"
NAME_WIDTH=13
# shellcheck source=process.sh
source "$ROOT/scripts/process.sh"
answers() { python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=3)' "$1" 2>/dev/null; }

# A pid file whose process is not the one this script started (its pid reused after a reboot or a
# crash) is forgotten, so that `stop` never kills another process.
forget_unless_ours() { # pidfile, a word of the command line
  if pid_alive "$1" && ! tr '\0' ' ' <"/proc/$(cat "$1")/cmdline" 2>/dev/null | grep -qF -- "$2"; then
    rm -f "$1"
  fi
}
forget_unless_ours "$S3_PID" moto.server
forget_unless_ours "$REST_PID" LocalRESTCatalogServer

need_python() {
  [ -x "$PYTHON" ] || fail "$1" "no Python at $PYTHON: run \`make install\` or set CHIMERA_PYTHON"
  "$PYTHON" -c 'import moto.server, boto3' 2>/dev/null \
    || fail "$1" "$PYTHON lacks moto[server]/boto3: install the test extra (requirements/lock.txt)"
}

# ---------------------------------------------------------------- S3 (moto)
FRESH=no  # whether `start` started the S3 store, i.e. empty
start_s3() {
  need_python s3
  if ! pid_alive "$S3_PID"; then
    port_open "$CHIMERA_S3_HOST" "$CHIMERA_S3_PORT" \
      && fail s3 "port $CHIMERA_S3_PORT is taken by a process this script did not start"
    setsid "$PYTHON" -m moto.server -H "$CHIMERA_S3_HOST" -p "$CHIMERA_S3_PORT" </dev/null >"$LOGS/s3.log" 2>&1 &
    echo $! >"$S3_PID"
    FRESH=yes
  fi
  wait_until 60 answers "$S3_URL/moto-api/" || fail s3 "no answer on $S3_URL" "$LOGS/s3.log"
  # The keys reach boto3 through its own environment variables, never a command line.
  AWS_ACCESS_KEY_ID=$CHIMERA_S3_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$CHIMERA_S3_SECRET_ACCESS_KEY \
    AWS_DEFAULT_REGION=$CHIMERA_S3_REGION "$PYTHON" - "$S3_URL" "$CHIMERA_S3_BUCKET" >>"$LOGS/s3.log" 2>&1 <<'EOF' \
    || fail s3 "creating the bucket failed" "$LOGS/s3.log"
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1])
if sys.argv[2] not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
    s3.create_bucket(Bucket=sys.argv[2])
EOF
}

# ---------------------------------------------------------------- the REST catalog
fetch_jars() {
  if [ ! -f "$REST_DIR/lib/.complete" ] || [ "$ROOT/cluster/rest-catalog/pom.xml" -nt "$REST_DIR/lib/.complete" ]; then
    command -v mvn >/dev/null || apt_install maven
    rm -rf "$REST_DIR/lib"
    mvn -q -B -f "$ROOT/cluster/rest-catalog/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$REST_DIR/lib" >"$LOGS/rest-catalog-mvn.log" 2>&1 \
      || fail rest-catalog "fetching jars from Maven Central failed" "$LOGS/rest-catalog-mvn.log"
    touch "$REST_DIR/lib/.complete"
  fi
}

catalog_database() { # create | recreate
  need_python rest-catalog
  PGHOST=$CHIMERA_PG_HOST PGPORT=$CHIMERA_PG_PORT PGUSER=$CHIMERA_PG_USER PGPASSWORD=$CHIMERA_PG_PASSWORD \
    PGDATABASE=$CHIMERA_PG_DB "$PYTHON" - "$CHIMERA_REST_CATALOG_DB" "$1" >>"$LOGS/rest-catalog.log" 2>&1 <<'EOF' \
    || fail rest-catalog "preparing database $CHIMERA_REST_CATALOG_DB on PostgreSQL $CHIMERA_PG_HOST:$CHIMERA_PG_PORT failed (is \`make services\` up?)" "$LOGS/rest-catalog.log"
import sys, psycopg
from psycopg import sql
name, action = sys.argv[1], sys.argv[2]
with psycopg.connect(autocommit=True) as conn:
    if action == "recreate":
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
EOF
}

start_rest() {
  command -v java >/dev/null || apt_install default-jre-headless
  fetch_jars
  if pid_alive "$REST_PID" && { [ "$FRESH" = yes ] || ! answers "$REST_URL/v1/namespaces"; }; then
    # A fresh store, or a catalog that lost its database (PostgreSQL restarted: Iceberg's JDBC
    # catalog does not reconnect, it answers every request with a 500): start it again.
    stop_pid rest-catalog "$REST_PID" >/dev/null
  fi
  if ! pid_alive "$REST_PID"; then
    port_open "$CHIMERA_REST_CATALOG_HOST" "$CHIMERA_REST_CATALOG_PORT" \
      && fail rest-catalog "port $CHIMERA_REST_CATALOG_PORT is taken by a process this script did not start"
    catalog_database "$([ "$FRESH" = yes ] && echo recreate || echo create)"
    # The fixture reads its catalog properties from CATALOG_* variables (CATALOG_S3_ENDPOINT -> s3.endpoint,
    # __ -> -); it logs them at INFO, keys included, hence its logger at WARN.
    ( export CATALOG_CATALOG__IMPL=org.apache.iceberg.jdbc.JdbcCatalog \
        CATALOG_URI="jdbc:postgresql://$CHIMERA_PG_HOST:$CHIMERA_PG_PORT/$CHIMERA_REST_CATALOG_DB" \
        CATALOG_JDBC_USER=$CHIMERA_PG_USER CATALOG_JDBC_PASSWORD=$CHIMERA_PG_PASSWORD \
        CATALOG_JDBC_SCHEMA__VERSION=V1 \
        CATALOG_WAREHOUSE="s3://$CHIMERA_S3_BUCKET/" \
        CATALOG_IO__IMPL=org.apache.iceberg.aws.s3.S3FileIO \
        CATALOG_S3_ENDPOINT=$S3_URL CATALOG_S3_PATH__STYLE__ACCESS=true \
        CATALOG_S3_ACCESS__KEY__ID=$CHIMERA_S3_ACCESS_KEY_ID CATALOG_S3_SECRET__ACCESS__KEY=$CHIMERA_S3_SECRET_ACCESS_KEY \
        CATALOG_CLIENT_REGION=$CHIMERA_S3_REGION AWS_REGION=$CHIMERA_S3_REGION \
        CATALOG_REST_PORT=$CHIMERA_REST_CATALOG_PORT REST_HOST=$CHIMERA_REST_CATALOG_HOST
      exec setsid java -Xms64m -Xmx512m \
        -Dorg.slf4j.simpleLogger.defaultLogLevel=info \
        -Dorg.slf4j.simpleLogger.log.org.apache.iceberg.rest.RESTCatalogServer=warn \
        -Dorg.slf4j.simpleLogger.showDateTime=true \
        -cp "$REST_DIR/lib/*" "$ROOT/cluster/rest-catalog/LocalRESTCatalogServer.java"
    ) </dev/null >>"$LOGS/rest-catalog.log" 2>&1 &
    echo $! >"$REST_PID"
  fi
  wait_until 90 answers "$REST_URL/v1/config" || fail rest-catalog "no answer on $REST_URL/v1/config" "$LOGS/rest-catalog.log"
  answers "$REST_URL/v1/namespaces" || fail rest-catalog "its JDBC catalog does not answer (GET /v1/namespaces)" "$LOGS/rest-catalog.log"
}

# ---------------------------------------------------------------- commands
DOWN=0  # parts that are stopped or not answering
status_of() { # name, pidfile, url
  local state=stopped
  if pid_alive "$2"; then
    state="running  pid $(cat "$2")  $3"
    answers "$3" >/dev/null 2>&1 || { state="$state (not answering)"; DOWN=$((DOWN + 1)); }
  else
    DOWN=$((DOWN + 1))
  fi
  printf "%-${NAME_WIDTH}s %s\n" "$1" "$state"
}

case "${1:-}" in
  start)
    start_s3
    say_ok s3 "$S3_URL  bucket $CHIMERA_S3_BUCKET$([ "$FRESH" = yes ] && echo ' (started empty)')"
    start_rest
    say_ok rest-catalog "$REST_URL  warehouse s3://$CHIMERA_S3_BUCKET/  backend PostgreSQL db $CHIMERA_REST_CATALOG_DB"
    ;;
  stop)
    stop_pid rest-catalog "$REST_PID"
    stop_pid s3 "$S3_PID"
    ;;
  status)
    status_of s3 "$S3_PID" "$S3_URL/moto-api/"
    status_of rest-catalog "$REST_PID" "$REST_URL/v1/namespaces"  # through its database, unlike /v1/config
    [ "$DOWN" -eq 0 ] || exit 3
    ;;
  *)
    echo "usage: bash scripts/catalog.sh start|stop|status" >&2
    exit 2
    ;;
esac
