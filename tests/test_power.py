"""Multiple-test adjustments, the exact test's floor and fragility, and the power simulations
(algos/evidence/power.py), on hand-computed values and reference numbers."""

import numpy as np
import pytest
from scipy import stats as scipy_stats

from algos.evidence.power import (
    benjamini_hochberg,
    holm,
    min_attainable_p,
    power_of_level,
    rank_swaps_to_cross,
    seeds_for_power,
)
from algos.evidence.stats import one_sided_p_values

NAN = float("nan")


def test_benjamini_hochberg_on_hand_computed_values():
    # m = 4 (the NaN is not counted): sorted 0.005, 0.01, 0.03, 0.04 scaled by 4/i to 0.02,
    # 0.02, 0.04, 0.04, already monotone.
    out = benjamini_hochberg([0.01, 0.04, 0.03, 0.005, NAN])
    np.testing.assert_allclose(out, [0.02, 0.04, 0.04, 0.02, NAN])
    # 0.04, 0.04, 0.0333, 0.5: a later smaller value carries down to the earlier ones.
    np.testing.assert_allclose(benjamini_hochberg([0.01, 0.02, 0.025, 0.5]),
                               [0.1 / 3, 0.1 / 3, 0.1 / 3, 0.5])
    np.testing.assert_allclose(benjamini_hochberg([0.9, 0.8]), [0.9, 0.9])
    assert np.isnan(benjamini_hochberg([NAN, NAN])).all()
    assert benjamini_hochberg([]).shape == (0,)
    with pytest.raises(ValueError, match="lie in"):
        benjamini_hochberg([0.5, 1.5])


def test_holm_on_hand_computed_values():
    # m = 4: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1: 0.02, 0.03, 0.06, 0.04, then the
    # running maximum: 0.02, 0.03, 0.06, 0.06.
    out = holm([0.01, 0.04, 0.03, 0.005, NAN])
    np.testing.assert_allclose(out, [0.03, 0.06, 0.06, 0.02, NAN])
    np.testing.assert_allclose(holm([0.6, 0.7]), [1.0, 1.0])  # capped at 1
    np.testing.assert_allclose(holm([[0.01, NAN], [0.02, 0.5]]), [[0.03, NAN], [0.04, 0.5]])
    # Holm is never below Benjamini-Hochberg (it guards the family-wise error).
    p = np.random.default_rng(0).random(20) ** 3
    assert (holm(p) >= benjamini_hochberg(p) - 1e-12).all()


def test_min_attainable_p_is_one_over_the_relabelings():
    assert min_attainable_p(3, 3) == pytest.approx(0.05)
    assert min_attainable_p(5, 5) == pytest.approx(1 / 252)
    assert min_attainable_p(2, 2) == pytest.approx(1 / 6)
    # It is the exact test's p where every run of A beats every run of B.
    assert one_sided_p_values(np.array([4.0, 5, 6, 7]), np.array([1.0, 2, 3]))[0] == (
        pytest.approx(min_attainable_p(4, 3)))
    with pytest.raises(ValueError, match="a run on each side"):
        min_attainable_p(0, 3)


def test_rank_swaps_to_cross_both_ways():
    # Significant at 3 against 3 (p = 0.05): one reversal (3 and 4) makes p = 0.1.
    assert rank_swaps_to_cross([4, 5, 6], [1, 2, 3], 0.05) == 1
    # Five against five, p = 1/252: the tail counts of U are 1, 2, 4, 7, 12, 19 (of 252) from
    # U = 25 down, so U must fall to 20 (p = 19/252 > 0.05): five reversals.
    assert rank_swaps_to_cross([6, 7, 8, 9, 10], [1, 2, 3, 4, 5], 0.05) == 5
    assert rank_swaps_to_cross([6, 7, 8, 9, 10], [1, 2, 3, 4, 5], 0.01) == 2  # 4/252 > 0.01
    # Not significant: U = 6 of 9 must rise to 9 (p = 0.05), three reversals; from U = 0, nine.
    assert rank_swaps_to_cross([2, 4, 6], [1, 3, 5], 0.05) == 3
    assert rank_swaps_to_cross([1, 2, 3], [4, 5, 6], 0.05) == 9
    # Two against two can never reach 0.05 (p >= 1/6); tied runs never move.
    assert rank_swaps_to_cross([3, 4], [1, 2], 0.05) is None
    assert rank_swaps_to_cross([1, 1, 1], [1, 1, 1], 0.05) is None


