"""Seed streams: every random draw of a run comes from its one integer seed.

Each purpose draws from its own stream, ``child_seed(seed, key, ...)``, derived with
``numpy.random.SeedSequence``: streams are independent, and adding draws to one never shifts
another (evaluating never disturbs training). The keys are listed here, once, each named by
what it draws: a new algorithm takes the stream of its purpose, or a new key.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Stream(IntEnum):
    """The keys of the seed streams (their values are part of every result: never renumber)."""

    ENV = 0
    """The training environment."""
    EXPLORE = 1
    """ε-greedy's draws."""
    REPLAY = 2
    """Replay sampling."""
    TORCH = 3
    """Network initialisation."""
    EVAL = 4
    """Evaluation episodes (with the evaluation's index)."""
    EXPERT_PAIRS = 10
    """Which expert transition of a matched state a sampled row is paired with
    (``ExpertMatching``: DIIQN, HA-DIIQN)."""
    EXPERT_BATCHES = 11
    """Expert batches drawn from the dataset, and the pairs a learned model is scored on
    (BCO)."""
    CLASSIFIER = 12
    """A classifier's batches, expert against agent (GAIfO, ORIL)."""
    EXPERT_EVAL = 100
    """An expert's score."""
    RANDOM_EVAL = 101
    """The random policy's score beside it."""
    DATASET = 200
    """A dataset's rollout (environment, then ε draws)."""


def child_seed(seed: int, *keys: int) -> int:
    """A 32-bit seed for the stream named by ``keys``, derived from the run's seed."""
    return int(np.random.SeedSequence(seed, spawn_key=tuple(int(k) for k in keys))
               .generate_state(1)[0])
