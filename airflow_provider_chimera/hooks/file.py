"""``chimera_file``: a platform-owned file location, as an Airflow connection.

A file source may name its base location by ``conn_id`` instead of a URI, so that the platform team
decides where a team's files are read from. The connection's ``host`` (or ``extra.path``) is the
base: a local path or ``file://`` URL (``file:///data/retail``; an object store's URL once its fsspec package is installed, README "Sources"). The
connection form's Test button lists the base (:meth:`FileConnectionHook.test_connection`).
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook


class FileConnectionHook(BaseHook):
    """The base location of a ``chimera_file`` connection."""

    conn_name_attr = "chimera_file_conn_id"
    default_conn_name = "chimera_file_default"
    conn_type = "chimera_file"
    hook_name = "Chimera file set"

    def __init__(self, chimera_file_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.chimera_file_conn_id = chimera_file_conn_id

    def base_url(self) -> str:
        """The base location: the connection's ``extra.path``, or else its ``host``."""
        return base_of(self.get_connection(self.chimera_file_conn_id))

    def test_connection(self) -> tuple[bool, str]:
        """Whether the base location can be listed (the connection form's Test button)."""
        import fsspec

        try:
            base = self.base_url()
            if not base:
                return False, "no base location: set Host (or extra.path) to a path or fsspec URL"
            fs, path = fsspec.core.url_to_fs(base)
            if not fs.isdir(path):
                return False, f"{base} is not a folder"
            return True, f"{base}: {len(fs.ls(path, detail=False))} entries"
        except Exception as exc:  # the form shows the reason; nothing else to do with it
            return False, f"{type(exc).__name__}: {exc}"


def base_of(connection: Any) -> str:
    """The base location a ``chimera_file`` connection names (``extra.path``, or else ``host``)."""
    return (connection.extra_dejson.get("path") or connection.host or "").rstrip("/")
