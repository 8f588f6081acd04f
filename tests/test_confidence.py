"""The confidence Φ: its terms on hand-computed inputs, both readings of the trust term, the
counts of training per expert state and per region, β relative to the Q gaps, and the pieces of
issue 27's settings (gaps from two values, the rows of the gap scale, the same-effect test, the
margin's weight)."""

import math

import numpy as np
import pytest

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


def test_gaps_from_two_values_are_zero_where_the_actions_agree():
    """``delta_q_source=targets``: gap = y_e - y_a, but exactly 0 where a_e = a_a."""
    gaps = q_gaps(np.array([0.5, 0.5, 2.0], np.float32), np.array([1.0, 0.25, 7.0], np.float32),
                  expert_actions=np.array([0, 0, 3]), agent_actions=np.array([1, 2, 3]))
    assert gaps.dtype == np.float64
    assert gaps.tolist() == [-0.5, 0.25, 0.0]


def test_the_gap_scale_over_differing_rows_leaves_out_the_agreeing_zeros():
    """Gaps 0.4 where the agent deviated and three exact zeros where it agreed: over all rows
    the scale is 0.1, so β = 2 per scale turns the gap 0.4 into σ(8) = 1.0; over the differing
    row alone the scale is 0.4 and ΔQ = σ(2) = 0.88."""
    gaps = np.array([0.4, 0.0, 0.0, 0.0])
    expert, agent = np.array([0, 0, 1, 1]), np.array([1, 0, 1, 1])
    assert scale_rows(gaps, expert, agent, "all") is gaps
    assert scale_rows(gaps, expert, agent, "differing").tolist() == [0.4]
    for rows, scale, dq in (("all", 0.1, 1 / (1 + math.exp(-8))),
                            ("differing", 0.4, 1 / (1 + math.exp(-2)))):
        running = GapScale()
        running.update(scale_rows(gaps, expert, agent, rows))
        assert running.value == pytest.approx(scale)
        assert delta_q_term(gaps[:1], beta=2.0 / running.value)[0] == pytest.approx(dq)
    running = GapScale()
    running.update(scale_rows(np.zeros(2), np.array([1, 1]), np.array([1, 1]), "differing"))
    assert running.value == 0.0  # a batch where every row agrees leaves the scale alone
    with pytest.raises(ValueError, match="gap_scale_rows"):
        scale_rows(gaps, expert, agent, "some")


def test_same_effect_reads_the_agents_own_play():
    """P(a) = matches / tries per (expert transition, action). Row 0: a_a = 2 made the expert's
    change every time it was tried, as a_e did: the same effect (a move into a wall, a no-op).
    Row 1: a_a made it once in 10 tries against a_e's 9 in 10 (a sticky repeat): different.
    Row 2: never. Row 3: a_a = a_e. Row 4: no evidence on a_e (P = 0, as for a HA-DIIQN bridge
    action): different. Row 5: half as often as a_e, the threshold: the same."""
    matches = np.array([[4, 0, 3], [9, 1, 0], [5, 0, 0], [2, 0, 0], [0, 3, 0], [4, 1, 0]])
    tries = np.array([[4, 1, 3], [10, 10, 1], [5, 5, 0], [2, 0, 0], [0, 3, 0], [4, 2, 0]])
    expert = np.array([0, 0, 0, 0, 0, 0])
    agent = np.array([2, 1, 1, 0, 1, 1])
    rows = np.arange(6)
    assert same_effect(matches, tries, rows, rows, expert, agent).tolist() == [
        True, False, False, True, False, True]
    # Samples name their rows: transition 2 seen from state 1 (whose tries are [10, 10, 1]).
    assert same_effect(matches, tries, np.array([2, 0]), np.array([1, 0]), np.array([0, 0]),
                       np.array([1, 2])).tolist() == [False, True]


def test_margin_weights_fade_with_the_count():
    """λ (1 - δ(c)): λ at c = 0, λ (1 - log 11 / log 101) at c = 10, 0 from c_max on."""
    delta = delta_term(np.array([0, 10, 100, 500]), c_max=100)
    assert margin_weights(2.0, delta, "none").tolist() == [2.0] * 4
    faded = margin_weights(2.0, delta, "count")
    assert faded.dtype == np.float32
    assert faded.tolist() == pytest.approx([2.0, 2.0 * (1 - math.log(11) / math.log(101)),
                                            0.0, 0.0])
    with pytest.raises(ValueError, match="margin_decay"):
        margin_weights(1.0, delta, "linear")
