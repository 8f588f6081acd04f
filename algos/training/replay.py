"""Replay memories: uniform and proportional prioritized (Schaul et al. 2016), bit-packed states.

Both store transitions ``(s, a, r, s', done)`` in preallocated numpy arrays, states bit-packed
(``envs.pack_states``), so a 100K MinAtar memory takes about 10-25 MB. Sampling draws indices with
a ``numpy.random.Generator`` owned by the memory, so a checkpoint of the memory's ``state_dict``
(arrays, pointers and generator state) resumes the exact same sample sequence.

The prioritized memory keeps priorities ``p_i = (|TD_i| + eps)^alpha`` in a wide sum-tree of
float64 arrays and walks it for a whole batch at once with a few numpy operations per level,
instead of one Python loop per sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from algos.values import require_memory


@dataclass
class Batch:
    """A sampled batch; ``weights`` are the importance-sampling weights (ones when uniform)."""

    indices: np.ndarray
    states: np.ndarray  # uint8 (B, nbytes), bit-packed
    actions: np.ndarray  # int64 (B,)
    rewards: np.ndarray  # float32 (B,)
    next_states: np.ndarray  # uint8 (B, nbytes), bit-packed
    dones: np.ndarray  # float32 (B,), 1.0 where s' is terminal
    weights: np.ndarray  # float32 (B,)


def require_replay_memory(capacity: int, state_bytes: int, prioritized: bool) -> None:
    """``SizeError`` where this machine cannot hold a replay of ``capacity`` transitions: two
    states, an int64 action, two float32s, and a sum tree's float64s where prioritized."""
    per_transition = 2 * state_bytes + 16 + (16 if prioritized else 0)
    require_memory(capacity * per_transition, f"a replay of {capacity:,} transitions")


