"""DIIQN's action inference: which agent action reproduces each expert transition.

Every agent transition whose start state matches an expert state (similarity >= τ) is compared
with the expert transitions that start there, by ``D = 1 - (sim(s_a, s_e) + sim(s'_a, s'_e)) / 2``
(or the next states alone); each distinct expert transition keeps its best matches so far
(docs/algorithms.md, DIIQN, "1. Action inference").
"""

from __future__ import annotations

import numpy as np

from algos.agents.diiqn.knn import ExpertStateIndex, similarity


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
    Its reward is the mean reward of the matches *with that action*, so a_e and r_e always come
    from the same transitions.
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
        self.rewards = np.zeros(n, dtype=np.float32)  # of the inferred action's matches
        # Agent transitions at the best error per action, their rewards' sum; and tries per
        # (expert state, action).
        self.matches = np.zeros((n, n_actions), dtype=np.int32)
        self.reward_sums = np.zeros((n, n_actions), dtype=np.float64)
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
            self.matches[improved] = 0
            self.reward_sums[improved] = 0.0
            self.max_error = max(self.max_error, float(errors[better].max()))
        self.matches[touched, action] += 1
        self.reward_sums[touched, action] += reward
        likelihood = self.matches[touched] / np.maximum(self.tries[group], 1)
        chosen = likelihood.argmax(axis=1)
        self.updates += int((chosen != self.actions[touched]).sum())
        self.actions[touched] = chosen
        self.rewards[touched] = (self.reward_sums[touched, chosen]
                                 / self.matches[touched, chosen])

    def per_transition(self) -> np.ndarray:
        """The inferred action of every expert transition (-1 where none), in dataset order."""
        return self.actions[self.transition_of]

    def state_dict(self) -> dict:
        return {"actions": self.actions, "errors": self.errors, "rewards": self.rewards,
                "matches": self.matches, "reward_sums": self.reward_sums, "tries": self.tries,
                "max_error": self.max_error, "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.actions[:] = state["actions"]
        self.errors[:] = state["errors"]
        self.rewards[:] = state["rewards"]
        self.matches[:] = state["matches"]
        self.reward_sums[:] = state["reward_sums"]
        self.tries[:] = state["tries"]
        self.max_error = float(state["max_error"])
        self.updates = int(state["updates"])
