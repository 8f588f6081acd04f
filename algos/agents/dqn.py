"""DQN as Double DQN with proportional prioritized replay (both switchable), on the shared loop.

Defaults follow MinAtar's reference ``examples/dqn.py`` (network, centered RMSprop, batch 32,
replay 100K, target sync every 1000 updates, train every step) plus Double-DQN targets and
prioritized replay (alpha 0.6, beta annealed 0.4 -> 1 over the run), the base learner of DIIQN.
``--set double=false --set prioritized=false`` gives MinAtar's plain DQN.
"""

from __future__ import annotations

import numpy as np
import torch

from algos.algorithms import DQNConfig
from algos.envs import packed_size
from algos.seeds import Stream, child_seed
from algos.training.learner import QLearner, StateDecoder
from algos.training.nets import QNetwork
from algos.training.replay import Batch, PrioritizedReplay, UniformReplay
from algos.training.tally import Tally


class DQNAgent:
    """Double DQN with prioritized replay; the base every Q-learning method of the suite extends."""

    def __init__(self, config: DQNConfig, state_shape: tuple[int, int, int], n_actions: int,
                 seed: int, total_steps: int):
        self.config = config
        self.n_actions = n_actions
        self.total_steps = total_steps
        torch.manual_seed(child_seed(seed, Stream.TORCH))
        network = QNetwork(state_shape[0], n_actions, grid=state_shape[1])
        self.learner = QLearner(network, gamma=config.gamma, lr=config.lr,
                                rms_alpha=config.rms_alpha, rms_eps=config.rms_eps,
                                target_update_every=config.target_update_every,
                                double=config.double, huber_delta=config.huber_delta,
                                grad_clip=config.grad_clip)
        replay_seed = child_seed(seed, Stream.REPLAY)
        if config.prioritized:
            self.replay = PrioritizedReplay(config.replay_capacity, packed_size(state_shape),
                                            replay_seed, alpha=config.per_alpha,
                                            eps=config.per_eps)
        else:
            self.replay = UniformReplay(config.replay_capacity, packed_size(state_shape),
                                        replay_seed)
        self.decode = StateDecoder(state_shape, max_rows=2 * config.batch_size)
        self.tally = Tally("samples", "td_abs", "weights")

    @property
    def updates(self) -> int:
        return self.learner.updates

    def greedy_action(self, obs: np.ndarray) -> int:
        return self.learner.greedy_action(self.decode.observation(obs))

    def observe(self, state, action, reward, next_state, terminated, step) -> None:
        self.replay.add(state, action, reward, next_state, terminated)

    def beta(self, step: int) -> float:
        """Importance-sampling exponent, linear from ``per_beta_start`` to 1 over the run."""
        start = self.config.replay_start
        progress = max(0.0, (step - start) / max(1, self.total_steps - start))
        return min(1.0, self.config.per_beta_start + progress * (1.0 - self.config.per_beta_start))

    def update(self, step: int) -> float:
        batch = self.replay.sample(self.config.batch_size, beta=self.beta(step))
        loss, td_abs = self.batch_loss(batch)
        value = self.learner.apply(loss)
        self.replay.update_priorities(batch.indices, td_abs)
        self.tally.add(samples=len(batch.indices), td_abs=td_abs.sum(dtype=np.float64),
                       weights=batch.weights.sum(dtype=np.float64))
        return value

    def batch_loss(self, batch: Batch) -> tuple[torch.Tensor, np.ndarray]:
        """The scalar loss of one sampled batch and the |TD| of its transitions (new priorities).

        DQN: the TD loss weighted by the importance-sampling weights. Methods that add a loss
        term (DIIQN's expert loss) override this and keep everything else of ``update``.
        """
        states = self.decode(batch.states, batch.next_states)
        n = len(batch.indices)
        loss, td, _ = self.learner.td_loss(
            states[:n], torch.from_numpy(batch.actions), torch.from_numpy(batch.rewards),
            states[n:], torch.from_numpy(batch.dones))
        return (loss * torch.from_numpy(batch.weights)).mean(), td.abs().numpy()

    def take_diagnostics(self) -> dict[str, float]:
        """The diagnostics since the last call (which starts a new interval)."""
        t = self.tally
        out = {"replay_size": len(self.replay), "td_abs_mean": t.ratio("td_abs", "samples"),
               "is_weight_mean": t.ratio("weights", "samples")}
        t.restart()
        return out

    def state_dict(self) -> dict:
        return {"learner": self.learner.state_dict(), "replay": self.replay.state_dict(),
                "dqn_tally": self.tally.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.learner.load_state_dict(state["learner"])
        self.replay.load_state_dict(state["replay"])
        self.tally.load_state_dict(state["dqn_tally"])