def test_rank_swaps_with_ties_count_a_tie_as_half():
    # Midranks 1, 2.5, 2.5 | 4, 5, 6: p = 1/20. Exchanging A's 5 with a B's 2 moves U by
    # (1 + 2) / 2 = 1.5 (a loss to B's 5, a tie with the other 2) to R_A = 13.5, which three
    # relabelings of twenty reach: p = 0.15. U moved 1.5: two reversals, rounded up.
    assert one_sided_p_values(np.array([5.0, 6, 7]), np.array([1.0, 2, 2]))[0] == (
        pytest.approx(0.05))
    assert one_sided_p_values(np.array([2.0, 6, 7]), np.array([1.0, 2, 5]))[0] == (
        pytest.approx(0.15))
    assert rank_swaps_to_cross([5, 6, 7], [1, 2, 2], 0.05) == 2


def test_scipys_exact_mann_whitney_equals_the_suites_exact_test_without_ties():
    """What the power simulation relies on (and rank_swaps_to_cross without ties)."""
    rng = np.random.default_rng(1)
    for n_a, n_b in ((3, 3), (4, 6), (5, 5), (7, 7)):
        for _ in range(10):
            a, b = rng.lognormal(0.2, 0.3, n_a), rng.lognormal(0, 0.3, n_b)
            ours = one_sided_p_values(a, b)[0]
            theirs = scipy_stats.mannwhitneyu(a, b, alternative="greater", method="exact")
            assert ours == pytest.approx(theirs.pvalue, abs=1e-12)


def test_seeds_for_power_against_reference_numbers():
    """CV 0.15 a side, a 24 % gain: power 0.64 at 5 runs. At 8 runs the exact permutation test
    has 0.82 (the 0.86 measured elsewhere is the Welch t-test's power, 0.855 on these draws: the
    exact test of 8 against 8 checked run by run against stats.one_sided_p_values gives 0.80 on
    1,500 samples). CV 0.08: 0.98 at 5 runs."""
    power, n = seeds_for_power(0.15, 0.15, 0.24, max_seeds=10)
    assert power[5] == pytest.approx(0.64, abs=0.03)
    assert power[8] == pytest.approx(0.82, abs=0.03)
    assert n == 8
    power, n = seeds_for_power(0.08, 0.08, 0.24, max_seeds=5)
    assert power[5] == pytest.approx(0.98, abs=0.015)
    # No gain: the power is the test's size, at most alpha.
    power, n = seeds_for_power(0.15, 0.15, 0.0, max_seeds=6)
    assert max(power.values()) <= 0.05 + 0.01 and n is None
    assert seeds_for_power(0.15, 0.15, 0.24, max_seeds=5, sims=500) == (
        seeds_for_power(0.15, 0.15, 0.24, max_seeds=5, sims=500))  # seeded


def test_power_of_level_grows_with_runs_and_is_capped_by_the_experts_error():
    power, n = power_of_level(0.3, 0.1, 0.02, max_seeds=8, sims=2000)
    assert power[3] < power[8] and n is not None and n <= 8
    # With the expert's SE at 0.05 the half-width stays above 1.98 * 0.05 * 1.1 whatever the
    # runs: a 5 % margin is out of reach.
    power, n = power_of_level(0.05, 0.05, 0.05, max_seeds=20, sims=1000)
    assert n is None and max(power.values()) < 0.5
    capped, n = power_of_level(0.3, 0.1, 0.02, max_seeds=8, sims=2000, above=False)
    assert capped[8] > 0.8 and n is not None
