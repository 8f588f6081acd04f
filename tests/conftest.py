"""Shared helpers: run the CLI in a subprocess, read metrics without wall-clock columns."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# A tiny but complete DQN run: learning starts early, evaluations and checkpoints are frequent.
FAST = ["--set", "replay_start=300", "--set", "replay_capacity=5000", "--set", "eval_every=1000",
        "--set", "eval_episodes=3", "--set", "checkpoint_every=1000",
        "--set", "epsilon_decay_steps=2000"]


def cli(*args: str, check: bool = False, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m algos ARGS`` from the project root; text output, no TTY (so no progress bar)."""
    return subprocess.run([sys.executable, "-m", "algos", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, check=check)


def train_args(out: Path, steps: int = 2000, seed: int = 0, game: str = "breakout",
               extra: tuple[str, ...] = ()) -> list[str]:
    return ["train", "dqn", "--game", game, "--seed", str(seed), "--steps", str(steps),
            "--out", str(out), *FAST, *extra]


def metrics_without_wall_clock(run: Path) -> list[dict]:
    from algos.loop import WALL_CLOCK_COLUMNS

    with open(run / "metrics.csv") as f:
        return [{k: v for k, v in row.items() if k not in WALL_CLOCK_COLUMNS}
                for row in csv.DictReader(f)]


@pytest.fixture
def tmp_run(tmp_path: Path) -> Path:
    return tmp_path / "runs" / "breakout" / "dqn" / "default" / "seed0"
