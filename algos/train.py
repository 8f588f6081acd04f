"""Training, from the command line's inputs: a registered algorithm in its run folder
(``train``), a finished run's first steps again, compared with its files (``verify``), and a DQN
expert (``train_expert``).

The three share ``train_agent``: the agent of a run built (through the registry's
``agent_class``) and trained in its folder by the one loop. This module stands above the agents,
which it builds, and below the command line, which parses, calls one of these and prints what
it returns.
"""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from algos.agents.dqn import DQNAgent
from algos.algorithms import ALGORITHMS, DQNConfig, LoopConfig, agent_class
from algos.config import apply_overrides
from algos.data.datasets import StateOnlyDataset, load_for_run, scorer_or_warning
from algos.data.experts import (
    REFERENCE_DQN_SCORES,
    DQNExpert,
    ExpertError,
    stop_at_return,
    write_expert_json,
)
from algos.envs import (
    EnvConfig,
    packed_size,
    resolve_action_set,
    state_shape,
    validate_env_config,
)
from algos.errors import UserError
from algos.provenance.existing import (
    RerunError,
    check_run_folder,
    config_dict,
    keep_saved_dataset_path,
    nothing_to_do,
    refuse_other_settings,
    rerun_of,
    set_aside_if_stale,
)
from algos.provenance.readers import read_expert_info, read_run
from algos.provenance.runs import RunDir, first_difference, read_csv_rows, writable_folder
from algos.training import live_view
from algos.training.learner import configure_torch
from algos.training.loop import (
    WALL_CLOCK_COLUMNS,
    WALL_CLOCK_DIAGNOSTICS,
    Agent,
    LogsHook,
    train_run,
)
from algos.training.replay import require_replay_memory


class TrainError(UserError, ValueError):
    """A training request that does not fit its algorithm (a dataset given or missing)."""


def train_agent(agent_cls: type, config: LoopConfig, env_config: EnvConfig, seed: int,
                steps: int, run: RunDir, run_config: dict, *, threads: int,
                progress_every: float, description: str,
                stop_when: Callable[[dict], bool] | None = None,
                on_logs: LogsHook | None = None,
                dataset: StateOnlyDataset | None = None) -> tuple[Agent, dict]:
    """Build an ``agent_cls`` for the run (``dataset``: the expert's, for the algorithms that
    learn from one; its hidden actions score inference, where they can be read) and train it in
    ``run`` with ``train_run`` (``stop_when``, ``on_logs``, ``progress_every`` as there).
    Returns the agent and the run's summary."""
    configure_torch(threads)
    actions = resolve_action_set(env_config.game, env_config.action_set)
    inputs = {} if dataset is None else {
        "dataset": dataset,
        "scorer": scorer_or_warning(dataset.path, actions, " in diagnostics.csv")}
    agent = agent_cls(config, state_shape(env_config.game), len(actions), seed, steps, **inputs)
    if config.replay_start >= steps:
        print(f"warning: --steps {steps} ends before replay_start ({config.replay_start}): "
              "the agent never learns, and its evaluations are of the untrained network",
              file=sys.stderr)
    summary = train_run(agent, run_config, config, env_config, seed, steps, run,
                        threads=threads, description=description, stop_when=stop_when,
                        progress_every=progress_every, on_logs=on_logs)
    return agent, summary


def train(algo: str, env_config: EnvConfig, seed: int, steps: int, out: Path, *,
          dataset: Path | None = None, overrides: Sequence[str] = (), threads: int = 1,
          progress_every: float = 60.0, tensorboard: str | None = None) -> dict | None:
    """Train ``algo`` (settings ``overrides``, ``--set``'s) in run folder ``out``, resuming it
    from its checkpoint; a run of older code there is set aside first. ``tensorboard``: also
    write the live view into that folder ("": ``out/tensorboard``). Returns the run's summary,
    or None where it was already finished (its files verified; said on stdout)."""
    if tensorboard is not None:
        live_view.require()  # before anything is read or written
    algorithm, agent_cls = ALGORITHMS[algo], agent_class(algo)
    validate_env_config(env_config)
    config = apply_overrides(algorithm.config(), list(overrides))
    run = RunDir(out)
    run_config = config_dict(algo, config, env_config, seed, steps)
    if dataset is not None and not algorithm.needs_dataset:
        raise TrainError(f"{algo} learns without an expert dataset: drop --dataset {dataset}")
    if algorithm.needs_dataset and dataset is None:
        raise TrainError(f"{algo} learns from an expert dataset: give --dataset PATH")
    data = load_for_run(dataset, run_config) if dataset is not None else None
    keep_saved_dataset_path(run, run_config)
    set_aside_if_stale(run, run_config)
    if run.finished():
        read_run(run.root)
        nothing_to_do(run.root, "run already finished (summary.json present, its files "
                      "verified)")
        return None
    if hasattr(config, "replay_capacity"):  # before the folder is made
        require_replay_memory(config.replay_capacity, packed_size(state_shape(env_config.game)),
                              getattr(config, "prioritized", False))
    writable_folder(run.root, "--out")
    view = None
    if tensorboard is not None:
        view = live_view.LiveView(writable_folder(
            Path(tensorboard) if tensorboard else run.root / "tensorboard", "--tensorboard"))
    with view or contextlib.nullcontext():
        _, summary = train_agent(agent_cls, config, env_config, seed, steps, run, run_config,
                                 threads=threads, progress_every=progress_every,
                                 description=f"{algo} {env_config.game} seed{seed}",
                                 on_logs=view, dataset=data)
    return summary


