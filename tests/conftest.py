"""Shared helpers: run the CLI in a subprocess, read metrics without wall-clock columns."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from algos.training.learner import configure_torch

# One torch thread in each test process, as every training run has (--threads 1): two pytest
# workers share two cores, and torch's default of a thread per core made each worker's
# in-process training contend with the other worker and its subprocesses.
configure_torch(1)

ROOT = Path(__file__).resolve().parent.parent
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile")]  # this workflow
# The environment of the Snakemake runs that use no SLURM. Snakemake loads every installed
# executor plugin at start, and snakemake-executor-plugin-slurm 2.8 then runs `scontrol show
# config`: where SLURM's client is installed but no controller runs (once test_slurm's cluster
# is down), that waits 9-10 s, at every start. Its `scontrol` here fails at once instead.
NO_SLURM_ENV = {**os.environ, "PATH": os.pathsep.join(
    [str(ROOT / "tests" / "slurm" / "no-controller"), os.environ.get("PATH", "")])}

# A tiny but complete run: learning starts early, evaluations and checkpoints are frequent (and,
# for an algorithm with a replay memory, a small one: ``train_args``).
FAST = ["--set", "replay_start=300", "--set", "eval_every=1000",
        "--set", "eval_episodes=3", "--set", "checkpoint_every=1000",
        "--set", "epsilon_decay_steps=2000"]
SMALL_REPLAY = ["--set", "replay_capacity=5000"]


def snakemake(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """This workflow's Snakemake in the folder ``cwd``, without SLURM (``NO_SLURM_ENV``); text
    output."""
    return subprocess.run([*SNAKEMAKE, *args, "--directory", str(cwd)], cwd=ROOT,
                          env=NO_SLURM_ENV, capture_output=True, text=True, timeout=timeout)


def cli(*args: str, check: bool = False, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m algos ARGS`` from the project root; text output, no TTY (so no progress bar)."""
    return subprocess.run([sys.executable, "-m", "algos", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, check=check)


def train_args(out: Path, steps: int = 2000, seed: int = 0, game: str = "breakout",
               extra: tuple[str, ...] = (), algo: str = "dqn",
               dataset: Path | None = None) -> list[str]:
    from algos.algorithms import ALGORITHMS

    data = ["--dataset", str(dataset)] if dataset is not None else []
    # Only a config that has a replay memory takes its size: a new agent need not have one.
    replay = SMALL_REPLAY if hasattr(ALGORITHMS[algo].config(), "replay_capacity") else []
    return ["train", algo, "--game", game, "--seed", str(seed), "--steps", str(steps),
            "--out", str(out), *data, *FAST, *replay, *extra]


def random_expert_dataset(out: Path, game: str = "breakout", size: int = 3000, seed: int = 0,
                          action_set: str = "full", sticky_prob: float = 0.1) -> Path:
    """A state-only dataset of a uniformly random 'expert' (no training needed), with its hidden
    true actions, written by the real dataset code."""
    from algos.data.datasets import make_dataset
    from algos.envs import EnvConfig, MinAtarEnv
    from algos.training.acting import UniformRandomPolicy

    env_config = EnvConfig(game, action_set=action_set, sticky_action_prob=sticky_prob)
    n_actions = MinAtarEnv(env_config, 0).n_actions
    make_dataset(UniformRandomPolicy(n_actions, seed), env_config, size=size, seed=seed,
                 epsilon=0.0, out=out, expert_dir=Path("random"), expert_info={"kind": "random"})
    return out


def planner_expert_dataset(expert: Path, data: Path, size: int, game: str = "grid_maze_small",
                           action_set: str = "cardinal", eval_episodes: int = 5,
                           epsilon: float | None = None) -> tuple[Path, Path]:
    """A maze's planner expert in ``expert`` and its ``size``-transition dataset in ``data``
    (dataset seed 0; ``epsilon`` the dataset's exploration, the CLI's default when None)."""
    cli("expert", "--game", game, "--action-set", action_set, "--scripted", "planner",
        "--seed", "0", "--eval-episodes", str(eval_episodes), "--out", str(expert), check=True)
    noise = [] if epsilon is None else ["--epsilon", str(epsilon)]
    cli("dataset", "--expert", str(expert), "--size", str(size), "--seed", "0", "--out",
        str(data), *noise, check=True)
    return expert, data


def play_randomly(agent, env, steps: int, seed: int) -> None:
    """``algos.training.acting.play_randomly`` (imported when called: conftest imports no torch)."""
    from algos.training.acting import play_randomly as play

    play(agent, env, steps, seed)


@pytest.fixture(scope="session")
def breakout_dataset(tmp_path_factory) -> Path:
    return random_expert_dataset(tmp_path_factory.mktemp("data") / "n3000.npz")


def csv_without(path: Path, columns: tuple[str, ...] = ()) -> list[dict]:
    """The rows of a CSV file, without ``columns``."""
    with open(path) as f:
        return [{k: v for k, v in row.items() if k not in columns} for row in csv.DictReader(f)]


def metrics_without_wall_clock(run: Path) -> list[dict]:
    from algos.training.loop import WALL_CLOCK_COLUMNS

    return csv_without(run / "metrics.csv", WALL_CLOCK_COLUMNS)


def diagnostics_without_wall_clock(run: Path) -> list[dict]:
    from algos.training.loop import WALL_CLOCK_DIAGNOSTICS

    return csv_without(run / "diagnostics.csv", WALL_CLOCK_DIAGNOSTICS)


@pytest.fixture
def tmp_run(tmp_path: Path) -> Path:
    return tmp_path / "runs" / "breakout" / "dqn" / "default" / "seed0"
