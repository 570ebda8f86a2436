"""The git commit an intents folder is checked out at, read from git's own files.

The registry records, with each intent version, the commit it came from (``intent_versions.git_commit``).
It is read without starting ``git``: the registry sync and onboarding run inside Airflow tasks,
often, and a process per read is not needed to follow a few small files. Four layouts:

- a clone or ``git init`` work tree: ``.git`` is a directory;
- a linked work tree (``git worktree add``) or a submodule: ``.git`` is a file ``gitdir: <path>``,
  and a worktree's ``commondir`` file names the repository holding the shared refs;
- ``HEAD`` naming a branch (``ref: refs/heads/main``) whose commit is a loose ref file or a line of
  ``packed-refs`` (a fresh clone packs its refs), or a detached ``HEAD`` holding the commit itself;
- a symbolic link to a checkout (the git-sync sidecar's ``root/<link> -> .worktrees/<commit>``),
  followed to it as git does;
- a version checkout of Airflow's ``GitDagBundle``, ``<bundle storage>/<bundle>/versions/<commit>/``:
  the bundle removes its ``.git`` (``prune_dotgit_folder``, on by default), and names the folder
  after the commit, the DAG run's ``bundle_version``. That name is the commit.

A repository whose refs are in the ``reftable`` format (``git init --ref-format=reftable``) cannot
be read from plain files: for it alone, ``git rev-parse HEAD`` is asked.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

COMMIT = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")  # SHA-1, or SHA-256 object format
# Refs that each linked work tree has of its own; every other ref lives in the common directory.
PER_WORKTREE = ("HEAD", "refs/worktree/", "refs/bisect/", "refs/rewritten/")
BUNDLE_VERSIONS = "versions"  # GitDagBundle: <storage>/<bundle name>/versions/<commit>


def git_commit(folder: Path | str) -> str | None:
    """The commit checked out in ``folder`` (or the work tree it is inside), else ``None``."""
    start = Path(folder).resolve()  # the physical path, as git does: a symlink to a checkout (git-sync's) is that checkout
    for directory in (start, *start.parents):
        dotgit = directory / ".git"
        if dotgit.exists():
            return head_commit(dotgit)
        if directory.parent.name == BUNDLE_VERSIONS and COMMIT.fullmatch(directory.name):
            return directory.name
    return None


def head_commit(dotgit: Path) -> str | None:
    """The commit ``HEAD`` of the repository at ``dotgit`` (a ``.git`` directory or file) names."""
    gitdir = _gitdir(dotgit)
    if gitdir is None:
        return None
    common = _common_dir(gitdir)
    if (common / "reftable").is_dir():
        return _ask_git(dotgit.parent)
    value = _read(gitdir / "HEAD")
    for _ in range(10):  # a symbolic ref may point to another; never loop
        if value is None:
            return None
        if COMMIT.fullmatch(value):
            return value
        if not value.startswith("ref:"):
            return None
        ref = value[4:].strip()
        value = _ref(gitdir if ref.startswith(PER_WORKTREE) else common, ref)
    return None


def _gitdir(dotgit: Path) -> Path | None:
    if dotgit.is_dir():
        return dotgit
    text = _read(dotgit)
    if text is None or not text.startswith("gitdir:"):
        return None
    path = Path(text[len("gitdir:"):].strip())
    return path if path.is_absolute() else (dotgit.parent / path).resolve()


def _common_dir(gitdir: Path) -> Path:
    common = _read(gitdir / "commondir")
    if not common:
        return gitdir
    path = Path(common)
    return path if path.is_absolute() else (gitdir / path).resolve()


def _ref(directory: Path, ref: str) -> str | None:
    """A ref's value: its loose file, else its line in ``packed-refs``."""
    loose = _read(directory / ref)
    if loose is not None:
        return loose
    packed = _read(directory / "packed-refs")
    for line in (packed or "").splitlines():
        if line.startswith(("#", "^")):
            continue
        commit, _, name = line.partition(" ")
        if name.strip() == ref:
            return commit
    return None


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None


def _ask_git(work_tree: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(work_tree), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and COMMIT.fullmatch(commit) else None