@dataclass(frozen=True)
class Verification:
    """What ``verify`` found."""

    run: Path
    reach: int
    """The evaluation step it trained to."""
    rows: int
    """The run's evaluations up to there, compared."""
    differences: dict[str, str | None]
    """Per file compared, its first difference in words, or None."""
    left_out: str | None = None
    """What was not compared, in words (a resumed run's resume-dependent columns), or None."""

    @property
    def reproduced(self) -> bool:
        return not any(self.differences.values())


def verify(path: Path, steps: int = 1, progress_every: float = 60.0,
           root: Path | None = None) -> Verification:
    """Train the finished run in ``path`` again from its config.json (its seed, settings,
    dataset and code revision) up to its first evaluation at or past ``steps``, and compare
    every row of its metrics.csv and diagnostics.csv up to there, wall-clock columns aside.
    A relative dataset path is read from ``root`` (default: the project holding the run).
    ``RerunError`` (``provenance.existing``) where this code cannot train it again."""
    run = RunDir(path)
    rerun = rerun_of(run)
    run_config = rerun.run_config()
    dataset = None
    if ALGORITHMS[rerun.algo].needs_dataset:
        dataset_path = Path(rerun.saved["dataset"]["path"])
        project = project_of(run.root) if root is None else root
        if not dataset_path.is_absolute():
            dataset_path = project / dataset_path
        require_arrays(dataset_path, project)
        dataset = load_for_run(dataset_path, run_config)
        run_config["dataset"]["path"] = rerun.saved["dataset"]["path"]  # as the run wrote it
    refuse_other_settings(run, rerun.saved, run_config)
    evaluations = [int(row["env_steps"])
                   for row in read_csv_rows(run.metrics, WALL_CLOCK_COLUMNS)]
    reach = next((s for s in evaluations if s >= steps), evaluations[-1])
    compared = {"metrics.csv": WALL_CLOCK_COLUMNS, "diagnostics.csv": WALL_CLOCK_DIAGNOSTICS}
    with tempfile.TemporaryDirectory(prefix="verify-") as tmp:
        again = RunDir(Path(tmp) / "run")
        train_agent(agent_class(rerun.algo), rerun.config, rerun.env_config, rerun.seed,
                    rerun.steps, again, run_config, threads=1, progress_every=progress_every,
                    description=f"verify {rerun.algo} {rerun.env_config.game} seed{rerun.seed}",
                    stop_when=lambda row: row["env_steps"] >= reach, dataset=dataset)
        resumed = first_resume(run)
        dependent = ALGORITHMS[rerun.algo].resume_dependent if resumed is not None else ()
        found = {name: first_difference(
                     _without_after(read_csv_rows(run.root / name, columns), dependent, resumed),
                     _without_after(read_csv_rows(again.root / name, columns), dependent,
                                    resumed), reach)
                 for name, columns in compared.items()}
    left_out = (f"{', '.join(dependent)} after step {resumed}, where the run resumed (they tell "
                "how one process answered, from a cache that a resumed run starts empty)"
                if dependent and resumed < reach else None)
    return Verification(run.root, reach, sum(step <= reach for step in evaluations), found,
                        left_out)


def project_of(run_folder: Path) -> Path:
    """The project a run folder belongs to: the folder above its ``results/runs/``, else the
    current folder."""
    parts = run_folder.resolve().parts
    for i in range(len(parts) - 1, 0, -1):
        if parts[i - 1:i + 1] == ("results", "runs"):
            return Path(*parts[:i - 1])
    return Path.cwd()


