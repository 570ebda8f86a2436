"""Source plugins: discovered through the ``chimera.sources`` entry points, refused when they speak
another interface version, their config validated by their own model."""

from __future__ import annotations

import json

import pytest

from airflow_provider_chimera.contract.model import Source
from airflow_provider_chimera.contract.validate import check_bytes
from airflow_provider_chimera.sources import UnsupportedSourceError, source_reader
from airflow_provider_chimera.sources.registry import (
    INTERFACE_VERSION,
    PluginRefusedError,
    UnknownSourceTypeError,
    registered_names,
    source_plugin,
)
from tests.entry_points import plugin_site  # noqa: F401  (fixture)

ECHO = '''
from pydantic import BaseModel, ConfigDict, Field

from airflow_provider_chimera.sources.base import SourceReader
from airflow_provider_chimera.sources.registry import Capabilities, SourcePlugin

IMPORTED = True


class EchoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    greeting: str
    repeat: int = Field(default=1, ge=1, le=3)


class EchoObjectOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    loud: bool = False


class EchoReader(SourceReader):
    source_type = "echo"

    def extract(self, obj, since, window=None):
        raise NotImplementedError

    def probe(self):
        return self.source.options["greeting"]

    def check_object(self, obj):
        return []

    def list_objects(self):
        return ["one"]


plugin = SourcePlugin(
    type="echo",
    interface_version=VERSION,
    reader="echo_reader:EchoReader",
    options=EchoOptions,
    object_options=EchoObjectOptions,
    capabilities=Capabilities(modes=("full",), needs_schema=True),
)
'''


def _echo(version: int = INTERFACE_VERSION) -> dict[str, str]:
    return {"echo_plugin": ECHO.replace("VERSION", str(version)).replace("echo_reader:", "echo_plugin:")}


def _source(**changes) -> dict:
    source = {
        "name": "greetings",
        "type": "echo",
        "connection": {"uri": "echo://somewhere"},
        "options": {"greeting": "hello"},
        "objects": [
            {
                "name": "one",
                "schema": {"fields": [{"name": "id", "type": "long"}]},
                "options": {"loud": True},
                "ingestion": {
                    "trigger": {"type": "adhoc"},
                    "mode": {"type": "full"},
                    "target": {"table": "greetings"},
                },
            }
        ],
    }
    source.update(changes)
    return source


def _intent(source: dict) -> bytes:
    return json.dumps(
        {
            "version": 1,
            "name": "echoes",
            "team": {"name": "t", "support_email": "t@example.com"},
            "project": "p",
            "declaration": {"declared_by": "me", "statement": "mine", "declared_at": "2026-01-01"},
            "sources": [source],
        }
    ).encode()


def _problems(source: dict) -> list[tuple[str, str]]:
    _, problems = check_bytes(_intent(source), "echoes.json", stem="echoes")
    return [(p.path, p.message) for p in problems]


def test_a_registered_type_is_discovered_and_its_reader_used(plugin_site):
    plugin_site({"echo": "echo_plugin:plugin"}, _echo())
    assert "echo" in registered_names()[7:]  # after the built-in types
    source = Source.model_validate(_source())
    reader = source_reader(source)
    assert type(reader).__name__ == "EchoReader"
    assert reader.probe() == "hello"
    assert source_plugin("echo").capabilities.modes == ("full",)
    assert _problems(_source()) == []


def test_names_are_listed_without_loading_any_plugin(plugin_site):
    import sys

    plugin_site({"echo": "echo_plugin:plugin"}, _echo())
    assert "echo" in registered_names()
    assert "echo_plugin" not in sys.modules  # loaded only when an intent names the type
    source_plugin("echo")
    assert "echo_plugin" in sys.modules


def test_a_reader_class_may_stand_for_its_plugin(plugin_site):
    module = _echo()["echo_plugin"] + "\nEchoReader.interface_version = VERSION\nEchoReader.options = EchoOptions\n"
    plugin_site({"echo": "echo_plugin:EchoReader"}, {"echo_plugin": module.replace("VERSION", str(INTERFACE_VERSION))})
    plugin = source_plugin("echo")
    assert plugin.reader_class().__name__ == "EchoReader" and plugin.options.__name__ == "EchoOptions"


