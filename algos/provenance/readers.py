"""The readers of the committed evidence: a finished run, an expert's description, and what an
aggregate folder scored. Every command that reads one goes through its reader here (torch- and
pandas-free, for the workflow's start and ``stage`` too), so a file cut, edited, swapped or
resealed by hand is refused in one line naming it, whichever path reaches it.

A finished run is read only once all of these hold:

* its seals: the four files ``summary.json`` holds the SHA-256 of (``RunDir.verify``);
* its identity: ``run.json``'s ``config_sha256`` is that of the ``config.json`` beside it (a
  run of before identities: its ``config.json`` is one the repository shipped,
  ``before_seals.RUN_CONFIGS``), so a config changed and resealed is not another run;
* its rows: ``metrics.csv``'s steps are the run's evaluations (0, every ``eval_every``, and its
  ``steps``; an expert's training stopped early ends at its first evaluation that reached its
  target), and ``diagnostics.csv`` has the same steps, so a row added past the budget, or
  dropped, is not scored.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from algos.errors import UserError
from algos.provenance import before_seals
from algos.provenance.runs import (
    RunDir,
    RunFileError,
    config_identity,
    file_sha256,
    read_description,
    read_json,
)
from algos.provenance.verify import csv_problem, expert_info_problem


class ExpertError(UserError, ValueError):
    """A missing or unreadable expert folder."""


def evaluation_steps(total_steps: int, eval_every: int) -> list[int]:
    """The steps a run of ``total_steps`` evaluates at: 0, every ``eval_every``, and the end."""
    return sorted({0, total_steps, *range(eval_every, total_steps + 1, eval_every)})


@dataclass(frozen=True)
class FinishedRun:
    """A finished run folder, every check of ``read_run`` passed."""

    root: Path
    config: dict
    summary: dict
    steps: tuple[int, ...]
    """The steps of its evaluations (``metrics.csv``'s and ``diagnostics.csv``'s rows)."""


def read_run(folder: Path) -> FinishedRun:
    """The finished run in ``folder``, once its seals, its identity and its rows are checked
    (see the module's docstring); ``RunFileError`` naming the first file that fails."""
    run = RunDir(folder)
    summary = run.verify()
    config = _run_config(run)
    _check_identity(run, config)
    rows = _steps_and_returns(run.metrics, "eval_return_mean")
    if not rows:
        raise RunFileError(f"{run.metrics}: no evaluations (a header only)")
    steps = [step for step, _ in rows]
    problem = _difference(steps, _expected_steps(config, rows), "the run's evaluations")
    if problem:
        raise RunFileError(f"{run.metrics}: not the evaluations of its run ({problem}): rows "
                           "added, dropped or changed")
    problem = _difference([step for step, _ in _steps_and_returns(run.diagnostics)], steps,
                          "metrics.csv's rows")
    if problem:
        raise RunFileError(f"{run.diagnostics}: not on metrics.csv's steps ({problem}): rows "
                           "added, dropped or changed")
    return FinishedRun(run.root, config, summary, tuple(steps))


def _run_config(run: RunDir) -> dict:
    try:
        config = read_json(run.config)
    except (OSError, ValueError) as err:
        raise RunFileError(f"{run.config}: not valid JSON ({err})") from None
    if not isinstance(config, dict) or not all(key in config for key in ("algo", "game", "seed")):
        raise RunFileError(f"{run.config}: not a run's config (it needs algo, game and seed)")
    every = (config.get("algo_config") or {}).get("eval_every") \
        if isinstance(config.get("algo_config"), dict) else None
    if not all(isinstance(value, int) and not isinstance(value, bool) and value > 0
               for value in (config.get("steps"), every)):
        raise RunFileError(f"{run.config}: not a run's config (it needs steps and "
                           "algo_config.eval_every, positive integers)")
    return config


def _check_identity(run: RunDir, config: dict) -> None:
    """``run.json``'s identity of the run against ``config.json`` (see the module's
    docstring)."""
    try:
        info = read_json(run.run_info)
    except (OSError, ValueError) as err:
        raise RunFileError(f"{run.run_info}: not valid JSON ({err})") from None
    found = info.get("config_sha256") if isinstance(info, dict) else None
    if found is None:
        if file_sha256(run.config) not in before_seals.RUN_CONFIGS:
            raise RunFileError(f"{run.run_info}: no config_sha256, its run's identity, and "
                               f"{run.config.name} is not that of a run the repository shipped "
                               "before identities (algos/provenance/before_seals.py): changed, "
                               "or its identity removed")
    elif found != config_identity(config):
        raise RunFileError(f"{run.config}: not the config of its run (run.json's config_sha256 "
                           "is another config's): changed or swapped, and sealed again")


def _steps_and_returns(path: Path, value: str | None = None) -> list[tuple[int, float | None]]:
    """The ``env_steps`` (and ``value``) of each row of a run's CSV file; ``RunFileError``
    naming the file where it is not a whole table with those columns."""
    columns = ("env_steps",) + ((value,) if value else ())
    problem = csv_problem(path, columns)
    if problem:
        raise RunFileError(f"{path}: {problem}")
    rows = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            try:
                rows.append((int(row["env_steps"]),
                             float(row[value]) if value and row[value] else None))
            except ValueError:
                raise RunFileError(f"{path}: not a run's table (a row at step "
                                   f"{row['env_steps']!r} that is no number)") from None
    return rows


def _expected_steps(config: dict, rows: list[tuple[int, float | None]]) -> list[int]:
    """The steps a run of ``config`` evaluates at; an expert's training (``config["expert"]``
    with a target) stops at the first evaluation that reaches its target."""
    steps = evaluation_steps(config["steps"], config["algo_config"]["eval_every"])
    target = config.get("expert", {}).get("target_return") \
        if isinstance(config.get("expert"), dict) else None
    if isinstance(target, int | float):
        reached = next((i for i, (_, mean) in enumerate(rows)
                        if mean is not None and mean >= target), None)
        if reached is not None:
            steps = steps[: reached + 1]
    return steps


def _difference(found: list[int], expected: list[int], whose: str) -> str | None:
    """Where the steps ``found`` first differ from ``expected`` (``whose`` steps: "the run's
    evaluations"), in words; None where they do not."""
    for step, wanted in zip(found, expected, strict=False):
        if step != wanted:
            return f"a row at step {step} where {whose} have step {wanted}"
    if len(found) > len(expected):
        return f"a row at step {found[len(expected)]}, after {whose} end at step {expected[-1]}"
    if len(found) < len(expected):
        return f"no row for step {expected[len(found)]}, one of {whose}"
    return None


def read_expert_info(directory: Path) -> dict:
    """The ``expert.json`` of the expert in ``directory``, checked for what the suite reads
    (``verify.expert_info_problem``) and against its seal (a file without one must be an
    expert the repository shipped before seals, ``before_seals``); ``ExpertError`` naming the
    file otherwise. The one reader of an expert's description."""
    directory = Path(directory)
    return read_description(
        directory / "expert.json", ExpertError,
        f"{directory}: no expert.json (train one with python -m algos expert)",
        before_seals.EXPERT_DESCRIPTIONS, check=expert_info_problem)


RunKey = tuple[str, str, str, int]
"""A run as an aggregate identifies it: (env, algo, variant, seed)."""


def run_key(folder: str | Path) -> RunKey | None:
    """The key of a run folder in the layout ``.../{env}/{algo}/{variant}/seed{seed}``; None
    for a folder elsewhere."""
    parts = Path(folder).parts
    if len(parts) < 4 or not parts[-1].startswith("seed") or not parts[-1][4:].isdigit():
        return None
    return parts[-4], parts[-3], parts[-2], int(parts[-1][4:])


def run_folder(key: RunKey) -> str:
    """Where the workflow keeps the run of ``key``."""
    env, algo, variant, seed = key
    return f"results/runs/{env}/{algo}/{variant}/seed{seed}"


def scored_runs(folder: Path) -> set[RunKey]:
    """The runs an aggregate folder's ``scores.csv`` scored (none where the folder has no
    ``scores.csv``); ``UserError`` naming the file where it is not whole (against its seal in
    ``tables.json``, where the folder has one), since then nothing says what it had."""
    folder = Path(folder)
    path, index = folder / "scores.csv", folder / "tables.json"
    if not path.is_file():
        return set()
    problem = csv_problem(path, ("env", "algo", "variant", "seed"))
    if not problem and index.is_file():
        try:
            sealed = json.loads(index.read_text())["tables"]["scores.csv"]
        except (OSError, ValueError, KeyError, TypeError):
            sealed = None
        if sealed != file_sha256(path):
            problem = "not the table its aggregate wrote (its checksum differs from the one " \
                      "in tables.json)"
    if problem:
        raise UserError(f"{path}: {problem}; nothing says which runs it scored: restore it "
                        "(git checkout), or move the folder away to aggregate anew")
    with open(path, newline="") as f:
        return {(row["env"], row["algo"], row["variant"], int(row["seed"]))
                for row in csv.DictReader(f)}


def lost_runs(folder: Path, scored: set[RunKey], planned: dict[RunKey, str] | None
              ) -> list[str]:
    """The runs the aggregate in ``folder`` scored that ``scored`` (a rebuild's) lacks, sorted:
    their folders where ``planned`` (a manifest's runs, by key) is given, else as
    ``env/algo/variant/seedN``. A run the manifest no longer plans is not lost: the config
    moved it out (the workflow names those at its start)."""
    lost = scored_runs(folder) - scored
    if planned is None:
        return sorted("/".join([*key[:3], f"seed{key[3]}"]) for key in lost)
    return sorted(planned[key] for key in lost if key in planned)


def check_nothing_lost(out: Path, scored: set[RunKey], planned: dict[RunKey, str] | None
                       ) -> None:
    """``UserError`` in one line naming the runs, where writing an aggregate of ``scored`` to
    ``out`` would lose runs the aggregate there scored (``lost_runs``)."""
    lost = lost_runs(out, scored, planned)
    if lost:
        raise UserError(f"{out}: rebuilt, it would lose {len(lost)} of the runs it scores "
                        f"({', '.join(lost)}): restore them (git checkout -- FOLDER), or, to "
                        "drop them, take them out of the config (or write to another --out)")


def unplanned_scored(folder: Path, planned: set[RunKey]) -> list[str]:
    """The runs the aggregate in ``folder`` scored that ``planned`` (the config's plan) no
    longer has, as run folders, sorted (an unreadable ``scores.csv`` names none: the aggregate
    stops on it)."""
    try:
        had = scored_runs(folder)
    except UserError:
        return []
    return sorted(run_folder(key) for key in had - planned)

