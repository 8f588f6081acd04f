"""A run made from uncommitted code keeps that code: the diff against its commit (new source
files included) is stored once under its hash, and with the commit it rebuilds the tree."""

import hashlib
import subprocess

from algos.provenance import runs


def _git(repo, *args):
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout


def test_a_dirty_tree_is_kept_as_a_diff_that_rebuilds_it(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    (repo / "algos").mkdir(parents=True)
    (repo / "algos" / "loop.py").write_text("STEPS = 1\n")
    _git(repo, "init", "-q")
    _git(repo, "-c", "user.email=a@b", "-c", "user.name=a", "add", "-A")
    _git(repo, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "-m", "x")
    commit = _git(repo, "rev-parse", "HEAD").strip()
    monkeypatch.setattr(runs, "REPO_ROOT", repo)
    assert runs.git_commit() == commit
    (repo / "algos" / "loop.py").write_text("STEPS = 2\n")
    (repo / "algos" / "new.py").write_text("NEW = True\n")  # untracked, but code
    (repo / "notes.txt").write_text("not code\n")  # untracked, not a source path
    assert runs.git_commit() == commit + "-dirty"
    path = runs.store_code_diff()
    stored = (repo / path).read_bytes()
    assert path == f"results/code/{hashlib.sha256(stored).hexdigest()}.diff"
    assert runs.store_code_diff() == path  # the same changes: one file
    assert b"notes.txt" not in stored

    clone = tmp_path / "clone"
    _git(tmp_path, "clone", "-q", str(repo), str(clone))
    _git(clone, "checkout", "-q", commit)
    _git(clone, "apply", str(repo / path))
    assert (clone / "algos" / "loop.py").read_text() == "STEPS = 2\n"
    assert (clone / "algos" / "new.py").read_text() == "NEW = True\n"


def test_a_clean_tree_records_no_diff(monkeypatch):
    monkeypatch.setattr(runs, "git_commit", lambda: "abc")
    assert "git_diff" not in runs.provenance()
    monkeypatch.setattr(runs, "git_commit", lambda: "abc-dirty")
    monkeypatch.setattr(runs, "store_code_diff", lambda: "results/code/x.diff")
    assert runs.provenance()["git_diff"] == "results/code/x.diff"
