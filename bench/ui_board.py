"""Board load time with a large fleet (``make bench-ui``; docs/ui.md quotes the numbers).

Seeds a registry (SQLite in a temporary folder, or ``--registry-url``) with ``--pipelines``
pipelines (default 5,000), each with 12 runs, 3 quality checks per run and an SLA state, then asks
the real Chimera app, in-process through httpx's ASGI transport, for the board's first page (HTML),
a filtered page (one team, failing only) and the JSON of the first page, ``--repeat`` times each
after one warm-up; prints p50/p95 in milliseconds and the queries one page took, as JSON.

What is measured is Chimera's part: Airflow's token check runs for real (a JWT signed by Airflow's
code; its revoked-token lookup in Airflow's metadata database answered "not revoked"), and the
user's DAGs come from an auth manager that lists the seeded pipelines (tests/ui_fleet.py), as a
real one lists the DAGs of Airflow's database in one query.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def _time(client, path: str, params: dict, repeat: int) -> dict:
    await client.get(path, params=params)  # warm-up: templates compiled, connections pooled
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        answer = await client.get(path, params=params)
        times.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
    return {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(_percentile(times, 0.95), 1), "bytes": len(answer.content)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipelines", type=int, default=int(os.environ.get("BENCH_UI_PIPELINES", 5000)))
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_UI_REPEAT", 30)))
    parser.add_argument("--registry-url", default=None, help="an empty registry database (default: SQLite in a temporary folder)")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="chimera-bench-ui-"))
    os.environ["AIRFLOW_HOME"] = str(folder / "airflow")
    os.environ["AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN"] = args.registry_url or f"sqlite:///{folder / 'registry.db'}"
    os.environ["AIRFLOW__API_AUTH__JWT_SECRET"] = "bench-ui-secret-" + "0" * 64

    import httpx
    from fastapi import FastAPI
    from sqlalchemy import event

    import airflow.api_fastapi.app as airflow_app
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.models.revoked_token import RevokedToken

    from airflow_provider_chimera.ui.app import create_app
    from airflow_provider_chimera.ui.registry_access import page_registry
    from tests.ui_fleet import ALL, GrantsAuthManager, seed_fleet

    RevokedToken.is_revoked = classmethod(lambda cls, jti, session=None: False)  # no Airflow metadata database here
    manager = GrantsAuthManager(read={"admin": ALL}, edit={"admin": ALL})
    airflow_app._AuthManagerState.instance = manager

    registry = page_registry()
    start = time.perf_counter()
    manager.known_dags = seed_fleet(registry, args.pipelines, runs=12, checks=3, teams=20)
    seeded_s = time.perf_counter() - start

    parent = FastAPI()
    parent.mount("/chimera", create_app())
    token = manager.generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))
    statements: list[str] = []
    event.listen(registry.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    async def run() -> dict:
        transport = httpx.ASGITransport(app=parent)
        async with httpx.AsyncClient(transport=transport, base_url="http://airflow", cookies={"_token": token}) as client:
            results = {
                "board_first_page_html": await _time(client, "/chimera/", {}, args.repeat),
                "board_filtered_html": await _time(client, "/chimera/", {"team": "team03", "failing": "true"}, args.repeat),
                "board_first_page_json": await _time(client, "/chimera/api/pipelines", {}, args.repeat),
            }
            statements.clear()
            await client.get("/chimera/api/pipelines", params={"failing": "true"})
            results["queries_per_page"] = len(statements)
            return results

    results = asyncio.run(run())
    print(json.dumps({
        "pipelines": args.pipelines, "runs": args.pipelines * 12, "check_results": args.pipelines * 36,
        "registry": registry.engine.dialect.name, "page_size": 50, "repeat": args.repeat,
        "seeded_s": round(seeded_s, 1), **results,
    }, indent=2))


if __name__ == "__main__":
    main()
