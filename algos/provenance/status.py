"""Where each run under a folder stands: running, finished, resumable, started, stale or broken.

``status(root)`` finds every run folder under ``root`` and reads each one's files the way the
train command would find them, without writing anything: its lock, ``summary.json`` and the files
it seals, ``config.json``'s code revision, ``run.json``, the checkpoint. Each run is one
``RunStatus``: its state, the step it reached and its last evaluation's return (from
``metrics.csv``), and why, in words. ``python -m algos status`` prints them.

Reading a checkpoint needs torch, which this layer does not import: the caller passes the
reader (``training.checkpoint.resume_step``), or none, and the checkpoint is then only seen to
be there.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from algos.algorithms import ALGORITHMS, revision, revision_label
from algos.provenance.readers import read_run
from algos.provenance.runs import RUN_FILES, RunDir, RunFileError, read_json

STATES = {
    "running": "a trainer holds the folder's lock now (its PID is in .lock); the step is the "
               "last evaluation it wrote",
    "finished": "summary.json is there, every file it seals matches its checksum, run.json's "
                "identity is config.json's and its rows are its evaluations "
                "(provenance.readers.read_run)",
    "resumable": "not finished, with a checkpoint: the same train command (or the workflow) "
                 "goes on from the checkpoint's step",
    "started": "not finished and no checkpoint yet: training it again starts from step 0",
    "stale": "made by an older code revision (config.json's revision): the train command and "
             "the workflow set it aside in results/stale/ and train it anew (docs/runs.md)",
    "broken": "a file cut, changed or unreadable (a seal that does not match, a config.json "
              "or run.json that is no run's, no usable checkpoint): the commands refuse it; "
              "move it away to train it anew",
}
"""Every state a run folder can be in, with what it means (``status --help`` prints them)."""

CheckpointReader = Callable[[RunDir], int]
"""The step a run resumes from, read from its checkpoint; raises an exception saying why
there is none usable (``training.checkpoint.resume_step``)."""


@dataclass(frozen=True)
class RunStatus:
    """One run folder's state, as ``status`` finds it."""

    path: Path
    state: str
    """One of ``STATES``."""
    step: int | None
    """The last evaluation's ``env_steps`` in ``metrics.csv``; without one, the checkpoint's
    step (when read); None where neither says."""
    last_return: float | None
    """The last evaluation's mean return (None: no evaluation, or an unreadable
    ``metrics.csv``)."""
    detail: str = ""
    """Why, in words (what is broken, which revision, the checkpoint's step)."""


def is_run_folder(folder: Path) -> bool:
    """Whether ``folder`` holds a run's files (a trainer writes ``config.json`` first)."""
    return any((folder / name).exists() for name in (*RUN_FILES, "summary.json", "checkpoint"))


def run_folders(root: Path) -> list[Path]:
    """Every run folder under ``root`` (``root`` itself if it is one), sorted; the folders
    inside a run folder (its checkpoint, its live view) are not searched."""
    root = Path(root)
    if is_run_folder(root):
        return [root]
    found = []
    for child in sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink()):
        found += run_folders(child)
    return found


def last_evaluation(path: Path) -> tuple[int | None, float | None]:
    """The step and mean return of the last row of a ``metrics.csv``; None for what it does
    not say (no file, no row, an unreadable cell)."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error):
        return None, None
    if not rows:
        return None, None
    step = _number(rows[-1].get("env_steps"))
    mean = _number(rows[-1].get("eval_return_mean"))
    return (int(step) if step is not None else None), mean


def _number(cell: str | None) -> float | None:
    try:
        value = float(cell) if cell else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def _stale(run: RunDir, config: dict) -> str | None:
    """How ``config`` (``config.json``) is of another code revision than this code, in words;
    None where it is this code's. A finished expert's training run is never stale: the expert
    is a product, which newer code uses as it is (docs/runs.md)."""
    if "expert" in config and (run.root.parent / "expert.json").exists():
        return None
    found, current = config.get("revision"), revision(config["algo"])
    if found == current:
        return None
    return f"code revision {revision_label(found)}, this code is {revision_label(current)}"


def _read_config(run: RunDir) -> tuple[dict | None, str]:
    """``config.json`` as a run's config, or None and what is wrong with it."""
    if not run.config.is_file():
        return None, "no config.json: nothing says whose files these are"
    try:
        config = read_json(run.config)
    except (OSError, ValueError) as err:
        return None, f"config.json: not valid JSON ({err})"
    if not isinstance(config, dict) or config.get("algo") not in ALGORITHMS:
        return None, "config.json: not a run's config of this code (no known algo)"
    return config, ""


def _run_info_problem(run: RunDir) -> str | None:
    """What makes ``run.json`` refused on resume (``loop._read_run_info``'s checks that need
    no torch), or None."""
    if not run.run_info.exists():
        return None
    try:
        info = read_json(run.run_info)
    except (OSError, ValueError) as err:
        return f"run.json: not valid JSON ({err})"
    if not isinstance(info, dict) or not isinstance(info.get("sessions"), list):
        return "run.json: not a run's run.json (no sessions)"
    return None


def run_status(folder: Path, checkpoint_step: CheckpointReader | None = None) -> RunStatus:
    """The state of the run in ``folder`` (see ``STATES``); ``checkpoint_step`` reads an
    unfinished run's checkpoint (None: it is only seen to be there)."""
    run = RunDir(folder)
    step, last_return = last_evaluation(run.metrics)

    def row(state: str, detail: str = "", at: int | None = None) -> RunStatus:
        return RunStatus(run.root, state, step if step is not None else at, last_return, detail)

    holder = run.lock_holder()
    if holder is not None:
        return row("running", f"PID {holder} holds its lock")
    if run.finished():
        try:
            read_run(run.root)
        except RunFileError as err:
            return row("broken", str(err).removeprefix(f"{run.root}/"))
        config, problem = _read_config(run)
        if config is None:
            return row("broken", problem)
        stale = _stale(run, config)
        return row("stale", stale) if stale else row("finished")
    config, problem = _read_config(run)
    if config is None:
        return row("broken", problem)
    stale = _stale(run, config)
    if stale:
        return row("stale", stale)
    problem = _run_info_problem(run)
    if problem:
        return row("broken", problem)
    if not (run.checkpoint.exists() or run.previous_checkpoint.exists()):
        return row("started", "no checkpoint yet")
    if checkpoint_step is None:
        return row("resumable")
    try:
        at = checkpoint_step(run)
    except Exception as err:  # any checkpoint the train command would refuse
        return row("broken", " ".join(str(err).split()))
    return row("resumable", f"resumes from its checkpoint of step {at}", at)


def status(root: Path, checkpoint_step: CheckpointReader | None = None) -> list[RunStatus]:
    """Every run folder under ``root`` with its state, sorted by path (``run_status``)."""
    return [run_status(folder, checkpoint_step) for folder in run_folders(root)]


def status_lines(rows: list[RunStatus]) -> list[str]:
    """``status``'s rows as aligned lines (path, step, last return, state and why), then one
    line of totals per state."""
    width = max((len(str(row.path)) for row in rows), default=0)
    lines = []
    for row in rows:
        step = "-" if row.step is None else str(row.step)
        mean = "-" if row.last_return is None else f"{row.last_return:.2f}"
        lines.append(f"{row.path!s:<{width}}  step {step:>8}  return {mean:>6}  {row.state}"
                     + (f" ({row.detail})" if row.detail else ""))
    counts = Counter(row.state for row in rows)
    return [*lines, f"{len(rows)} runs: "
            + ", ".join(f"{counts[s]} {s}" for s in STATES if counts[s])]
