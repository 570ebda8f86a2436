"""What changed between an intent's onboarded version and the version in the folder.

The contract's lifecycle: a later version may remove objects or columns (their pipelines are
retired, the data is kept) and may add or change ingestion settings; objects or columns it adds
go back through onboarding and get no pipeline until then. :func:`diff_intents` lists each kind
of change; :func:`effective_intent` is the current intent cut down to what was onboarded — the
intent the DAG factory builds pipelines from.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from airflow_provider_chimera.contract.model import Intent, Source, SourceObject

ALL = "*"  # an object name standing for a source's ``"objects": "all"``


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class ObjectRef(_Frozen):
    """An object of a source; ``object == "*"`` is everything a source with ``"objects": "all"`` sees."""

    source: str
    object: str

    def __str__(self) -> str:
        return f"{self.source}/{'(all objects)' if self.object == ALL else self.object}"


class ColumnsRef(_Frozen):
    """Columns of an object: ``columns``, or — when ``all_except`` is set — every column but those."""

    source: str
    object: str
    columns: list[str] = Field(default_factory=list)
    all_except: list[str] | None = None

    def __str__(self) -> str:
        if self.all_except is not None:
            listed = ", ".join(self.all_except)
            return f"{self.source}/{self.object}: every column except {listed}" if listed else f"{self.source}/{self.object}: every column"
        return f"{self.source}/{self.object}: {', '.join(self.columns)}"


class SettingChange(_Frozen):
    """One changed field: of the intent (no source), of a source (no object), or of an object."""

    source: str | None = None
    object: str | None = None
    field: str  # dotted path inside the intent, source or object, e.g. ingestion.trigger.schedule
    old: Any = None
    new: Any = None

    @property
    def where(self) -> str:
        if self.source is None:
            return "(intent)"
        return self.source if self.object is None else f"{self.source}/{self.object}"

    def __str__(self) -> str:
        import json

        return f"{self.where}: {self.field}: {json.dumps(self.old)} -> {json.dumps(self.new)}"


class IntentDiff(_Frozen):
    """The changes from the onboarded version of an intent to its current version."""

    intent: str
    removed_objects: list[ObjectRef] = Field(default_factory=list)
    removed_columns: list[ColumnsRef] = Field(default_factory=list)
    added_objects: list[ObjectRef] = Field(default_factory=list)
    added_columns: list[ColumnsRef] = Field(default_factory=list)
    changed: list[SettingChange] = Field(default_factory=list)

    @property
    def needs_onboarding(self) -> bool:
        """Whether the current version adds objects or columns (they wait for onboarding)."""
        return bool(self.added_objects or self.added_columns)

    @property
    def is_empty(self) -> bool:
        return not (self.removed_objects or self.removed_columns or self.added_objects or self.added_columns or self.changed)


def column_set(obj: SourceObject) -> list[str] | None:
    """The columns an object takes: ``columns``, else its schema's fields, else ``None`` (all)."""
    if obj.columns is not None:
        return list(obj.columns)
    if obj.schema_ is not None:
        return [f.name for f in obj.schema_.fields]
    return None


def _object_names(source: Source) -> list[str]:
    return [ALL] if source.objects == "all" else [o.name for o in source.objects]


def _objects(source: Source) -> dict[str, SourceObject]:
    return {} if source.objects == "all" else {o.name: o for o in source.objects}


def _dump(model: BaseModel, exclude: set[str]) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True, exclude=exclude)


