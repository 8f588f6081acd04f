"""The most similar expert state above a threshold τ, over bit-packed binary states.

MinAtar states are sparse boolean grids (6-47 of 400-1000 bits set), stored bit-packed
(``envs.pack_states``). DIIQN asks one question per agent transition: *is there an expert state
with similarity >= τ, and which is the most similar?* ``ExpertStateIndex`` answers it exactly,
in three tiers:

1. **Exact hashing.** The expert's states are deduplicated into *groups* (one per distinct state,
   numbered in order of first appearance, listing the expert transitions that start there); a
   dict from a state's bytes to its group answers exact matches in about a microsecond.
2. **A threshold index** for the rest, by metric:

   * ``jaccard``: the prefix filter of set-similarity joins (AllPairs, Bayardo et al. 2007).
     Order the bits by rarity in the expert's states. If ``J(s, t) >= τ`` then the two states
     share at least ``ceil(τ |x|)`` bits for ``x`` either of them, so the first
     ``|x| - ceil(τ |x|) + 1`` bits of ``s`` and of ``t`` in that order have a bit in common
     (the first shared bit lies in both). The index lists each expert state under the bits of
     its own prefix (two or three rare bits at τ = 0.97), a query reads the lists of its prefix,
     keeps the candidates whose size lies in ``[τ |s|, |s| / τ]``, and verifies those few
     exactly. Where the prefix's lists would hold more than ``scan_share`` of the states (a low
     τ), it verifies every state instead (``index_scan_share`` in the diagnostics).
   * ``hamming`` (``1 - popcount(s ^ t) / n_bits``, the paper notes' normalisation): one exact
     scan of every state; a threshold over all bits filters nothing on sparse states.
   * ``exact``: no search (identical or nothing, whatever τ).

   Every answer is what an exhaustive scan gives: the largest similarity, ties to the lowest
   group id, or no match if it is below τ; no library's order of equal neighbours decides.
3. **A cache** of answered queries keyed by the state's bytes: agents revisit states, and the
   answer never changes because the expert's states do not.

Similarities (``SIMILARITIES``), all in [0, 1], 1 for identical states:

* ``jaccard`` (default): shared set bits over the union of set bits, ``|a & b| / |a | b|``.
  Normalising by all bits instead makes two *unrelated* sparse states look 93-99 % similar (see
  ``docs/algorithms.md``), so a threshold like τ = 0.97 would accept random matches.
* ``hamming``: ``1 - popcount(a ^ b) / n_bits``, kept for the metric-sensitivity check.
* ``exact``: 1 if the states are identical, else 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from algos.algorithms import SIMILARITIES

# Slack for ceil/floor of τ|s| computed in floating point: a bound made looser by it can only
# add candidates, never lose one (the verification decides).
_SLACK = 1e-9


def popcount(rows: np.ndarray) -> np.ndarray:
    """Set bits per row of a packed uint8 array ``(..., nbytes)``."""
    return np.bitwise_count(rows).sum(axis=-1, dtype=np.int32)


def similarity(metric: str, a: np.ndarray, rows: np.ndarray, n_bits: int) -> np.ndarray:
    """Similarity (float64) of packed state ``a`` (``(nbytes,)``) to each packed row of
    ``rows``."""
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


def prefix_length(size: int, tau: float) -> int:
    """Bits of a state of ``size`` set bits that the prefix filter lists it under (> size: the
    filter cannot prune, as at τ = 0)."""
    return size - math.ceil(tau * size - _SLACK) + 1


@dataclass(frozen=True)
class Match:
    """The most similar expert state within τ of a query: its group, or -1 if none."""

    group: int
    similarity: float


NO_MATCH = Match(-1, 0.0)


class ExpertStateIndex:
    """The expert's distinct states, their transitions, and threshold queries over them.

    Args:
        states: packed expert states ``(N, nbytes)`` (one per expert transition).
        n_bits: bits per state before packing (``C * 10 * 10``).
        metric: one of ``SIMILARITIES``.
        tau: the threshold τ; ``nearest`` returns no match below it.
        cache_size: answered queries kept (cleared whole when full, to bound memory).
        scan_share: verify every state instead of the prefix's candidates when these would be
            more than this share of the states.
    """

    def __init__(self, states: np.ndarray, n_bits: int, metric: str = "jaccard",
                 tau: float = 0.97, cache_size: int = 200_000, scan_share: float = 0.25):
        if metric not in SIMILARITIES:
            raise ValueError(f"unknown similarity {metric!r}; valid: {', '.join(SIMILARITIES)}")
        if not 0.0 <= tau <= 1.0:
            raise ValueError(f"tau must lie in [0, 1], got {tau}")
        self.metric, self.n_bits, self.tau = metric, n_bits, float(tau)
        unique, first, inverse = np.unique(states, axis=0, return_index=True,
                                           return_inverse=True)
        # Groups in order of first appearance, so group ids do not depend on byte order.
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        # The distinct states padded to whole 64-bit words (a popcount per word, not per byte);
        # group_states is a view of their bytes.
        nbytes = states.shape[1]
        padded = np.zeros((len(order), -(-nbytes // 8) * 8), dtype=np.uint8)
        padded[:, :nbytes] = unique[order]
        self._group_words = padded.view(np.uint64)
        self.group_states = padded[:, :nbytes]
        self.group_of = rank[inverse.reshape(-1)].astype(np.int32)  # expert transition -> group
        # CSR layout: the transitions of group g are members[starts[g]:starts[g + 1]].
        self.members = np.argsort(self.group_of, kind="stable").astype(np.int64)
        sizes = np.bincount(self.group_of, minlength=len(self.group_states))
        self.starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.sizes = sizes.astype(np.int64)
        self.set_bits = popcount(self.group_states)  # per group
        self._exact = {row.tobytes(): g for g, row in enumerate(self.group_states)}
        self._scan_limit = scan_share * len(self.group_states)
        if metric == "jaccard":
            self._build_prefix_lists()
            self._set_bits_float = self.set_bits.astype(np.float64)
            self._word_ones = np.ones(self._group_words.shape[1])
        self._cache: dict[bytes, Match] = {}
        self._cache_size = cache_size
        self._counts = dict.fromkeys(("queries", "exact", "cache", "searches", "scans",
                                      "candidates"), 0)

    def __len__(self) -> int:
        """Number of distinct expert states (groups)."""
        return len(self.group_states)

    def memory_bytes(self) -> int:
        """Bytes held by the index's arrays: the distinct states (padded), their transitions,
        and the prefix lists."""
        arrays = [self._group_words, self.group_of, self.members, self.starts, self.sizes,
                  self.set_bits] + ([self.bit_rank, self.list_keys, self.list_groups]
                                    if self.metric == "jaccard" else [])
        return sum(a.nbytes for a in arrays)

    def group_members(self, group: int) -> np.ndarray:
        """Indices of the expert transitions whose start state is group ``group``."""
        return self.members[self.starts[group]: self.starts[group + 1]]

    # --- the prefix filter ----------------------------------------------------------------------
    def _build_prefix_lists(self) -> None:
        """Rank the bits by rarity (then id) and list each group under the ranks of its prefix
        bits, keyed by (rank, the bit's position in the group's prefix, group size, group id):
        a query then reads each candidate window as one contiguous slice."""
        bits = np.unpackbits(self.group_states, axis=1, count=self.n_bits).astype(bool)
        frequency = bits.sum(axis=0)
        self.bit_rank = np.empty(self.n_bits, dtype=np.int64)
        self.bit_rank[np.lexsort((np.arange(self.n_bits), frequency))] = np.arange(self.n_bits)
        groups, columns = np.nonzero(bits)  # row-major: by group, then bit id
        del bits
        ranks = self.bit_rank[columns]
        sizes = self.set_bits[groups].astype(np.int64)
        # Within a group, its bits in rank order; keep the first prefix_length of them.
        order = np.lexsort((ranks, groups))
        groups, ranks, sizes = groups[order], ranks[order], sizes[order]
        position = np.arange(len(groups)) - np.searchsorted(groups, groups)
        lengths = np.array([prefix_length(s, self.tau) for s in range(self.n_bits + 1)])
        keep = position < lengths[sizes]
        groups, ranks, sizes, position = groups[keep], ranks[keep], sizes[keep], position[keep]
        self._positions = int(position.max(initial=-1)) + 1
        self._width = int(self.set_bits.max(initial=0)) + 2
        keys = (ranks * self._positions + position) * self._width + sizes
        order = np.lexsort((groups, keys))
        self.list_keys = keys[order]
        self.list_groups = groups[order].astype(np.int32)

    def _candidates(self, bits: np.ndarray) -> np.ndarray | None:
        """Groups that may lie within τ of a query with set bits ``bits`` (a group may appear
        twice); None when these would be too many (then every state is verified).

        A candidate ``t`` is listed under the query's i-th prefix bit at position j of its own
        prefix. Besides the prefix filter, the size filter (``τ|s| <= |t| <= |s|/τ``) and the
        positional filter of PPJoin (Xiao et al. 2008): counting from that bit, the two share at
        most ``min(|s| - i, |t| - j)`` bits and need ``ceil(τ (|s| + |t|) / (1 + τ))``; where
        it is their first shared bit the bound holds, so a true match survives at least there.
        Both bounds are bounds on ``|t|`` for each (i, j): one contiguous slice of the lists."""
        size, tau = len(bits), self.tau
        length = prefix_length(size, tau)
        if length > size:
            return None
        share = tau / (1.0 + tau)
        low = math.ceil(tau * size - _SLACK)
        high = min(math.floor(size / tau + _SLACK), self._width - 2)
        prefix = np.sort(self.bit_rank[bits])[:length].tolist()
        edges = []
        for i, rank in enumerate(prefix):
            # |s| - i >= share (|s| + |t|)  <=>  |t| <= (|s| - i) / share - |s|
            top = min(high, math.floor((size - i) / share - size + _SLACK))
            for j in range(self._positions):
                # |t| - j >= share (|s| + |t|)  <=>  |t| >= (j + share |s|) / (1 - share)
                bottom = max(low, math.ceil((j + share * size) / (1.0 - share) - _SLACK))
                if bottom <= top:
                    base = (rank * self._positions + j) * self._width
                    edges += (base + bottom, base + top + 1)
        if not edges:
            return np.zeros(0, dtype=np.int32)
        bounds = np.searchsorted(self.list_keys, edges).tolist()
        starts, ends = bounds[0::2], bounds[1::2]
        if sum(ends) - sum(starts) > self._scan_limit:
            return None
        return np.concatenate([self.list_groups[a:b] for a, b in zip(starts, ends, strict=True)])

    # --- queries --------------------------------------------------------------------------------
    def nearest(self, state: np.ndarray) -> Match:
        """The most similar distinct expert state to packed ``state`` if its similarity is at
        least τ (ties: the lowest group id), else ``NO_MATCH``."""
        counts = self._counts
        counts["queries"] += 1
        key = state.tobytes()
        group = self._exact.get(key)
        if group is not None:
            counts["exact"] += 1
            return Match(group, 1.0)
        cached = self._cache.get(key)
        if cached is not None:
            counts["cache"] += 1
            return cached
        match = self._search(state)
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[key] = match
        return match

    def _search(self, state: np.ndarray) -> Match:
        """The exact answer for a state with no identical expert state."""
        if self.metric == "exact":
            return NO_MATCH
        counts = self._counts
        counts["searches"] += 1
        if self.metric == "hamming":
            counts["scans"] += 1
            counts["candidates"] += len(self)
            return self._best(np.arange(len(self)),
                              similarity("hamming", state, self.group_states, self.n_bits))
        bits = np.flatnonzero(np.unpackbits(state, count=self.n_bits))
        candidates = self._candidates(bits)
        if candidates is None:
            counts["scans"] += 1
            candidates = np.arange(len(self))
        counts["candidates"] += len(candidates)
        if not len(candidates):
            return NO_MATCH
        # |s & t| by a popcount per 64-bit word, summed by a product with ones (exact: small
        # integers in float64); |s | t| = |s| + |t| - |s & t| is at least 1, as the query
        # has no identical expert state.
        rows = np.take(self._group_words, candidates, axis=0)
        np.bitwise_and(rows, self._state_words(state), out=rows)
        inter = np.bitwise_count(rows).astype(np.float64) @ self._word_ones
        union = (len(bits) + np.take(self._set_bits_float, candidates)) - inter
        return self._best(candidates, inter / union)

    def _best(self, groups: np.ndarray, scores: np.ndarray) -> Match:
        """The largest score if it is at least τ, ties to the lowest group id (``groups`` may
        repeat and be in any order); else ``NO_MATCH``."""
        best = scores.max()
        if not best >= self.tau:
            return NO_MATCH
        return Match(int(groups[scores == best].min()), float(best))

    def _state_words(self, state: np.ndarray) -> np.ndarray:
        padded = np.zeros(self._group_words.shape[1] * 8, dtype=np.uint8)
        padded[: len(state)] = state
        return padded.view(np.uint64)

    # --- counters -------------------------------------------------------------------------------
    def counters_state(self) -> dict[str, int]:
        """The query counters, for checkpoints (the cache itself is rebuilt on demand)."""
        return dict(self._counts)

    def load_counters_state(self, state: dict[str, int]) -> None:
        self._counts.update({k: int(v) for k, v in state.items()})

    def stats(self) -> dict[str, float]:
        """How queries were answered since the last call, then reset: the share answered by the
        exact table, by the cache and by a search; of the searches, the share that verified
        every state, and the states verified per search."""
        c = self._counts
        n, searches = c["queries"], c["searches"]

        def ratio(x: int, y: int) -> float:
            return x / y if y else float("nan")

        out = {"index_queries": n,
               "index_exact_share": ratio(c["exact"], n),
               "index_cache_share": ratio(c["cache"], n),
               "index_search_share": ratio(searches, n),
               "index_scan_share": ratio(c["scans"], searches),
               "index_candidates_mean": ratio(c["candidates"], searches)}
        self._counts = dict.fromkeys(c, 0)
        return out
