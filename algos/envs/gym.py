"""The suite's mazes as Gymnasium environments: ``DIIQN/GridMaze-v0`` and ``DIIQN/PointMaze-v0``.

A thin adapter over ``mazes.GridMazeEnv`` (the very environment the suite's agents train on, not
a second maze): the same moves, rewards, sticky actions and step limit, with Gymnasium's API.

* ``gymnasium.make("DIIQN/GridMaze-v0", action_set="cardinal")``: the action set as a keyword
  (``full``, ``cardinal``, ``diagonal`` or a comma list of moves, as ``--action-set``), and
  ``sticky_action_prob`` (default 0.1, the suite's).
* Observations are the suite's state: boolean channels ``(2, H, W)`` (agent, goal cell),
  MinAtar's style, in a ``Box`` of ``bool``.
* ``reset(seed=s)`` gives the suite's environment seeded with ``s`` (``make_env(config, s)``), so
  a seeded rollout is the suite's, state for state; a reset without a seed goes on with the
  same random stream, as the suite's loop does between episodes.
* ``terminated``: the goal is reached (the task's end); ``truncated``: the maze's step limit (a
  time limit the maze keeps itself, so the ids need no ``TimeLimit``). ``info`` holds
  ``executed_action``: the action index really applied (a sticky action repeats the last one).

Gymnasium 1.x has no plugin entry points: the ids are registered when this module is imported
(``import algos.envs.gym``), or by ``gymnasium.make("algos.envs.gym:DIIQN/GridMaze-v0")``, which
imports it.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

from .base import EnvConfig
from .mazes import GridMazeEnv

MAZE_IDS = {"DIIQN/GridMaze-v0": "grid_maze", "DIIQN/PointMaze-v0": "point_maze"}
"""The registered ids and the layout each one plays."""


class MazeEnv(gymnasium.Env[np.ndarray, np.int64]):
    """One of the suite's mazes (``maze``: a layout of ``algos/envs/layouts/``) behind
    Gymnasium's API. It has no render modes (Gymnasium's default ``metadata``)."""

    def __init__(self, maze: str, action_set: str = "full", sticky_action_prob: float = 0.1):
        self.config = EnvConfig(maze, action_set=action_set,
                                sticky_action_prob=sticky_action_prob)
        self._env = GridMazeEnv(self.config, seed=0)  # checks the config; reseeded at reset
        self._seeded = False
        self.action_space = spaces.Discrete(self._env.n_actions)
        self.observation_space = spaces.Box(0, 1, shape=self._env.state_shape, dtype=bool)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None or not self._seeded:
            # Unseeded at first: a seed drawn from Gymnasium's generator (from the OS's entropy).
            seed = seed if seed is not None else int(self.np_random.integers(2**31))
            self._env = GridMazeEnv(self.config, seed)
            self._seeded = True
        return self._env.reset(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated = self._env.step(int(action))
        executed = self._env.actions.index(self._env.executed_action)
        return obs, reward, terminated, truncated, {"executed_action": executed}


def register() -> None:
    """Register ``MAZE_IDS`` with Gymnasium (done once, when this module is imported)."""
    for env_id, maze in MAZE_IDS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(env_id, entry_point="algos.envs.gym:MazeEnv", kwargs={"maze": maze})


register()
