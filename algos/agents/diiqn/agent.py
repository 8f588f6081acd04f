"""DIIQN: Deep Implicit Imitation Q-Network (arXiv 2511.03616), on the shared DDQN+PER learner.

The agent learns online like DQN and, beside its own replay, reads an expert's *state-only*
transitions ``(s_e, s'_e)``. Three parts are its own (``docs/algorithms.md`` says, for each, what
the paper says, what we do and why):

1. **Action inference.** Every agent transition ``(s_a, a_a, r, s'_a)`` whose start state matches
   an expert state (similarity >= τ) is compared with the expert transitions that start there,
   by ``D = 1 - (sim(s_a, s_e) + sim(s'_a, s'_e)) / 2``. Each expert transition keeps its best
   match so far: inferred action ``a_e``, error ``err = D`` and the matched transition's reward.
   Only the expert transitions next to the new agent state are touched (``inference``).
2. **KNN expert sampling.** When an agent transition enters the replay, its nearest expert state
   and their similarity are stored beside it, once (the expert's states never change). A sampled
   agent transition whose match has similarity >= τ is paired with one expert transition drawn
   uniformly from those starting at the matched state; with an inferred action it forms the
   augmented sample ``<s_a, a_a, s'_a, r, s_e, a_e, s'_e>``.
3. **Confidence.** ``Φ = min(ΔQ · δ, ζ)`` per augmented sample, no gradient, with
   ``ΔQ = σ(β [Q(s_e, a_e) - Q(s_e, a_a)])`` (online network), ``δ = log(1 + min(c, c_max)) /
   log(1 + c_max)`` and ``ζ = 1 - err / err_max``. The loss is ``Φ L_e + (1 - Φ) L_a`` per sample
   (times the PER weight), ``L_a`` the agent's Double-DQN TD loss and ``L_e`` the same TD loss on
   ``(s_e, a_e, r_e, s'_e)``; samples without a usable match keep ``L_a`` alone.

Settings change what ΔQ reads (``delta_q_source``: the online network, the target network or
the rows' own targets), which rows the gap scale averages (``gap_scale_rows``), and L_e's large
margin (``margin_against``: the best rival or the agent's own action where its effect differs;
``margin_decay``: fixed or fading with c); their defaults are the build described above.

The agent holds each part as a component: matching and inference (``matching.ExpertMatching``),
Φ (``confidence.confidence_of``) and the margin (``margin_of``, here), the last two built from
the config; ``DIIQNAgent.batch_loss`` is the recipe that puts them together.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import torch

from algos.agents.diiqn.confidence import (
    PHI_COUNTERS,
    GapScale,
    VisitCounts,
    confidence_of,
    delta_term,
    margin_weights,
    phi_diagnostics,
    same_effect,
)
from algos.agents.diiqn.matching import ExpertMatching
from algos.agents.diiqn.samples import ExpertSamples, agreement, joint_td
from algos.agents.dqn import DQNAgent
from algos.algorithms import DIIQNConfig
from algos.data.datasets import InferenceScorer, StateOnlyDataset, scorer_or_warning
from algos.training.learner import StateDecoder
from algos.training.replay import Batch
from algos.training.tally import Tally

if TYPE_CHECKING:
    from algos.agents.diiqn.inference import ActionInference

# --- the expert's losses: pure functions ------------------------------------------------

def large_margin_loss(q: torch.Tensor, expert_actions: torch.Tensor,
                      margin: float) -> torch.Tensor:
    """DQfD's supervised loss per sample, ``max_a [Q(s, a) + margin 1(a != a_e)] - Q(s, a_e)``:
    non-negative, and zero once the expert's action leads every other by ``margin``."""
    expert = expert_actions.unsqueeze(1)
    rivals = q.scatter(1, expert, float("-inf")).max(dim=1).values  # max over a != a_e
    return torch.relu(rivals + margin - q.gather(1, expert).squeeze(1))


def agent_margin_loss(q: torch.Tensor, expert_actions: torch.Tensor,
                      agent_actions: torch.Tensor, margin: float) -> torch.Tensor:
    """The large margin against the agent's own action only, per sample:
    ``max(0, Q(s, a_a) + margin - Q(s, a_e))`` (``margin_against=agent``; the caller's weights
    zero it where a_a = a_e or a_a has the expert's effect)."""
    pair = q.gather(1, torch.stack([agent_actions, expert_actions], dim=1))
    return torch.relu(pair[:, 0] - pair[:, 1] + margin)


