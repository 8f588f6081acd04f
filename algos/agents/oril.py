"""ORIL: Offline Reinforcement learning from Imitation Learning (Zolna et al. 2020), online here.

ORIL learns a reward model from the expert's demonstrations (positives) and other, unlabelled
experience, then runs offline RL on the unlabelled data with that reward. Here both run within
the same online budget as every other method: the unlabelled data are the agent's own replay, the
reward model is trained beside the Double DQN + PER agent (``gaifo.LearnedRewardAgent``), and the
agent's rewards come from it. The model is state-only: it scores the state a transition reaches,
``D(s') = P(expert | s')``, and the reward is its logit ``log D - log(1 - D)``, with DAC's
absorbing state for terminations (``gaifo.LearnedRewardAgent``). ORIL's own ``R = D`` in [0, 1]
is ``reward=probability``: always positive, it pays the agent for every step it survives in a
game whose episodes end in failure, the survival bias of DAC.

Its loss is binary cross-entropy (expert 1, agent 0) or, with ``pu_loss``, the non-negative
positive-unlabelled risk (Kiryo et al. 2017, as ORIL uses it): the agent's states are unlabelled,
not negative, since some of them are as good as the expert's, and ``positive_prior`` η is the
share of expert-like states assumed among them.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from algos.agents.gaifo import LearnedRewardAgent


def pu_risk(positive_logits: torch.Tensor, unlabelled_logits: torch.Tensor,
            prior: float) -> torch.Tensor:
    """Non-negative PU risk: ``η E_p[l(x, 1)] + max(0, E_u[l(x, 0)] - η E_p[l(x, 0)])`` with
    ``l`` the logistic loss."""
    ones, zeros = torch.ones_like(positive_logits), torch.zeros_like(positive_logits)
    positive = F.binary_cross_entropy_with_logits(positive_logits, ones)
    positive_as_negative = F.binary_cross_entropy_with_logits(positive_logits, zeros)
    unlabelled = F.binary_cross_entropy_with_logits(unlabelled_logits,
                                                    torch.zeros_like(unlabelled_logits))
    return prior * positive + torch.clamp(unlabelled - prior * positive_as_negative, min=0.0)


class ORILAgent(LearnedRewardAgent):
    """ORIL: a reward model on the reached state s'; the agent's reward comes from it."""

    input_channels_factor = 1

    def classifier_input(self, states: np.ndarray, next_states: np.ndarray) -> torch.Tensor:
        """The decoded next states (a new tensor, not the decoder's buffer)."""
        return self.classifier_decode(next_states).clone()

    def classifier_loss(self, expert_logits: torch.Tensor,
                        agent_logits: torch.Tensor) -> torch.Tensor:
        if self.config.pu_loss:
            return pu_risk(expert_logits, agent_logits, self.config.positive_prior)
        return super().classifier_loss(expert_logits, agent_logits)

    def reward_from_logits(self, logits: np.ndarray) -> np.ndarray:
        if self.config.reward == "probability":  # sigmoid in float64, as Φ's terms
            return (1.0 / (1.0 + np.exp(-logits.astype(np.float64)))).astype(np.float32)
        return np.clip(logits, -10.0, 10.0)
