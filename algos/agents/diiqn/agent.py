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
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import torch

from algos.agents.diiqn.confidence import (
    GapScale,
    VisitCounts,
    confidence,
    delta_q_term,
    delta_term,
    margin_weights,
    pooled_regions,
    q_gaps,
    same_effect,
    scale_rows,
    trust_term,
    zeta_term,
)
from algos.agents.diiqn.inference import ActionInference
from algos.agents.diiqn.knn import ExpertStateIndex
from algos.agents.dqn import DQNAgent
from algos.algorithms import DIIQNConfig
from algos.data.datasets import InferenceScorer, StateOnlyDataset
from algos.seeds import Stream, child_seed
from algos.training.learner import StateDecoder
from algos.training.replay import Batch
from algos.training.tally import Tally

if TYPE_CHECKING:
    from algos.envs import EnvConfig

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


# --- the agent -------------------------------------------------------------------------------

@dataclass
class JointPass:
    """``QLearner.td_loss`` over a batch's agent rows (the first n) and its expert rows."""

    loss: torch.Tensor  # per row: the TD loss
    td: torch.Tensor  # per row: y - Q(s, a)
    q: torch.Tensor  # per row: Q(s, .) of the online network
    states: torch.Tensor  # decoded: the k start states, then every row's next state
    state_rows: np.ndarray  # each row's start state in ``states``
    k: int  # start states decoded (n agent rows + the near-matched expert rows)
    exact: np.ndarray  # per expert row: s_e is s_a (it shares the agent row's forward pass)


@dataclass
class ExpertSamples:
    """The expert half of a batch's augmented samples, one entry per usable row.

    HA-DIIQN replaces an infeasible entry's action, reward, next state, end and discount by
    those of the first step of a bridge, and its error by 0 (ζ = 1: that action was really
    taken).
    """

    rows: np.ndarray  # batch rows that have an expert sample
    experts: np.ndarray  # the expert transition of each (its s_e is the sample's state)
    actions: np.ndarray  # int64: inferred a_e (agent action index)
    rewards: np.ndarray  # float32
    next_states: np.ndarray  # packed s'
    dones: np.ndarray  # float32
    discounts: np.ndarray  # float32: γ^n of the target's bootstrap (n = steps the target spans)
    errors: np.ndarray  # float64: inference error, for ζ



