"""Training speed of our DDQN+PER against a plain reference DQN loop, measured in one run.

The reference is written here in the style of MinAtar's ``examples/dqn.py`` (the loop most MinAtar
users start from): transitions as tensors in a Python list, a state tensor built every step,
``random.sample`` for uniform batches, ``torch.cat`` of the sampled tensors, plain DQN targets.
Ours is the suite's real training loop (``algos.training.loop.train_run``, as ``python -m algos
train`` runs it), timed by its own ``metrics.csv``. Both train the same network with the same
optimizer settings, one update per environment step, on one thread, for the same number of
steps after the same 5000-step random warm-up, on the same game; the runs alternate so that drifts
in machine load hit both alike, and the best of the repeats is compared.

Prints one JSON object: steps/s of each, their ratio (ours / reference; the target is >= 1.3),
and, with ``--memory``, the peak resident memory of a default 110K-step run (replay full).

    python benchmarks/dqn_speed.py --game breakout --steps 5000 --repeats 3
"""

from __future__ import annotations

# algos first: importing it pins torch's and MKL's kernels, which must happen before torch loads.
import algos  # noqa: F401

# isort: split

import argparse
import contextlib
import csv
import io
import json
import random
import subprocess
import sys
import time
from collections import namedtuple
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import emit  # noqa: E402

from algos.agents.dqn import DQNAgent  # noqa: E402
from algos.algorithms import ALGORITHMS, DQNConfig  # noqa: E402
from algos.envs import EnvConfig, MinAtarEnv  # noqa: E402
from algos.provenance.existing import config_dict  # noqa: E402
from algos.provenance.runs import RunDir  # noqa: E402
from algos.seeds import Stream, child_seed  # noqa: E402
from algos.training.learner import configure_torch  # noqa: E402
from algos.training.loop import train_run  # noqa: E402

Transition = namedtuple("Transition", "state next_state action reward terminal")


def reference_dqn(game: str, warmup: int, steps: int, seed: int) -> float:
    """Steps/s of a MinAtar-``examples/dqn.py``-style loop over ``steps`` training steps.

    Written for this benchmark in that file's style (the original is GPL-3.0 and not copied):
    per-step tensors for the state, action, reward and terminal flag; a Python list of
    namedtuples as replay, sampled with ``random.sample``; ``torch.cat`` of the sampled tensors;
    non-terminal next states picked by a list comprehension; plain DQN targets from the target
    network; ``torch.optim.RMSprop(centered=True)``; the target network refreshed with
    ``load_state_dict``.
    """
    from minatar import Environment

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    env = Environment(game, sticky_action_prob=0.1, difficulty_ramping=True)
    env.seed(seed)
    env.reset()
    n_actions = env.num_actions()
    channels = env.state_shape()[2]
    policy = QNetworkReference(channels, n_actions)
    target = QNetworkReference(channels, n_actions)
    target.load_state_dict(policy.state_dict())
    optimizer = torch.optim.RMSprop(policy.parameters(), lr=2.5e-4, alpha=0.95, centered=True,
                                    eps=0.01)
    buffer: list[Transition] = []
    location, capacity, batch_size, gamma = 0, 100_000, 32, 0.99

    def get_state(s: np.ndarray) -> torch.Tensor:
        return torch.tensor(s).permute(2, 0, 1).unsqueeze(0).float()

    def train(sample: list[Transition]) -> None:
        batch = Transition(*zip(*sample, strict=True))
        states = torch.cat(batch.state)
        next_states = torch.cat(batch.next_state)
        actions = torch.cat(batch.action)
        rewards = torch.cat(batch.reward)
        terminal = torch.cat(batch.terminal)
        q_sa = policy(states).gather(1, actions)
        live = torch.tensor([i for i, done in enumerate(terminal) if done == 0], dtype=torch.int64)
        live_next = next_states.index_select(0, live)
        q_next = torch.zeros(len(sample), 1)
        if len(live_next) != 0:
            q_next[live] = target(live_next).detach().max(1)[0].unsqueeze(1)
        loss = F.smooth_l1_loss(rewards + gamma * q_next, q_sa)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    state = get_state(env.state())
    updates = 0
    start = None
    episode_return = 0.0
    for t in range(warmup + steps):
        if t == warmup:
            start = time.perf_counter()
        epsilon = max(0.1, 1.0 - 0.9 * (t - warmup) / 100_000)
        if t < warmup or np.random.binomial(1, epsilon) == 1:
            action = torch.tensor([[random.randrange(n_actions)]])
        else:
            with torch.no_grad():
                action = policy(state).max(1)[1].view(1, 1)
        reward, terminal = env.act(action)
        next_state = get_state(env.state())
        reward = torch.tensor([[reward]]).float()
        transition = Transition(state, next_state, action, reward, torch.tensor([[terminal]]))
        if len(buffer) < capacity:
            buffer.append(transition)
        else:
            buffer[location] = transition
        location = (location + 1) % capacity
        if t >= warmup:
            train(random.sample(buffer, batch_size))
            updates += 1
            if updates % 1000 == 0:
                target.load_state_dict(policy.state_dict())
        episode_return += reward.item()
        if terminal:
            env.reset()
            state = get_state(env.state())
            episode_return = 0.0
        else:
            state = next_state
    return steps / (time.perf_counter() - start)