def _flat_changes(old: Any, new: Any, path: str) -> list[tuple[str, Any, Any]]:
    """``(dotted path, old, new)`` for every leaf that differs; dicts are walked, lists compared whole."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in [*old, *(k for k in new if k not in old)]:
            out.extend(_flat_changes(old.get(key), new.get(key), f"{path}.{key}" if path else str(key)))
        return out
    return [] if old == new else [(path, old, new)]


def _object_for_compare(obj: SourceObject, keep_fields: set[str]) -> dict[str, Any]:
    """An object's settings: everything but its name and column choice; schema fields keyed by name
    (only those present in both versions: adding or removing one is a column change)."""
    data = _dump(obj, {"name", "columns"})
    schema = data.pop("schema", None)
    if schema is not None:
        data["schema"] = {f["name"]: {k: v for k, v in f.items() if k != "name"} for f in schema["fields"] if f["name"] in keep_fields}
    return data


def _columns_diff(source: str, name: str, old: list[str] | None, new: list[str] | None) -> tuple[ColumnsRef | None, ColumnsRef | None]:
    """``(removed, added)`` columns of one object."""
    if old is None and new is None:
        return None, None
    if old is None:  # all columns -> a list: every column not listed is removed
        return ColumnsRef(source=source, object=name, all_except=list(new)), None
    if new is None:  # a list -> all columns: every column not listed before is added
        return None, ColumnsRef(source=source, object=name, all_except=list(old))
    removed = [c for c in old if c not in new]
    added = [c for c in new if c not in old]
    return (
        ColumnsRef(source=source, object=name, columns=removed) if removed else None,
        ColumnsRef(source=source, object=name, columns=added) if added else None,
    )


def diff_intents(onboarded: Intent, current: Intent) -> IntentDiff:
    """Compare ``current`` with its ``onboarded`` version, rule by rule (see the module doc)."""
    removed_objects: list[ObjectRef] = []
    removed_columns: list[ColumnsRef] = []
    added_objects: list[ObjectRef] = []
    added_columns: list[ColumnsRef] = []
    changed: list[SettingChange] = []

    for path, old, new in _flat_changes(
        _dump(onboarded, {"name", "sources", "schema_ref"}), _dump(current, {"name", "sources", "schema_ref"}), ""
    ):
        changed.append(SettingChange(field=path, old=old, new=new))

    before = {s.name: s for s in onboarded.sources}
    after = {s.name: s for s in current.sources}
    for name, source in before.items():
        if name not in after:
            removed_objects.extend(ObjectRef(source=name, object=o) for o in _object_names(source))
    for name, source in after.items():
        old_source = before.get(name)
        if old_source is None:
            added_objects.extend(ObjectRef(source=name, object=o) for o in _object_names(source))
            continue
        for path, old, new in _flat_changes(
            _dump(old_source, {"name", "objects", "defaults"}), _dump(source, {"name", "objects", "defaults"}), ""
        ):
            changed.append(SettingChange(source=name, field=path, old=old, new=new))
        if old_source.objects == "all" or source.objects == "all":
            if old_source.objects != source.objects:
                if source.objects == "all":
                    added_objects.append(ObjectRef(source=name, object=ALL))
                changed.append(
                    SettingChange(source=name, field="objects", old=_object_names(old_source) if old_source.objects != "all" else "all",
                                  new=_object_names(source) if source.objects != "all" else "all")
                )
            continue
        old_objects, new_objects = _objects(old_source), _objects(source)
        removed_objects.extend(ObjectRef(source=name, object=o) for o in old_objects if o not in new_objects)
        added_objects.extend(ObjectRef(source=name, object=o) for o in new_objects if o not in old_objects)
        for obj_name, obj in new_objects.items():
            old_obj = old_objects.get(obj_name)
            if old_obj is None:
                continue
            removed, added = _columns_diff(name, obj_name, column_set(old_obj), column_set(obj))
            if removed:
                removed_columns.append(removed)
            if added:
                added_columns.append(added)
            common = {f.name for f in (old_obj.schema_.fields if old_obj.schema_ else [])} & {
                f.name for f in (obj.schema_.fields if obj.schema_ else [])
            }
            for path, old, new in _flat_changes(_object_for_compare(old_obj, common), _object_for_compare(obj, common), ""):
                changed.append(SettingChange(source=name, object=obj_name, field=path, old=old, new=new))

    return IntentDiff(
        intent=current.name,
        removed_objects=removed_objects,
        removed_columns=removed_columns,
        added_objects=added_objects,
        added_columns=added_columns,
        changed=changed,
    )


def effective_intent(onboarded: Intent, current: Intent) -> Intent:
    """``current`` reduced to what was onboarded: the intent whose pipelines may be built.

    Objects the onboarded version had keep their pipelines with the current settings, taking only
    the onboarded columns when columns were added (the ones still declared); objects, sources or
    columns added since are left out until they are onboarded. Removed ones are gone already.
    A source the onboarded version declared as ``"objects": "all"`` had every object in scope.
    """
    before = {s.name: s for s in onboarded.sources}
    sources: list[Source] = []
    for source in current.sources:
        old_source = before.get(source.name)
        if old_source is None:
            continue  # a source added since onboarding: withheld as a whole
        if source.objects == "all" or old_source.objects == "all":
            sources.append(source)
            continue
        old_objects = _objects(old_source)
        objects = []
        for obj in source.objects:
            old_obj = old_objects.get(obj.name)
            if old_obj is None:
                continue  # added since onboarding
            onboarded_columns, columns = column_set(old_obj), column_set(obj)
            if onboarded_columns is not None:
                kept = [c for c in (columns if columns is not None else onboarded_columns) if c in onboarded_columns]
                if not kept:
                    continue  # every column it takes now is new: nothing onboarded left to read
                if kept != columns:
                    obj = obj.model_copy(update={"columns": kept})
            objects.append(obj)
        sources.append(source.model_copy(update={"objects": objects}))
    return current.model_copy(update={"sources": sources})


def withheld_objects(onboarded: Intent, current: Intent) -> list[ObjectRef]:
    """Objects of ``current`` with an ``ingestion`` block whose pipeline waits for onboarding."""
    kept = {
        (s.name, o.name) for s in effective_intent(onboarded, current).sources if s.objects != "all" for o in s.objects
    }
    return [
        ObjectRef(source=s.name, object=o.name)
        for s in current.sources
        if s.objects != "all"
        for o in s.objects
        if o.ingestion is not None and (s.name, o.name) not in kept
    ]
