"""Load the demo's source table (samples/retail/orders.csv) into the local PostgreSQL.

Idempotent: rows already present are left alone, so re-running the demo finds no new orders.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import psycopg

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "retail"


def main() -> int:
    env = os.environ
    with psycopg.connect(
        host=env["CHIMERA_PG_HOST"],
        port=env["CHIMERA_PG_PORT"],
        user=env["CHIMERA_PG_USER"],
        password=env["CHIMERA_PG_PASSWORD"],
        dbname=env["CHIMERA_PG_DB"],
        autocommit=True,
    ) as conn:
        conn.execute((SAMPLES / "orders.sql").read_text())
        conn.execute("CREATE TEMP TABLE orders_in (LIKE public.orders)")
        with conn.cursor().copy("COPY orders_in FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            copy.write((SAMPLES / "orders.csv").read_bytes())
        added = conn.execute("INSERT INTO public.orders SELECT * FROM orders_in ON CONFLICT (order_id) DO NOTHING").rowcount
        total = conn.execute("SELECT count(*) FROM public.orders").fetchone()[0]
    print(f"source   public.orders in PostgreSQL: {total} rows ({added} added)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
