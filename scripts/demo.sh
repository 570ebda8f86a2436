#!/usr/bin/env bash
# `make demo`: run every pipeline of the sample intents through Airflow on embedded defaults.
#
# Airflow runs on SQLite in a throwaway AIRFLOW_HOME ($DEMO_DIR/airflow, recreated each time);
# the Iceberg warehouse ($DEMO_DIR/warehouse: an SQL catalog on SQLite plus Parquet files) is
# kept, so running the demo again shows that nothing is ingested twice.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
BIN=$REPO/.venv/bin
DEMO_DIR=${DEMO_DIR:-$REPO/.demo}

set -a; source scripts/services.env; set +a
export AIRFLOW_HOME=$DEMO_DIR/airflow
export AIRFLOW__CORE__DAGS_FOLDER=$REPO/dags
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CHIMERA__INTENTS_DIR=$REPO/intents
export AIRFLOW__CHIMERA__WAREHOUSE=$DEMO_DIR/warehouse
export CHIMERA_SAMPLE_DATA=$REPO/samples
# The sample intent classifies customers' email and name as pii: they are stored keyed-hashed, with
# a demo key from the environment (in production, a ${secret:NAME} in Airflow's secrets backend).
export CHIMERA_DEMO_PII_KEY=${CHIMERA_DEMO_PII_KEY:-chimera-demo-pii-key}
export AIRFLOW__CHIMERA__PII_KEY_SECRET='${env:CHIMERA_DEMO_PII_KEY}'
# The sample intent's Postgres source names the Airflow connection `retail_postgres`.
export AIRFLOW_CONN_RETAIL_POSTGRES="postgresql://$CHIMERA_PG_USER:$CHIMERA_PG_PASSWORD@$CHIMERA_PG_HOST:$CHIMERA_PG_PORT/$CHIMERA_PG_DB"
# Onboarding announces each intent on the local Kafka (`[chimera] events_kafka_conn_id`, kafka_default).
export AIRFLOW_CONN_KAFKA_DEFAULT="{\"conn_type\": \"kafka\", \"extra\": {\"bootstrap.servers\": \"$CHIMERA_KAFKA_BOOTSTRAP\"}}"

rm -rf "$AIRFLOW_HOME"
mkdir -p "$AIRFLOW_HOME" "$DEMO_DIR/logs"
"$BIN/python" scripts/seed_demo.py
"$BIN/airflow" db migrate >"$DEMO_DIR/logs/db-migrate.log" 2>&1 || { tail -20 "$DEMO_DIR/logs/db-migrate.log"; exit 1; }

# A pipeline ingests only once its intent is onboarded (in a deployment, chimera_registry_sync
# starts the intent's onboarding DAG by itself): validate, test connectivity, register, harvest
# metadata for DataHub Lite, publish the onboarding events, notify the team.
for intent in intents/*.json; do
  log=$DEMO_DIR/logs/onboard-$(basename "$intent" .json).log
  if "$BIN/chimera" onboard "$intent" >"$log" 2>&1; then
    echo "intent $intent: onboarded (log: ${log#$REPO/})"
  else
    echo "intent $intent: onboarding FAILED (log: ${log#$REPO/})"; tail -5 "$log"; exit 1
  fi
done

status=0
for dag in $("$BIN/chimera" dags list --format ids); do
  log=$DEMO_DIR/logs/$dag.log
  if "$BIN/airflow" dags test "$dag" >"$log" 2>&1; then
    echo "pipeline $dag: success (log: ${log#$REPO/})"
  else
    echo "pipeline $dag: FAILED (log: ${log#$REPO/})"; grep -m3 -E "Error|Exception" "$log" || true
    status=1
  fi
done
# The harvest and the runs queued their metadata and lineage in the registry; in a deployment the
# chimera_metadata DAG writes them to DataHub Lite (`chimera catalog show URN` reads it).
"$BIN/chimera" catalog write
"$BIN/chimera" tables
exit $status
