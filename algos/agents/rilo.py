"""RILO: Reinforced Imitation Learning from Observation (Zolna et al. 2019, "Reinforced
Imitation in Heterogeneous Action Space", arXiv 1904.03438).

The expert is seen by its states only, and its actions may differ from the agent's: RILO's
setting is the heterogeneous experiment's. Its discriminator reads state pairs (s, s'), as
GAIfO's does, and the agent learns from the mixture r = r_task + λ r_imitation, so that the
task's sparse reward can carry it past the expert. That mixture on GAIfO's discriminator is what
is built here (``GAIfOAgent``: the same discriminator, reward and absorbing state; Double DQN +
PER in place of the paper's A2C). The paper's self-exploration (a schedule that shifts the
weight from imitation to the task's reward as the agent succeeds) is not built: docs/algorithms.md.
"""

from __future__ import annotations

import numpy as np

from algos.agents.gaifo import GAIfOAgent


class RILOAgent(GAIfOAgent):
    """GAIfO whose Q-learner is trained on the task's reward plus λ times the discriminator's."""

    def training_rewards(self, task: np.ndarray, learned: np.ndarray) -> np.ndarray:
        weight = np.float32(self.config.imitation_weight)
        return (task + weight * learned).astype(np.float32)
