"""Chimera is a provider Airflow discovers through its entry point, with a [chimera] config section."""

from importlib.metadata import entry_points

from airflow_provider_chimera.settings import load_settings


def test_entry_point_returns_provider_info():
    (entry,) = [e for e in entry_points(group="apache_airflow_provider") if e.value.startswith("airflow_provider_chimera")]
    info = entry.load()()
    assert info["package-name"] == "airflow-provider-chimera"
    assert set(info["config"]["chimera"]["options"]) >= {"intents_dir", "catalog_name", "warehouse", "batch_rows"}
    assert info["connection-types"][0]["connection-type"] == "chimera_file"


def test_settings_defaults_and_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.delenv("AIRFLOW__CHIMERA__WAREHOUSE", raising=False)
    monkeypatch.setenv("AIRFLOW__CHIMERA__BATCH_ROWS", "1000")
    monkeypatch.setenv("AIRFLOW__CHIMERA__INTENTS_DIR", str(tmp_path / "in"))
    settings = load_settings()
    assert settings.batch_rows == 1000
    assert settings.intents_dir == tmp_path / "in"
    assert settings.warehouse == tmp_path / "chimera" / "warehouse"
    assert settings.parquet_compression == "zstd"


def test_the_readme_documents_every_option_once():
    """The options table of the README's Configuration section lists exactly the one list of options."""
    import re
    from pathlib import Path

    from airflow_provider_chimera.provider_info import CONFIG_OPTIONS

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+)` \| ([^|]*) \|", section, re.M)
    assert sorted(name for name, _ in rows) == sorted(CONFIG_OPTIONS)
    defaults = {name: default.strip().strip("`") for name, default in rows}
    for name, option in CONFIG_OPTIONS.items():
        if option.get("default") not in (None, ""):
            assert defaults[name] == str(option["default"]), name
