"""Preflight: what an intent will need from the platform, checked before any onboarding step runs.

Onboarding and the intent's pipelines depend on things the intent does not hold: the Airflow
connection Chimera publishes its events through, the mail connection the team is told through,
the keys its classified columns are protected with, and the Iceberg catalog its tables live in.
Missing any of them used to surface late — at step ``publish_onboarding``, or on every run after
onboarding had completed. :func:`preflight` checks them all at once and returns a
:class:`PreflightReport`:

- **event connection** (``[chimera] events_kafka_conn_id``): must exist and name its
  ``bootstrap.servers``; every onboarding publishes events through it (a problem).
- **mail connection** (``[chimera] smtp_conn_id``): optional; missing or unset, the team is not
  mailed and onboarding goes on (a warning).
- **policy keys**: each classified column's method under its project's policy
  (:mod:`~airflow_provider_chimera.governance.policy`): ``keyed_hash`` needs ``[chimera]
  pii_key_secret``, ``encrypt`` needs ``[chimera] encryption_key_secret`` (a Fernet key); the
  placeholder must be set and resolve (a problem). A key that is set for quarantined payloads
  only must resolve too.
- **Iceberg catalog** (``[chimera] catalog_name``): loaded with Chimera's settings and its
  namespaces listed (a problem when that fails).

Each finding names what to create and how (an ``airflow connections add`` command, an
``AIRFLOW__CHIMERA__*`` variable, a secrets-backend entry), never a secret's value: a resolved key
is only looked at, and error texts are scrubbed. :meth:`PreflightReport.raise_for_problems`
raises :class:`PreflightFailed` (:class:`~airflow_provider_chimera.errors.FixRequired`) listing
every problem, not only the first.

Plain Python: Airflow connections are looked up through ``connection`` (by default Airflow's
secrets backends: the metastore, ``AIRFLOW_CONN_*`` variables, a configured backend), so the
checks run in a test, in ``chimera onboard`` and in the onboarding DAG's first task alike.
Whether a file source's landing folder holds files yet is the connectivity test's concern
(:mod:`.connectivity`): none yet is a warning there when the object declares its schema.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from airflow_provider_chimera.contract.model import Intent
from airflow_provider_chimera.errors import FixRequired
from airflow_provider_chimera.settings import ChimeraSettings

ConnectionLookup = Callable[[str], Any]
# The method of a classified column -> the [chimera] option naming its key.
KEY_OPTIONS = {"keyed_hash": "pii_key_secret", "encrypt": "encryption_key_secret"}
_SHOWN_COLUMNS = 5


class Finding(BaseModel):
    """One thing the platform lacks for this intent: which check, what is wrong, how to fix it."""

    check: str  # "event connection", "mail connection", "policy key", "Iceberg catalog"
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"{self.check}: {self.problem}. To fix: {self.fix}"


class PreflightReport(BaseModel):
    """What :func:`preflight` found: problems stop onboarding, warnings do not."""

    intent: str
    problems: list[Finding] = Field(default_factory=list)
    warnings: list[Finding] = Field(default_factory=list)
    passed: list[str] = Field(default_factory=list)  # one line per check that passed

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_for_problems(self) -> None:
        """Raise :class:`PreflightFailed` naming every problem, if there is any."""
        if self.problems:
            raise PreflightFailed(self)


class PreflightFailed(FixRequired):
    """The platform lacks something the intent needs; the message lists every problem and its fix."""

    def __init__(self, report: PreflightReport):
        self.report = report
        listed = " ".join(f"({i}) {finding}." for i, finding in enumerate(report.problems, 1))
        super().__init__(f"preflight of intent {report.intent}: {len(report.problems)} problem(s) to fix before onboarding: {listed}")


def preflight(
    intent: Intent,
    settings: ChimeraSettings,
    *,
    connection: ConnectionLookup | None = None,
    catalog: bool = True,
) -> PreflightReport:
    """Check everything ``intent`` will need from the platform (see the module doc); never raises.

    ``connection``: looks an Airflow connection up by id, raising when it is not defined (by
    default Airflow's). ``catalog=False`` leaves the Iceberg catalog out.
    """
    lookup = connection or _airflow_connection
    report = PreflightReport(intent=intent.name)
    _event_connection(settings, lookup, report)
    _mail_connection(intent, settings, lookup, report)
    _policy_keys(intent, settings, report)
    if catalog:
        _iceberg_catalog(settings, report)
    return report


# --- Airflow connections ---------------------------------------------------------------------------


def _airflow_connection(conn_id: str) -> Any:
    from airflow_provider_chimera.sources.base import airflow_connection

    return airflow_connection(conn_id)


def _look_up(conn_id: str, lookup: ConnectionLookup) -> tuple[Any | None, str | None]:
    """``(connection, None)``, or ``(None, why not)`` (scrubbed)."""
    from airflow_provider_chimera.secrets import scrub

    try:
        return lookup(conn_id), None
    except Exception as exc:
        if type(exc).__name__ in ("AirflowNotFoundException", "KeyError", "LookupError"):
            return None, f"connection {conn_id!r} is not defined"
        return None, scrub(f"connection {conn_id!r} cannot be looked up: {type(exc).__name__}: {exc}")


def _extras(conn: Any) -> dict[str, Any]:
    extras = getattr(conn, "extra_dejson", None)
    if extras is None and isinstance(conn, dict):
        extras = conn.get("extra") or {}
    return extras if isinstance(extras, dict) else {}


def _env_name(conn_id: str) -> str:
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def _connection(check: str, option: str, conn_id: str, lookup: ConnectionLookup, create: str, effect: str,
                env_value: str = "") -> tuple[Any | None, Finding | None]:
    """The connection ``[chimera] option`` names, or ``(None, the finding)`` naming how to create it."""
    env = f"AIRFLOW__CHIMERA__{option.upper()}"
    if not conn_id:
        return None, Finding(check=check, problem=f"[chimera] {option} is empty: {effect}",
                             fix=f"create a connection (`{create}`) and set {env} to its id")
    conn, why = _look_up(conn_id, lookup)
    if conn is None:
        return None, Finding(check=check, problem=f"{why} ([chimera] {option}): {effect}", fix=(
            f"create it: `{create}` (or set {_env_name(conn_id)}{env_value}), or name an existing one in [chimera] {option} ({env})"
        ))
    return conn, None


def _event_connection(settings: ChimeraSettings, lookup: ConnectionLookup, report: PreflightReport) -> None:
    conn_id = settings.events_kafka_conn_id
    create = (
        f"airflow connections add {conn_id or 'kafka_default'} --conn-type kafka "
        "--conn-extra '{\"bootstrap.servers\": \"<host:port>,...\"}'"
    )
    env_value = "='{\"conn_type\": \"kafka\", \"extra\": {\"bootstrap.servers\": \"<host:port>\"}}'"
    conn, finding = _connection("event connection", "events_kafka_conn_id", conn_id, lookup, create,
                                "onboarding publishes its events through it", env_value)
    if finding is None and not _extras(conn).get("bootstrap.servers"):
        finding = Finding(
            check="event connection",
            problem=f"connection {conn_id!r} ([chimera] events_kafka_conn_id) has no bootstrap.servers in its extra",
            fix=f"add the brokers to its extra: `airflow connections delete {conn_id}` then `{create}` (or edit it in the Airflow UI)",
        )
    if finding is not None:
        report.problems.append(finding)
    else:
        report.passed.append(f"event connection {conn_id!r}")


def _mail_connection(intent: Intent, settings: ChimeraSettings, lookup: ConnectionLookup, report: PreflightReport) -> None:
    """Optional: without it the team is not mailed, and onboarding goes on (a warning)."""
    conn_id = settings.smtp_conn_id
    create = (
        f"airflow connections add {conn_id or 'smtp_default'} --conn-type smtp --conn-host <smtp host> "
        "--conn-port 587 --conn-login <user> --conn-password <password> --conn-extra '{\"from_email\": \"<sender>\"}'"
    )
    effect = (f"team {intent.team.name!r} ({intent.team.support_email}) is not mailed about this onboarding or its "
              "pipelines; onboarding goes on")
    _, finding = _connection("mail connection", "smtp_conn_id", conn_id, lookup, create, effect)
    if finding is not None:
        report.warnings.append(finding)
    else:
        report.passed.append(f"mail connection {conn_id!r}")


# --- policy keys -----------------------------------------------------------------------------------


def _policy_keys(intent: Intent, settings: ChimeraSettings, report: PreflightReport) -> None:
    from airflow_provider_chimera.governance.policy import SENSITIVE, PolicyError, policy_for, read_policy_file
    from airflow_provider_chimera.pipelines import pipelines_of

    try:
        policies = read_policy_file(settings.policies_config)
    except PolicyError as exc:
        report.problems.append(Finding(
            check="policy file",
            problem=str(exc),
            fix="correct the file [chimera] policies_config (AIRFLOW__CHIMERA__POLICIES_CONFIG) names, or empty the option for the built-in policy",
        ))
        return
    needed: dict[str, list[str]] = {}  # option -> the columns that need its key
    sensitive = False
    for pipeline in pipelines_of(intent, "", ""):
        classification = pipeline.ingestion.classification
        if not classification:
            continue
        policy = policy_for(pipeline.project, settings, policies)
        for column, cls in sorted(classification.items()):
            sensitive = sensitive or cls in SENSITIVE
            method = policy.method(cls)
            if method in KEY_OPTIONS:
                needed.setdefault(KEY_OPTIONS[method], []).append(f"{pipeline.object.name}.{column} ({cls}: {method})")
    # A key that is set protects quarantined payloads of objects with sensitive columns too.
    for option in KEY_OPTIONS.values():
        if option not in needed and sensitive and getattr(settings, option):
            needed[option] = []
    for option, columns in needed.items():
        finding = _key_problem(option, getattr(settings, option), columns)
        if finding is None:
            report.passed.append(f"policy key [chimera] {option}")
        else:
            report.problems.append(finding)


def _key_problem(option: str, placeholder: str, columns: list[str]) -> Finding | None:
    """Why the key ``[chimera] option`` names cannot be used (``None``: it can); never its value."""
    from airflow_provider_chimera.secrets import PLACEHOLDER, UnresolvedSecretError, placeholder_values, register_secret

    env = f"AIRFLOW__CHIMERA__{option.upper()}"
    shown = ", ".join(columns[:_SHOWN_COLUMNS]) + (f" and {len(columns) - _SHOWN_COLUMNS} more" if len(columns) > _SHOWN_COLUMNS else "")
    purpose = f"columns {shown} need it" if columns else "quarantined payloads of classified objects are protected with it"
    fernet = option == "encryption_key_secret"
    what = "a Fernet key" if fernet else "a key"
    make = (
        " (make one with `python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`)"
        if fernet else " (a long random string)"
    )
    variable = "chimera_encryption_key" if fernet else "chimera_pii_key"
    store = (
        f"store {what}{make} in a secrets backend or as an Airflow Variable (`airflow variables set {variable} <key>`) "
        f"and set {env}='${{secret:{variable}}}' (or '${{env:NAME}}' with NAME set on every worker)"
    )
    check = "policy key"
    if not placeholder:
        return Finding(check=check, problem=f"[chimera] {option} is not set; {purpose}", fix=store)
    if not PLACEHOLDER.fullmatch(placeholder.strip()):
        return Finding(
            check=check,
            problem=f"[chimera] {option} must be one ${{secret:NAME}} or ${{env:NAME}} placeholder naming where the key is, not the key itself",
            fix=store,
        )
    kind, name = PLACEHOLDER.fullmatch(placeholder.strip()).groups()  # type: ignore[union-attr]
    try:
        (value,) = placeholder_values(placeholder.strip()).values()
    except UnresolvedSecretError:
        where = (
            f"create the Airflow Variable or secrets-backend entry {name!r} (`airflow variables set {name} <key>`)"
            if kind == "secret" else f"set the environment variable {name} on every worker and where `chimera` runs"
        )
        return Finding(
            check=check,
            problem=f"[chimera] {option} names ${{{kind}:{name}}}, which has no value; {purpose}",
            fix=f"{where}, holding {what}{make}",
        )
    except Exception as exc:  # a secrets backend that does not answer
        from airflow_provider_chimera.secrets import scrub

        return Finding(check=check, problem=scrub(f"[chimera] {option}: ${{{kind}:{name}}} cannot be read: {type(exc).__name__}: {exc}"),
                       fix="make the secrets backend reachable from the workers")
    register_secret(value)
    if fernet:
        from cryptography.fernet import Fernet

        try:
            Fernet(value.encode())
        except (ValueError, TypeError):
            return Finding(
                check=check,
                problem=f"[chimera] {option}: the value of ${{{kind}:{name}}} is not a Fernet key (32 url-safe base64-encoded bytes)",
                fix=f"replace it with a Fernet key{make}",
            )
    return None


# --- the Iceberg catalog ---------------------------------------------------------------------------


def _iceberg_catalog(settings: ChimeraSettings, report: PreflightReport) -> None:
    from pyiceberg.utils.config import Config

    from airflow_provider_chimera.secrets import Scrubber, is_secret_key, scrub
    from airflow_provider_chimera.writer import chimera_catalog

    name = settings.catalog_name
    config = Config().get_catalog_config(name) or {}
    prefix = f"PYICEBERG_CATALOG__{name.upper().replace('-', '_')}__"
    try:
        catalog = chimera_catalog(settings)
        catalog.list_namespaces()
    except Exception as exc:
        hide = Scrubber(str(v) for k, v in config.items() if is_secret_key(k) and v)
        first_line = (str(exc).strip().splitlines() or [""])[0]
        reason = scrub(hide(f"{type(exc).__name__}: {first_line}"))[:500]
        if config:
            problem = f"Iceberg catalog {name!r} ({config.get('type', 'configured')} catalog) cannot be opened: {reason}"
            fix = (
                f"start the catalog service or correct its configuration ({prefix}URI, {prefix}TYPE, ... or .pyiceberg.yaml); "
                f"without configuration for {name!r} Chimera uses its embedded catalog in [chimera] warehouse"
            )
        else:
            problem = f"embedded Iceberg catalog {name!r} in {settings.warehouse} cannot be opened: {reason}"
            fix = "set [chimera] warehouse (AIRFLOW__CHIMERA__WAREHOUSE) to a folder the workers may write, or configure a catalog service the pyiceberg way"
        report.problems.append(Finding(check="Iceberg catalog", problem=problem, fix=fix))
        return
    report.passed.append(f"Iceberg catalog {name!r}" + ("" if config else " (embedded)"))
