"""MinAtar's five games: a thin wrapper with action sets, seeding and channel-first states.

MinAtar (GPL-3.0) is a runtime dependency; nothing of it is copied here. We drive the game classes
of ``minatar/environments/<game>.py`` directly instead of ``minatar.Environment``: importing the
``minatar`` package at all runs its ``__init__``, which imports matplotlib and seaborn for
rendering (about 125 MB of resident memory per process, more than the rest of a training run
needs), so the game module is loaded from its file in the installed package without that. The
wrapper re-creates ``minatar.Environment``'s semantics exactly (one RandomState shared by the game
and the sticky-action draw; the sticky draw happens before every action; the last action is kept
across resets) and ``tests/test_envs.py`` checks it step for step against ``minatar.Environment``.

Observations are channel-first boolean arrays of shape ``(C, 10, 10)`` (MinAtar's own layout is
``(10, 10, C)``) because that is what the convolutional Q-network reads. A MinAtar episode ends
only by termination (the ball dropped, the ship hit): the games have no time limit.
"""

from __future__ import annotations

import copy
import importlib.metadata
import importlib.util
import pickle
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from types import ModuleType

import numpy as np

from .base import EnvConfig, EnvError, Step, check_sticky_prob, sticky_action

GAMES: tuple[str, ...] = ("asterix", "breakout", "freeway", "seaquest", "space_invaders")
"""The five MinAtar games."""

ACTION_NAMES: tuple[str, ...] = ("noop", "left", "up", "right", "down", "fire")
"""MinAtar's full action set; the index of a name is the game's action id."""


def _game_module(game: str) -> ModuleType:
    """``minatar/environments/<game>.py``, loaded without running ``minatar/__init__.py``."""
    if game not in GAMES:
        raise EnvError(f"unknown game {game!r}; valid games: {', '.join(GAMES)}")
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


def resolve_minatar_actions(game: str, spec: str) -> tuple[int, ...]:
    """Turn an action-set spec (``full``, ``minimal`` or a list) into MinAtar action ids."""
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


def minatar_version() -> str:
    return importlib.metadata.version("minatar")


class MinAtarEnv:
    """One MinAtar game with a chosen action set, seeded, returning channel-first bool states.

    ``step`` takes an index into ``actions`` (0 .. n_actions-1), not a MinAtar action id, so that
    the Q-network's output size follows the action set.
    """

    def __init__(self, config: EnvConfig, seed: int):
        self.config = config
        self.actions: tuple[int, ...] = resolve_minatar_actions(config.game, config.action_set)
        check_sticky_prob(config.sticky_action_prob)
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

    def step(self, action_index: int) -> Step:
        action = sticky_action(self._random, self.config.sticky_action_prob,
                               self.actions[action_index], self._last_action)
        self._last_action = action
        reward, terminal = self._game.act(action)
        return Step(self.observe(), float(reward), bool(terminal), False)

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


def minatar_state_shape(game: str) -> tuple[int, int, int]:
    """Channel-first state shape ``(C, 10, 10)`` of a MinAtar game."""
    h, w, c = _game_module(game).Env(ramping=True).state_shape()
    return (c, h, w)
