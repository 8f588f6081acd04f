"""Environments: a thin wrapper over MinAtar's games, action sets, seeding and bit-packed states.

MinAtar (GPL-3.0) is a runtime dependency; nothing of it is copied here. We drive the game classes
of ``minatar/environments/<game>.py`` directly instead of ``minatar.Environment``: importing the
``minatar`` package at all runs its ``__init__``, which imports matplotlib and seaborn for
rendering (about 125 MB of resident memory per process, more than the rest of a training run
needs), so the game module is loaded from its file in the installed package without that. The
wrapper re-creates ``minatar.Environment``'s semantics exactly (one RandomState shared by the game
and the sticky-action draw; the sticky draw happens before every action; the last action is kept
across resets) and ``tests/test_envs.py`` checks it step for step against ``minatar.Environment``.

Observations are channel-first boolean arrays of shape ``(C, 10, 10)`` (MinAtar's own layout is
``(10, 10, C)``) because that is what the convolutional Q-network reads. ``pack_states`` and
``unpack_states`` turn them into ``ceil(C * 100 / 8)`` bytes and back, exactly.
"""

from __future__ import annotations

import copy
import importlib.metadata
import importlib.util
import pickle
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

GAMES: tuple[str, ...] = ("asterix", "breakout", "freeway", "seaquest", "space_invaders")
"""The five MinAtar games."""

ACTION_NAMES: tuple[str, ...] = ("noop", "left", "up", "right", "down", "fire")
"""MinAtar's full action set; the index of a name is the game's action id."""


@dataclass(frozen=True)
class EnvConfig:
    """Everything that defines an environment; recorded in every run's ``run.json``."""

    game: str
    """One of ``GAMES``."""
    action_set: str = "full"
    """``full`` (MinAtar's 6 actions, as in its reference DQN), ``minimal`` (the game's own minimal
    set) or an explicit comma-separated list of action names or ids, e.g. ``noop,left,right``."""
    sticky_action_prob: float = 0.1
    """Probability that the previous action is repeated instead of the chosen one (MinAtar: 0.1)."""
    difficulty_ramping: bool = True
    """Whether the game speeds up over an episode (MinAtar's default)."""


class EnvError(ValueError):
    """A bad environment setting (unknown game, bad action set, probability out of range)."""


def environment_names() -> tuple[str, ...]:
    """Every name ``--game`` accepts: the MinAtar games, then the shipped mazes."""
    from .mazes import maze_names

    return GAMES + maze_names()


def is_maze(game: str) -> bool:
    from .mazes import maze_names

    return game in maze_names()


def _game_module(game: str) -> ModuleType:
    """``minatar/environments/<game>.py``, loaded without running ``minatar/__init__.py``."""
    if game not in GAMES:
        raise EnvError(f"unknown game {game!r}; valid games: {', '.join(environment_names())}")
    name = f"algos._minatar_games.{game}"
    if name not in sys.modules:
        package = importlib.util.find_spec("minatar")  # locates the package, does not import it
        if package is None or not package.submodule_search_locations:
            raise EnvError("the minatar package is not installed (pip install minatar)")
        path = Path(package.submodule_search_locations[0]) / "environments" / f"{game}.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name]


def resolve_action_set(game: str, spec: str) -> tuple[int, ...]:
    """Turn an action-set spec (``full``, ``minimal`` or a list) into the environment's action
    ids (MinAtar's, or a maze's: see ``mazes``)."""
    if is_maze(game):
        from .mazes import resolve_maze_actions

        return resolve_maze_actions(spec)
    module = _game_module(game)
    if spec == "full":
        return tuple(range(len(ACTION_NAMES)))
    if spec == "minimal":
        return tuple(int(a) for a in module.Env(ramping=True).minimal_action_set())
    ids = []
    for token in (t.strip() for t in spec.split(",")):
        if token.isdigit() and int(token) < len(ACTION_NAMES):
            ids.append(int(token))
        elif token in ACTION_NAMES:
            ids.append(ACTION_NAMES.index(token))
        else:
            raise EnvError(
                f"bad action set {spec!r}: {token!r} is not an action; use full, minimal or a "
                f"comma-separated list of {', '.join(ACTION_NAMES)} (or ids 0-5)"
            )
    if len(set(ids)) != len(ids) or not ids:
        raise EnvError(f"bad action set {spec!r}: actions must be distinct and at least one")
    return tuple(ids)


def validate_env_config(config: EnvConfig) -> None:
    """Raise ``EnvError`` with one clear sentence if the config cannot make an environment."""
    resolve_action_set(config.game, config.action_set)
    if not 0.0 <= config.sticky_action_prob <= 1.0:
        raise EnvError(f"sticky_action_prob must lie in [0, 1], got {config.sticky_action_prob}")


def minatar_version() -> str:
    return importlib.metadata.version("minatar")


