"""Stage the evidence that exists in git (``make stage-results``, ``python -m algos stage``):
the small files of every finished run (``results/runs``, ``results/stale``) and expert, the
dataset descriptions, the aggregates and the figures; never a checkpoint, a dataset's arrays or
an unfinished run (``.gitignore`` and the lists below leave them out).

It stages only what reads back: every finished run through ``readers.read_run``, every expert
through ``readers.read_expert_info`` (and its policy against ``policy_sha256``), every dataset
description through ``datasets.read_info``, every aggregate folder through
``aggregate.read_tables``. And it never stages a deletion: a committed file missing from the
work tree stops it, but for a run that the train command set aside (its files, the same bytes,
under ``results/stale/``: the move is the trace, docs/runs.md). Either way nothing is staged,
and the first problem is one line naming the file.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

from algos.errors import UserError
from algos.provenance.readers import read_expert_info, read_run
from algos.provenance.runs import RUN_FILES, file_sha256
from algos.provenance.verify import csv_problem

EVIDENCE = ("results", "figures")
"""The folders of the work tree that hold the evidence."""


class StageError(UserError):
    """Evidence that is not staged: a deletion, or a file that does not read back."""


def git(root: Path, *args: str, data: bool = False) -> str | bytes:
    """The output of ``git ARGS`` in ``root``; ``StageError`` with git's own line if it
    fails."""
    result = subprocess.run(["git", *args], cwd=root, capture_output=True, check=False)
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip().splitlines()
        raise StageError(f"git {args[0]}: {message[-1] if message else 'failed'}")
    return result.stdout if data else result.stdout.decode()


def deletions(root: Path) -> list[str]:
    """The committed files of the evidence missing from the work tree, as paths relative to
    ``root``, that are not runs set aside by the train command (``set_aside``)."""
    listed = git(root, "ls-files", "--deleted", "-z", "--", *EVIDENCE)
    return [path for path in sorted(set(listed.split("\0")) - {""})
            if not set_aside(root, path)]


def set_aside(root: Path, path: str) -> bool:
    """Whether the committed run file ``path`` (``results/runs/E/A/V/seedN/F``) lies, the same
    bytes, in a folder the train command set it aside to (``results/stale/E/A/V/seedN-*/F``)."""
    parts = Path(path).parts
    if len(parts) != 7 or parts[:2] != ("results", "runs") or parts[-1] not in (
            *RUN_FILES, "summary.json"):
        return False
    shown = subprocess.run(["git", "show", f"HEAD:{path}"], cwd=root, capture_output=True,
                           check=False)
    if shown.returncode != 0:  # staged, never committed: no move of a committed run
        return False
    committed = shown.stdout
    stale = Path(root, "results", "stale", *parts[2:5])
    return any(moved.read_bytes() == committed
               for moved in stale.glob(f"{parts[5]}-*/{parts[6]}") if moved.is_file())


def code_diffs(root: Path, folder: Path) -> list[str]:
    """The diffs (``results/code/HASH.diff``) that rebuild the code of ``folder``'s sessions
    made from uncommitted changes. A run not committed yet whose ``run.json`` names a "-dirty"
    commit without its diff (code that cannot be rebuilt) is a ``StageError``; runs committed
    before diffs were kept (2026-12-07) are what they are (docs/runs.md lists them)."""
    import json

    sessions = json.loads((folder / "run.json").read_text()).get("sessions", [])
    recorded = (folder / "run.json").relative_to(root)
    committed = subprocess.run(["git", "cat-file", "-e", f"HEAD:{recorded}"], cwd=root,
                               capture_output=True, check=False).returncode == 0
    diffs = []
    for session in sessions:
        if not str(session.get("git_commit") or "").endswith("-dirty"):
            continue
        diff = str(session.get("git_diff") or "")
        if not diff.startswith("results/code/") or not (root / diff).is_file():
            if committed:
                continue
            raise StageError(f"{folder / 'run.json'}: a session of uncommitted code "
                             f"({session.get('git_commit')}) whose diff is not kept "
                             f"({diff or 'none recorded'}): its code cannot be rebuilt; train "
                             "it again from a commit (docs/runs.md)")
        diffs.append(diff)
    return diffs


def evidence(root: Path) -> list[str]:
    """The files and folders to stage, relative to ``root``, each checked by its reader first
    (``StageError`` naming the first that fails)."""
    from algos.data.datasets import read_info
    from algos.evidence.aggregate import read_tables

    paths: list[str] = []

    def run(folder: Path) -> None:
        read_run(folder)
        paths.extend(str((folder / name).relative_to(root)) for name in
                     (*RUN_FILES, "summary.json"))
        paths.extend(code_diffs(root, folder))

    results = root / "results"
    for summary in sorted([*results.glob("runs/**/summary.json"),
                           *results.glob("stale/**/summary.json")]):
        run(summary.parent)
    for described in sorted(results.glob("experts/*/expert.json")):
        expert = described.parent
        info = read_expert_info(expert)
        paths.append(str(described.relative_to(root)))
        policy = expert / str(info.get("policy_file") or "policy.pt")
        if policy.is_file():
            if "policy_sha256" in info and file_sha256(policy) != info["policy_sha256"]:
                raise StageError(f"{policy}: not the policy its expert.json describes (its "
                                 "checksum differs): changed or swapped after it was written")
            paths.append(str(policy.relative_to(root)))
        if (expert / "train" / "summary.json").is_file():
            run(expert / "train")
    for description in sorted(results.glob("datasets/**/*.json")):
        read_info(description)
        paths.append(str(description.relative_to(root)))
    for folder in sorted(path.parent for path in results.glob("aggregate/*/scores.csv")):
        read_tables(folder)
    claims = results / "aggregate" / "claims.csv"
    problem = csv_problem(claims) if claims.exists() else None
    if problem:
        raise StageError(f"{claims}: {problem}")
    paths += [name for name in ("results/aggregate", "figures") if (root / name).is_dir()]
    return paths


def stage(root: Path = Path(".")) -> Counter:
    """Stage the evidence under ``root`` (see the module's docstring), and return what the
    next commit changes in it: ``Counter`` of "added", "modified", "deleted"."""
    root = Path(root)
    git(root, "rev-parse", "--show-toplevel")  # a git work tree, or git's one line
    deleted = deletions(root)
    if deleted:
        raise StageError(f"{root / deleted[0]}: deleted" + (
            f" (and {len(deleted) - 1} more committed files)" if len(deleted) > 1 else "")
            + "; stage-results never stages a deletion: restore it (git checkout -- PATH), or "
            "remove it yourself (git rm) if it is meant to go. Nothing staged")
    try:
        paths = evidence(root)
    except UserError as err:
        raise StageError(f"{err}. Nothing staged") from None
    # The runs set aside: their old paths' deletions go with their new files (a move).
    moved = sorted(set(git(root, "ls-files", "--deleted", "-z", "--", *EVIDENCE).split("\0"))
                   - {""})
    paths += moved
    diffs = sorted({path for path in paths if path.startswith("results/code/")})
    paths = [path for path in paths if not path.startswith("results/code/")]
    for start in range(0, len(paths), 500):
        git(root, "add", "--", *paths[start:start + 500])
    if diffs:  # ignored by default (.gitignore): staged for the runs that name them
        git(root, "add", "-f", "--", *diffs)
    kinds = {"A": "added", "M": "modified", "D": "deleted"}
    staged = git(root, "diff", "--cached", "--name-status", "--no-renames", "-z", "--",
                 *EVIDENCE).split("\0")
    return Counter(kinds.get(status[:1], "modified") for status in staged[::2] if status)
