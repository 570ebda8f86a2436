#!/usr/bin/env bash
# Runs once, when the airflow-db volume is first initialised (docker-entrypoint-initdb.d):
# creates the role and the `iceberg` database that hold the pyiceberg SQL catalog's tables.
# Airflow's own metadata stays in the `airflow` database created from POSTGRES_DB.
set -eo pipefail

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v iceberg_user="$ICEBERG_DB_USER" -v iceberg_password="$ICEBERG_DB_PASSWORD" -v POSTGRES_USER="$POSTGRES_USER" <<'SQL'
CREATE ROLE :"iceberg_user" LOGIN PASSWORD :'iceberg_password';
CREATE DATABASE iceberg OWNER :"iceberg_user";
CREATE DATABASE chimera_registry OWNER :"POSTGRES_USER";
SQL
echo "created database iceberg owned by ${ICEBERG_DB_USER}, chimera_registry (Chimera's registry)"
