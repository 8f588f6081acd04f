"""DIIQN's confidence Φ in the expert: its terms as pure functions, and the state they need.

``Φ = min(ΔQ · trust(c), ζ)`` per augmented sample (docs/paper.md, "Probable"), with

* ``ΔQ = σ(β [Q(s_e, a_e) - Q(s_e, a_a)])``: does the network rate the expert's action above the
  agent's?
* ``δ(c) = log(1 + min(c, c_max)) / log(1 + c_max)``: how much the network has been trained
  where the sample lies. ``trust(c)`` is δ itself ([KR]'s formula, trust *grows* with training)
  or ``1 - δ`` (the brief's words, trust *decays* as the agent's Q-model becomes trained on a
  region): both readings are settings (``docs/algorithms.md`` says what the runs showed).
* ``ζ = 1 - err / err_max``: how reliable the inferred action is.

``VisitCounts`` keeps c: the number of times the Q-network was trained on an agent sample matched
to an expert state of the region (``state``: one distinct expert state; ``region``: the expert
states that look alike once each channel is max-pooled over ``region_pool``-wide squares), or
the global update count (``updates``, the first build's reading). ``GapScale`` keeps the running
mean of |Q(s_e, a_e) - Q(s_e, a_a)|, so that β can be set relative to it.

Every transcendental is evaluated in float64 and rounded to float32: float64 ``exp`` and
``log1p`` differ in the last bit between numpy's AVX-512, AVX2 and baseline loops, and a last-bit
difference survives the rounding about once in 2**28 values; the rest is basic arithmetic in
float32, the same on every CPU (docs/performance.md, "Same results on every CPU").
"""

from __future__ import annotations

import numpy as np

from .envs import unpack_states

TRUSTS = ("growing", "decaying")
VISIT_COUNTS = ("updates", "state", "region")


def delta_q_term(gap: np.ndarray, beta: float) -> np.ndarray:
    """ΔQ = σ(β gap) for ``gap = Q(s_e, a_e) - Q(s_e, a_a)``: high when the network rates the
    expert's action above the agent's (float32)."""
    x = beta * np.asarray(gap, np.float64)
    return (1.0 / (1.0 + np.exp(-np.clip(x, -100.0, 100.0)))).astype(np.float32)


def delta_term(counts: np.ndarray | float, c_max: int) -> np.ndarray:
    """δ = log(1 + min(c, c_max)) / log(1 + c_max): how trained the Q-estimates are, in [0, 1]
    (float32)."""
    return (np.log1p(np.minimum(counts, c_max)) / np.log1p(c_max)).astype(np.float32)


def trust_term(delta: np.ndarray, trust: str) -> np.ndarray:
    """The training-frequency factor of Φ: δ (``growing``) or 1 - δ (``decaying``)."""
    if trust not in TRUSTS:
        raise ValueError(f"trust must be one of {', '.join(TRUSTS)}, got {trust!r}")
    return delta if trust == "growing" else np.float32(1.0) - delta


def zeta_term(errors: np.ndarray, err_max: float) -> np.ndarray:
    """ζ = 1 - err / err_max: how reliable the inferred action is, in [0, 1] (1 if err_max is 0,
    i.e. every recorded match was perfect); float32."""
    if err_max <= 0:
        return np.ones(np.shape(errors), dtype=np.float32)
    return np.clip(1.0 - np.asarray(errors, np.float64) / err_max, 0.0, 1.0).astype(np.float32)


def confidence(delta_q: np.ndarray, trust: np.ndarray, zeta: np.ndarray) -> np.ndarray:
    """Φ = min(ΔQ · trust, ζ), in float32."""
    return np.minimum(np.float32(delta_q) * np.float32(trust), np.float32(zeta))


def pooled_regions(group_states: np.ndarray, state_shape: tuple[int, int, int],
                   pool: int) -> np.ndarray:
    """Region id of each distinct expert state: states whose channels, max-pooled over
    ``pool`` x ``pool`` squares, are equal share a region (ids in order of first appearance)."""
    channels, height, width = state_shape
    states = unpack_states(group_states, state_shape)
    pad_h, pad_w = -height % pool, -width % pool
    states = np.pad(states, ((0, 0), (0, 0), (0, pad_h), (0, pad_w)))
    pooled = states.reshape(len(states), channels, (height + pad_h) // pool, pool,
                            (width + pad_w) // pool, pool).any(axis=(3, 5))
    keys = np.packbits(pooled.reshape(len(states), -1), axis=1)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse.reshape(-1)]


class VisitCounts:
    """c per region of expert states: how often the Q-network has been trained there.

    Args:
        kind: ``updates`` (one global count, read from the learner), ``state`` or ``region``.
        regions: region id of each distinct expert state (``state``: the identity).
    """

    def __init__(self, kind: str, regions: np.ndarray):
        if kind not in VISIT_COUNTS:
            raise ValueError(f"visit_count must be one of {', '.join(VISIT_COUNTS)}, "
                             f"got {kind!r}")
        self.kind, self.regions = kind, regions
        self.counts = np.zeros(int(regions.max(initial=-1)) + 1, dtype=np.int64)

    def of(self, groups: np.ndarray, updates: int) -> np.ndarray:
        """c of the regions of expert states ``groups``."""
        if self.kind == "updates":
            return np.full(len(groups), updates, dtype=np.int64)
        return self.counts[self.regions[groups]]

    def trained(self, groups: np.ndarray) -> None:
        """One update trained on agent samples matched to ``groups`` (repeats count)."""
        np.add.at(self.counts, self.regions[groups], 1)

    def __len__(self) -> int:
        return len(self.counts)


class GapScale:
    """Running mean of |Q(s_e, a_e) - Q(s_e, a_a)| over usable samples (exponential, with
    ``rate`` per batch; the first batch sets it)."""

    def __init__(self, rate: float = 0.01):
        self.rate, self.value = rate, 0.0

    def update(self, gaps: np.ndarray) -> None:
        if not len(gaps):
            return
        batch = float(np.abs(np.asarray(gaps, np.float64)).mean())
        self.value = batch if self.value == 0.0 else self.value + self.rate * (batch - self.value)
