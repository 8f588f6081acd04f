"""DIIQN: Deep Implicit Imitation Q-Network (arXiv 2511.03616), on the shared DDQN+PER learner.

The agent learns online like DQN and, beside its own replay, reads an expert's *state-only*
transitions ``(s_e, s'_e)``. Three parts are its own (``docs/algorithms.md`` says, for each, what
the paper says, what we do and why):

1. **Action inference.** Every agent transition ``(s_a, a_a, r, s'_a)`` whose start state matches
   an expert state (similarity >= τ) is compared with the expert transitions that start there,
   by ``D = 1 - (sim(s_a, s_e) + sim(s'_a, s'_e)) / 2``. Each expert transition keeps its best
   match so far: inferred action ``a_e``, error ``err = D`` and the matched transition's reward.
   Only the expert transitions next to the new agent state are touched (``knn.ExpertStateIndex``).
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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .config import ConfigError
from .datasets import InferenceScorer, StateOnlyDataset
from .dqn import DQNAgent, DQNConfig
from .knn import SIMILARITIES, ExpertStateIndex, similarity
from .learner import StateDecoder
from .loop import child_seed
from .replay import Batch

SEED_DIIQN = 10  # child-seed key of DIIQN's own draws (which expert transition of a group)

CONFIDENCE_MODES = ("dynamic", "fixed")
VISIT_COUNTS = ("updates", "state")
INFERENCE_ON = ("transition", "next_state")
EXPERT_REWARDS = ("inferred", "agent")


@dataclass
class DIIQNConfig(DQNConfig):
    """DIIQN on Double DQN + PER. Every field can be set with ``--set key=value``."""

    tau: float = 0.97
    """Similarity threshold τ: an agent state is matched with its nearest expert state only if
    their similarity is at least τ (paper: 97 %). Also gates action inference."""
    metric: str = "jaccard"
    """State similarity: jaccard (shared / union of set bits; default), hamming (1 - Hamming /
    all bits, the paper notes' normalisation) or exact (identical or nothing)."""
    inference_on: str = "transition"
    """Action-inference error D over the whole transition (s and s': default) or next_state
    alone (s' only; s is already matched at >= τ)."""
    confidence: str = "dynamic"
    """dynamic: Φ = min(ΔQ·δ, ζ) per sample; fixed: Φ = ``fixed_phi`` for every usable sample
    (1 trusts only the expert, 0 is plain DQN)."""
    fixed_phi: float = 0.5
    """Φ of every usable sample when ``confidence=fixed``."""
    confidence_beta: float = 1.0
    """β of ΔQ = σ(β [Q(s_e, a_e) - Q(s_e, a_a)]) (unknown in the paper; Q-values here are of
    order 1-10)."""
    c_max: int = 150_000
    """Saturation of the training-frequency weight δ = log(1+min(c, c_max)) / log(1+c_max)
    (paper: 100K-225K; 150K default)."""
    visit_count: str = "updates"
    """What c counts: updates (learning updates so far, on the scale of c_max; default) or state
    (updates that used the matched expert state)."""
    err_max: float = 0.0
    """Scale of ζ = 1 - err / err_max; 0 uses the running maximum of recorded errors."""
    use_delta_q: bool = True
    """Ablation: false replaces ΔQ by 1."""
    use_delta: bool = True
    """Ablation: false replaces δ by 1."""
    use_zeta: bool = True
    """Ablation: false replaces ζ by 1."""
    expert_margin: float = 0.0
    """DQfD's large-margin term in L_e (Hester et al. 2018): ``max_a [Q(s_e, a) + m 1(a != a_e)]
    - Q(s_e, a_e)`` with margin m, zero once the inferred expert action leads every other by m.
    It makes a_e the greedy action where the agent met the expert, so the agent follows the
    expert before rewards have propagated back. 0 (default) keeps L_e a TD loss only."""
    margin_weight: float = 1.0
    """λ: weight of the large-margin term in L_e (used when ``expert_margin`` > 0)."""
    skip_unchanged: bool = False
    """Give no expert loss for an expert transition whose next state is its state: nothing
    changed, so it shows nothing of where the expert was going. In the mazes these are the
    expert's random or sticky moves into a wall (1-2 % of its data), and where its real move
    there could not be used, imitating them (with the margin) parked the agent against the
    wall. MinAtar's screens almost always change (0 % of a Breakout dataset, 0.3 % of Space
    Invaders'), so false keeps the paper's use of every transition."""
    expert_reward: str = "inferred"
    """Reward in L_e: inferred (that of the agent transition that inferred a_e, i.e. of the same
    state change; default) or agent (that of the sampled agent transition)."""

    def validate(self) -> None:
        super().validate()
        choices = {"metric": SIMILARITIES, "inference_on": INFERENCE_ON,
                   "confidence": CONFIDENCE_MODES, "visit_count": VISIT_COUNTS,
                   "expert_reward": EXPERT_REWARDS}
        for name, valid in choices.items():
            if getattr(self, name) not in valid:
                raise ConfigError(f"{name} must be one of {', '.join(valid)}, "
                                  f"got {getattr(self, name)!r}")
        for name in ("tau", "fixed_phi"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must lie in [0, 1], got {getattr(self, name)}")
        if self.c_max < 1:
            raise ConfigError(f"c_max must be at least 1, got {self.c_max}")
        if self.err_max < 0:
            raise ConfigError(f"err_max must be >= 0 (0: running maximum), got {self.err_max}")
        for name in ("expert_margin", "margin_weight"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")


# --- the confidence Φ and the combined loss: pure functions ----------------------------------

def delta_q_term(q_expert_action: np.ndarray, q_agent_action: np.ndarray,
                 beta: float) -> np.ndarray:
    """ΔQ = σ(β [Q(s_e, a_e) - Q(s_e, a_a)]): high when the network rates the expert's action
    above the agent's.

    Evaluated in float64 and rounded to float32, as every transcendental term of Φ: a vectorised
    float32 sigmoid or a float64 ``exp`` rounds differently under AVX2 and AVX-512, and a single
    different Φ changes a whole run; a last-bit difference in float64 survives the rounding to
    float32 about once in 2**28 values (docs/algorithms.md, "Same results on every CPU")."""
    gap = beta * (np.asarray(q_expert_action, np.float64) - np.asarray(q_agent_action, np.float64))
    return (1.0 / (1.0 + np.exp(-np.clip(gap, -100.0, 100.0)))).astype(np.float32)


def delta_term(counts: np.ndarray | float, c_max: int) -> np.ndarray:
    """δ = log(1 + min(c, c_max)) / log(1 + c_max): how trained the Q-estimates are, in [0, 1]
    (float32, as ``delta_q_term``)."""
    return (np.log1p(np.minimum(counts, c_max)) / np.log1p(c_max)).astype(np.float32)


def zeta_term(errors: np.ndarray, err_max: float) -> np.ndarray:
    """ζ = 1 - err / err_max: how reliable the inferred action is, in [0, 1] (1 if err_max is 0,
    i.e. every recorded match was perfect); float32."""
    if err_max <= 0:
        return np.ones(np.shape(errors), dtype=np.float32)
    return np.clip(1.0 - np.asarray(errors, np.float64) / err_max, 0.0, 1.0).astype(np.float32)


def confidence(delta_q: np.ndarray, delta: np.ndarray, zeta: np.ndarray) -> np.ndarray:
    """Φ = min(ΔQ · δ, ζ), in float32 (basic arithmetic only: the same on every CPU)."""
    return np.minimum(np.float32(delta_q) * np.float32(delta), np.float32(zeta))


def large_margin_loss(q: torch.Tensor, expert_actions: torch.Tensor,
                      margin: float) -> torch.Tensor:
    """DQfD's supervised loss per sample, ``max_a [Q(s, a) + margin 1(a != a_e)] - Q(s, a_e)``:
    non-negative, and zero once the expert's action leads every other by ``margin``."""
    expert = expert_actions.unsqueeze(1)
    rivals = q.scatter(1, expert, float("-inf")).max(dim=1).values  # max over a != a_e
    return torch.relu(rivals + margin - q.gather(1, expert).squeeze(1))


def combined_loss(agent_loss: torch.Tensor, expert_loss: torch.Tensor, phi: torch.Tensor,
                  weights: torch.Tensor) -> torch.Tensor:
    """``mean_i w_i [Φ_i L_e,i + (1 - Φ_i) L_a,i]``; with Φ = 0 exactly DQN's PER-weighted loss.

    ``expert_loss`` and ``phi`` are zero where a sample has no usable expert match.
    """
    return (weights * ((1.0 - phi) * agent_loss + phi * expert_loss)).mean()


# --- action inference ------------------------------------------------------------------------

class ActionInference:
    """Best match so far for every distinct expert transition: inferred action, error, reward.

    Expert transitions with the same ``(s_e, s'_e)`` are indistinguishable to inference (every
    agent transition is equally far from all of them), so the estimate is kept once per distinct
    transition: ``transition_of[j]`` names expert transition ``j``'s. A popular start state
    (Breakout's first frame opens every episode) then costs one comparison per distinct next
    state, not one per occurrence.

    Which action: the agent stores the action it *chose*, and with sticky actions (MinAtar's and
    the mazes' default, 0.1) the environment sometimes repeats the previous one instead, so a
    single matching transition can credit the wrong action. Among the agent transitions at the
    best error so far, the inferred action is the one most likely to produce the expert's change:
    the most matches per time the action was tried at that expert state (the empirical
    P(s'_e | s_e, a), as in Price & Boutilier's action models); ties go to the lower action.
    """

    def __init__(self, states: np.ndarray, next_states: np.ndarray, index: ExpertStateIndex,
                 n_bits: int, metric: str, inference_on: str, n_actions: int):
        self.index, self.n_bits = index, n_bits
        self.metric, self.inference_on = metric, inference_on
        pairs, first, inverse = np.unique(np.concatenate([states, next_states], axis=1), axis=0,
                                          return_index=True, return_inverse=True)
        del pairs
        # Distinct transitions ordered by (group, first appearance): CSR rows per group.
        group = index.group_of[first]
        order = np.lexsort((first, group))
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        self.transition_of = rank[inverse.reshape(-1)].astype(np.int64)  # expert j -> distinct
        self.next_states = np.ascontiguousarray(next_states[first[order]])  # per distinct
        self.starts = np.concatenate([[0], np.cumsum(np.bincount(
            group, minlength=len(index)))]).astype(np.int64)
        n = len(order)
        self.actions = np.full(n, -1, dtype=np.int16)  # agent action index; -1 = not inferred
        self.errors = np.full(n, np.inf, dtype=np.float64)
        self.rewards = np.zeros(n, dtype=np.float32)
        # Agent transitions at the best error, per action; and tries per (expert state, action).
        self.matches = np.zeros((n, n_actions), dtype=np.int32)
        self.tries = np.zeros((len(index), n_actions), dtype=np.int32)
        self.max_error = 0.0  # running maximum of recorded errors
        self.updates = 0  # times an inferred action changed

    def observe(self, group: int, state_similarity: float, action: int, reward: float,
                next_state: np.ndarray) -> None:
        """Compare an agent transition ``(s_a, action, reward, next_state)``, whose start state
        matched expert group ``group`` with similarity ``state_similarity``, with the distinct
        expert transitions that start there; keep the better matches."""
        lo, hi = self.starts[group], self.starts[group + 1]
        self.tries[group, action] += 1
        next_similarity = similarity(self.metric, next_state, self.next_states[lo:hi],
                                     self.n_bits)
        if self.inference_on == "transition":
            errors = 1.0 - 0.5 * (state_similarity + next_similarity)
        else:
            errors = 1.0 - next_similarity
        best = self.errors[lo:hi]
        better = errors < best
        touched = lo + np.flatnonzero(better | (errors == best))
        if not len(touched):
            return
        if better.any():
            improved = lo + np.flatnonzero(better)
            self.errors[improved] = errors[better]
            self.rewards[improved] = reward
            self.matches[improved] = 0
            self.max_error = max(self.max_error, float(errors[better].max()))
        self.matches[touched, action] += 1
        likelihood = self.matches[touched] / np.maximum(self.tries[group], 1)
        chosen = likelihood.argmax(axis=1).astype(np.int16)
        self.updates += int((chosen != self.actions[touched]).sum())
        self.actions[touched] = chosen

    def per_transition(self) -> np.ndarray:
        """The inferred action of every expert transition (-1 where none), in dataset order."""
        return self.actions[self.transition_of]

    def state_dict(self) -> dict:
        return {"actions": self.actions, "errors": self.errors, "rewards": self.rewards,
                "matches": self.matches, "tries": self.tries,
                "max_error": self.max_error, "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.actions[:] = state["actions"]
        self.errors[:] = state["errors"]
        self.rewards[:] = state["rewards"]
        self.matches[:] = state["matches"]
        self.tries[:] = state["tries"]
        self.max_error = float(state["max_error"])
        self.updates = int(state["updates"])


# --- the agent -------------------------------------------------------------------------------

@dataclass
class ExpertSamples:
    """The expert half of a batch's augmented samples, one entry per usable row.

    HA-DIIQN replaces an infeasible entry's action, reward, next state and end by those of the
    first step of a bridge, and its error by 0 (ζ = 1: that action was really taken).
    """

    rows: np.ndarray  # batch rows that have an expert sample
    experts: np.ndarray  # the expert transition of each (its s_e is the sample's state)
    actions: np.ndarray  # int64: inferred a_e (agent action index)
    rewards: np.ndarray  # float32
    next_states: np.ndarray  # packed s'
    dones: np.ndarray  # float32
    errors: np.ndarray  # float64: inference error, for ζ



class DIIQNAgent(DQNAgent):
    """DDQN + PER plus action inference, KNN expert sampling and the confidence-weighted loss."""

    needs_dataset = True

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
        self.state_counts = np.zeros(len(self.index), dtype=np.int64)  # visit_count=state
        self.rng = np.random.default_rng(child_seed(seed, SEED_DIIQN))
        # Agent rows and expert rows of s and s' in one decode.
        self.decode = StateDecoder(state_shape, max_rows=4 * config.batch_size)
        self._stats = self._zero_stats()

    @staticmethod
    def _zero_stats() -> dict[str, float]:
        keys = ("sampled", "accepted", "usable", "phi", "delta_q", "delta", "zeta", "count",
                "expert_loss", "total_loss", "similarity")
        return dict.fromkeys(keys, 0.0)

    def observe(self, state, action, reward, next_state, done, step) -> None:
        slot = self.replay.add(state, action, reward, next_state, done)
        match = self.index.nearest(state)
        self.match_group[slot] = match.group
        self.match_similarity[slot] = match.similarity
        if match.group >= 0:  # the index answers only matches within τ
            self.inference.observe(match.group, match.similarity, action, reward, next_state)

    def expert_pairs(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        """For a sampled batch: the rows with a usable expert match, and the expert transition
        paired with each (drawn uniformly among those that start at the matched state; usable if
        it has an inferred action and, with ``skip_unchanged``, changed the state)."""
        groups = self.match_group[batch.indices]
        similarities = self.match_similarity[batch.indices]
        rows = np.flatnonzero(groups >= 0)  # a stored match is within τ
        g = groups[rows]
        picks = self.index.starts[g] + (self.rng.random(len(rows)) * self.index.sizes[g]).astype(
            np.int64)
        members = self.index.members[picks]
        inferred = ((self.inference.actions[self.inference.transition_of[members]] >= 0)
                    & self.expert_usable[members])
        stats = self._stats
        stats["sampled"] += len(batch.indices)
        stats["accepted"] += len(rows)
        stats["usable"] += int(inferred.sum())
        stats["similarity"] += float(similarities[rows].sum())
        return rows[inferred], members[inferred]

    def expert_samples(self, batch: Batch) -> ExpertSamples:
        """The expert half of the augmented samples of a batch (see ``ExpertSamples``)."""
        rows, experts = self.expert_pairs(batch)
        inference = self.inference
        distinct = inference.transition_of[experts]
        return ExpertSamples(
            rows=rows, experts=experts,
            actions=inference.actions[distinct].astype(np.int64),
            rewards=(inference.rewards[distinct] if self.config.expert_reward == "inferred"
                     else batch.rewards[rows]),
            next_states=self.dataset.next_states[experts],
            dones=self.expert_dones[experts],
            errors=inference.errors[distinct])

    def batch_loss(self, batch: Batch) -> tuple[torch.Tensor, np.ndarray]:
        expert = self.expert_samples(batch)
        rows = expert.rows
        n, m = len(batch.indices), len(rows)
        # An expert state identical to its agent state (similarity 1) reuses the agent row's
        # forward pass; only near matches add rows to it. Next states always get their own.
        exact = self.match_similarity[batch.indices[rows]] == 1.0
        near = np.flatnonzero(~exact)
        state_rows = np.concatenate([np.arange(n), rows])
        state_rows[n + near] = n + np.arange(len(near))
        states = self.decode(batch.states, self.dataset.states[expert.experts[near]],
                             batch.next_states, expert.next_states)
        k = n + len(near)
        # One pass over agent and expert rows together: [s_a; s_e] and [s'_a; s'_e].
        loss, td, q = self.learner.td_loss(
            states[:k],
            torch.from_numpy(np.concatenate([batch.actions, expert.actions])),
            torch.from_numpy(np.concatenate([batch.rewards, expert.rewards])),
            states[k:],
            torch.from_numpy(np.concatenate([batch.dones, expert.dones])),
            state_rows=torch.from_numpy(state_rows))
        phi = np.zeros(n, dtype=np.float32)
        expert_row_loss = loss[n:]
        if m:
            phi[rows] = self.sample_confidence(q[n:].detach().numpy(), expert,
                                               batch.actions[rows])
            if self.config.expert_margin > 0:
                expert_row_loss = expert_row_loss + self.config.margin_weight * large_margin_loss(
                    q[n:], torch.from_numpy(expert.actions), self.config.expert_margin)
        expert_loss = torch.zeros(n).index_put((torch.from_numpy(rows),), expert_row_loss)
        weights = torch.from_numpy(batch.weights)
        phi_t = torch.from_numpy(phi)
        total = combined_loss(loss[:n], expert_loss, phi_t, weights)
        with torch.no_grad():
            self._stats["expert_loss"] += float((weights * phi_t * expert_loss).sum())
            self._stats["total_loss"] += float(total) * n
        return total, td[:n].abs().numpy()

    def sample_confidence(self, q_expert: np.ndarray, expert: ExpertSamples,
                          agent_actions: np.ndarray) -> np.ndarray:
        """Φ of each usable sample; also accumulates its terms for ``diagnostics``."""
        config, stats = self.config, self._stats
        m = len(expert.rows)
        groups = self.index.group_of[expert.experts]
        if config.visit_count == "updates":
            counts = np.full(m, self.learner.updates, dtype=np.float64)
        else:
            counts = self.state_counts[groups].astype(np.float64)
            np.add.at(self.state_counts, groups, 1)
        stats["count"] += float(counts.sum())
        if config.confidence == "fixed":
            stats["phi"] += config.fixed_phi * m
            return np.full(m, config.fixed_phi, dtype=np.float32)
        ones = np.ones(m, dtype=np.float32)
        rows = np.arange(m)
        delta_q = (delta_q_term(q_expert[rows, expert.actions], q_expert[rows, agent_actions],
                                config.confidence_beta) if config.use_delta_q else ones)
        delta = delta_term(counts, config.c_max) if config.use_delta else ones
        err_max = config.err_max or self.inference.max_error
        zeta = zeta_term(expert.errors, err_max) if config.use_zeta else ones
        phi = confidence(delta_q, delta, zeta)
        for name, values in (("delta_q", delta_q), ("delta", delta), ("zeta", zeta),
                             ("phi", phi)):
            stats[name] += float(values.sum())
        return phi.astype(np.float32)

    def diagnostics(self) -> dict[str, float]:
        out = super().diagnostics()
        s = self._stats
        usable = s["usable"]

        def per(name: str, n: float) -> float:
            return s[name] / n if n else float("nan")

        inferred_actions = self.inference.per_transition()
        inferred = inferred_actions >= 0
        errors = self.inference.errors[self.inference.transition_of[inferred]]
        out.update({
            "inferred_coverage": float(inferred.mean()),
            "inference_error_mean": float(errors.mean()) if len(errors) else float("nan"),
            "err_max": self.inference.max_error,
            "knn_acceptance": per("accepted", s["sampled"]),
            "match_similarity_mean": per("similarity", s["accepted"]),
            "usable_share": per("usable", s["sampled"]),
            "phi_mean": per("phi", usable),
            "delta_q_mean": per("delta_q", usable),
            "delta_mean": per("delta", usable),
            "zeta_mean": per("zeta", usable),
            "c_mean": per("count", usable),
            "expert_loss_share": per("expert_loss", s["total_loss"]),
        })
        if self.scorer is not None:
            out.update(self.scorer(inferred_actions))
        out.update(self.index.stats())
        self._stats = self._zero_stats()
        return out

    def state_dict(self) -> dict:
        return {**super().state_dict(), "inference": self.inference.state_dict(),
                "match_group": self.match_group, "match_similarity": self.match_similarity,
                "state_counts": self.state_counts, "rng": self.rng.bit_generator.state,
                "stats": dict(self._stats), "index_counters": self.index.counters_state()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.inference.load_state_dict(state["inference"])
        self.match_group[:] = state["match_group"]
        self.match_similarity[:] = state["match_similarity"]
        self.state_counts[:] = state["state_counts"]
        self.rng.bit_generator.state = state["rng"]
        self._stats = dict(state["stats"])
        self.index.load_counters_state(state["index_counters"])