def combined_loss(agent_loss: torch.Tensor, expert_loss: torch.Tensor, phi: torch.Tensor,
                  weights: torch.Tensor) -> torch.Tensor:
    """``mean_i w_i [Φ_i L_e,i + (1 - Φ_i) L_a,i]``; with Φ = 0 exactly DQN's PER-weighted loss.

    ``expert_loss`` and ``phi`` are zero where a sample has no usable expert match.
    """
    return (weights * ((1.0 - phi) * agent_loss + phi * expert_loss)).mean()


def multi_step_returns(data: StateOnlyDataset, inference: ActionInference, dones: np.ndarray,
                       experts: np.ndarray, rewards: np.ndarray, gamma: float, steps: int
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The multi-step target of each expert transition along the expert's own episode
    (``steps`` steps at most), from its first reward ``rewards``: the discounted reward sum
    (float32), the expert transition whose next state it bootstraps from, its end (float32,
    from ``dones``) and γ^n (float32). A step is added only where the previous one did not end
    the episode and the next transition, of the same episode, has an inferred reward."""
    total = rewards.astype(np.float64)
    last = experts.copy()
    ended = dones[last] > 0
    discount = np.full(len(experts), gamma)
    for _ in range(1, steps):
        step = np.minimum(last + 1, len(data) - 1)
        distinct = inference.transition_of[step]
        more = ((~ended) & (last + 1 < len(data)) & (data.episodes[step] == data.episodes[last])
                & (inference.actions[distinct] >= 0))
        if not more.any():
            break
        total[more] += discount[more] * inference.rewards[distinct[more]]
        discount[more] *= gamma
        last[more] = step[more]
        ended[more] = dones[step[more]] > 0
    return (total.astype(np.float32), last, ended.astype(np.float32),
            discount.astype(np.float32))


# --- the large margin of L_e, as the config builds it -------------------------------------

class RivalOpponent:
    """DQfD's opponent of a_e: the best other action (``margin_against=rival``)."""

    def hinge(self, q: torch.Tensor, expert: ExpertSamples, agent_actions: np.ndarray,
              margin: float) -> torch.Tensor:
        return large_margin_loss(q, torch.from_numpy(expert.actions), margin)

    def applies(self, expert: ExpertSamples, agent_actions: np.ndarray) -> np.ndarray:
        return np.ones(len(expert.rows), dtype=bool)


class AgentOpponent:
    """The agent's own action a_a (``margin_against=agent``), only where it differs from a_e
    and, by the agent's own play, so does its effect (``confidence.same_effect``)."""

    def __init__(self, matching: ExpertMatching):
        self.matching = matching

    def hinge(self, q: torch.Tensor, expert: ExpertSamples, agent_actions: np.ndarray,
              margin: float) -> torch.Tensor:
        return agent_margin_loss(q, torch.from_numpy(expert.actions),
                                 torch.from_numpy(agent_actions), margin)

    def applies(self, expert: ExpertSamples, agent_actions: np.ndarray) -> np.ndarray:
        inference, index = self.matching.inference, self.matching.index
        return ~same_effect(inference.matches, inference.tries,
                            inference.transition_of[expert.experts],
                            index.group_of[expert.experts], expert.actions, agent_actions)


class Margin:
    """L_e's large margin (``expert_margin`` > 0): the hinge against ``opponent``, weighted per
    sample by λ (``margin_weight``) or, with ``margin_decay=count``, by λ (1 - δ(c))."""

    def __init__(self, config: DIIQNConfig, opponent: RivalOpponent | AgentOpponent):
        self.size, self.weight = config.expert_margin, config.margin_weight
        self.decay, self.c_max = config.margin_decay, config.c_max
        self.opponent = opponent

    def expert_loss(self, td_loss: torch.Tensor, q: torch.Tensor, expert: ExpertSamples,
                    agent_actions: np.ndarray) -> torch.Tensor:
        """L_e per usable sample: its TD loss plus the weighted margin on Q-values ``q``."""
        weights = margin_weights(self.weight, delta_term(expert.counts, self.c_max), self.decay)
        weights[~self.opponent.applies(expert, agent_actions)] = 0.0
        hinge = self.opponent.hinge(q, expert, agent_actions, self.size)
        return td_loss + torch.from_numpy(weights) * hinge


class NoMargin:
    """No large margin (``expert_margin=0``): L_e is the TD loss alone (the paper's reading)."""

    def expert_loss(self, td_loss: torch.Tensor, q: torch.Tensor, expert: ExpertSamples,
                    agent_actions: np.ndarray) -> torch.Tensor:
        return td_loss


def margin_of(config: DIIQNConfig, matching: ExpertMatching) -> Margin | NoMargin:
    """The large margin that ``config`` asks for (``matching``: the agent's, whose play judges
    the effect of its actions)."""
    if config.expert_margin == 0:
        return NoMargin()
    opponent = AgentOpponent(matching) if config.margin_against == "agent" else RivalOpponent()
    return Margin(config, opponent)


# --- the agent -------------------------------------------------------------------------------

class DIIQNAgent(DQNAgent):
    """DDQN + PER plus the expert's side: matching and inference (``ExpertMatching``), and Φ and
    L_e's large margin as the config builds them."""

    def __init__(self, config: DIIQNConfig, state_shape: tuple[int, int, int], n_actions: int,
                 seed: int, total_steps: int, *, dataset: StateOnlyDataset,
                 scorer: InferenceScorer | None = None):
        super().__init__(config, state_shape, n_actions, seed, total_steps)
        dataset.require_state_shape(state_shape)
        self.dataset = dataset
        self.expert_tally = Tally(*ExpertMatching.COUNTERS, *PHI_COUNTERS, "copies",
                                  "same_action", "greedy_expert", "expert_loss", "total_loss")
        # With skip_unchanged, only the expert transitions that changed the state are imitated.
        imitable = (~(dataset.states == dataset.next_states).all(axis=1)
                    if config.skip_unchanged else None)
        self.matching = ExpertMatching(config, dataset, state_shape, n_actions,
                                       config.replay_capacity, seed, self.expert_tally, scorer,
                                       imitable)
        self.expert_dones = dataset.dones.astype(np.float32)
        self.visits = VisitCounts.over(config.visit_count, self.matching.index.group_states,
                                       state_shape, config.region_pool)
        self.gap_scale = GapScale()
        # Agent rows and expert rows of s and s' in one decode.
        self.decode = StateDecoder(state_shape, max_rows=4 * config.batch_size)
        self.config = config  # the setter builds Φ and the margin, now that their parts exist

    @property
    def config(self) -> DIIQNConfig:
        return self._config

    @config.setter
    def config(self, config: DIIQNConfig) -> None:
        # Φ and the margin follow the config, also one set later (tests/test_tabular.py's warm
        # start); what they learn (the counts, the gap scale, the tally) is the agent's and stays.
        self._config = config
        if hasattr(self, "gap_scale"):
            self.confidence = confidence_of(config, self.learner.target, self.inference,
                                            self.gap_scale, self.expert_tally)
            self.margin = margin_of(config, self.matching)

    @property
    def inference(self) -> ActionInference:
        """The matching's action inference."""
        return self.matching.inference

    def observe(self, state, action, reward, next_state, terminated, step) -> None:
        slot = self.replay.add(state, action, reward, next_state, terminated)
        self.matching.observe(slot, state, action, reward, next_state)
        self.stored(slot)

    def stored(self, slot: int) -> None:
        """Called once a transition is in replay slot ``slot`` (HA-DIIQN indexes it)."""

    def batch_loss(self, batch: Batch) -> tuple[torch.Tensor, np.ndarray]:
        """DIIQN's loss on one batch (docs/algorithms.md, "The loss"), in four steps. Returns
        it with the agent rows' |TD| (their new priorities)."""
        # 1. Sample: the batch's expert rows, their actions inferred.
        expert = self.expert_samples(batch)
        n, agent_actions = len(batch.indices), batch.actions[expert.rows]
        # 2. Infer: the TD losses and Q-values of the agent rows and the expert rows, one pass.
        exact = self.matching.similarity[batch.indices[expert.rows]] == 1.0
        joint = joint_td(self.learner, self.decode, batch, expert, self.dataset.states, exact,
                         self.config.gamma)
        # 3. Weigh: Φ per expert row, and L_e = TD_e + the large margin.
        phi, expert_row_loss = np.zeros(n, dtype=np.float32), joint.loss[n:]
        if len(expert.rows):
            q_expert = joint.expert_q()
            gaps = self.confidence.gaps(joint, expert, agent_actions)
            phi[expert.rows] = self.sample_confidence(q_expert, expert, agent_actions, gaps)
            self.expert_tally.add(**agreement(batch, expert, self.dataset.next_states, exact,
                                              q_expert))
            expert_row_loss = self.margin.expert_loss(expert_row_loss, joint.q[n:], expert,
                                                      agent_actions)
        expert_loss = torch.zeros(n).index_put((torch.from_numpy(expert.rows),), expert_row_loss)
        # 4. Combine: mean_i w_i [Φ_i L_e,i + (1 - Φ_i) L_a,i].
        weights, phi_t = torch.from_numpy(batch.weights), torch.from_numpy(phi)
        total = combined_loss(joint.loss[:n], expert_loss, phi_t, weights)
        self.after_loss(batch, weights, phi_t, expert_loss, total)
        return total, joint.td[:n].abs().numpy()

    def expert_pairs(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        """The rows of a sampled batch with a usable expert match, and the expert transition
        paired with each (``ExpertMatching.pairs``)."""
        return self.matching.pairs(batch.indices)

    def expert_samples(self, batch: Batch) -> ExpertSamples:
        """The expert half of the augmented samples of a batch (see ``ExpertSamples``)."""
        rows, experts = self.expert_pairs(batch)
        inference = self.inference
        distinct = inference.transition_of[experts]
        rewards = (inference.rewards[distinct] if self.config.expert_reward == "inferred"
                   else batch.rewards[rows])
        rewards, last, dones, discounts = self.expert_returns(experts, rewards)
        return ExpertSamples(
            rows=rows, experts=experts, actions=inference.actions[distinct].astype(np.int64),
            rewards=rewards, next_states=self.dataset.next_states[last], dones=dones,
            discounts=discounts, errors=inference.errors[distinct],
            counts=self.visits.of(self.matching.index.group_of[experts], self.learner.updates))

    def expert_returns(self, experts: np.ndarray, rewards: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``multi_step_returns`` of ``expert_nstep`` steps for these expert transitions."""
        return multi_step_returns(self.dataset, self.inference, self.expert_dones, experts,
                                  rewards, self.config.gamma, self.config.expert_nstep)

    def sample_confidence(self, q_expert: np.ndarray, expert: ExpertSamples,
                          agent_actions: np.ndarray,
                          gaps: np.ndarray | None = None) -> np.ndarray:
        """Φ of each usable sample (the config's ``confidence``), its terms and c tallied.
        ``gaps``: ΔQ's, from ``confidence.gaps`` (None: read from ``q_expert``, the online
        network's)."""
        self.expert_tally.add(count=expert.counts.sum())
        return self.confidence(q_expert, expert, agent_actions, gaps)

    def after_loss(self, batch: Batch, weights: torch.Tensor, phi: torch.Tensor,
                   expert_loss: torch.Tensor, total: torch.Tensor) -> None:
        """Bookkeeping apart from the loss: the expert's share of it (diagnostics) and one more
        update on each matched region (``VisitCounts.trained``)."""
        with torch.no_grad():
            self.expert_tally.add(expert_loss=(weights * phi * expert_loss).sum(),
                                  total_loss=float(total) * len(batch.indices))
        groups = self.matching.group[batch.indices]
        self.visits.trained(groups[groups >= 0])

    def take_diagnostics(self) -> dict[str, float]:
        t = self.expert_tally
        out = {**super().take_diagnostics(), **self.matching.diagnostics(), **phi_diagnostics(t),
               "expert_copy_share": t.ratio("copies", "usable"),
               "expert_same_action_share": t.ratio("same_action", "usable"),
               "greedy_is_expert_share": t.ratio("greedy_expert", "usable"),
               "expert_loss_share": t.ratio("expert_loss", "total_loss"),
               **self.matching.scores()}
        t.restart()
        return out

    def state_dict(self) -> dict:
        return {**super().state_dict(), **self.matching.state_dict(),
                "visit_counts": self.visits.counts, "gap_scale": self.gap_scale.value,
                "expert_tally": self.expert_tally.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.matching.load_state_dict(state)
        self.visits.counts[:] = state["visit_counts"]
        self.gap_scale.value = float(state["gap_scale"])
        self.expert_tally.load_state_dict(state["expert_tally"])


def what_random_play_finds(dataset: StateOnlyDataset, steps: int, seed: int = 0,
                           config: DIIQNConfig | None = None) -> dict[str, float]:
    """What a DIIQN agent finds in ``dataset`` before it learns: ``steps`` transitions of
    uniformly random play, in the dataset's own environment, through its ``observe`` (the
    expert-state index and action inference). Returns the share of played states with an
    expert state within τ (``match_share``) and with an identical one (``exact_share``), the
    share of expert transitions with an inferred action (``inferred_coverage``) and, where the
    dataset's hidden actions can be read, the inference accuracy against them (by id and by
    effect)."""
    from algos.envs import make_env
    from algos.training.acting import play_randomly

    env = make_env(dataset.env_config(), seed)
    config = config or DIIQNConfig()
    agent = DIIQNAgent(replace(config, replay_capacity=steps), env.state_shape, env.n_actions,
                       seed, steps, dataset=dataset,
                       scorer=scorer_or_warning(dataset.path, env.actions))
    play_randomly(agent, env, steps, seed)
    diagnostics = agent.take_diagnostics()
    return {"match_share": float((agent.matching.group[:steps] >= 0).mean()),
            "exact_share": float((agent.matching.similarity[:steps] == 1.0).mean()),
            **{key: diagnostics[key] for key in ("inferred_coverage", "inference_accuracy",
                                                 "inference_effect_accuracy")
               if key in diagnostics}}
