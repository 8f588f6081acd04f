"""The rows of one DIIQN batch: its expert half (``ExpertSamples``), the one TD pass over both
halves (``joint_td``, giving a ``JointPass``) and what the expert rows add (``agreement``), as
the agent's steps hand them on (``agent.DIIQNAgent.batch_loss``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch

from algos.training.learner import QLearner, StateDecoder
from algos.training.replay import Batch


@dataclass
class ExpertSamples:
    """The expert half of a batch's augmented samples, one entry per usable row.

    HA-DIIQN replaces an infeasible entry's action, reward, next state, end and discount by
    those of the first step of a bridge, and its error by 0 (ζ = 1: that action was really
    taken); its count stays the expert state's.
    """

    rows: np.ndarray  # batch rows that have an expert sample
    experts: np.ndarray  # the expert transition of each (its s_e is the sample's state)
    actions: np.ndarray  # int64: inferred a_e (agent action index)
    rewards: np.ndarray  # float32
    next_states: np.ndarray  # packed s'
    dones: np.ndarray  # float32
    discounts: np.ndarray  # float32: γ^n of the target's bootstrap (n = steps the target spans)
    errors: np.ndarray  # float64: inference error, for ζ
    counts: np.ndarray  # int64: c of s_e's region when it was sampled, for δ

    def kept(self, keep: np.ndarray) -> ExpertSamples:
        """The entries where ``keep`` (bool, one per entry) is true."""
        return ExpertSamples(**{f.name: getattr(self, f.name)[keep] for f in fields(self)})


@dataclass
class JointPass:
    """``QLearner.td_loss`` over a batch's agent rows (the first n) and its expert rows."""

    loss: torch.Tensor  # per row: the TD loss
    td: torch.Tensor  # per row: y - Q(s, a)
    q: torch.Tensor  # per row: Q(s, .) of the online network
    states: torch.Tensor  # decoded: the k start states, then every row's next state
    state_rows: np.ndarray  # each row's start state in ``states``
    k: int  # start states decoded (n agent rows + the near-matched expert rows)
    n: int  # agent rows

    def expert_q(self) -> np.ndarray:
        """Q(s_e, .) of the online network at the expert rows, without gradient."""
        return self.q[self.n:].detach().numpy()


def joint_td(learner: QLearner, decode: StateDecoder, batch: Batch, expert: ExpertSamples,
             expert_states: np.ndarray, exact: np.ndarray, gamma: float) -> JointPass:
    """``QLearner.td_loss`` over the batch's agent rows and its expert rows together
    (``expert_states``: the dataset's start states). An expert state identical to its agent
    state (``exact``, per expert row: similarity 1) reuses the agent row's forward pass; only
    near matches add rows to it. Next states always get their own."""
    n = len(batch.indices)
    near = np.flatnonzero(~exact)
    state_rows = np.concatenate([np.arange(n), expert.rows])
    state_rows[n + near] = n + np.arange(len(near))
    states = decode(batch.states, expert_states[expert.experts[near]], batch.next_states,
                    expert.next_states)
    k = n + len(near)
    loss, td, q = learner.td_loss(
        states[:k],
        torch.from_numpy(np.concatenate([batch.actions, expert.actions])),
        torch.from_numpy(np.concatenate([batch.rewards, expert.rewards])),
        states[k:],
        torch.from_numpy(np.concatenate([batch.dones, expert.dones])),
        state_rows=torch.from_numpy(state_rows),
        discounts=torch.from_numpy(np.concatenate([np.full(n, np.float32(gamma)),
                                                   expert.discounts])))
    return JointPass(loss, td, q, states, state_rows, k, n)


def agreement(batch: Batch, expert: ExpertSamples, expert_next_states: np.ndarray,
              exact: np.ndarray, q_expert: np.ndarray) -> dict[str, int]:
    """For the diagnostics: how many expert rows copy their agent row's transition
    (``copies``), share its action (``same_action``), or have a_e as the online network's
    greedy action (``greedy_expert``; ``q_expert``: its Q-values at s_e)."""
    rows = expert.rows
    same_action = expert.actions == batch.actions[rows]
    same_next = (expert_next_states[expert.experts] == batch.next_states[rows]).all(axis=1)
    return {"copies": int((exact & same_action & same_next).sum()),
            "same_action": int(same_action.sum()),
            "greedy_expert": int((q_expert.argmax(axis=1) == expert.actions).sum())}
