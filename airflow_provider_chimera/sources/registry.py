"""The source types Chimera can read: its built-in readers and those other packages register.

A package adds a source type without touching Chimera by naming a :class:`SourcePlugin` (or a
reader class carrying the same attributes) under the entry-point group :data:`ENTRY_POINT_GROUP`::

    [options.entry_points]
    chimera.sources =
        http = airflow_provider_chimera.sources.http:plugin

The entry point's name is the source type an intent writes in ``"type"``. Entry points are looked
up only when an intent names a type that is not built in, and each one is loaded once (cached):
the module an entry point names should import nothing heavier than Pydantic, and name its reader
as a ``"module:Class"`` string, so that validating intents and parsing DAGs never import a driver.

Chimera speaks :data:`INTERFACE_VERSION` of the interface; a plugin declaring another major
version is refused with an error naming both (:class:`PluginRefusedError`).
"""

from __future__ import annotations

from functools import cache
from importlib import import_module
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from airflow_provider_chimera.errors import FixRequired

ENTRY_POINT_GROUP = "chimera.sources"
# The major version of the source interface (SourceReader, Extract, Position, SourcePlugin) this
# Chimera speaks. Raised only by a change that breaks existing plugins.
INTERFACE_VERSION = 1

# Module-level names: inside SourcePlugin, ``type`` is the field.
Class = type
ModelClass = type[BaseModel]
ModeName = Literal["full", "incremental", "partitioned", "stream"]


class PluginRefusedError(FixRequired, LookupError):
    """A registered source plugin Chimera will not use: says which package, and why."""


class UnknownSourceTypeError(FixRequired, LookupError):
    """A source type neither built in nor registered; names the installed ones."""


class Capabilities(BaseModel):
    """What an intent may ask of a source type; the contract checks objects against it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    modes: tuple[ModeName, ...] = ("full", "incremental")
    # Whether an ``incremental`` object must name a ``cursor`` (no: the source keeps its own
    # position, as Kafka's offsets or a folder's files).
    incremental_needs_cursor: bool = True
    # Whether every object must declare a ``schema`` (schemaless sources) or a ``path``.
    needs_schema: bool = False
    needs_path: bool = False
    # The ``format`` values an object may give (empty: objects give none).
    formats: tuple[str, ...] = ()


class SourcePlugin(BaseModel):
    """One source type: its reader, the config it takes and what it can do.

    ``reader`` is the :class:`~airflow_provider_chimera.sources.base.SourceReader` subclass or,
    better, its ``"module:Class"`` path (imported only when a pipeline reads the source).
    ``options`` and ``object_options`` are Pydantic models of the source's own config: the
    ``options`` object of the intent's source and of each of its objects. A source without one
    takes no ``options`` there. ``options_schema`` / ``object_options_schema`` may give a JSON
    Schema instead of a model.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    type: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    interface_version: int
    reader: str | Class
    options: ModelClass | None = None
    object_options: ModelClass | None = None
    options_schema: dict[str, Any] | None = None
    object_options_schema: dict[str, Any] | None = None
    capabilities: Capabilities = Capabilities()
    description: str = ""

    @field_validator("reader")
    @classmethod
    def _reader_path(cls, value: str | Class) -> str | Class:
        if isinstance(value, str) and ":" not in value:
            raise ValueError(f"reader {value!r} is not a 'module:Class' path")
        return value

    def reader_class(self) -> Class:
        """The reader class, imported now if it was given as a path."""
        if isinstance(self.reader, str):
            module, _, name = self.reader.partition(":")
            return getattr(import_module(module), name)
        return self.reader

    def config_schema(self, level: Literal["source", "object"] = "source") -> dict[str, Any] | None:
        """The JSON Schema of the ``options`` a source (``level="source"``) or an object takes."""
        model = self.options if level == "source" else self.object_options
        given = self.options_schema if level == "source" else self.object_options_schema
        if model is not None:
            return model.model_json_schema()
        return given

    def option_problems(self, options: Any, level: Literal["source", "object"] = "source") -> list[tuple[tuple, str]]:
        """``(location below options, message)`` for each thing wrong with ``options`` (empty: fine)."""
        model = self.options if level == "source" else self.object_options
        given = self.options_schema if level == "source" else self.object_options_schema
        if model is None and given is None:
            if options is None:
                return []
            where = "source" if level == "source" else "object"
            return [((), f"a '{self.type}' {where} takes no 'options'")]
        if model is not None:
            try:
                model.model_validate(options if options is not None else {})
            except ValidationError as exc:
                return [(tuple(err["loc"]), err["msg"]) for err in exc.errors()]
            return []
        from jsonschema import Draft202012Validator

        errors = Draft202012Validator(given).iter_errors(options if options is not None else {})
        return [(tuple(err.absolute_path), err.message) for err in errors]