class QNetworkReference(torch.nn.Module):
    """MinAtar's network as its ``examples/dqn.py`` builds it, with ``nn.Conv2d``."""

    def __init__(self, in_channels: int, n_actions: int):
        super().__init__()
        self.conv = torch.nn.Conv2d(in_channels, 16, kernel_size=3, stride=1)
        self.fc_hidden = torch.nn.Linear(8 * 8 * 16, 128)
        self.output = torch.nn.Linear(128, n_actions)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv(x))
        x = F.relu(self.fc_hidden(x.view(x.size(0), -1)))
        return self.output(x)


def ours(game: str, warmup: int, steps: int, seed: int, agent_cls=DQNAgent,
         config_cls=DQNConfig, agent_inputs: dict | None = None, **overrides) -> float:
    """Steps/s of the suite's real training loop (``algos.training.loop.train_run``, DDQN + PER by
    default) over the ``steps`` after a ``warmup`` of random steps, read from its own
    ``metrics.csv`` (whose speed column excludes evaluation time; one evaluation episode).
    ``agent_cls``, ``config_cls`` and ``agent_inputs`` (e.g. DIIQN's dataset) pick another
    algorithm."""
    import tempfile

    config = config_cls(replay_start=warmup, eval_every=warmup, eval_episodes=1,
                        checkpoint_every=10**9, **overrides)
    env_config = EnvConfig(game)
    total = warmup + steps
    env = MinAtarEnv(env_config, child_seed(seed, Stream.ENV))
    agent = agent_cls(config, env.state_shape, env.n_actions, seed, total, **(agent_inputs or {}))
    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stderr(io.StringIO()):
        run = RunDir(Path(out))
        algo = next(name for name, entry in ALGORITHMS.items() if entry.config is config_cls)
        train_run(agent, config_dict(algo, config, env_config, seed, total), config,
                  env_config, seed, total, run)
        with open(run.metrics) as f:
            rows = [r for r in csv.DictReader(f) if int(r["env_steps"]) > warmup]
    previous = [warmup] + [int(r["env_steps"]) for r in rows[:-1]]
    seconds = sum((int(r["env_steps"]) - p) / float(r["steps_per_second"])
                  for r, p in zip(rows, previous, strict=True))
    return steps / seconds


def peak_memory_of_full_run(game: str, steps: int) -> dict:
    """Peak RSS of a real ``python -m algos train`` run (default settings: DDQN + PER, one update
    per step, 100K replay) long enough to fill its replay memory and write checkpoints."""
    import tempfile

    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "algos", "train", "dqn", "--game", game, "--seed", "0",
               "--steps", str(steps), "--out", out]
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
        info = json.loads((Path(out) / "run.json").read_text())
    return {"steps": steps, "replay_capacity": 100_000, "peak_rss_mb": info["peak_rss_mb"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--game", default="breakout")
    parser.add_argument("--warmup", type=int, default=5_000,
                        help="random steps that fill the replay before timing starts")
    parser.add_argument("--steps", type=int, default=5_000, help="timed training steps")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--memory", action="store_true",
                        help="also measure peak RSS of a default 110K-step run (about 4 min)")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    runs = {"reference_dqn": [], "ours_ddqn_per": [], "ours_dqn_uniform": []}
    for repeat in range(args.repeats):  # interleaved, so drifts in machine load hit both alike
        # The reference runs with torch's defaults; ours with the settings its CLI applies.
        torch.set_flush_denormal(False)
        runs["reference_dqn"].append(reference_dqn(args.game, args.warmup, args.steps, repeat))
        configure_torch(args.threads)
        runs["ours_ddqn_per"].append(ours(args.game, args.warmup, args.steps, repeat))
        runs["ours_dqn_uniform"].append(ours(args.game, args.warmup, args.steps, repeat,
                                             double=False, prioritized=False))
    best = {name: max(values) for name, values in runs.items()}
    result = {
        "benchmark": "dqn_speed",
        "game": args.game,
        "threads": args.threads,
        "timed_steps": args.steps,
        "repeats": args.repeats,
        "steps_per_second": {k: [round(v, 1) for v in vs] for k, vs in runs.items()},
        "best_steps_per_second": {k: round(v, 1) for k, v in best.items()},
        "ratio_ddqn_per_vs_reference": round(best["ours_ddqn_per"] / best["reference_dqn"], 3),
        "ratio_dqn_uniform_vs_reference": round(best["ours_dqn_uniform"] / best["reference_dqn"],
                                                3),
        "target_ratio": 1.3,
    }
    if args.memory:
        result["memory"] = peak_memory_of_full_run(args.game, 110_000)
    emit(result, args.out)


if __name__ == "__main__":
    main()
