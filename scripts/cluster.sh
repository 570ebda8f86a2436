#!/usr/bin/env bash
# `make cluster`: a production-shaped Airflow on this one machine (README "Running on a cluster").
#
#   bash scripts/cluster.sh start     start what is not running (idempotent); waits for the api-server
#   bash scripts/cluster.sh stop      end every process it started, their process groups included
#   bash scripts/cluster.sh status    one line per process
#   bash scripts/cluster.sh demo      the demo's intent on the running cluster (scripts/cluster_demo.py)
#   bash scripts/cluster.sh run CMD   a command in the cluster's environment (`run airflow dags list`)
#
# The stack: a Redis broker (127.0.0.1:16379); Airflow with the CeleryExecutor, its metadata and
# Celery results in PostgreSQL (database <name>_airflow), api-server (127.0.0.1:18080), scheduler,
# dag-processor, triggerer; one `airflow celery worker` per team queue (`-q chimera_<team>`, its own
# --celery-hostname, pid file, log-server port and CHIMERA_WORKER=<queue>-worker), plus one for
# Airflow's default queue (Chimera's own DAGs); Chimera's registry in PostgreSQL (<name>_registry).
# Intents are read from $CLUSTER_DIR/intents, the "git-synced" folder.
# With scripts/catalog.sh present, it is started first, and scripts/cluster.env (pyiceberg's
# PYICEBERG_CATALOG__CHIMERA__* variables: the REST catalog on S3) configures the catalog; without
# them Chimera's embedded catalog ($CLUSTER_DIR/warehouse) is used.
#
# Settings (environment):
#   CLUSTER_DIR     state, logs, pid files, intents (default: .cluster in the repository)
#   CLUSTER_NAME    prefix of its PostgreSQL databases (default: chimera_cluster)
#   CLUSTER_TEAMS   the team workers, "team[=concurrency][xworkers][@cpus] ..." (default: the teams
#                   of the intents in $CLUSTER_DIR/intents, else of intents/, one worker each); e.g.
#                   "sales=4x2@0 hr=2@1": sales has two workers of concurrency 4 (sales's pools add up
#                   to 8), both pinned to CPU 0 with taskset, as a host of their own would be; saved
#                   in $CLUSTER_DIR/teams at start
#   CLUSTER_WORKER_CONCURRENCY  a team worker's concurrency when CLUSTER_TEAMS gives none (default 2)
#   CLUSTER_SOURCE_SLOTS  source systems' concurrency limits, "source=slots ..."; a bare number is the
#                   default limit of the sources not named (default: Chimera's, [chimera] pools_config)
#   CLUSTER_HEARTBEAT_TIMEOUT  seconds without a task's heartbeat (its worker died) before the scheduler
#                   fails the try and retries it (default 300, Airflow's)
#   CHIMERA_SERVICES_ENV  the local services' settings (default: scripts/services.env)
#   CLUSTER_API_PORT (18080), CLUSTER_REDIS_PORT (16379), CLUSTER_LOG_PORT (18793: the triggerer's
#   log server; worker n gets CLUSTER_LOG_PORT + n)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$PWD
BIN=${CHIMERA_VENV:-$REPO/.venv}/bin
CLUSTER_DIR=${CLUSTER_DIR:-$REPO/.cluster}
CLUSTER_NAME=${CLUSTER_NAME:-chimera_cluster}
API_PORT=${CLUSTER_API_PORT:-18080}
REDIS_PORT=${CLUSTER_REDIS_PORT:-16379}
LOG_PORT=${CLUSTER_LOG_PORT:-18793}
CONCURRENCY=${CLUSTER_WORKER_CONCURRENCY:-2}
RUN=$CLUSTER_DIR/run
LOGS=$CLUSTER_DIR/logs
AIRFLOW_PROCESSES=(api-server scheduler dag-processor triggerer)
GRACE_SECONDS=20

set -a
# shellcheck source=services.env
source "${CHIMERA_SERVICES_ENV:-$REPO/scripts/services.env}"  # the local services (make services)
set +a
PG_URL="$CHIMERA_PG_USER:$CHIMERA_PG_PASSWORD@$CHIMERA_PG_HOST:$CHIMERA_PG_PORT"

