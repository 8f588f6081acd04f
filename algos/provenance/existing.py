"""What a folder already holds, against what is asked of it.

A run, an expert and a dataset are each made once: asked again with the same settings, the
command has nothing to do; asked with other settings, it refuses and names what differs, so that
nothing made is ever overwritten. ``differences`` and ``refuse_if_different`` serve all three in
one format; the rest is the run folder's own check (its config and code revision).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from algos.algorithms import ALGORITHMS, LoopConfig, revision, revision_label
from algos.envs import EnvConfig, validate_env_config
from algos.errors import UserError
from algos.provenance.runs import ResumeError, RunDir, read_json, to_json


def differences(found: Any, asked: Any, prefix: str = "") -> list[str]:
    """Where two nested settings dicts differ, one ``dotted.key found -> asked`` each;
    ``config`` names the whole if they are not dicts."""
    if isinstance(found, dict) and isinstance(asked, dict):
        out = []
        for key in sorted(set(found) | set(asked)):
            out += differences(found.get(key), asked.get(key), f"{prefix}{key}.")
        return out
    return [] if found == asked else [f"{prefix.rstrip('.') or 'config'} {found} -> {asked}"]


def refuse_if_different(path: Path, holds: str, changed: list[str], remedy: str,
                        error: type[Exception]) -> None:
    """Raise ``error`` naming ``changed`` (``differences``' words) if there are any:
    ``PATH holds HOLDS (differs in: ...); REMEDY``."""
    if changed:
        raise error(f"{path} holds {holds} (differs in: {', '.join(changed)}); {remedy}")


def nothing_to_do(path: Path, what: str) -> None:
    """Say that ``path`` already holds what was asked (``what``: which, and how it is known)."""
    print(f"{path}: {what}; nothing to do")


def config_dict(algo: str, config: Any, env_config: EnvConfig, seed: int, steps: int) -> dict:
    """The resolved configuration of a run, as written to ``config.json``: its settings and the
    code revision that runs them."""
    return {"algo": algo, "revision": revision(algo), "game": env_config.game, "seed": seed,
            "steps": steps, "env": asdict(env_config), "algo_config": asdict(config)}


class StaleRunError(ResumeError):
    """A run folder whose run has the asked settings but was made by another code revision."""

    def __init__(self, message: str, found: Any):
        super().__init__(message)
        self.found = found  # the revision the folder's run records


def settings_differences(saved: dict, run_config: dict) -> list[str]:
    """How a run's saved ``config.json`` differs from ``run_config`` in its settings (the code
    revision aside), as ``differences`` words. A setting the saved run predates counts as the
    same where it is asked at its default: an option added with a default that keeps the old
    behaviour changes no result, so it leaves the runs made before it valid."""
    saved = {key: value for key, value in saved.items() if key != "revision"}
    wanted = {key: value for key, value in json.loads(to_json(run_config)).items()
              if key != "revision"}  # the form it takes on disk (lists, not tuples)
    algo = wanted.get("algo")
    if algo in ALGORITHMS and isinstance(saved.get("algo_config"), dict):
        defaults = json.loads(to_json(asdict(ALGORITHMS[algo].config())))
        wanted["algo_config"] = {
            key: value for key, value in wanted["algo_config"].items()
            if key in saved["algo_config"] or key not in defaults or value != defaults[key]}
    return differences(saved, wanted)


def keep_saved_dataset_path(run: RunDir, run_config: dict) -> None:
    """Name ``run_config``'s dataset by the path ``run``'s saved config.json names it, where
    that dataset has the same content (a dataset is its content: the same file by a relative
    or an absolute path, or a copy elsewhere, trains the same run). The run's identity
    (``config.json``, ``run.json``) then stays the one it was trained under, however the path
    was typed this time; ``verify`` names it so too."""
    wanted = run_config.get("dataset")
    if not run.config.is_file() or not isinstance(wanted, dict):
        return
    try:
        saved = read_json(run.config).get("dataset")
    except (ValueError, AttributeError):
        return  # check_run_folder names what is wrong with the folder
    if isinstance(saved, dict) and saved.get("sha256") == wanted.get("sha256"):
        wanted["path"] = saved.get("path", wanted.get("path"))


def check_run_folder(run: RunDir, run_config: dict, ignore_revision: bool = False) -> None:
    """Raise ``ResumeError`` if ``run`` already holds a run with other settings, and
    ``StaleRunError`` if it holds one with the same settings from another code revision (unless
    ``ignore_revision``)."""
    if not run.config.exists():
        return
    try:
        saved = read_json(run.config)
    except ValueError as err:
        raise ResumeError(f"{run.config}: not valid JSON ({err}); move the folder away to "
                          "start the run anew") from None
    if not isinstance(saved, dict):
        raise ResumeError(f"{run.config}: not a run's config; move the folder away")
    refuse_if_different(run.root, "a run with a different config",
                        settings_differences(saved, run_config),
                        "use another --out, or move that folder away to start it anew",
                        ResumeError)
    found_revision, asked_revision = saved.get("revision"), run_config.get("revision")
    if found_revision != asked_revision and not ignore_revision:
        raise StaleRunError(f"{run.root} holds a run of code revision {found_revision}, this "
                            f"code is revision {asked_revision}", found_revision)


def set_aside_if_stale(run: RunDir, run_config: dict) -> Path | None:
    """Check ``run``'s folder against ``run_config`` (``check_run_folder``); a run of another
    code revision is moved aside (``RunDir.set_aside``, never deleted) so that it trains anew.
    Returns where it went, or None."""
    try:
        check_run_folder(run, run_config)
    except StaleRunError as err:
        with run.locked():
            target = run.set_aside(revision_label(err.found))
        print(f"{err}: set it aside as {target}; it trains anew", file=sys.stderr)
        return target
    return None


class RerunError(UserError, ValueError):
    """A finished run that this code cannot train again as it was made: of an unknown algorithm
    or another code revision, or with a config it cannot run."""


@dataclass(frozen=True)
class Rerun:
    """What a finished run's ``config.json`` asks to train again (``rerun_of``)."""

    algo: str
    config: LoopConfig
    env_config: EnvConfig
    seed: int
    steps: int
    saved: dict
    """The ``config.json`` itself."""

    def run_config(self) -> dict:
        """The config this code writes for the run (``config_dict``), without its dataset."""
        return config_dict(self.algo, self.config, self.env_config, self.seed, self.steps)


