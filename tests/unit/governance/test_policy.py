"""The classification policy: built-in defaults, the policy file per project, and the keys it names."""

from __future__ import annotations

import json

import pytest

from airflow_provider_chimera.governance.policy import PolicyError, parse_policy_file, policy_for, resolve_key
from airflow_provider_chimera.secrets import scrub
from airflow_provider_chimera.settings import load_settings


def _settings(monkeypatch, tmp_path, policies: dict | str | None = None, **options: str):
    if policies is not None:
        path = tmp_path / "policies.json"
        path.write_text(policies if isinstance(policies, str) else json.dumps(policies))
        monkeypatch.setenv("AIRFLOW__CHIMERA__POLICIES_CONFIG", str(path))
    for name, value in options.items():
        monkeypatch.setenv(f"AIRFLOW__CHIMERA__{name.upper()}", value)
    return load_settings()


def test_built_in_defaults_keep_public_and_internal_hash_pii_and_drop_secrets(monkeypatch, tmp_path):
    monkeypatch.delenv("AIRFLOW__CHIMERA__POLICIES_CONFIG", raising=False)
    policy = policy_for("sales", _settings(monkeypatch, tmp_path))
    assert policy.methods == {"public": "keep", "internal": "keep", "pii": "keyed_hash", "secret": "drop"}
    assert (policy.mask_keep_last, policy.source) == (4, "built-in defaults")


def test_the_file_defaults_then_the_project_entry_override_class_by_class(monkeypatch, tmp_path):
    settings = _settings(
        monkeypatch,
        tmp_path,
        {"defaults": {"secret": "encrypt", "mask_keep_last": 2}, "projects": {"sales": {"pii": "mask"}, "hr": {"internal": "drop"}}},
    )
    assert policy_for("sales", settings).methods == {"public": "keep", "internal": "keep", "pii": "mask", "secret": "encrypt"}
    assert policy_for("hr", settings).methods == {"public": "keep", "internal": "drop", "pii": "keyed_hash", "secret": "encrypt"}
    assert policy_for("other", settings).mask_keep_last == 2
    assert policy_for("other", settings).source == str(tmp_path / "policies.json")


@pytest.mark.parametrize(
    "content, path",
    [
        ({"projects": {"sales": {"pii": "keep"}}}, "/projects/sales/pii"),
        ({"defaults": {"secret": "mask"}}, "/defaults/secret"),
        ({"defaults": {"pii": "tokenize"}}, "/defaults/pii"),
        ({"defaults": {"mask_keep_last": -1}}, "/defaults/mask_keep_last"),
        ({"default": {}}, "/default"),
        ({"projects": {"sales": {"phone": "pii"}}}, "/projects/sales/phone"),
    ],
)
def test_a_policy_file_error_names_the_file_and_the_json_path(monkeypatch, tmp_path, content, path):
    settings = _settings(monkeypatch, tmp_path, content)
    with pytest.raises(PolicyError) as raised:
        policy_for("sales", settings)
    assert str(raised.value).startswith(f"{tmp_path / 'policies.json'}: {path}: ")


def test_a_policy_file_that_is_not_json_names_line_and_column():
    with pytest.raises(PolicyError, match=r"^p.json: /: not valid JSON: Extra data at line 2 column 2$"):
        parse_policy_file('{"defaults": {}\n}}', "p.json")


def test_a_missing_policy_file_names_the_file_and_the_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW__CHIMERA__POLICIES_CONFIG", str(tmp_path / "nope.json"))
    with pytest.raises(PolicyError, match=r"nope.json: cannot read the policy file \(\[chimera\] policies_config\)"):
        policy_for("sales", load_settings())


def test_key_settings_are_read_from_the_chimera_section(monkeypatch, tmp_path):
    settings = _settings(monkeypatch, tmp_path, pii_key_secret="${env:QA_PII_KEY}", encryption_key_secret="${secret:qa_fernet}")
    assert (settings.pii_key_secret, settings.encryption_key_secret) == ("${env:QA_PII_KEY}", "${secret:qa_fernet}")


def test_a_key_comes_from_its_placeholder_and_stays_out_of_the_audit_log(monkeypatch):
    monkeypatch.setenv("QA_PII_KEY", "k3y-material-0123")
    assert resolve_key("pii_key_secret", "${env:QA_PII_KEY}", "keyed_hash") == "k3y-material-0123"
    assert scrub({"note": "key k3y-material-0123 used"}) == {"note": "key *** used"}


def test_no_key_configured_names_the_setting_and_its_variable():
    with pytest.raises(
        PolicyError,
        match=r"^keyed_hash of columns \['email'\] needs a key: set \[chimera\] pii_key_secret \(AIRFLOW__CHIMERA__PII_KEY_SECRET\)",
    ):
        resolve_key("pii_key_secret", "", "keyed_hash of columns ['email']")


def test_a_key_given_in_clear_is_refused_without_repeating_it():
    with pytest.raises(PolicyError) as raised:
        resolve_key("pii_key_secret", "plain-key-value", "keyed_hash")
    assert "plain-key-value" not in str(raised.value)
    assert str(raised.value).startswith("[chimera] pii_key_secret must be one ${secret:NAME} or ${env:NAME} placeholder")


def test_a_placeholder_without_a_value_is_named(monkeypatch):
    monkeypatch.delenv("QA_NO_SUCH_KEY", raising=False)
    with pytest.raises(PolicyError, match=r"^\[chimera\] pii_key_secret: placeholder \$\{env:QA_NO_SUCH_KEY\} has no value; keyed_hash needs it$"):
        resolve_key("pii_key_secret", "${env:QA_NO_SUCH_KEY}", "keyed_hash")
