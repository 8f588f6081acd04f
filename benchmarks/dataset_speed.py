"""Dataset generation speed and size, against its two lower bounds measured in the same run.

A rollout step is one environment step plus one forward pass of the expert's network, so its
speed is bounded by ``1 / (1/env_rate + 1/forward_rate)``. For each game this prints, as JSON:
the environment's steps/s (random actions, states packed), the expert network's forward passes/s
(one state), the rollout's transitions/s (``algos.data.datasets.roll_out``, epsilon 0.01), the ratio
of the rollout to that bound (all without the hidden action effects), the rollout's speed with them
(``record_effects``: six extra environment steps per transition), and the bytes of a dataset of
``--size`` transitions on disk and in memory. The expert is an untrained network of the real
architecture (the same cost per step).

    python benchmarks/dataset_speed.py --size 100000
"""

from __future__ import annotations

# algos first: importing it pins torch's and MKL's kernels, which must happen before torch loads.
import algos  # noqa: F401

# isort: split

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import emit  # noqa: E402

from algos.data.datasets import roll_out  # noqa: E402
from algos.data.experts import DQNExpert  # noqa: E402
from algos.envs import GAMES, EnvConfig, MinAtarEnv, pack_states  # noqa: E402
from algos.training.learner import configure_torch  # noqa: E402
from algos.training.nets import QNetwork  # noqa: E402


def env_rate(game: str, steps: int) -> float:
    env = MinAtarEnv(EnvConfig(game), 0)
    rng = np.random.default_rng(0)
    env.reset()
    start = time.perf_counter()
    for _ in range(steps):
        obs, _, done, _ = env.step(int(rng.integers(6)))
        pack_states(obs)
        if done:
            env.reset()
    return steps / (time.perf_counter() - start)


def forward_rate(expert: DQNExpert, obs: np.ndarray, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        expert.greedy_action(obs)
    return calls / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", nargs="+", default=list(GAMES))
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    configure_torch(1)
    torch.manual_seed(0)
    results = {}
    for game in args.games:
        env = MinAtarEnv(EnvConfig(game), 0)
        expert = DQNExpert(QNetwork(env.state_shape[0], env.n_actions), env.state_shape)
        env_steps = env_rate(game, 20_000)
        forwards = forward_rate(expert, env.reset(), 5_000)
        start = time.perf_counter()
        arrays, hidden, _ = roll_out(expert, EnvConfig(game), args.size, seed=0, epsilon=0.01,
                                     record_effects=False)
        rollout = args.size / (time.perf_counter() - start)
        effects_size = min(args.size, 20_000)  # 6 extra actions a step: a shorter stretch
        start = time.perf_counter()
        roll_out(expert, EnvConfig(game), effects_size, seed=0, epsilon=0.01)
        with_effects = effects_size / (time.perf_counter() - start)
        bound = 1 / (1 / env_steps + 1 / forwards)
        with tempfile.TemporaryDirectory() as tmp:
            np.savez(Path(tmp) / "d.npz", **arrays)
            on_disk = (Path(tmp) / "d.npz").stat().st_size
        results[game] = {
            "env_steps_per_second": round(env_steps),
            "forward_passes_per_second": round(forwards),
            "rollout_transitions_per_second": round(rollout),
            "bound_transitions_per_second": round(bound),
            "rollout_vs_bound": round(rollout / bound, 3),
            "rollout_with_effects_transitions_per_second": round(with_effects),
            "size": args.size,
            "megabytes_on_disk": round(on_disk / 2**20, 2),
            "megabytes_in_memory": round((sum(a.nbytes for a in arrays.values())
                                          + sum(a.nbytes for a in hidden.values())) / 2**20, 2),
        }
    emit({"benchmark": "dataset_speed", "threads": 1, "games": results}, args.out)


if __name__ == "__main__":
    main()
