"""What every benchmark shares: printing its JSON result and, if asked, saving it."""

from __future__ import annotations

# algos first: importing it pins torch's and MKL's kernels, which must happen before torch loads.
import algos  # noqa: F401

# isort: split

import json
import platform
from pathlib import Path

import torch

from algos.data.datasets import StateOnlyDataset, load_dataset, make_dataset
from algos.envs import EnvConfig, MinAtarEnv
from algos.training.acting import UniformRandomPolicy


def emit(result: dict, out: Path | None) -> None:
    """Add the machine's description, print ``result`` as JSON, and write it to ``out``."""
    result = {**result, "torch": torch.__version__, "python": platform.python_version(),
              "processor": platform.processor() or platform.machine()}
    text = json.dumps(result, indent=2)
    print(text)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")


def random_expert_dataset(game: str, size: int, path: Path) -> StateOnlyDataset:
    """``size`` transitions of a uniformly random "expert" on ``game`` at ``path`` (no effects
    file): the expensive case for DIIQN, whose early agent meets such states often."""
    env_config = EnvConfig(game)
    make_dataset(UniformRandomPolicy(MinAtarEnv(env_config, 0).n_actions, 0), env_config,
                 size=size, seed=0, epsilon=0.0, out=path, expert_dir=Path("random"),
                 expert_info={"kind": "random"}, record_effects=False)
    return load_dataset(path, game=game)