@cache
def builtin_plugins() -> dict[str, SourcePlugin]:
    """Chimera's own source types (:data:`~airflow_provider_chimera.sources.READERS`)."""
    from airflow_provider_chimera.contract.model import BUILTIN_SOURCE_TYPES
    from airflow_provider_chimera.sources import READERS

    return {
        name: SourcePlugin(
            type=name, interface_version=INTERFACE_VERSION, reader=READERS[name], capabilities=BUILTIN_CAPABILITIES[name]
        )
        for name in BUILTIN_SOURCE_TYPES
    }


_EVERY_MODE = Capabilities(modes=("full", "incremental", "partitioned", "stream"))
BUILTIN_CAPABILITIES: dict[str, Capabilities] = {
    "postgres": _EVERY_MODE,
    "mysql": _EVERY_MODE,
    "snowflake": _EVERY_MODE,
    "mongodb": _EVERY_MODE.model_copy(update={"needs_schema": True}),
    "kafka": _EVERY_MODE.model_copy(update={"needs_schema": True, "incremental_needs_cursor": False, "formats": ("json", "avro")}),
    "file": _EVERY_MODE.model_copy(
        update={"needs_schema": True, "needs_path": True, "incremental_needs_cursor": False, "formats": ("csv", "json", "parquet")}
    ),
    "pdf": _EVERY_MODE.model_copy(update={"needs_path": True, "incremental_needs_cursor": False}),
}


@cache
def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


@cache
def registered_names() -> tuple[str, ...]:
    """Every source type installed: the built-in ones, then the registered ones, without loading any."""
    builtins = builtin_plugins()
    return (*builtins, *sorted(name for name in _entry_points() if name not in builtins))


@cache
def source_plugin(source_type: str) -> SourcePlugin:
    """The plugin of ``source_type``; a registered one is loaded (once) on first use.

    Raises :class:`UnknownSourceTypeError` naming the installed types, or
    :class:`PluginRefusedError` for a plugin that does not load or speaks another interface.
    """
    builtins = builtin_plugins()
    if source_type in builtins:  # a package cannot replace a built-in type
        return builtins[source_type]
    found = _entry_points().get(source_type)
    if found is None:
        raise UnknownSourceTypeError(
            f"unknown source type {source_type!r}; installed: {', '.join(registered_names())}"
        )
    package = f"{found.dist.name} {found.dist.version}" if found.dist is not None else found.value
    try:
        loaded = found.load()
    except Exception as exc:  # a broken plugin is refused, never half-used
        raise PluginRefusedError(
            f"source type {source_type!r} (from {package}) does not load: {type(exc).__name__}: {exc}"
        ) from exc
    plugin = as_plugin(loaded, source_type, package)
    if plugin.type != source_type:
        raise PluginRefusedError(
            f"entry point {source_type!r} of {package} names a plugin of type {plugin.type!r}; the two must agree"
        )
    return plugin


def as_plugin(loaded: Any, source_type: str, package: str = "") -> SourcePlugin:
    """A :class:`SourcePlugin` from what an entry point names: a plugin, or a reader class with
    ``source_type``, ``interface_version`` and optionally ``options``, ``object_options`` and
    ``capabilities`` attributes. Refuses another major interface version."""
    origin = f" (from {package})" if package else ""
    if isinstance(loaded, SourcePlugin):
        plugin = loaded
    elif isinstance(loaded, type):
        try:
            plugin = SourcePlugin(
                type=getattr(loaded, "source_type", source_type),
                interface_version=getattr(loaded, "interface_version", -1),
                reader=loaded,
                options=getattr(loaded, "options", None),
                object_options=getattr(loaded, "object_options", None),
                capabilities=getattr(loaded, "capabilities", Capabilities()),
            )
        except ValidationError as exc:
            raise PluginRefusedError(f"source type {source_type!r}{origin}: not a usable reader class: {exc}") from None
    else:
        raise PluginRefusedError(
            f"source type {source_type!r}{origin}: the entry point names a {type(loaded).__name__}, "
            "not a SourcePlugin or a reader class"
        )
    if plugin.interface_version != INTERFACE_VERSION:
        raise PluginRefusedError(
            f"source type {source_type!r}{origin} speaks source interface version {plugin.interface_version}; "
            f"this Chimera speaks version {INTERFACE_VERSION}: install a release of the plugin built for it"
        )
    return plugin


def forget_plugins() -> None:
    """Drop the cached lookups, so entry points installed since are seen (tests, long-lived shells)."""
    _entry_points.cache_clear()
    registered_names.cache_clear()
    source_plugin.cache_clear()
    from airflow_provider_chimera.contract.schema import forget_validators

    forget_validators()
