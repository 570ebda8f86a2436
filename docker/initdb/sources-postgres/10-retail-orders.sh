#!/usr/bin/env bash
# Runs once, when the sources Postgres volume is first initialised (docker-entrypoint-initdb.d):
# loads the demo's `public.orders` table (samples/retail, mounted at /samples/retail) so the
# `shop_db` source of intents/retail_shop.json has something to ingest.
set -eo pipefail

samples=/samples/retail
if [[ -f "$samples/orders.sql" && -f "$samples/orders.csv" ]]; then
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -f "$samples/orders.sql"
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -c "\\copy public.orders FROM '$samples/orders.csv' WITH (FORMAT csv, HEADER true)"
else
  echo "no sample orders under $samples; the demo table is not created"
fi
