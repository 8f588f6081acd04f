"""What every environment shares: its config, its errors, a step's result, sticky actions and
bit-packed states."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from algos.errors import UserError


@dataclass(frozen=True)
class EnvConfig:
    """Everything that defines an environment; recorded in every run's ``run.json``."""

    game: str
    """A MinAtar game or a maze (``envs.environment_names()``)."""
    action_set: str = "full"
    """``full`` (MinAtar's 6 actions, as in its reference DQN; a maze's 8 moves), ``minimal``
    (the game's minimal set), a maze's ``cardinal`` or ``diagonal``, or an explicit
    comma-separated list of action names (or MinAtar ids), e.g. ``noop,left,right``."""
    sticky_action_prob: float = 0.1
    """Probability that the previous action is repeated instead of the chosen one (MinAtar: 0.1)."""
    difficulty_ramping: bool = True
    """Whether a MinAtar game speeds up over an episode (MinAtar's default)."""


class EnvError(UserError, ValueError):
    """A bad environment setting (unknown game, bad action set, probability out of range)."""


class Step(NamedTuple):
    """What ``step`` returns. An episode ends when either flag is set; only ``terminated`` is an
    end of the task (a lost life, the goal), where nothing follows and the value is 0.
    ``truncated`` is a time limit: the state still has a future, so learners bootstrap
    through it."""

    obs: np.ndarray
    reward: float
    terminated: bool
    truncated: bool


def check_sticky_prob(prob: float) -> None:
    """Raise ``EnvError`` unless ``prob`` is a probability."""
    if not 0.0 <= prob <= 1.0:
        raise EnvError(f"sticky_action_prob must lie in [0, 1], got {prob}")


def sticky_action(random: np.random.RandomState, prob: float, chosen: int, last: int) -> int:
    """The action the environment executes: the previous one with probability ``prob``, else the
    chosen one. One draw from ``random`` every step, as ``minatar.Environment`` does."""
    return last if random.rand() < prob else chosen


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
