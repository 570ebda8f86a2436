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


def test_settings_name_exactly_the_one_list_of_options():
    """Every [chimera] option is a typed setting and every setting is an option: nothing named twice."""
    from airflow_provider_chimera.provider_info import CONFIG_OPTIONS
    from airflow_provider_chimera.settings import ChimeraSettings

    assert list(ChimeraSettings.model_fields) == list(CONFIG_OPTIONS)


def test_settings_type_every_option_and_empty_paths_mean_none(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("AIRFLOW__CHIMERA__RECOVERY_CPU", "2.5")
    monkeypatch.setenv("AIRFLOW__CHIMERA__TENANCY_FILE", "")
    monkeypatch.setenv("AIRFLOW__CHIMERA__POOLS_CONFIG", "~/pools.yaml")
    for name in ("SQL_ALCHEMY_CONN", "STATE_DIR"):
        monkeypatch.delenv(f"AIRFLOW__CHIMERA__{name}", raising=False)
    settings = load_settings()
    assert settings.recovery_cpu == 2.5
    assert settings.tenancy_file is None
    assert settings.pools_config == tmp_path.home() / "pools.yaml"
    assert settings.sql_alchemy_conn == f"sqlite:///{tmp_path / 'chimera' / 'registry.db'}"
    assert settings.state_dir == tmp_path / "chimera"


def test_provider_info_lists_every_operator_module():
    """Each module of operators/ that defines an operator is in provider info, and each listed one imports."""
    import importlib
    import re
    from pathlib import Path

    from airflow_provider_chimera.provider_info import get_provider_info

    folder = Path(__file__).resolve().parents[2] / "airflow_provider_chimera" / "operators"
    defining = {
        f"airflow_provider_chimera.operators.{path.stem}"
        for path in folder.glob("*.py")
        if re.search(r"^class \w+\((\w+\.)?BaseOperator\)", path.read_text(), re.M)
    }
    (entry,) = get_provider_info()["operators"]
    assert sorted(entry["python-modules"]) == sorted(defining)
    for module in entry["python-modules"]:
        assert any(isinstance(v, type) and v.__module__ == module for v in vars(importlib.import_module(module)).values())