def require_arrays(dataset: Path, project: Path) -> None:
    """``RerunError`` saying how to make a dataset's arrays again where only its description
    is there (a checkout holds descriptions only: the arrays are made, never committed)."""
    description = dataset.with_suffix(".json")
    if dataset.is_file() or not description.is_file():
        return
    info = json.loads(description.read_text())
    expert = project / info.get("expert", {}).get("path", "EXPERT")
    raise RerunError(f"{dataset}: its arrays are not here (a checkout holds its description "
                     f"only); make them again from it (deterministic, about a minute): python "
                     f"-m algos dataset --expert {expert} --size {info.get('size')} --seed "
                     f"{info.get('seed')} --epsilon {info.get('epsilon')} --out {dataset}")


def first_resume(run: RunDir) -> int | None:
    """The step at which the run in ``run`` first resumed from a checkpoint, or None where one
    session trained it from the start."""
    sessions = json.loads(run.run_info.read_text()).get("sessions", [])
    resumes = [int(s["from_step"]) for s in sessions if int(s.get("from_step", 0)) > 0]
    return min(resumes) if resumes else None


def _without_after(rows: list[dict[str, str]], columns: Sequence[str], step: int | None
                   ) -> list[dict[str, str]]:
    """``rows`` without ``columns`` in the rows past ``step``."""
    if not columns:
        return rows
    return [{k: v for k, v in row.items() if k not in columns}
            if int(row["env_steps"]) > step else row for row in rows]


def train_expert(env_config: EnvConfig, seed: int, steps: int | None, out: Path, *,
                 stop_fraction: float, reference_score: float | None = None,
                 eval_episodes: int, overrides: Sequence[str] = (), threads: int = 1,
                 progress_every: float = 60.0) -> dict | None:
    """Train a Double DQN + PER expert into ``out/train/`` (resumable) for ``steps`` steps at
    most, stopping at the first evaluation that reaches ``stop_fraction`` of
    ``reference_score`` (default: MinAtar's 5M-frame DQN; ``stop_fraction`` 0: the whole
    budget), then write ``out/policy.pt`` and, last, ``out/expert.json`` (scored over
    ``eval_episodes`` episodes). Returns the latter, or None where the expert is finished."""
    validate_env_config(env_config)
    if steps is None:
        raise ExpertError("give --steps (the training budget), or --scripted NAME")
    config = apply_overrides(DQNConfig(), list(overrides))
    if not 0.0 <= stop_fraction <= 1.0:
        raise ExpertError(f"--stop-fraction must lie in [0, 1], got {stop_fraction}")
    reference = (reference_score if reference_score is not None
                 else REFERENCE_DQN_SCORES.get(env_config.game))
    if stop_fraction > 0 and reference is None:
        raise ExpertError(f"no reference score for {env_config.game}: give --reference-score, "
                          "or --stop-fraction 0 to train the whole budget")
    target = stop_fraction * reference if stop_fraction > 0 else None
    out = Path(out)
    run = RunDir(out / "train")
    run_config = config_dict("dqn", config, env_config, seed, steps)
    run_config["expert"] = {"stop_fraction": stop_fraction, "reference_score": reference,
                            "target_return": target}
    # A finished expert is a product (datasets and runs are made from it): newer code leaves it
    # as it is. An unfinished one of older code trains anew.
    if (out / "expert.json").exists():
        check_run_folder(run, run_config, ignore_revision=True)
        read_expert_info(out)  # what is kept must read back (its seal)
        nothing_to_do(out, "expert already finished (expert.json present)")
        return None
    set_aside_if_stale(run, run_config)
    writable_folder(out, "--out")
    agent, summary = train_agent(
        DQNAgent, config, env_config, seed, steps, run, run_config, threads=threads,
        progress_every=progress_every, description=f"expert {env_config.game}",
        stop_when=stop_at_return(target) if target is not None else None)
    shape = state_shape(env_config.game)
    expert = DQNExpert(agent.learner.online, shape)
    expert.save(out / "policy.pt", shape, agent.n_actions)
    return write_expert_json(
        out, kind="dqn", policy=expert, env_config=env_config, seed=seed,
        eval_episodes=eval_episodes, eval_epsilon=config.eval_epsilon,
        max_steps=config.eval_max_episode_steps, policy_file="policy.pt", train_run="train",
        steps_trained=summary["steps_trained"], stopped_early=summary["stopped_early"],
        **run_config["expert"])