# -- the environment every process of the cluster shares -------------------------------------
cluster_env() {
  mkdir -p "$RUN" "$LOGS" "$CLUSTER_DIR/intents" "$CLUSTER_DIR/airflow"
  # Secrets of this cluster, made once, kept out of logs and of `env`'s output.
  [ -s "$CLUSTER_DIR/jwt-secret" ] || (umask 077; "$BIN/python" -c "import secrets; print(secrets.token_hex(32))" >"$CLUSTER_DIR/jwt-secret")
  export PYTHONPATH=$REPO${PYTHONPATH:+:$PYTHONPATH}  # this checkout's Chimera, whatever the venv holds
  export AIRFLOW_HOME=$CLUSTER_DIR/airflow
  export AIRFLOW__CORE__DAGS_FOLDER=$REPO/dags
  export AIRFLOW__CORE__LOAD_EXAMPLES=False
  export AIRFLOW__CORE__EXECUTOR=CeleryExecutor
  export AIRFLOW__CORE__PARALLELISM=32
  export AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://127.0.0.1:$API_PORT/execution/
  export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=True  # local only; see README for a real deployment
  export AIRFLOW__API__HOST=127.0.0.1
  export AIRFLOW__API__PORT=$API_PORT
  export AIRFLOW__API__BASE_URL=http://127.0.0.1:$API_PORT
  AIRFLOW__API_AUTH__JWT_SECRET=$(cat "$CLUSTER_DIR/jwt-secret"); export AIRFLOW__API_AUTH__JWT_SECRET
  export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=postgresql+psycopg2://$PG_URL/${CLUSTER_NAME}_airflow
  export AIRFLOW__CELERY__BROKER_URL=redis://127.0.0.1:$REDIS_PORT/0
  export AIRFLOW__CELERY__RESULT_BACKEND=db+postgresql://$PG_URL/${CLUSTER_NAME}_airflow
  # Each worker imports what a task imports before it forks its pool (decision 0069).
  export AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS=airflow_provider_chimera.preload.CELERY_CONFIG
  export AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=$LOG_PORT  # each worker's own: in workers()
  export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=10
  export AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC=2
  export AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT=${CLUSTER_HEARTBEAT_TIMEOUT:-300}
  # Chimera: routing per team, the registry in PostgreSQL, the git-synced intents folder.
  export AIRFLOW__CHIMERA__TEAM_QUEUE='chimera_{team}'
  export AIRFLOW__CHIMERA__TEAM_SLOTS=$CONCURRENCY
  export AIRFLOW__CHIMERA__POOLS_CONFIG=$CLUSTER_DIR/pools.json
  export AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN=postgresql+psycopg2://$PG_URL/${CLUSTER_NAME}_registry
  export AIRFLOW__CHIMERA__INTENTS_DIR=$CLUSTER_DIR/intents
  export AIRFLOW__CHIMERA__STATE_DIR=$CLUSTER_DIR/chimera
  export AIRFLOW__CHIMERA__WAREHOUSE=$CLUSTER_DIR/warehouse  # the embedded catalog, unless pyiceberg is configured
  export AIRFLOW__CHIMERA__REGISTRY_SYNC_SCHEDULE='* * * * *'  # a dropped intent is picked up within a minute
  # The demo's sources and key (as scripts/demo.sh): files under samples/, the retail_postgres connection.
  export CHIMERA_SAMPLE_DATA=$REPO/samples
  export CHIMERA_DEMO_PII_KEY=${CHIMERA_DEMO_PII_KEY:-chimera-demo-pii-key}
  export AIRFLOW__CHIMERA__PII_KEY_SECRET='${env:CHIMERA_DEMO_PII_KEY}'
  export AIRFLOW_CONN_RETAIL_POSTGRES="postgresql://$PG_URL/$CHIMERA_PG_DB"
  export AIRFLOW_CONN_KAFKA_DEFAULT="{\"conn_type\": \"kafka\", \"extra\": {\"bootstrap.servers\": \"$CHIMERA_KAFKA_BOOTSTRAP\"}}"
  # The catalog helper's settings win (scripts/cluster.env: PYICEBERG_CATALOG__CHIMERA__*, ...).
  if [ -f "$REPO/scripts/cluster.env" ]; then
    set -a; source "$REPO/scripts/cluster.env"; set +a
  fi
}

# -- the team workers --------------------------------------------------------------------------
intent_teams() { # the teams of the intents of the folders given, one a line
  "$BIN/python" - "$@" <<'EOF'
import json, sys
from pathlib import Path
teams = set()
for folder in sys.argv[1:]:
    for path in sorted(Path(folder).rglob("*.json")):
        try:
            teams.add(json.loads(path.read_text())["team"]["name"])
        except (ValueError, KeyError, TypeError):
            pass  # not an intent: the factory reports it
    if teams:
        break
print("\n".join(sorted(teams)))
EOF
}

