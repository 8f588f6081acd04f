"""The algorithms of the suite, by name: one list, read by the command line and the workflow."""

from __future__ import annotations

from .bco import BCOAgent, BCOConfig
from .diiqn import DIIQNAgent, DIIQNConfig
from .dqn import DQNAgent, DQNConfig
from .gaifo import GAIfOAgent, GAIfOConfig
from .ha_diiqn import HADIIQNAgent, HADIIQNConfig
from .oril import ORILAgent, ORILConfig

ALGORITHMS: dict[str, tuple[type, type]] = {
    "dqn": (DQNConfig, DQNAgent),
    "diiqn": (DIIQNConfig, DIIQNAgent),
    "ha_diiqn": (HADIIQNConfig, HADIIQNAgent),
    "bco": (BCOConfig, BCOAgent),
    "gaifo": (GAIfOConfig, GAIfOAgent),
    "oril": (ORILConfig, ORILAgent),
}
"""Algorithm name -> (config dataclass, agent class)."""

DIIQN_FAMILY = ("diiqn", "ha_diiqn")
"""The algorithms with DIIQN's confidence and diagnostics."""


def needs_dataset(algo: str) -> bool:
    """Whether ``algo`` learns from an expert's state-only dataset (``--dataset``)."""
    return bool(getattr(ALGORITHMS[algo][1], "needs_dataset", False))