def rerun_of(run: RunDir) -> Rerun:
    """The finished ``run``'s settings, read from its ``config.json`` (the run's files checked
    against their seals first); ``RerunError`` where this code cannot train it again."""
    from algos.provenance.readers import read_run

    saved = read_run(run.root).config
    algo = saved.get("algo")
    if algo not in ALGORITHMS:
        raise RerunError(f"{run.config}: unknown algorithm {algo!r}")
    if saved.get("revision") != revision(algo):
        found, current = revision_label(saved.get("revision")), revision_label(revision(algo))
        raise RerunError(f"{run.root}: a run of code revision {found}, this code is {current}: "
                         "it is stale, and a retrained prefix is not expected to match")
    try:
        config = ALGORITHMS[algo].config(**saved["algo_config"])
        config.validate()
        env_config = EnvConfig(**saved["env"])
        validate_env_config(env_config)
        seed, steps = int(saved["seed"]), int(saved["steps"])
    except (KeyError, TypeError, ValueError) as err:
        raise RerunError(f"{run.config}: not a config this code can run ({err})") from None
    return Rerun(algo, config, env_config, seed, steps, saved)


def refuse_other_settings(run: RunDir, saved: dict, run_config: dict) -> None:
    """``RerunError`` where this code would write another ``config.json`` (``run_config``) for
    the run than the one it has (``saved``)."""
    changed = settings_differences(saved, run_config)
    if changed:
        raise RerunError(f"{run.config}: this code would write another config.json for it "
                         f"(differs in: {', '.join(changed)})")
