"""git_commit reads the commit of an intents folder from git's files, on real repositories made with git."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from airflow_provider_chimera.registry.gitcommit import git_commit


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main",
         "-c", "advice.detachedHead=false", *args],
        check=True, capture_output=True, text=True,
    )
    return done.stdout.strip()


def commit_intent(repo: Path, name: str, text: str = "{}") -> str:
    (repo / "intents").mkdir(parents=True, exist_ok=True)
    (repo / "intents" / f"{name}.json").write_text(text)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", f"intent {name}")
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path) -> Path:
    repo = tmp_path / "intents-repo"
    repo.mkdir()
    git(repo, "init", "-q")
    return repo


def test_a_branch_checkout_names_its_head_commit_from_a_loose_ref(repo):
    commit_intent(repo, "a")
    second = commit_intent(repo, "b")
    assert (repo / ".git" / "refs" / "heads" / "main").is_file()
    assert git_commit(repo / "intents") == second
    assert git_commit(repo) == second


def test_packed_refs_are_read(repo):
    head = commit_intent(repo, "a")
    git(repo, "pack-refs", "--all")
    assert not (repo / ".git" / "refs" / "heads" / "main").exists()
    assert git_commit(repo / "intents") == head


def test_a_fresh_clone_of_a_bare_repository_over_file_url(repo, tmp_path):
    head = commit_intent(repo, "a")
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(bare)], check=True)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", f"file://{bare}", str(clone)], check=True)
    assert git_commit(clone / "intents") == head


def test_a_detached_head_names_its_commit(repo):
    first = commit_intent(repo, "a")
    commit_intent(repo, "b")
    git(repo, "checkout", "-q", first)
    assert (repo / ".git" / "HEAD").read_text().strip() == first
    assert git_commit(repo / "intents") == first


def test_a_linked_worktree_on_a_branch_and_detached(repo, tmp_path):
    first = commit_intent(repo, "a")
    second = commit_intent(repo, "b")
    on_branch, detached = tmp_path / "wt-branch", tmp_path / "wt-detached"
    git(repo, "worktree", "add", "-q", "-b", "review", str(on_branch), first)
    git(repo, "worktree", "add", "-q", "--detach", str(detached), second)
    assert (on_branch / ".git").is_file() and (on_branch / ".git").read_text().startswith("gitdir:")
    assert git_commit(on_branch / "intents") == first
    assert git_commit(detached / "intents") == second
    git(repo, "pack-refs", "--all")  # the worktree's branch now lives in the main repository's packed-refs
    assert git_commit(on_branch / "intents") == first
    third = commit_intent(on_branch, "c")  # a commit in the worktree moves its own branch only
    assert (git_commit(on_branch), git_commit(repo), git_commit(detached)) == (third, second, second)


def test_a_worktree_whose_gitdir_is_relative(repo, tmp_path):
    head = commit_intent(repo, "a")
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", "--detach", str(linked), head)
    absolute = (linked / ".git").read_text().split(":", 1)[1].strip()
    (linked / ".git").write_text(f"gitdir: {os.path.relpath(absolute, linked)}\n")
    assert git_commit(linked) == head


def test_a_symlink_to_a_worktree_as_git_sync_lays_it_out(repo, tmp_path):
    first = commit_intent(repo, "a")
    second = commit_intent(repo, "b")
    worktrees = tmp_path / "root" / ".worktrees"
    worktrees.mkdir(parents=True)
    git(repo, "worktree", "add", "-q", "--detach", str(worktrees / first), first)
    link = tmp_path / "root" / "intents-link"
    link.symlink_to(worktrees / first)
    assert git_commit(link / "intents") == first
    git(repo, "worktree", "add", "-q", "--detach", str(worktrees / second), second)
    link.unlink()
    link.symlink_to(worktrees / second)  # the sidecar's atomic switch to the new commit
    assert git_commit(link / "intents") == second


def test_an_airflow_bundle_version_checkout_without_dotgit_is_named_by_its_folder(tmp_path):
    commit = "0123456789abcdef0123456789abcdef01234567"
    intents = tmp_path / "dag_bundles" / "chimera" / "versions" / commit / "intents"
    intents.mkdir(parents=True)
    assert git_commit(intents) == commit
    assert git_commit(tmp_path / "dag_bundles" / "chimera" / "versions" / "not-a-commit") is None


def test_outside_any_repository_and_before_the_first_commit(repo, tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    assert git_commit(plain) is None
    assert git_commit(repo) is None  # unborn branch: no commit yet
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / ".git").write_text("not a gitdir line")
    assert git_commit(tmp_path / "broken") is None


def test_a_real_git_dag_bundle_tracking_and_version_checkouts(repo, tmp_path, monkeypatch):
    """Airflow's GitDagBundle itself: its tracking clone and a pruned version checkout name the
    commit Airflow reports as the bundle version."""
    from airflow.providers.git.bundles.git import GitDagBundle

    first = commit_intent(repo, "a")
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(bare)], check=True)
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH", str(tmp_path / "bundles"))

    tracking = GitDagBundle(name="chimera", tracking_ref="main", repo_url=f"file://{bare}")
    tracking.initialize()
    assert git_commit(tracking.path / "intents") == _version(tracking) == first

    second = commit_intent(repo, "b")
    git(repo, "push", "-q", str(bare), "main")
    tracking.refresh()
    assert git_commit(tracking.path / "intents") == _version(tracking) == second

    pinned = GitDagBundle(name="chimera", tracking_ref="main", repo_url=f"file://{bare}", version=first)
    pinned.initialize()
    assert not (pinned.path / ".git").exists()  # pruned by default
    assert git_commit(pinned.path / "intents") == first


def _version(bundle) -> str:
    version = bundle.get_current_version()
    return getattr(version, "version", version)
