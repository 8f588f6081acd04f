"""The expert's state-only transitions as an agent meets them: ``ExpertMatching``.

One component for any agent that learns from a state-only dataset (DIIQN holds one, and
HA-DIIQN through it). Each agent transition that enters the replay is matched, once, with its
nearest expert state within τ (``knn.ExpertStateIndex``), and a matched one is handed to action
inference (``inference.ActionInference``), which keeps the action, error and reward inferred for
every expert transition. A sampled batch's rows are then paired with expert transitions that
start at their matched states and have an inferred action. Its settings are
``ExpertMatchingConfig``'s (τ, the similarity, what inference compares), mixed into the agent's
own config.
"""

from __future__ import annotations

import numpy as np

from algos.agents.diiqn.inference import ActionInference
from algos.agents.diiqn.knn import ExpertStateIndex
from algos.algorithms import ExpertMatchingConfig
from algos.data.datasets import InferenceScorer, StateOnlyDataset
from algos.seeds import Stream, child_seed
from algos.training.tally import Tally


class ExpertMatching:
    """The expert-state index, action inference, and each replay slot's expert match.

    Args:
        config: τ, the similarity and what inference compares.
        dataset: the expert's state-only transitions.
        state_shape, n_actions: the agent's states and actions.
        capacity: replay slots (a match is kept per slot).
        seed: the run's seed (its stream ``EXPERT_PAIRS`` draws which expert transition of a
            matched state a row is paired with).
        tally: where ``COUNTERS`` are summed for the diagnostics (the agent's).
        scorer: scores the inferred actions against the hidden true ones (diagnostics only).
        imitable: which expert transitions may be paired (default: all).
    """

    COUNTERS = ("sampled", "accepted", "usable", "similarity")
    """The sums ``pairs`` adds to the tally."""

    def __init__(self, config: ExpertMatchingConfig, dataset: StateOnlyDataset,
                 state_shape: tuple[int, int, int], n_actions: int, capacity: int, seed: int,
                 tally: Tally, scorer: InferenceScorer | None = None,
                 imitable: np.ndarray | None = None):
        n_bits = int(np.prod(state_shape))
        self.index = ExpertStateIndex(dataset.states, n_bits, metric=config.metric,
                                      tau=config.tau)
        self.inference = ActionInference(dataset.states, dataset.next_states, self.index,
                                         n_bits, config.metric, config.inference_on, n_actions)
        self.imitable = np.ones(len(dataset), dtype=bool) if imitable is None else imitable
        # The nearest expert state of each replay slot's start state, found once on insertion.
        self.group = np.full(capacity, -1, dtype=np.int32)
        self.similarity = np.zeros(capacity, dtype=np.float32)
        self.rng = np.random.default_rng(child_seed(seed, Stream.EXPERT_PAIRS))
        self.tally, self.scorer = tally, scorer

    def observe(self, slot: int, state: np.ndarray, action: int, reward: float,
                next_state: np.ndarray) -> None:
        """Match the agent transition just stored in replay slot ``slot`` and, if it has a
        match, let inference compare it with the expert transitions there."""
        match = self.index.nearest(state)
        self.group[slot] = match.group
        self.similarity[slot] = match.similarity
        if match.group >= 0:  # the index answers only matches within τ
            self.inference.observe(match.group, match.similarity, action, reward, next_state)

    def pairs(self, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For sampled replay slots: the rows with a usable expert match, and the expert
        transition paired with each (drawn uniformly among those that start at the matched
        state; usable if it has an inferred action and is imitable)."""
        groups = self.group[slots]
        rows = np.flatnonzero(groups >= 0)  # a stored match is within τ
        g = groups[rows]
        index, inference = self.index, self.inference
        picks = index.starts[g] + (self.rng.random(len(rows)) * index.sizes[g]).astype(np.int64)
        members = index.members[picks]
        usable = ((inference.actions[inference.transition_of[members]] >= 0)
                  & self.imitable[members])
        self.tally.add(sampled=len(slots), accepted=len(rows), usable=usable.sum(),
                       similarity=self.similarity[slots[rows]].sum(dtype=np.float64))
        return rows[usable], members[usable]

    def diagnostics(self) -> dict[str, float]:
        """Inference's coverage and errors, and the matches of the rows sampled since the
        tally's last restart."""
        inferred = self.inference.per_transition() >= 0
        errors = self.inference.errors[self.inference.transition_of[inferred]]
        t = self.tally
        return {"inferred_coverage": float(inferred.mean()),
                "inference_error_mean": float(errors.mean()) if len(errors) else float("nan"),
                "err_max": self.inference.max_error,
                "knn_acceptance": t.ratio("accepted", "sampled"),
                "match_similarity_mean": t.ratio("similarity", "accepted"),
                "usable_share": t.ratio("usable", "sampled")}

    def scores(self) -> dict[str, float]:
        """The inferred actions scored against the hidden true ones (with a scorer), and how the
        index answered its queries since the last call."""
        scored = self.scorer(self.inference.per_transition()) if self.scorer is not None else {}
        return {**scored, **self.index.stats()}

    def state_dict(self) -> dict:
        """What a checkpoint keeps (the index's cache is rebuilt on demand)."""
        return {"inference": self.inference.state_dict(), "match_group": self.group,
                "match_similarity": self.similarity, "rng": self.rng.bit_generator.state,
                "index_counters": self.index.counters_state()}

    def load_state_dict(self, state: dict) -> None:
        self.inference.load_state_dict(state["inference"])
        self.group[:] = state["match_group"]
        self.similarity[:] = state["match_similarity"]
        self.rng.bit_generator.state = state["rng"]
        self.index.load_counters_state(state["index_counters"])