class UniformReplay:
    """A ring buffer of bit-packed transitions sampled uniformly with replacement."""

    prioritized = False

    def __init__(self, capacity: int, state_bytes: int, seed: int):
        require_replay_memory(capacity, state_bytes, self.prioritized)
        self.capacity = capacity
        self.states = np.zeros((capacity, state_bytes), dtype=np.uint8)
        self.next_states = np.zeros((capacity, state_bytes), dtype=np.uint8)
        self.actions = np.zeros(capacity, dtype=np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.dones = np.zeros(capacity, dtype=np.float32)
        self.size = 0
        self.cursor = 0  # slot of the next write
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.size

    def add(self, state: np.ndarray, action: int, reward: float, next_state: np.ndarray,
            done: bool) -> int:
        """Store one transition (states already packed); return its slot."""
        slot = self.cursor
        self.states[slot] = state
        self.next_states[slot] = next_state
        self.actions[slot] = action
        self.rewards[slot] = reward
        self.dones[slot] = done
        self.cursor = (slot + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)
        return slot

    def _gather(self, indices: np.ndarray, weights: np.ndarray) -> Batch:
        return Batch(
            indices=indices,
            states=self.states[indices],
            actions=self.actions[indices],
            rewards=self.rewards[indices],
            next_states=self.next_states[indices],
            dones=self.dones[indices],
            weights=weights,
        )

    def sample(self, batch_size: int, beta: float = 1.0) -> Batch:
        indices = self.rng.integers(0, self.size, size=batch_size)
        return self._gather(indices, np.ones(batch_size, dtype=np.float32))

    def update_priorities(self, indices: np.ndarray, td_errors: np.ndarray) -> None:
        """Uniform replay ignores priorities; present so learners need not check the type."""

    _ARRAYS = ("states", "next_states", "actions", "rewards", "dones")

    def state_dict(self) -> dict:
        """The filled part of the memory as views (not copies, which would double its memory
        while a checkpoint is written): save or load them before the memory changes."""
        state = {name: getattr(self, name)[: self.size] for name in self._ARRAYS}
        state.update(size=self.size, cursor=self.cursor, rng=self.rng.bit_generator.state)
        return state

    def load_state_dict(self, state: dict) -> None:
        self.size, self.cursor = int(state["size"]), int(state["cursor"])
        for name in self._ARRAYS:
            getattr(self, name)[: self.size] = state[name]
        self.rng.bit_generator.state = state["rng"]


class SumTree:
    """A sum-tree with many children per node, for batched prefix-sum search and update.

    ``levels[0]`` holds the leaves (``fanout**depth`` >= capacity, zero-padded), ``levels[-1]`` the
    single root. A wide tree is shallow (depth 3 for a 100K memory), so a batched search or update
    is a handful of numpy operations per level rather than a Python loop per sample or ~17 binary
    levels. Beside the node values, each level keeps the running sums within every group of
    siblings (``prefix[d][g] = [0, c0, c0+c1, ...]``), so a search reads them instead of summing.
    Both come from one ``cumsum`` over the children, recomputed whenever a child changes, so sums
    never drift and a search can never step past a node's total.
    """

    def __init__(self, capacity: int, max_fanout: int = 64):
        # The fewest levels with at most ``max_fanout`` children per node, then the smallest
        # fanout that still covers ``capacity`` (47 for 100K: 47**3 = 103,823 leaves).
        depth = 1
        while max_fanout**depth < capacity:
            depth += 1
        fanout = max(2, math.ceil(capacity ** (1 / depth)))
        while fanout**depth < capacity:  # guard against rounding in the root
            fanout += 1
        self.fanout = fanout
        self.levels = [np.zeros(fanout ** (depth - d), dtype=np.float64) for d in range(depth + 1)]
        # prefix[d]: (groups of level d, fanout + 1) running sums of level d's sibling groups.
        self.prefix = [np.zeros((fanout ** (depth - d - 1), fanout + 1)) for d in range(depth)]

    @property
    def total(self) -> float:
        return float(self.levels[-1][0])

    def leaves(self, indices: np.ndarray) -> np.ndarray:
        return self.levels[0][indices]

    def update(self, indices: np.ndarray, values: np.ndarray) -> None:
        """Set leaves and recompute their ancestors (a node listed twice gets the same sum)."""
        nodes = np.asarray(indices, dtype=np.int64)
        self.levels[0][nodes] = values
        for child, prefix, parent in zip(self.levels, self.prefix, self.levels[1:], strict=False):
            nodes = nodes // self.fanout
            sums = child.reshape(-1, self.fanout)[nodes].cumsum(axis=1)
            prefix[nodes, 1:] = sums
            parent[nodes] = sums[:, -1]

    def update_one(self, index: int, value: float) -> None:
        """``update`` for a single leaf."""
        self.levels[0][index] = value
        for child, prefix, parent in zip(self.levels, self.prefix, self.levels[1:], strict=False):
            index //= self.fanout
            start = index * self.fanout
            sums = prefix[index, 1:]
            np.cumsum(child[start: start + self.fanout], out=sums)
            parent[index] = sums[-1]

    def find(self, masses: np.ndarray) -> np.ndarray:
        """Leaf index of each prefix-sum value in ``masses`` (each in ``[0, total)``)."""
        masses = np.array(masses, dtype=np.float64)
        rows = np.arange(len(masses))
        nodes = np.zeros(len(masses), dtype=np.int64)
        for prefix in reversed(self.prefix):
            sums = prefix[nodes]  # (B, fanout + 1), sums[:, 0] = 0
            # The first child whose running sum exceeds the mass (clamped against rounding).
            k = np.minimum((sums[:, 1:] <= masses[:, None]).sum(axis=1), self.fanout - 1)
            masses -= sums[rows, k]
            nodes = nodes * self.fanout + k
        return nodes

    def state_dict(self) -> dict:
        return {"levels": [a.copy() for a in self.levels],
                "prefix": [a.copy() for a in self.prefix]}

    def load_state_dict(self, state: dict) -> None:
        for mine, saved in zip(self.levels + self.prefix, state["levels"] + state["prefix"],
                               strict=True):
            mine[...] = saved


class PrioritizedReplay(UniformReplay):
    """Proportional prioritized replay: ``P(i) = p_i / sum_k p_k``, ``p_i = (|TD_i|+eps)^alpha``.

    New transitions enter with the largest priority seen so far, so each is replayed at least once
    with high probability. Importance-sampling weights ``w_i = (N P(i))^-beta`` are divided by the
    batch's largest weight (as in Dopamine; Schaul et al. divide by the buffer-wide maximum, which
    needs a second, min-tree). A batch is drawn stratified: one draw from each of ``batch_size``
    equal slices of the total mass, so every index is drawn ``batch_size * P(i)`` times in
    expectation.
    """

    prioritized = True

    def __init__(self, capacity: int, state_bytes: int, seed: int, alpha: float = 0.6,
                 eps: float = 1e-6):
        super().__init__(capacity, state_bytes, seed)
        self.alpha = alpha
        self.eps = eps
        self.tree = SumTree(capacity)
        self.max_priority = 1.0

    def add(self, state, action, reward, next_state, done) -> int:
        slot = super().add(state, action, reward, next_state, done)
        self.tree.update_one(slot, self.max_priority)
        return slot

    def probabilities(self, indices: np.ndarray) -> np.ndarray:
        return self.tree.leaves(indices) / self.tree.total

    def sample(self, batch_size: int, beta: float = 1.0) -> Batch:
        total = self.tree.total
        edges = np.arange(batch_size, dtype=np.float64) * (total / batch_size)
        masses = edges + self.rng.random(batch_size) * (total / batch_size)
        # Floating-point rounding may walk past the last filled leaf; clamp to a stored slot.
        indices = np.minimum(self.tree.find(np.minimum(masses, np.nextafter(total, 0))),
                             self.size - 1)
        probs = self.probabilities(indices)
        weights = (self.size * probs) ** (-beta)
        weights = (weights / weights.max()).astype(np.float32)
        return self._gather(indices, weights)

    def update_priorities(self, indices: np.ndarray, td_errors: np.ndarray) -> None:
        priorities = (np.abs(td_errors).astype(np.float64) + self.eps) ** self.alpha
        self.tree.update(indices, priorities)
        self.max_priority = max(self.max_priority, float(priorities.max()))

    def state_dict(self) -> dict:
        state = super().state_dict()
        state.update(tree=self.tree.state_dict(), max_priority=self.max_priority)
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.tree.load_state_dict(state["tree"])
        self.max_priority = float(state["max_priority"])
