"""Chimera's UI plugin inside a running Airflow 3, with users of three roles (conftest.py's USERS).

On the shared stack (conftest.py), with its own intents sub-folder: an intent with a pipeline that
loads and one whose every record is quarantined (its declared schema does not fit the file), so
that its run fails at once. Each test goes through Airflow's api-server as a user would: the
REST API v2 with the user's token, the plugin's routes under ``/chimera``, and, in the last test,
a real headless browser (Debian's chromium and chromedriver through Selenium) on Airflow's own
login page and UI.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO
from tests.e2e.airflow_stack import AirflowStack
from tests.e2e.test_factory_in_airflow import CUSTOMERS  # the retail sample's customers.csv
from tests.helpers import DECLARATION

# Every record fails to convert (a name is no number): all go to quarantine, above the threshold
# of 0 %, a FixRequired error that fails the task at once, without retries.
UNFIT = {"fields": [{"name": "customer_id", "type": "long", "nullable": False}, {"name": "name", "type": "long"}]}


def _object(name: str, schema: dict) -> dict:
    return {"name": name, "path": "customers.csv", "format": "csv", "schema": schema,
            "ingestion": {"trigger": {"type": "adhoc"}, "mode": {"type": "full"}, "target": {"table": f"ui_{name}"}}}


INTENT = {
    "version": 1,
    "name": "ui_shop",
    "team": {"name": "ui-team", "support_email": "ui@example.com"},
    "project": "uie2e",
    "declaration": DECLARATION,
    "sources": [{"name": "files", "type": "file", "connection": {"uri": "file://${env:CHIMERA_SAMPLE_DATA}/retail"},
                 "objects": [_object("customers", CUSTOMERS), _object("failing", UNFIT)]}],
}
GOOD, FAILING = "ui_shop_files_customers", "ui_shop_files_failing"
MUTATING = {"Content-Type": "application/json", "X-Chimera-Request": "1"}
IMAGES = REPO / "docs" / "images"


@pytest.fixture(scope="module")
def stack(shared_airflow):
    stack = shared_airflow.airflow
    (shared_airflow.folder("ui") / "ui_shop.json").write_text(json.dumps(INTENT))
    try:
        stack.trigger("chimera_registry_sync")  # now, not at its next minute: it starts the intent's onboarding
        stack.run("chimera", "pools", "sync")
        stack.wait_for_run("chimera_onboard__ui_shop", timeout=300)
        stack.wait(lambda: {GOOD, FAILING} <= stack.dag_ids(), 180, "the UI module's DAGs to be parsed")
        for dag_id in (GOOD, FAILING):
            stack.unpause(dag_id)
        stack.trigger(GOOD)
        stack.trigger(FAILING)
        stack.wait_for_run(GOOD)
        _finished(stack, FAILING, "failed")
        yield stack
    finally:
        for dag_id in {GOOD, FAILING} & stack.dag_ids():
            stack.pause(dag_id)


def _finished(stack: AirflowStack, dag_id: str, state: str, timeout: float = 180) -> dict:
    """The DAG's latest run once it has ended, which must be in ``state``."""
    def ended():
        runs = stack.runs(dag_id)
        latest = max(runs, key=lambda r: r["run_after"]) if runs else None
        return latest if latest and latest["state"] in ("success", "failed") else None

    run = stack.wait(ended, timeout, f"the latest run of {dag_id} to end", every=2)
    assert run["state"] == state, f"{dag_id} run {run['dag_run_id']} {run['state']}\n{stack.logs()}"
    return run


def _ingest_try(stack: AirflowStack, dag_id: str, run_id: str) -> dict:
    return stack.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/ingest")


def _chimera(stack: AirflowStack, method: str, path: str, user: str | None, **kwargs) -> httpx.Response:
    headers = kwargs.pop("headers", {})
    if user:
        headers["Authorization"] = f"Bearer {stack.token(user)}"
    return httpx.request(method, f"{stack.url}/chimera{path}", headers=headers, timeout=60, **kwargs)


def test_the_plugin_is_listed_with_its_app_and_both_views(stack):
    plugins = {p["name"]: p for p in stack.get("/plugins")["plugins"]}
    chimera = plugins["chimera"]
    assert [(a["name"], a["url_prefix"]) for a in chimera["fastapi_apps"]] == [("Chimera", "/chimera")]
    assert sorted((v["destination"], v["href"]) for v in chimera["external_views"]) == [("dag", "chimera/dags/{DAG_ID}"), ("nav", "chimera/")]


def test_anonymous_is_401_and_ursula_sees_the_pipelines_on_the_board(stack):
    assert _chimera(stack, "GET", "/api/pipelines", None).status_code == 401
    assert _chimera(stack, "GET", "/", None).status_code == 401
    board = _chimera(stack, "GET", "/api/pipelines", "ursula", params={"team": "ui-team"})
    assert board.status_code == 200, board.text
    rows = {r["pipeline_id"]: r for r in board.json()["rows"]}
    assert {GOOD, FAILING} <= set(rows)
    assert rows[FAILING]["last_run_state"] == "failed"


def test_victors_rerun_is_refused_by_airflow_and_creates_nothing(stack):
    run = _finished(stack, FAILING, "failed")
    before = (len(stack.runs(FAILING)), _ingest_try(stack, FAILING, run["dag_run_id"])["try_number"])
    refused = _chimera(stack, "POST", f"/api/dags/{FAILING}/rerun", "victor", headers=dict(MUTATING), json={})
    assert refused.status_code == 403, refused.text
    time.sleep(2)  # anything the refused call had started would show by now
    assert (len(stack.runs(FAILING)), _ingest_try(stack, FAILING, run["dag_run_id"])["try_number"]) == before