class DIIQNAgent(DQNAgent):
    """DDQN + PER plus action inference, KNN expert sampling and the confidence-weighted loss."""


    def __init__(self, config: DIIQNConfig, state_shape: tuple[int, int, int], n_actions: int,
                 seed: int, total_steps: int, *, dataset: StateOnlyDataset,
                 scorer: InferenceScorer | None = None):
        super().__init__(config, state_shape, n_actions, seed, total_steps)
        dataset.require_state_shape(state_shape)
        self.dataset, self.scorer = dataset, scorer
        n_bits = int(np.prod(state_shape))
        self.index = ExpertStateIndex(dataset.states, n_bits, metric=config.metric,
                                      tau=config.tau)
        self.inference = ActionInference(dataset.states, dataset.next_states, self.index,
                                         n_bits, config.metric, config.inference_on, n_actions)
        self.expert_dones = dataset.dones.astype(np.float32)
        # Expert transitions that may be imitated (all, or those that changed the state).
        self.expert_usable = (~(dataset.states == dataset.next_states).all(axis=1)
                              if config.skip_unchanged else np.ones(len(dataset), dtype=bool))
        # The nearest expert state of each replay slot's start state, found once on insertion.
        self.match_group = np.full(config.replay_capacity, -1, dtype=np.int32)
        self.match_similarity = np.zeros(config.replay_capacity, dtype=np.float32)
        regions = (pooled_regions(self.index.group_states, state_shape, config.region_pool)
                   if config.visit_count == "region" else np.arange(len(self.index)))
        self.visits = VisitCounts(config.visit_count, regions)
        self.gap_scale = GapScale()
        self.sample_counts = np.zeros(0, dtype=np.int64)  # c of the last batch's usable samples
        self.rng = np.random.default_rng(child_seed(seed, Stream.EXPERT_PAIRS))
        # Agent rows and expert rows of s and s' in one decode.
        self.decode = StateDecoder(state_shape, max_rows=4 * config.batch_size)
        self.expert_tally = Tally("sampled", "accepted", "usable", "similarity", "phi", "delta_q",
                           "delta", "trust", "zeta", "count", "beta", "copies", "same_action",
                           "greedy_expert", "expert_loss", "total_loss")

    def observe(self, state, action, reward, next_state, terminated, step) -> None:
        slot = self.replay.add(state, action, reward, next_state, terminated)
        match = self.index.nearest(state)
        self.match_group[slot] = match.group
        self.match_similarity[slot] = match.similarity
        if match.group >= 0:  # the index answers only matches within τ
            self.inference.observe(match.group, match.similarity, action, reward, next_state)
        self.stored(slot)

    def stored(self, slot: int) -> None:
        """Called once a transition is in replay slot ``slot`` (HA-DIIQN indexes it)."""

    def expert_pairs(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        """For a sampled batch: the rows with a usable expert match, and the expert transition
        paired with each (drawn uniformly among those that start at the matched state; usable if
        it has an inferred action and, with ``skip_unchanged``, changed the state)."""
        groups = self.match_group[batch.indices]
        rows = np.flatnonzero(groups >= 0)  # a stored match is within τ
        g = groups[rows]
        picks = self.index.starts[g] + (self.rng.random(len(rows)) * self.index.sizes[g]).astype(
            np.int64)
        members = self.index.members[picks]
        inferred = ((self.inference.actions[self.inference.transition_of[members]] >= 0)
                    & self.expert_usable[members])
        self.expert_tally.add(
            sampled=len(batch.indices), accepted=len(rows), usable=inferred.sum(),
            similarity=self.match_similarity[batch.indices[rows]].sum(dtype=np.float64))
        return rows[inferred], members[inferred]

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
            discounts=discounts, errors=inference.errors[distinct])

    def expert_returns(self, experts: np.ndarray, rewards: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The multi-step target of each expert transition along the expert's own episode
        (``expert_nstep`` steps at most): the discounted reward sum (float32), the expert
        transition whose next state it bootstraps from, its end (float32) and γ^n (float32).
        A step is added only where the previous one did not end the episode and the next
        transition, of the same episode, has an inferred reward."""
        gamma, data, inference = self.config.gamma, self.dataset, self.inference
        total = rewards.astype(np.float64)
        last = experts.copy()
        ended = self.expert_dones[last] > 0
        discount = np.full(len(experts), gamma)
        for _ in range(1, self.config.expert_nstep):
            step = np.minimum(last + 1, len(data) - 1)
            distinct = inference.transition_of[step]
            more = ((~ended) & (last + 1 < len(data)) & (data.episodes[step] == data.episodes[last])
                    & (inference.actions[distinct] >= 0))
            if not more.any():
                break
            total[more] += discount[more] * inference.rewards[distinct[more]]
            discount[more] *= gamma
            last[more] = step[more]
            ended[more] = self.expert_dones[step[more]] > 0
        return (total.astype(np.float32), last, ended.astype(np.float32),
                discount.astype(np.float32))

    def batch_loss(self, batch: Batch) -> tuple[torch.Tensor, np.ndarray]:
        """DIIQN's loss on one batch (docs/algorithms.md, "The loss"), in four steps: the TD
        losses of the agent rows and of their matched expert rows in one pass; Φ per expert
        row; the expert loss L_e = TD_e + margin; ``combined_loss``. Returns it with the agent
        rows' |TD| (their new priorities)."""
        expert = self.expert_samples(batch)
        rows, agent_actions = expert.rows, batch.actions[expert.rows]
        n = len(batch.indices)
        # 1. TD loss of [s_a; s_e] in one forward pass.
        joint = self.joint_td(batch, expert)
        phi = np.zeros(n, dtype=np.float32)
        expert_row_loss = joint.loss[n:]
        if len(rows):
            q_expert = joint.q[n:].detach().numpy()
            # 2. Φ, from the gap ΔQ reads (delta_q_source), the count and the inference error.
            gaps = self.confidence_gaps(q_expert, joint.td, joint.q, joint.states[:joint.k],
                                        joint.state_rows, n, expert, agent_actions)
            phi[rows] = self.sample_confidence(q_expert, expert, agent_actions, gaps)
            self.tally_agreement(batch, expert, joint.exact, q_expert)
            # 3. L_e: the expert row's TD loss and the large margin.
            if self.config.expert_margin > 0:
                expert_row_loss = expert_row_loss + self.margin_term(joint.q[n:], expert,
                                                                     agent_actions)
        expert_loss = torch.zeros(n).index_put((torch.from_numpy(rows),), expert_row_loss)
        # 4. mean_i w_i [Φ_i L_e,i + (1 - Φ_i) L_a,i].
        weights, phi_t = torch.from_numpy(batch.weights), torch.from_numpy(phi)
        total = combined_loss(joint.loss[:n], expert_loss, phi_t, weights)
        self.after_loss(batch, weights, phi_t, expert_loss, total)
        return total, joint.td[:n].abs().numpy()

    def joint_td(self, batch: Batch, expert: ExpertSamples) -> JointPass:
        """``QLearner.td_loss`` over the batch's agent rows and its expert rows together. An
        expert state identical to its agent state (similarity 1) reuses the agent row's
        forward pass; only near matches add rows to it. Next states always get their own."""
        n = len(batch.indices)
        exact = self.match_similarity[batch.indices[expert.rows]] == 1.0
        near = np.flatnonzero(~exact)
        state_rows = np.concatenate([np.arange(n), expert.rows])
        state_rows[n + near] = n + np.arange(len(near))
        states = self.decode(batch.states, self.dataset.states[expert.experts[near]],
                             batch.next_states, expert.next_states)
        k = n + len(near)
        gamma = np.float32(self.config.gamma)
        loss, td, q = self.learner.td_loss(
            states[:k],
            torch.from_numpy(np.concatenate([batch.actions, expert.actions])),
            torch.from_numpy(np.concatenate([batch.rewards, expert.rewards])),
            states[k:],
            torch.from_numpy(np.concatenate([batch.dones, expert.dones])),
            state_rows=torch.from_numpy(state_rows),
            discounts=torch.from_numpy(np.concatenate([np.full(n, gamma), expert.discounts])))
        return JointPass(loss, td, q, states, state_rows, k, exact)

    def tally_agreement(self, batch: Batch, expert: ExpertSamples, exact: np.ndarray,
                        q_expert: np.ndarray) -> None:
        """Diagnostics only: how often the expert row copies the agent's transition, shares
        its action, or is the online network's greedy choice."""
        rows = expert.rows
        same_action = expert.actions == batch.actions[rows]
        same_next = (self.dataset.next_states[expert.experts] == batch.next_states[rows]
                     ).all(axis=1)
        self.expert_tally.add(copies=(exact & same_action & same_next).sum(),
                              same_action=same_action.sum(),
                              greedy_expert=(q_expert.argmax(axis=1) == expert.actions).sum())

    def after_loss(self, batch: Batch, weights: torch.Tensor, phi: torch.Tensor,
                   expert_loss: torch.Tensor, total: torch.Tensor) -> None:
        """Bookkeeping apart from the loss: the expert's share of it (diagnostics) and, unless
        the count is the global update count, one more update on each matched region."""
        with torch.no_grad():
            self.expert_tally.add(expert_loss=(weights * phi * expert_loss).sum(),
                                  total_loss=float(total) * len(batch.indices))
        if self.config.visit_count != "updates":
            groups = self.match_group[batch.indices]
            self.visits.trained(groups[groups >= 0])

    def confidence_gaps(self, q_expert: np.ndarray, td: torch.Tensor, q: torch.Tensor,
                        states: torch.Tensor, state_rows: np.ndarray, n: int,
                        expert: ExpertSamples, agent_actions: np.ndarray) -> np.ndarray | None:
        """The gap ``Q(s_e, a_e) - Q(s_e, a_a)`` of ΔQ per usable sample (float64), read as
        ``delta_q_source`` says: ``online`` gives None (``sample_confidence`` reads it from
        ``q_expert``, the online network); ``target`` from the target network at s_e;
        ``targets`` the expert row's and the agent row's own Double-DQN targets,
        ``y_e - y_a`` (0 where a_a = a_e). ``td``, ``q`` are ``td_loss``'s over the agent rows
        (first ``n``) and the expert rows; ``states[state_rows]`` their start states."""
        source = self.config.delta_q_source
        if source == "online" or self.config.confidence == "fixed":
            return None
        m = len(expert.rows)
        if source == "target":
            with torch.no_grad():
                q_target = self.learner.target(
                    states[torch.from_numpy(state_rows[n:])]).numpy()
            rows = np.arange(m)
            return q_gaps(q_target[rows, expert.actions], q_target[rows, agent_actions],
                          expert.actions, agent_actions)
        # td = y - Q(s, a): y = td + Q(s, a) (to float32 rounding).
        td_np, q_np, rows = td.numpy(), q.detach().numpy(), np.arange(m)
        y_agent = td_np[expert.rows] + q_np[expert.rows, agent_actions]
        y_expert = td_np[n:] + q_np[n + rows, expert.actions]
        return q_gaps(y_expert, y_agent, expert.actions, agent_actions)

    def margin_term(self, q_expert: torch.Tensor, expert: ExpertSamples,
                    agent_actions: np.ndarray) -> torch.Tensor:
        """The large-margin part of L_e per usable sample, with its weight: DQfD's against the
        best rival at weight λ (the defaults), or as ``margin_against`` and ``margin_decay``
        set it (against a_a only where its effect differs; weight λ (1 - δ(c)))."""
        config = self.config
        if config.margin_against == "rival" and config.margin_decay == "none":
            return config.margin_weight * large_margin_loss(
                q_expert, torch.from_numpy(expert.actions), config.expert_margin)
        delta = (delta_term(self.sample_counts, config.c_max) if config.margin_decay == "count"
                 else np.zeros(len(agent_actions), np.float32))
        weights = margin_weights(config.margin_weight, delta, config.margin_decay)
        if config.margin_against == "rival":
            hinge = large_margin_loss(q_expert, torch.from_numpy(expert.actions),
                                      config.expert_margin)
        else:
            inference = self.inference
            alike = same_effect(inference.matches, inference.tries,
                                inference.transition_of[expert.experts],
                                self.index.group_of[expert.experts], expert.actions,
                                agent_actions)
            weights[alike] = 0.0
            hinge = agent_margin_loss(q_expert, torch.from_numpy(expert.actions),
                                      torch.from_numpy(agent_actions), config.expert_margin)
        return torch.from_numpy(weights) * hinge

    def sample_confidence(self, q_expert: np.ndarray, expert: ExpertSamples,
                          agent_actions: np.ndarray,
                          gaps: np.ndarray | None = None) -> np.ndarray:
        """Φ of each usable sample; also adds its terms to the tally for ``diagnostics``.
        ``gaps``: ΔQ's gaps where ``delta_q_source`` is not ``online`` (``confidence_gaps``);
        None reads them from ``q_expert``."""
        config = self.config
        m = len(expert.rows)
        counts = self.visits.of(self.index.group_of[expert.experts], self.learner.updates)
        self.sample_counts = counts  # read by ``margin_term``
        self.expert_tally.add(count=counts.sum())
        if config.confidence == "fixed":
            self.expert_tally.add(phi=config.fixed_phi * m)
            return np.full(m, config.fixed_phi, dtype=np.float32)
        ones = np.ones(m, dtype=np.float32)
        rows = np.arange(m)
        if gaps is None:
            gaps = (q_expert[rows, expert.actions].astype(np.float64)
                    - q_expert[rows, agent_actions].astype(np.float64))
        beta = config.confidence_beta
        if config.beta_scale == "running":
            self.gap_scale.update(scale_rows(gaps, expert.actions, agent_actions,
                                             config.gap_scale_rows))
            beta = beta / self.gap_scale.value if self.gap_scale.value > 0 else beta
        delta_q = delta_q_term(gaps, beta) if config.use_delta_q else ones
        delta = delta_term(counts, config.c_max)
        trust = trust_term(delta, config.trust) if config.use_delta else ones
        err_max = config.err_max or self.inference.max_error
        zeta = zeta_term(expert.errors, err_max) if config.use_zeta else ones
        phi = confidence(delta_q, trust, zeta)
        terms = {"delta_q": delta_q, "delta": delta, "trust": trust, "zeta": zeta, "phi": phi}
        self.expert_tally.add(beta=beta * m,
                              **{k: v.sum(dtype=np.float64) for k, v in terms.items()})
        return phi

    def take_diagnostics(self) -> dict[str, float]:
        out = super().take_diagnostics()
        t = self.expert_tally
        inferred_actions = self.inference.per_transition()
        inferred = inferred_actions >= 0
        errors = self.inference.errors[self.inference.transition_of[inferred]]
        out.update({
            "inferred_coverage": float(inferred.mean()),
            "inference_error_mean": float(errors.mean()) if len(errors) else float("nan"),
            "err_max": self.inference.max_error,
            "knn_acceptance": t.ratio("accepted", "sampled"),
            "match_similarity_mean": t.ratio("similarity", "accepted"),
            "usable_share": t.ratio("usable", "sampled"),
            "phi_mean": t.ratio("phi", "usable"),
            "delta_q_mean": t.ratio("delta_q", "usable"),
            "delta_mean": t.ratio("delta", "usable"),
            "trust_mean": t.ratio("trust", "usable"),
            "zeta_mean": t.ratio("zeta", "usable"),
            "c_mean": t.ratio("count", "usable"),
            "beta_mean": t.ratio("beta", "usable"),
            "expert_copy_share": t.ratio("copies", "usable"),
            "expert_same_action_share": t.ratio("same_action", "usable"),
            "greedy_is_expert_share": t.ratio("greedy_expert", "usable"),
            "expert_loss_share": t.ratio("expert_loss", "total_loss"),
        })
        if self.scorer is not None:
            out.update(self.scorer(inferred_actions))
        out.update(self.index.stats())
        t.restart()
        return out

    def state_dict(self) -> dict:
        return {**super().state_dict(), "inference": self.inference.state_dict(),
                "match_group": self.match_group, "match_similarity": self.match_similarity,
                "visit_counts": self.visits.counts, "gap_scale": self.gap_scale.value,
                "rng": self.rng.bit_generator.state, "expert_tally": self.expert_tally.state_dict(),
                "index_counters": self.index.counters_state()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.inference.load_state_dict(state["inference"])
        self.match_group[:] = state["match_group"]
        self.match_similarity[:] = state["match_similarity"]
        self.visits.counts[:] = state["visit_counts"]
        self.gap_scale.value = float(state["gap_scale"])
        self.rng.bit_generator.state = state["rng"]
        self.expert_tally.load_state_dict(state["expert_tally"])
        self.index.load_counters_state(state["index_counters"])


def what_random_play_finds(dataset: StateOnlyDataset, env_config: EnvConfig, steps: int,
                           seed: int, scorer: InferenceScorer | None = None,
                           config: DIIQNConfig | None = None) -> dict[str, float]:
    """What a DIIQN agent finds in ``dataset`` before it learns: ``steps`` transitions of
    uniformly random play through its ``observe`` (the expert-state index and action
    inference). Returns the share of played states with an expert state within τ
    (``match_share``) and with an identical one (``exact_share``), the share of expert
    transitions with an inferred action (``inferred_coverage``) and, with a ``scorer``, the
    inference accuracy against the hidden actions (by id and by effect)."""
    from algos.envs import make_env
    from algos.training.acting import play_randomly

    env = make_env(env_config, seed)
    config = config or DIIQNConfig()
    agent = DIIQNAgent(replace(config, replay_capacity=steps), env.state_shape, env.n_actions,
                       seed, steps, dataset=dataset, scorer=scorer)
    play_randomly(agent, env, steps, seed)
    diagnostics = agent.take_diagnostics()
    return {"match_share": float((agent.match_group[:steps] >= 0).mean()),
            "exact_share": float((agent.match_similarity[:steps] == 1.0).mean()),
            **{key: diagnostics[key] for key in ("inferred_coverage", "inference_accuracy",
                                                 "inference_effect_accuracy")
               if key in diagnostics}}