class MinAtarEnv:
    """One MinAtar game with a chosen action set, seeded, returning channel-first bool states.

    ``step`` takes an index into ``actions`` (0 .. n_actions-1), not a MinAtar action id, so that
    the Q-network's output size follows the action set.
    """

    def __init__(self, config: EnvConfig, seed: int):
        validate_env_config(config)
        self.config = config
        self.actions: tuple[int, ...] = resolve_action_set(config.game, config.action_set)
        self.n_actions = len(self.actions)
        # One RandomState for the game and the sticky draw, as in minatar.Environment.seed().
        self._random = np.random.RandomState(seed)
        self._game = _game_module(config.game).Env(ramping=config.difficulty_ramping)
        self._game.random = self._random
        self._last_action = 0  # minatar.Environment keeps it across resets; so do we.
        h, w, c = self._game.state_shape()
        self.state_shape: tuple[int, int, int] = (c, h, w)

    def reset(self) -> np.ndarray:
        self._game.reset()
        return self.observe()

    def observe(self) -> np.ndarray:
        return np.ascontiguousarray(self._game.state().transpose(2, 0, 1))

    def step(self, action_index: int) -> tuple[np.ndarray, float, bool]:
        action = self.actions[action_index]
        if self._random.rand() < self.config.sticky_action_prob:
            action = self._last_action
        self._last_action = action
        reward, terminal = self._game.act(action)
        return self.observe(), float(reward), bool(terminal)

    @property
    def executed_action(self) -> int:
        """MinAtar id of the action the last ``step`` really applied (sticky actions included).

        It can lie outside the action set: MinAtar starts from noop and keeps the last action
        across resets, so a sticky draw can repeat either."""
        return self._last_action

    def equivalent_actions(self) -> Callable[[int], int]:
        """Before a ``step``: which MinAtar actions would have the same effect from here.

        Returns a function of the executed action id (known after the step) giving a bitmask of
        the MinAtar ids (``1 << id``) that, executed in its place under the same random draws,
        yield the same observation, reward and terminal flag: in Breakout noop, up, down and fire
        all leave the paddle where it is. Scoring code uses it so that inferring noop for an
        expert's fire is not counted as a mistake when the two are indistinguishable. The
        environment's state is restored afterwards, so the real step is unaffected.
        """
        game = self._game
        random_state = self._random.get_state()
        # The game's other fields are numbers, small lists and arrays: a pickle of them copies
        # several times faster than deepcopy, and the RandomState is restored in place.
        fields = pickle.dumps({k: v for k, v in game.__dict__.items() if k != "random"},
                              protocol=pickle.HIGHEST_PROTOCOL)
        outcomes = []
        for action in range(len(ACTION_NAMES)):
            self._random.rand()  # the sticky-action draw, consumed exactly as ``step`` does
            reward, terminal = game.act(action)
            outcomes.append((game.state().tobytes(), reward, terminal))
            game.__dict__.update(pickle.loads(fields))
            self._random.set_state(random_state)

        def mask(executed: int) -> int:
            return sum(1 << a for a, outcome in enumerate(outcomes)
                       if outcome == outcomes[executed])

        return mask

    def state_dict(self) -> dict:
        """The game's full state (positions, timers, its RandomState) for checkpoints."""
        return {"game": copy.deepcopy(self._game.__dict__), "last_action": self._last_action}

    def load_state_dict(self, state: dict) -> None:
        self._game.__dict__.update(copy.deepcopy(state["game"]))
        self._random = self._game.random  # the sticky draw shares the game's RandomState
        self._last_action = state["last_action"]

    def describe(self) -> dict:
        """The settings to record in ``run.json`` and ``expert.json``."""
        return {
            **asdict(self.config),
            "action_ids": list(self.actions),
            "action_names": [ACTION_NAMES[a] for a in self.actions],
            "state_shape": list(self.state_shape),
            "minatar_version": minatar_version(),
        }


def state_shape(game: str) -> tuple[int, int, int]:
    """Channel-first state shape ``(C, H, W)`` of an environment (``(C, 10, 10)`` in MinAtar)."""
    if is_maze(game):
        from .mazes import maze_state_shape

        return maze_state_shape(game)
    h, w, c = _game_module(game).Env(ramping=True).state_shape()
    return (c, h, w)


def make_env(config: EnvConfig, seed: int):
    """The environment ``config`` names: a ``MinAtarEnv`` or a maze with the same interface."""
    if is_maze(config.game):
        from .mazes import GridMazeEnv

        validate_env_config(config)
        return GridMazeEnv(config, seed)
    return MinAtarEnv(config, seed)


def packed_size(shape: tuple[int, ...]) -> int:
    """Bytes per bit-packed state of this shape."""
    return (int(np.prod(shape)) + 7) // 8


def pack_states(states: np.ndarray) -> np.ndarray:
    """Bit-pack bool states ``(..., C, H, W)`` into uint8 ``(..., ceil(C*H*W/8))``."""
    flat = states.reshape(*states.shape[:-3], -1)
    return np.packbits(flat, axis=-1)


def unpack_states(packed: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """Inverse of ``pack_states``: uint8 ``(..., nbytes)`` to bool ``(..., C, H, W)``."""
    n_bits = int(np.prod(shape))
    bits = np.unpackbits(packed, axis=-1, count=n_bits)
    return bits.reshape(*packed.shape[:-1], *shape).view(bool)