def test_a_rerun_without_the_custom_header_is_refused(stack):
    refused = _chimera(stack, "POST", f"/api/dags/{FAILING}/rerun", "ursula", headers={"Content-Type": "application/json"}, json={})
    assert refused.status_code == 403 and "X-Chimera-Request" in refused.json()["detail"]


def test_ursula_reruns_the_failing_pipeline_a_new_try_runs_and_airflows_audit_log_names_her(stack):
    run = _finished(stack, FAILING, "failed")
    first = _ingest_try(stack, FAILING, run["dag_run_id"])["try_number"]
    answer = _chimera(stack, "POST", f"/api/dags/{FAILING}/rerun", "ursula", headers=dict(MUTATING), json={})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["action"], answer.json()["dag_run_id"]) == ("cleared", run["dag_run_id"])
    # The cleared run is queued or running now: a second click changes nothing.
    busy = _chimera(stack, "POST", f"/api/dags/{FAILING}/rerun", "ursula", headers=dict(MUTATING), json={})
    assert busy.status_code == 409 and "wait for it to end" in busy.json()["detail"]
    _finished(stack, FAILING, "failed")  # the same unfit records again: the new try fails too
    assert _ingest_try(stack, FAILING, run["dag_run_id"])["try_number"] == first + 1
    events = stack.get("/eventLogs", dag_id=FAILING, owner="ursula", limit=100)["event_logs"]
    assert any("clear" in e["event"] for e in events), [e["event"] for e in events]


def test_the_recovery_preview_is_the_clis_dry_run_plan(stack):
    since = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - 3600))
    page = _chimera(stack, "GET", "/api/recovery/plan", "ursula", params={"since": since})
    cli = stack.run("chimera", "recover", "--since", since, "--dry-run", "--format", "json")
    assert page.status_code == 200, page.text
    assert page.json() == json.loads(cli.stdout)
    assert FAILING in [entry["id"] for entry in page.json()["plan"]]
    assert page.headers["X-Chimera-Since"] == since
    # Running it needs edit rights on every DAG of the plan: a viewer starts nothing.
    runs = len(stack.runs("chimera_recovery"))
    refused = _chimera(stack, "POST", "/api/recovery/run", "victor", headers=dict(MUTATING), json={"since": since, "pipelines": [FAILING]})
    assert refused.status_code == 403 and FAILING in refused.json()["detail"]
    assert len(stack.runs("chimera_recovery")) == runs


def test_in_a_browser_ursula_opens_the_board_and_the_tab_and_reruns(stack):
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as until
    from selenium.webdriver.support.ui import Select, WebDriverWait

    for binary in ("/usr/bin/chromium", "/usr/bin/chromedriver"):
        assert Path(binary).exists(), f"{binary} is missing: `make system-deps` installs Debian's chromium and chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1500,1000", "--disable-gpu"):
        options.add_argument(argument)
    browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    wait = WebDriverWait(browser, 60, ignored_exceptions=(StaleElementReferenceException,))  # a frame that reloads
    IMAGES.mkdir(parents=True, exist_ok=True)
    try:
        browser.get(f"{stack.url}/auth/login")
        wait.until(until.presence_of_element_located((By.NAME, "username"))).send_keys("ursula")
        browser.find_element(By.NAME, "password").send_keys(stack.passwords["ursula"])
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(lambda b: any(c["name"] == "_token" for c in b.get_cookies()))

        browser.get(f"{stack.url}/plugin/chimera")
        wait.until(until.frame_to_be_available_and_switch_to_it((By.TAG_NAME, "iframe")))
        wait.until(until.presence_of_element_located((By.CSS_SELECTOR, f"[data-dag-id='{FAILING}']")))
        # The team's pipelines only (the other modules' pipelines share this stack): the filter form, as a user would.
        Select(browser.find_element(By.NAME, "team")).select_by_visible_text("ui-team")
        browser.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
        wait.until(lambda b: {r.get_attribute("data-pipeline") for r in b.find_elements(By.CSS_SELECTOR, "tr[data-pipeline]")} == {GOOD, FAILING})
        browser.switch_to.default_content()
        time.sleep(1)  # Airflow's navigation finishes drawing
        browser.save_screenshot(str(IMAGES / "ui-board.png"))

        run = _finished(stack, FAILING, "failed")
        first = _ingest_try(stack, FAILING, run["dag_run_id"])["try_number"]
        browser.get(f"{stack.url}/dags/{FAILING}/plugin/chimera-dag")
        wait.until(until.frame_to_be_available_and_switch_to_it((By.TAG_NAME, "iframe")))
        wait.until(until.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid=rerun]"))).click()
        result = browser.find_element(By.CSS_SELECTOR, "[data-testid=rerun-result]")
        wait.until(lambda b: result.text not in ("", "…"))
        assert "cleared the failed tasks" in result.text, result.text
        browser.switch_to.default_content()
        time.sleep(1)
        browser.save_screenshot(str(IMAGES / "ui-tab.png"))
    finally:
        browser.quit()
    # The click cleared the run: Airflow's REST API shows its next try (the previous test waited one out).
    stack.wait(lambda: _ingest_try(stack, FAILING, run["dag_run_id"])["try_number"] == first + 1, 30, "the new try of the ingest task")
