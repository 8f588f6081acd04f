"""Acting: policies, ε-greedy, and evaluation episodes.

What the training loop, experts and datasets share to pick actions and score a policy, apart
from the trainer itself.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from algos.envs import EnvConfig, make_env, pack_states
from algos.seeds import child_seed


class Policy(Protocol):
    def greedy_action(self, obs: np.ndarray) -> int:
        """Best action (an index into the environment's action set) for one observation."""


class UniformRandomPolicy:
    """Uniformly random actions: the zero of normalised scores."""

    def __init__(self, n_actions: int, seed: int):
        self.n_actions = n_actions
        self.rng = np.random.default_rng(seed)

    def greedy_action(self, obs: np.ndarray) -> int:
        return int(self.rng.integers(self.n_actions))


def epsilon_greedy(policy: Policy, obs: np.ndarray, epsilon: float, rng: np.random.Generator,
                   n_actions: int) -> int:
    """A uniformly random action with probability ``epsilon``, else the policy's greedy one (the
    network is not run for random actions)."""
    if rng.random() < epsilon:
        return int(rng.integers(n_actions))
    return policy.greedy_action(obs)


def evaluate(policy: Policy, env_config: EnvConfig, *, episodes: int, epsilon: float,
             max_steps: int, seed: int, stream: tuple[int, ...]) -> np.ndarray:
    """Returns of ``episodes`` ε-greedy episodes, each on a fresh environment and ended by its
    termination, its own time limit or ``max_steps``.

    The environments and the exploration draws are seeded from ``(seed, *stream)``, so an
    evaluation is reproducible on its own and independent of anything else drawn in the run.
    """
    rng = np.random.default_rng(child_seed(seed, *stream))
    returns = np.zeros(episodes)
    for episode in range(episodes):
        env = make_env(env_config, child_seed(seed, *stream, episode))
        obs = env.reset()
        for _ in range(max_steps):
            obs, reward, terminated, truncated = env.step(
                epsilon_greedy(policy, obs, epsilon, rng, env.n_actions))
            returns[episode] += reward
            if terminated or truncated:
                break
    return returns


def play_randomly(agent, env, steps: int, seed: int) -> None:
    """Feed ``agent.observe`` ``steps`` transitions of uniformly random play in ``env``."""
    rng = np.random.default_rng(seed)
    obs = env.reset()
    for step in range(steps):
        action = int(rng.integers(env.n_actions))
        next_obs, reward, terminated, truncated = env.step(action)
        agent.observe(pack_states(obs), action, reward, pack_states(next_obs), terminated, step)
        obs = env.reset() if terminated or truncated else next_obs


class Agent(Protocol):
    """What an algorithm gives the loop (``greedy_action`` makes it a ``Policy`` too): the
    contract of a new agent (docs/developing.md). Its ``take_diagnostics`` keys are its run's
    ``diagnostics.csv`` columns, every one kept by the aggregate; those that are timings it
    declares in its registry entry (``Algorithm.wall_clock``, gathered in
    ``algos.algorithms.WALL_CLOCK_DIAGNOSTICS``)."""

    n_actions: int
    updates: int
    """Learning updates done so far."""

    def greedy_action(self, obs: np.ndarray) -> int:
        """Best action for one bool ``(C, H, W)`` observation."""

    def observe(self, state: np.ndarray, action: int, reward: float, next_state: np.ndarray,
                terminated: bool, step: int) -> None:
        """Take in one transition (bit-packed states; ``terminated``: the task ended at
        ``next_state``, as opposed to a time limit, after which the episode is simply cut)."""

    def update(self, step: int) -> float:
        """One learning update at environment step ``step``; returns the loss."""

    def take_diagnostics(self) -> dict[str, float]:
        """Algorithm-specific numbers for ``diagnostics.csv`` over the interval since the last
        call; the call starts a new interval."""

    def state_dict(self) -> dict:
        ...

    def load_state_dict(self, state: dict) -> None:
        ...
