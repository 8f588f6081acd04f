"""GAIfO: Generative Adversarial Imitation from Observation (Torabi, Warnell & Stone 2018).

A discriminator ``D(s, s')`` learns to tell the expert's state transitions (label 1) from the
agent's (label 0); the agent is trained by reinforcement learning on a reward derived from it,
never on the environment's reward. The paper optimises a stochastic policy with TRPO/PPO on
continuous control; MinAtar's actions are discrete and the suite's learner is Double DQN + PER,
so here the agent is the shared ``DQNAgent`` whose sampled batches get their rewards from the
*current* discriminator (as in off-policy adversarial imitation, e.g. DAC): the rewards of a stored
transition follow the discriminator as it changes, instead of being fixed when it was collected.

``LearnedRewardAgent`` is the part GAIfO shares with ORIL (``algos/agents/oril.py``): a binary
classifier trained expert-vs-agent every ``classifier_every`` updates, and the reward it
gives a batch.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from algos.agents.dqn import DQNAgent
from algos.algorithms import LearnedRewardConfig
from algos.data.datasets import InferenceScorer, StateOnlyDataset
from algos.envs import pack_states
from algos.seeds import Stream, child_seed
from algos.training.learner import CenteredRMSprop, DivergenceError, StateDecoder
from algos.training.nets import QNetwork
from algos.training.replay import Batch
from algos.training.tally import Tally


class LearnedRewardAgent(DQNAgent):
    """A DQN agent whose rewards come from a classifier of expert vs agent transitions.

    Subclasses say what the classifier reads (``classifier_input``), how it is trained
    (``classifier_loss``) and how its logit becomes a reward (``reward_from_logits``).
    """

    input_channels_factor = 2  # the classifier reads (s, s') stacked; ORIL reads one state

    def __init__(self, config: LearnedRewardConfig, state_shape: tuple[int, int, int],
                 n_actions: int, seed: int, total_steps: int, *, dataset: StateOnlyDataset,
                 scorer: InferenceScorer | None = None):
        super().__init__(config, state_shape, n_actions, seed, total_steps)
        dataset.require_state_shape(state_shape)
        self.dataset = dataset  # scorer unused: no actions are inferred
        self.classifier = QNetwork(self.input_channels_factor * state_shape[0], 1,
                                   grid=state_shape[1])
        self.classifier_opt = CenteredRMSprop(self.classifier.parameters(),
                                              lr=config.classifier_lr, alpha=config.rms_alpha,
                                              eps=config.rms_eps)
        self.rng = np.random.default_rng(child_seed(seed, Stream.CLASSIFIER))
        self.classifier_decode = StateDecoder(state_shape, max_rows=4 * config.classifier_batch)
        self.classifier_tally = Tally("steps", "samples", "loss", "expert_correct",
                                      "agent_correct", "expert_score", "agent_score", "reward",
                                      "rewards", "absorbing_reward", "batches")
        # A state no environment produces: every bit set.
        self.absorbing_state = pack_states(np.ones(state_shape, dtype=bool))
        self.expert_terminations = int(dataset.dones.sum()) if config.absorbing else 0

    def classifier_input(self, states: np.ndarray, next_states: np.ndarray) -> torch.Tensor:
        """Decoded (s, s') stacked along the channels (a new tensor, not the decoder's buffer)."""
        return self.classifier_decode.pairs(states, next_states)

    def classifier_loss(self, expert_logits: torch.Tensor,
                        agent_logits: torch.Tensor) -> torch.Tensor:
        """Binary cross-entropy, expert = 1, agent = 0."""
        return (F.binary_cross_entropy_with_logits(expert_logits, torch.ones_like(expert_logits))
                + F.binary_cross_entropy_with_logits(agent_logits, torch.zeros_like(agent_logits)))

    def reward_from_logits(self, logits: np.ndarray) -> np.ndarray:
        """The reward (float32) from the classifier's logits (float32)."""
        raise NotImplementedError

    def batch_loss(self, batch: Batch) -> tuple[torch.Tensor, np.ndarray]:
        # The batch's transitions and, last, the absorbing state's own transition.
        absorbing = self.absorbing_state[None]
        states = np.concatenate([batch.states, absorbing])
        next_states = np.concatenate([batch.next_states, absorbing])
        with torch.no_grad():
            logits = self.classifier(self.classifier_input(states, next_states))
        rewards = self.reward_from_logits(logits.squeeze(1).numpy())
        rewards, absorbing_reward = rewards[:-1], rewards[-1]
        self.classifier_tally.add(reward=rewards.sum(dtype=np.float64), rewards=len(rewards))
        if self.config.absorbing:
            gamma = self.config.gamma
            value = float(absorbing_reward) / (1.0 - gamma) if gamma < 1 else 0.0
            rewards = (rewards + np.float32(gamma * value) * batch.dones).astype(np.float32)
            self.classifier_tally.add(absorbing_reward=float(absorbing_reward), batches=1)
        learned = Batch(batch.indices, batch.states, batch.actions,
                        self.training_rewards(batch.rewards, rewards), batch.next_states,
                        batch.dones, batch.weights)
        loss = super().batch_loss(learned)
        if self.learner.updates % self.config.classifier_every == 0:
            self.train_classifier()
        return loss

    def training_rewards(self, task: np.ndarray, learned: np.ndarray) -> np.ndarray:
        """The rewards the Q-learner is trained on, from the batch's task rewards and the
        classifier's (float32): the classifier's alone (GAIfO, ORIL; RILO adds the task's)."""
        return learned

    def sample_with_absorbing(self, states: np.ndarray, next_states: np.ndarray, size: int,
                              terminations: int) -> tuple[np.ndarray, np.ndarray]:
        """``classifier_batch`` transitions drawn uniformly from the ``size`` stored ones and
        one absorbing transition per termination."""
        picks = self.rng.integers(0, size + terminations, size=self.config.classifier_batch)
        stored = np.minimum(picks, size - 1)
        absorbing = (picks >= size)[:, None]
        return (np.where(absorbing, self.absorbing_state, states[stored]),
                np.where(absorbing, self.absorbing_state, next_states[stored]))

    def train_classifier(self) -> None:
        n, replay, data = self.config.classifier_batch, self.replay, self.dataset
        agent_terminations = int(replay.dones[: len(replay)].sum()) if self.config.absorbing \
            else 0
        expert = self.sample_with_absorbing(data.states, data.next_states, len(data),
                                            self.expert_terminations)
        agent = self.sample_with_absorbing(replay.states, replay.next_states, len(replay),
                                           agent_terminations)
        logits = self.classifier(torch.cat([self.classifier_input(*expert),
                                            self.classifier_input(*agent)])).squeeze(1)
        loss = self.classifier_loss(logits[:n], logits[n:])
        if not torch.isfinite(loss):
            raise DivergenceError(f"the classifier's loss became {loss.item()}")
        self.classifier_opt.zero_grad()
        loss.backward()
        self.classifier_opt.step()
        with torch.no_grad():
            probs = torch.sigmoid(logits)
            self.classifier_tally.add(
                steps=1, samples=n, loss=loss.item(), expert_correct=(probs[:n] > 0.5).sum(),
                agent_correct=(probs[n:] <= 0.5).sum(), expert_score=probs[:n].sum(),
                agent_score=probs[n:].sum())

    def take_diagnostics(self) -> dict[str, float]:
        out = super().take_diagnostics()
        t = self.classifier_tally
        out.update({"classifier_loss": t.ratio("loss", "steps"),
                    "classifier_expert_accuracy": t.ratio("expert_correct", "samples"),
                    "classifier_agent_accuracy": t.ratio("agent_correct", "samples"),
                    "classifier_expert_score": t.ratio("expert_score", "samples"),
                    "classifier_agent_score": t.ratio("agent_score", "samples"),
                    "learned_reward_mean": t.ratio("reward", "rewards"),
                    "absorbing_reward_mean": t.ratio("absorbing_reward", "batches")})
        t.restart()
        return out

    def state_dict(self) -> dict:
        return {**super().state_dict(), "classifier": self.classifier.state_dict(),
                "classifier_opt": self.classifier_opt.state_dict(),
                "classifier_rng": self.rng.bit_generator.state,
                "classifier_tally": self.classifier_tally.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.classifier.load_state_dict(state["classifier"])
        self.classifier_opt.load_state_dict(state["classifier_opt"])
        self.rng.bit_generator.state = state["classifier_rng"]
        self.classifier_tally.load_state_dict(state["classifier_tally"])


class GAIfOAgent(LearnedRewardAgent):
    """GAIfO: a discriminator on (s, s'); the agent's reward comes from it."""

    def reward_from_logits(self, logits: np.ndarray) -> np.ndarray:
        if self.config.reward == "gail":  # -log(1 - sigmoid(x)) = softplus(x), in float64
            return np.logaddexp(0.0, logits.astype(np.float64)).astype(np.float32)
        return np.clip(logits, -10.0, 10.0)
