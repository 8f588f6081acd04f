"""The confidence Φ: its terms on hand-computed inputs, both readings of the trust term, the
counts of training per expert state and per region, and β relative to the Q gaps."""

import math

import numpy as np
import pytest

from algos.confidence import (
    GapScale,
    VisitCounts,
    confidence,
    delta_q_term,
    delta_term,
    pooled_regions,
    trust_term,
    zeta_term,
)
from algos.envs import pack_states


def test_confidence_terms_on_hand_computed_inputs():
    # ΔQ = σ(β (Q(s_e, a_e) - Q(s_e, a_a)))
    dq = delta_q_term(np.array([1.0, 0.0, -1.0]), beta=2.0)
    assert dq.dtype == np.float32
    assert dq.tolist() == pytest.approx([1 / (1 + math.exp(-2)), 0.5, 1 / (1 + math.exp(2))])
    assert delta_q_term(np.array([-1e6, 1e6]), beta=1.0).tolist() == pytest.approx([0.0, 1.0])
    # δ = log(1 + min(c, c_max)) / log(1 + c_max): 0 untrained, 1 at c_max, clamped beyond.
    delta = delta_term(np.array([0, 99, 1000, 10**9]), c_max=1000)
    assert delta.tolist() == pytest.approx([0.0, math.log(100) / math.log(1001), 1.0, 1.0])
    # ζ = 1 - err / err_max: 1 for a perfect match, 0 at err = err_max.
    zeta = zeta_term(np.array([0.0, 0.05, 0.2]), err_max=0.2)
    assert zeta.tolist() == pytest.approx([1.0, 0.75, 0.0])
    assert zeta_term(np.array([0.0]), err_max=0.0).tolist() == [1.0]  # only perfect matches yet
    # Φ = min(ΔQ · trust, ζ)
    phi = confidence(np.array([0.9, 0.9, 0.5]), np.array([1.0, 0.5, 1.0]),
                     np.array([0.3, 1.0, 1.0]))
    assert phi.tolist() == pytest.approx([0.3, 0.45, 0.5])


def test_trust_grows_with_training_in_one_reading_and_decays_in_the_other():
    delta = delta_term(np.array([0, 10, 100]), c_max=100)
    growing, decaying = trust_term(delta, "growing"), trust_term(delta, "decaying")
    assert growing.tolist() == pytest.approx([0.0, math.log(11) / math.log(101), 1.0])
    assert decaying.tolist() == pytest.approx([1.0, 1 - math.log(11) / math.log(101), 0.0])
    # Decaying trust switches the expert off where the region is trained, whatever ΔQ says.
    assert confidence(np.ones(3, np.float32), decaying, np.ones(3, np.float32))[-1] == 0.0
    with pytest.raises(ValueError, match="trust"):
        trust_term(delta, "sometimes")


def test_counts_per_state_per_region_and_global():
    regions = np.array([0, 0, 1, 2])  # expert states 0 and 1 look alike
    state = VisitCounts("state", np.arange(4))
    region = VisitCounts("region", regions)
    for counts in (state, region):
        counts.trained(np.array([0, 0, 3]))  # one update, three matched samples
        counts.trained(np.array([1]))
    assert state.of(np.array([0, 1, 2, 3]), updates=2).tolist() == [2, 1, 0, 1]
    assert region.of(np.array([0, 1, 2, 3]), updates=2).tolist() == [3, 3, 0, 1]
    assert VisitCounts("updates", np.arange(4)).of(np.array([0, 3]), updates=7).tolist() == [7, 7]


def test_regions_are_max_pooled_states():
    """Two states whose objects move within one 2x2 square share a region; a move across
    squares does not."""
    def state(*cells):
        grid = np.zeros((1, 4, 4), bool)
        for row, col in cells:
            grid[0, row, col] = True
        return pack_states(grid)

    groups = np.stack([state((0, 0)), state((1, 1)), state((0, 2)), state((0, 0), (3, 3))])
    assert pooled_regions(groups, (1, 4, 4), pool=2).tolist() == [0, 0, 1, 2]
    assert pooled_regions(groups, (1, 4, 4), pool=4).tolist() == [0, 0, 0, 0]
    # A side that the pool does not divide is padded, not cut.
    assert pooled_regions(groups, (1, 4, 4), pool=3).tolist() == [0, 0, 0, 1]


def test_gap_scale_is_a_running_mean_of_absolute_gaps():
    scale = GapScale(rate=0.5)
    scale.update(np.array([]))
    assert scale.value == 0.0
    scale.update(np.array([0.1, -0.3]))  # the first batch sets it: mean |gap| = 0.2
    assert scale.value == pytest.approx(0.2)
    scale.update(np.array([1.0]))
    assert scale.value == pytest.approx(0.6)
    # β in units of the scale: a gap of one scale gives σ(β) whatever the Q-values' size.
    assert delta_q_term(np.array([0.6]), beta=2.0 / scale.value)[0] == pytest.approx(
        1 / (1 + math.exp(-2)))