resolve_teams() { # writes $CLUSTER_DIR/teams ("<team> <queue> <concurrency> <workers> <cpus|->" a line) and pools.json
  local spec=${CLUSTER_TEAMS:-}
  [ -n "$spec" ] || spec=$(intent_teams "$CLUSTER_DIR/intents" "$REPO/intents" | tr '\n' ' ')
  "$BIN/python" - "$CONCURRENCY" "$CLUSTER_DIR" "${CLUSTER_SOURCE_SLOTS:-}" $spec <<'EOF'
import json, re, sys
from pathlib import Path
from airflow_provider_chimera.pipelines.resources import team_queue
default, folder, sources, specs = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3].split(), sys.argv[4:]
lines, config = [], {"teams": {}}
for spec in specs:
    match = re.fullmatch(r"([^=@\s]+?)(?:=(\d+))?(?:x(\d+))?(?:@([\d,-]+))?", spec)
    if not match:
        sys.exit(f"CLUSTER_TEAMS: {spec!r} is not team[=concurrency][xworkers][@cpus]")
    team, slots, workers, cpus = match.group(1), int(match.group(2) or default), int(match.group(3) or 1), match.group(4) or "-"
    lines.append(f"{team} {team_queue(team, 'chimera_{team}')} {slots} {workers} {cpus}")
    config["teams"][team] = slots * workers  # the team's pools add up to its workers' concurrency: a flood waits in Airflow
for limit in sources:
    name, _, slots = limit.rpartition("=")
    if name:
        config.setdefault("sources", {})[name] = int(slots)
    else:
        config["default_source_slots"] = int(slots)
(folder / "teams").write_text("".join(f"{line}\n" for line in lines))
(folder / "pools.json").write_text(json.dumps(config, indent=2) + "\n")
EOF
}

# -- processes -----------------------------------------------------------------------------------
# Each process runs in its own session (setsid): its pid is its process group's id, saved with the
# leader's start time in $RUN/<name>.pgid; stop signals the whole group (the workers' forked children
# and log servers). A group whose leader is a different process (the pid reused) is not ours.
start_time() { # the process's start time (field 22 of its stat; its name, field 2, may hold spaces and parentheses)
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  awk '{print $20}' <<<"${stat##*) }"
}

group_alive() { # pgid, leader's start time: a live process of that group of ours
  local started
  started=$(start_time "$1")
  [ -n "$started" ] && [ "$started" != "$2" ] && return 1  # the id now leads another process
  ps -eo pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ {found = 1} END {exit !found}'
}

running() { [ -f "$RUN/$1.pgid" ] && group_alive $(cat "$RUN/$1.pgid"); }

launch() { # name, command... (in the cluster's environment; output to $LOGS/<name>.log)
  local name=$1; shift
  if running "$name"; then
    printf '%-28s running (pid %s)\n' "$name" "$(cut -d' ' -f1 "$RUN/$name.pgid")"
    return
  fi
  setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  local pid=$!
  echo "$pid $(start_time "$pid")" >"$RUN/$name.pgid"
  printf '%-28s started (pid %s, log %s)\n' "$name" "$pid" "${LOGS#$REPO/}/$name.log"
}

stop_group() { # name
  local file=$RUN/$1.pgid pgid started
  [ -f "$file" ] || return 0
  read -r pgid started <"$file"
  if group_alive "$pgid" "$started"; then
    kill -TERM -- "-$pgid" 2>/dev/null || true
    local deadline=$((SECONDS + GRACE_SECONDS))
    while group_alive "$pgid" "$started" && [ $SECONDS -lt $deadline ]; do sleep 0.5; done
    if group_alive "$pgid" "$started"; then kill -KILL -- "-$pgid" 2>/dev/null || true; fi
    while group_alive "$pgid" "$started"; do sleep 0.2; done
    printf '%-28s stopped\n' "$1"
  fi
  rm -f "$file"
}

wait_until() { # seconds, what, command...
  local deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then echo "timed out after $(( $1 )) s waiting for $what" >&2; return 1; fi
    sleep 1
  done
}

create_databases() {
  "$BIN/python" - "${CLUSTER_NAME}_airflow" "${CLUSTER_NAME}_registry" <<'EOF'
import os, sys
import psycopg
e = os.environ
with psycopg.connect(host=e["CHIMERA_PG_HOST"], port=e["CHIMERA_PG_PORT"], user=e["CHIMERA_PG_USER"],
                     password=e["CHIMERA_PG_PASSWORD"], dbname=e["CHIMERA_PG_DB"], autocommit=True) as conn:
    for name in sys.argv[1:]:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"database {name} created")
EOF
}