def test_another_interface_version_is_refused_with_a_clear_error(plugin_site):
    plugin_site({"echo": "echo_plugin:plugin"}, _echo(INTERFACE_VERSION + 1))
    with pytest.raises(PluginRefusedError) as info:
        source_plugin("echo")
    message = str(info.value)
    assert f"speaks source interface version {INTERFACE_VERSION + 1}" in message
    assert f"this Chimera speaks version {INTERFACE_VERSION}" in message
    assert "chimera_test_plugin 1.0" in message  # names the package to change
    ((path, problem),) = _problems(_source())
    assert path == "/sources/0/type" and problem == message
    with pytest.raises(UnsupportedSourceError):
        source_reader(Source.model_construct(name="greetings", type="echo"))


def test_a_plugin_that_does_not_load_is_refused(plugin_site):
    plugin_site({"echo": "echo_plugin:plugin"}, {"echo_plugin": "raise ImportError('no driver here')\n"})
    with pytest.raises(PluginRefusedError, match="does not load: ImportError: no driver here"):
        source_plugin("echo")


def test_an_entry_point_naming_another_type_is_refused(plugin_site):
    plugin_site({"other": "echo_plugin:plugin"}, _echo())
    with pytest.raises(PluginRefusedError, match="names a plugin of type 'echo'"):
        source_plugin("other")


def test_a_package_cannot_replace_a_built_in_type(plugin_site):
    plugin_site({"postgres": "echo_plugin:plugin"}, _echo())
    assert source_plugin("postgres").reader == "airflow_provider_chimera.sources.postgres:PostgresReader"
    assert registered_names().count("postgres") == 1


def test_an_unknown_type_names_the_installed_ones(plugin_site):
    plugin_site({"echo": "echo_plugin:plugin"}, _echo())
    with pytest.raises(UnknownSourceTypeError) as info:
        source_plugin("oracle")
    assert str(info.value) == "unknown source type 'oracle'; installed: " + ", ".join(registered_names())
    assert ", pdf, " in str(info.value) and "echo" in str(info.value).split(", pdf, ")[1]
    ((path, message),) = _problems(_source(type="oracle"))
    assert path == "/sources/0/type" and message == str(info.value)


def test_the_config_is_validated_by_the_plugin_with_json_paths(plugin_site):
    plugin_site({"echo": "echo_plugin:plugin"}, _echo())
    source = _source(options={"greeting": "hi", "repeat": 9, "shout": True})
    source["objects"][0]["options"] = {"loud": "very"}
    assert _problems(source) == [
        ("/sources/0/objects/0/options/loud", "Input should be a valid boolean, unable to interpret input"),
        ("/sources/0/options/repeat", "Input should be less than or equal to 3"),
        ("/sources/0/options/shout", "Extra inputs are not permitted"),
    ]
    without = _source()
    del without["options"]
    assert _problems(without) == [("/sources/0/options/greeting", "Field required")]


def test_capabilities_are_checked(plugin_site):
    plugin_site({"echo": "echo_plugin:plugin"}, _echo())
    source = _source()
    del source["objects"][0]["schema"]
    source["objects"][0]["ingestion"]["mode"] = {"type": "incremental", "cursor": "id"}
    assert _problems(source) == [
        ("/sources/0/objects/0/ingestion/mode/type", "a 'echo' source reads in mode full, not 'incremental'"),
        ("/sources/0/objects/0/schema", "a 'echo' object needs a 'schema'"),
    ]


def test_a_built_in_type_takes_no_options():
    source = {
        "name": "db",
        "type": "postgres",
        "connection": {"conn_id": "pg"},
        "options": {"fetch": 10},
        "objects": "all",
    }
    ((path, message),) = _problems(source)
    assert (path, message) == ("/sources/0/options", "a 'postgres' source takes no 'options'")
