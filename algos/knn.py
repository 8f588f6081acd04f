"""Nearest-neighbour search over bit-packed binary states, and the similarities DIIQN uses.

MinAtar states are sparse boolean grids (6-47 of 400-1000 bits set), stored bit-packed
(``envs.pack_states``). DIIQN asks one question per agent step: which of the expert's states is
nearest to this one, and how similar is it? ``ExpertStateIndex`` answers it in three tiers:

1. **Exact hashing.** The expert's states are deduplicated into *groups* (one per distinct state,
   listing the expert transitions that start there); a dict from a state's bytes to its group
   answers exact matches in about a microsecond. An exact match is the nearest neighbour under
   every metric, and at a high threshold τ most accepted matches are exact (Breakout: 86 % of
   random states have an exact twin among 5,000).
2. **Binary k-NN.** Otherwise faiss's ``IndexBinaryFlat`` (exact Hamming k-NN with hardware
   popcount, 7-8x numpy's ``bitwise_count`` over the same arrays) returns ``candidates``
   Hamming neighbours, re-ranked by the chosen similarity.
3. **A cache** of answered queries keyed by the agent state's bytes: agents revisit states, and
   the answer for a state never changes because the expert's states never do.

Similarities (``SIMILARITIES``), all in [0, 1], 1 for identical states:

* ``jaccard`` (default): shared set bits over the union of set bits, ``|a & b| / |a | b|``.
  Normalising by all bits instead makes two *unrelated* sparse states look 93-99 % similar (see
  ``docs/algorithms.md``), so a threshold like τ = 0.97 would accept random matches.
* ``hamming``: ``1 - popcount(a ^ b) / n_bits``, the normalisation the paper's notes suggest,
  kept for the metric-sensitivity check.
* ``exact``: 1 if the states are identical, else 0 (no k-NN search at all).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SIMILARITIES = ("jaccard", "hamming", "exact")


def popcount(rows: np.ndarray) -> np.ndarray:
    """Set bits per row of a packed uint8 array ``(..., nbytes)``."""
    return np.bitwise_count(rows).sum(axis=-1, dtype=np.int32)


def similarity(metric: str, a: np.ndarray, rows: np.ndarray, n_bits: int) -> np.ndarray:
    """Similarity of packed state ``a`` (``(nbytes,)``) to each packed row of ``rows``."""
    if metric == "jaccard":
        inter = popcount(a & rows)
        union = popcount(a | rows)
        # Two empty states are identical; guard the 0/0.
        return np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    if metric == "hamming":
        return 1.0 - popcount(a ^ rows) / n_bits
    if metric == "exact":
        return np.all(rows == a, axis=-1).astype(np.float64)
    raise ValueError(f"unknown similarity {metric!r}; valid: {', '.join(SIMILARITIES)}")


@dataclass(frozen=True)
class Match:
    """The nearest expert state found for a query: its group and its similarity."""

    group: int
    similarity: float


class ExpertStateIndex:
    """The expert's distinct states, their transitions, and nearest-neighbour queries.

    Args:
        states: packed expert states ``(N, nbytes)`` (one per expert transition).
        n_bits: bits per state before packing (``C * 10 * 10``).
        metric: one of ``SIMILARITIES``.
        candidates: Hamming neighbours fetched from faiss and re-ranked by ``metric``.
        cache_size: answered queries kept (cleared whole when full, to bound memory).
    """

    def __init__(self, states: np.ndarray, n_bits: int, metric: str = "jaccard",
                 candidates: int = 8, cache_size: int = 200_000):
        if metric not in SIMILARITIES:
            raise ValueError(f"unknown similarity {metric!r}; valid: {', '.join(SIMILARITIES)}")
        self.metric, self.n_bits = metric, n_bits
        unique, first, inverse = np.unique(states, axis=0, return_index=True,
                                           return_inverse=True)
        # Keep groups in order of first appearance, so group ids do not depend on byte order.
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        self.group_states = np.ascontiguousarray(unique[order])
        self.group_of = rank[inverse.reshape(-1)].astype(np.int32)  # expert transition -> group
        # CSR layout: the transitions of group g are members[starts[g]:starts[g + 1]].
        self.members = np.argsort(self.group_of, kind="stable").astype(np.int64)
        sizes = np.bincount(self.group_of, minlength=len(self.group_states))
        self.starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.sizes = sizes.astype(np.int64)
        self._exact = {row.tobytes(): g for g, row in enumerate(self.group_states)}
        self.candidates = max(1, min(candidates, len(self.group_states)))
        self._faiss = None
        if metric != "exact":
            import faiss

            self._faiss = faiss.IndexBinaryFlat(self.group_states.shape[1] * 8)
            self._faiss.add(self.group_states)
        self._cache: dict[bytes, Match] = {}
        self._cache_size = cache_size
        self.queries = self.exact_hits = self.cache_hits = self.searches = 0

    def __len__(self) -> int:
        """Number of distinct expert states (groups)."""
        return len(self.group_states)

    def group_members(self, group: int) -> np.ndarray:
        """Indices of the expert transitions whose start state is group ``group``."""
        return self.members[self.starts[group]: self.starts[group + 1]]

    def nearest(self, state: np.ndarray) -> Match:
        """The most similar distinct expert state to packed ``state``.

        For ``exact`` the answer is group -1 with similarity 0 when there is no identical state.
        """
        self.queries += 1
        key = state.tobytes()
        group = self._exact.get(key)
        if group is not None:
            self.exact_hits += 1
            return Match(group, 1.0)
        cached = self._cache.get(key)
        if cached is not None:
            self.cache_hits += 1
            return cached
        match = self._search(state)
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[key] = match
        return match

    def _search(self, state: np.ndarray) -> Match:
        if self._faiss is None:
            return Match(-1, 0.0)
        self.searches += 1
        _, found = self._faiss.search(state.reshape(1, -1), self.candidates)
        found = found[0][found[0] >= 0]
        scores = similarity(self.metric, state, self.group_states[found], self.n_bits)
        best = int(np.argmax(scores))  # ties: the Hamming-nearer candidate (faiss's order)
        return Match(int(found[best]), float(scores[best]))

    def counters_state(self) -> tuple[int, int, int, int]:
        """The query counters, for checkpoints (the cache itself is rebuilt on demand)."""
        return (self.queries, self.exact_hits, self.cache_hits, self.searches)

    def load_counters_state(self, state: tuple[int, int, int, int]) -> None:
        self.queries, self.exact_hits, self.cache_hits, self.searches = (int(v) for v in state)

    def stats(self) -> dict[str, float]:
        """Query counters since the last call (then reset): how queries were answered."""
        n = self.queries
        out = {"index_queries": n,
               "index_exact_share": self.exact_hits / n if n else float("nan"),
               "index_cache_share": self.cache_hits / n if n else float("nan"),
               "index_search_share": self.searches / n if n else float("nan")}
        self.queries = self.exact_hits = self.cache_hits = self.searches = 0
        return out