api_healthy() { "$BIN/python" -c "import httpx, sys; sys.exit(httpx.get('http://127.0.0.1:$API_PORT/api/v2/monitor/health', timeout=5).status_code != 200)"; }

redis_ready() { redis-cli -p "$REDIS_PORT" ping | grep -q PONG; }

workers() { # "<name> <queue> <concurrency> <log port> <cpus|->" a line: Airflow's default queue, then each team's
  local n=1 team queue slots count cpus i name default_queue
  default_queue=$("$BIN/airflow" config get-value operators default_queue 2>/dev/null || echo default)
  echo "${default_queue}-worker $default_queue $CONCURRENCY $((LOG_PORT + n)) -"
  while read -r team queue slots count cpus; do
    for ((i = 1; i <= ${count:-1}; i++)); do
      n=$((n + 1))
      name=${queue}-worker
      [ "${count:-1}" -eq 1 ] || name=$name-$i
      echo "$name $queue $slots $((LOG_PORT + n)) ${cpus:--}"
    done
  done <"$CLUSTER_DIR/teams"
}

pinned() { # cpus|-: the command prefix that pins to those CPUs (taskset), or none
  [ "$1" = "-" ] || echo "taskset -c $1"
}

start() {
  command -v redis-server >/dev/null || { echo "redis-server is not installed: make system-deps (Debian package redis-server)" >&2; exit 1; }
  cluster_env
  if [ -f "$REPO/scripts/catalog.sh" ]; then bash "$REPO/scripts/catalog.sh" start; fi
  mkdir -p "$CLUSTER_DIR/redis"
  launch redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$CLUSTER_DIR/redis" --save "" --appendonly no
  wait_until 30 "redis on 127.0.0.1:$REDIS_PORT" redis_ready
  create_databases
  "$BIN/airflow" db migrate >"$LOGS/db-migrate.log" 2>&1 || { tail -20 "$LOGS/db-migrate.log" >&2; exit 1; }
  resolve_teams
  local name
  for name in "${AIRFLOW_PROCESSES[@]}"; do
    launch "$name" "$BIN/airflow" "$name"
  done
  local queue slots port cpus
  while read -r name queue slots port cpus; do
    # Each worker: its queue, its Celery node name, pid file and log server; CHIMERA_WORKER names it
    # inside its tasks (ingest.worker), as separate hosts' names would.
    # A worker pinned with taskset passes its CPUs on to every task process it forks.
    launch "$name" $(pinned "$cpus") env CHIMERA_WORKER="$name" AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT="$port" \
      "$BIN/airflow" celery worker -q "$queue" -c "$slots" --celery-hostname "$name@%h" --pid "$RUN/$name.celery.pid"
  done < <(workers)
  wait_until 180 "the api-server on 127.0.0.1:$API_PORT (log: $LOGS/api-server.log)" api_healthy
  echo "cluster up: http://127.0.0.1:$API_PORT (intents folder: ${CLUSTER_DIR#$REPO/}/intents)"
}

stop() {
  [ -d "$RUN" ] || { echo "no cluster in $CLUSTER_DIR"; return 0; }
  local file name
  # Workers first (they finish or give back their tasks), then Airflow's processes, Redis last.
  for file in "$RUN"/*-worker.pgid; do [ -e "$file" ] && stop_group "$(basename "$file" .pgid)"; done
  for name in triggerer dag-processor scheduler api-server redis; do stop_group "$name"; done
  for file in "$RUN"/*.pgid; do [ -e "$file" ] && stop_group "$(basename "$file" .pgid)"; done
  if [ -f "$REPO/scripts/catalog.sh" ]; then bash "$REPO/scripts/catalog.sh" stop; fi
  echo "cluster stopped"
}

status() {
  local file name state=0
  [ -d "$RUN" ] || { echo "no cluster in $CLUSTER_DIR"; return 3; }
  for file in "$RUN"/*.pgid; do
    [ -e "$file" ] || continue
    name=$(basename "$file" .pgid)
    if running "$name"; then printf '%-28s running (pid %s)\n' "$name" "$(cut -d' ' -f1 "$file")"; else printf '%-28s DOWN\n' "$name"; state=3; fi
  done
  if [ -f "$REPO/scripts/catalog.sh" ]; then bash "$REPO/scripts/catalog.sh" status || state=3; fi
  return $state
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  demo) cluster_env; exec "$BIN/python" "$REPO/scripts/cluster_demo.py" ;;
  run) shift; cluster_env; PATH=$BIN:$PATH exec "$@" ;;
  *) echo "usage: $0 start|stop|status|demo|run CMD..." >&2; exit 2 ;;
esac
