"""Environments by name: MinAtar's five games and the mazes of the heterogeneous-action
experiments, behind one interface (``reset() -> obs``, ``step(action index) -> Step``,
``n_actions``, ``state_shape``, ``executed_action``, ``equivalent_actions()``, ``state_dict()``,
``describe()``).

``base`` holds what they share (config, errors, ``Step``, sticky actions, bit-packing);
``minatar`` and ``mazes`` are the two kinds; this module chooses between them by name. ``gym``
registers the mazes with Gymnasium for code outside the suite; it is imported only by that code.
"""

from __future__ import annotations

from .base import (
    EnvConfig,
    EnvError,
    Step,
    check_sticky_prob,
    pack_states,
    packed_size,
    sticky_action,
    unpack_states,
)
from .mazes import (
    MAZE_ACTION_NAMES,
    GridMazeEnv,
    ShortestPathExpert,
    maze_names,
    maze_state_shape,
    resolve_maze_actions,
)
from .minatar import (
    ACTION_NAMES,
    GAMES,
    MinAtarEnv,
    minatar_state_shape,
    resolve_minatar_actions,
)

Env = MinAtarEnv | GridMazeEnv


def environment_names() -> tuple[str, ...]:
    """Every name ``--game`` accepts: the MinAtar games, then the shipped mazes."""
    return GAMES + maze_names()


def is_maze(game: str) -> bool:
    return game in maze_names()


def termination_is_success(game: str) -> bool:
    """Whether an episode's termination is the task done (a maze's goal) rather than failed (a
    MinAtar life lost): where it is, reaching an episode's end is worth imitating."""
    return is_maze(game)


def resolve_action_set(game: str, spec: str) -> tuple[int, ...]:
    """An action-set spec (``full``, ``minimal``, ``cardinal``, ``diagonal`` or a list) as the
    environment's action ids."""
    if is_maze(game):
        return resolve_maze_actions(spec)
    if game not in GAMES:
        raise EnvError(f"unknown game {game!r}; valid games: {', '.join(environment_names())}")
    return resolve_minatar_actions(game, spec)


def validate_env_config(config: EnvConfig) -> None:
    """Raise ``EnvError`` with one clear sentence if the config cannot make an environment."""
    resolve_action_set(config.game, config.action_set)
    check_sticky_prob(config.sticky_action_prob)


def state_shape(game: str) -> tuple[int, int, int]:
    """Channel-first state shape ``(C, H, W)`` of an environment (``(C, 10, 10)`` in MinAtar)."""
    if is_maze(game):
        return maze_state_shape(game)
    if game not in GAMES:
        raise EnvError(f"unknown game {game!r}; valid games: {', '.join(environment_names())}")
    return minatar_state_shape(game)


def make_env(config: EnvConfig, seed: int) -> Env:
    """The environment ``config`` names, seeded."""
    validate_env_config(config)
    return GridMazeEnv(config, seed) if is_maze(config.game) else MinAtarEnv(config, seed)


__all__ = [
    "ACTION_NAMES", "GAMES", "MAZE_ACTION_NAMES", "Env", "EnvConfig", "EnvError", "GridMazeEnv",
    "MinAtarEnv", "ShortestPathExpert", "Step", "environment_names", "is_maze", "make_env",
    "pack_states", "packed_size", "resolve_action_set", "state_shape", "sticky_action",
    "termination_is_success", "unpack_states", "validate_env_config",
]
