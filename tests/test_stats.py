"""Aggregate statistics: our functions against rliable and by-hand values on known arrays."""

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from rliable import library as rly
from rliable import metrics

from algos.evidence.stats import (
    aggregate_metrics,
    aggregated_envs,
    balanced_seeds,
    normalise,
    one_sided_p_values,
    performance_profile,
    probability_of_improvement,
    score_matrices,
    step_adjusted_p_values,
    steps_to_threshold,
)

RNG = np.random.default_rng(0)
SCORES = {"a": RNG.normal(1.0, 0.3, (5, 4)), "b": RNG.normal(0.6, 0.3, (5, 4))}


def test_normalise_maps_random_to_zero_and_expert_to_one():
    random, expert = np.array([1.0, 0.0]), np.array([11.0, 4.0])
    scores = np.array([[1.0, 4.0], [6.0, 8.0]])
    np.testing.assert_allclose(normalise(scores, random, expert), [[0.0, 1.0], [0.5, 2.0]])
    with pytest.raises(ValueError, match="same as the random"):
        normalise(scores, random, random)


def test_point_estimates_are_rliables_and_match_hand_computation():
    out = aggregate_metrics(SCORES, reps=200)
    for algo, matrix in SCORES.items():
        flat = matrix.ravel()
        assert out[algo]["mean"][0] == pytest.approx(flat.mean())
        # rliable's median is the median over tasks of the mean over runs
        assert out[algo]["median"][0] == pytest.approx(np.median(matrix.mean(axis=0)))
        assert out[algo]["iqm"][0] == pytest.approx(scipy.stats.trim_mean(flat, 0.25))
        assert out[algo]["optimality_gap"][0] == pytest.approx(np.mean(1 - np.minimum(flat, 1)))
        assert out[algo]["iqm"][0] == pytest.approx(metrics.aggregate_iqm(matrix))
        for point, low, high in out[algo].values():
            assert low <= point <= high


def test_intervals_equal_rliables_with_the_same_seed_and_are_reproducible():
    """rliable's bootstrap draws from numpy's global generator whatever random_state it gets;
    ours seeds it (and leaves it as it was), for each algorithm alone."""
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    ours = aggregate_metrics(SCORES, reps=300, seed=7)
    assert (np.random.get_state()[1] == before).all()
    for algo, matrix in SCORES.items():
        np.random.seed(7)
        _, theirs = rly.get_interval_estimates(
            {algo: matrix},
            lambda m: np.array([metrics.aggregate_iqm(m), metrics.aggregate_median(m),
                                metrics.aggregate_mean(m), metrics.aggregate_optimality_gap(m)]),
            reps=300)
        np.testing.assert_allclose([ours[algo]["iqm"][1], ours[algo]["iqm"][2]],
                                   theirs[algo][:, 0])
    assert aggregate_metrics(SCORES, reps=300, seed=7) == ours
    assert aggregate_metrics(SCORES, reps=300, seed=8) != ours


def test_an_algorithms_interval_does_not_depend_on_the_others_in_the_table():
    """rliable draws the algorithms of one call in turn from one generator; the claims draw one
    method alone, an experiment's aggregates draw them all: both must give one interval."""
    alone = aggregate_metrics({"b": SCORES["b"]}, reps=300)["b"]
    assert aggregate_metrics(SCORES, reps=300)["b"] == alone
    assert aggregate_metrics({"c": SCORES["a"] + 1, **SCORES}, reps=300)["b"] == alone
    thresholds = np.array([0.5, 1.0])
    profile = performance_profile({"b": SCORES["b"]}, thresholds, reps=100)["b"]
    for ours, theirs in zip(performance_profile(SCORES, thresholds, reps=100)["b"], profile,
                            strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_probability_of_improvement_on_known_orderings():
    high, low = np.full((4, 3), 2.0), np.full((4, 3), 1.0)
    assert probability_of_improvement(high, low, reps=100)[0] == 1.0
    assert probability_of_improvement(low, high, reps=100)[0] == 0.0
    assert probability_of_improvement(low, low, reps=100)[0] == 0.5  # ties count half
    point, lo, hi = probability_of_improvement(SCORES["a"], SCORES["b"], reps=200)
    assert point == pytest.approx(metrics.probability_of_improvement(SCORES["a"], SCORES["b"]))
    assert 0.5 < point and lo <= point <= hi


def test_performance_profile_counts_runs_above_each_threshold():
    scores = {"x": np.array([[0.0, 0.5], [1.0, 1.5]])}
    fraction, low, high = performance_profile(scores, np.array([-1.0, 0.25, 1.0, 2.0]),
                                              reps=100)["x"]
    np.testing.assert_allclose(fraction, [1.0, 0.75, 0.25, 0.0])
    assert (low <= fraction + 1e-12).all() and (fraction <= high + 1e-12).all()


def test_bad_score_matrices_are_refused():
    with pytest.raises(ValueError, match="NaN"):
        aggregate_metrics({"a": np.array([[1.0, np.nan]])}, reps=10)
    with pytest.raises(ValueError, match="runs, tasks"):
        aggregate_metrics({"a": np.array([1.0, 2.0])}, reps=10)


def test_step_adjusted_p_values_on_hand_counted_relabelings():
    # One step, every run of A above every run of B: 1 relabeling of C(6, 3) = 20, the exact
    # Mann-Whitney p.
    a, b = np.array([[3.0], [4.0], [5.0]]), np.array([[0.0], [1.0], [2.0]])
    ahead, behind = step_adjusted_p_values(a, b)
    assert ahead == pytest.approx([0.05]) and behind == pytest.approx([1.0])
    assert ahead[0] == pytest.approx(one_sided_p_values(a[:, 0], b[:, 0])[0])
    # Ties: {1, 2, 2} against {0, 1, 1} has midranks 3, 5.5, 5.5 (sum 14); the relabelings
    # reaching 14 hold both 2s and one of the three 1s: 3 of 20 (scipy's exact method, which
    # assumes no ties, says 0.10).
    assert one_sided_p_values(np.array([1.0, 2, 2]), np.array([0.0, 1, 1])) == pytest.approx(
        (0.15, 1.0))
    # A second step where B's runs are all above: the swapped labels reach the same U there,
    # so both steps' p is 2 / 20; the ties of the third step (all equal) add nothing.
    a2 = np.hstack([a, b, np.ones((3, 1))])
    b2 = np.hstack([b, a, np.ones((3, 1))])
    ahead, behind = step_adjusted_p_values(a2, b2)
    assert ahead == pytest.approx([0.1, 1.0, 1.0]) and behind == pytest.approx([1.0, 0.1, 1.0])
    # Groups of other sizes, and drawn relabelings where there are too many to count.
    ahead, _ = step_adjusted_p_values(a, b[:2])
    assert ahead == pytest.approx([0.1])  # 1 of C(5, 3) = 10
    # Drawn relabelings (fewer allowed than there are) estimate the exact p.
    rng = np.random.default_rng(3)
    x, y = rng.normal(0.5, 1, (8, 6)), rng.normal(0, 1, (8, 6))  # C(16, 8) = 12,870
    exact, _ = step_adjusted_p_values(x, y)
    drawn, _ = step_adjusted_p_values(x, y, max_labelings=10_000, seed=0)
    assert np.abs(drawn - exact).max() < 0.03 and not np.array_equal(drawn, exact)
    with pytest.raises(ValueError, match="same steps"):
        step_adjusted_p_values(a2, b)
    with pytest.raises(ValueError, match="NaN"):
        step_adjusted_p_values(np.array([[np.nan]]), b)


def test_step_adjusted_p_values_keep_the_family_wise_error_where_per_step_tests_do_not():
    # Five runs against five of the same process: random-walk curves over 20 steps, as
    # correlated from step to step as learning curves are. A step "ahead" at 5 % happens in
    # about 5 % of such experiments after the adjustment, and in about 20 % step by step.
    rng = np.random.default_rng(0)
    draws, adjusted, per_step = 200, 0, 0
    for _ in range(draws):
        a, b = (np.cumsum(rng.normal(size=(5, 20)), axis=1) for _ in range(2))
        ahead, _ = step_adjusted_p_values(a, b)
        adjusted += ahead.min() <= 0.05
        per_step += min(scipy.stats.mannwhitneyu(a[:, i], b[:, i], alternative="greater",
                                                 method="exact").pvalue for i in range(20)) <= 0.05
    assert adjusted / draws <= 0.08
    assert per_step / draws >= 0.12


def test_steps_to_threshold_is_the_first_evaluation_at_or_above_it():
    curves = pd.DataFrame({
        "algo": ["dqn"] * 4 + ["ha_diiqn"] * 4, "variant": "default", "env": "maze", "seed": 0,
        "method": ["dqn"] * 4 + ["ha_diiqn"] * 4,
        "step": [0, 100, 200, 300] * 2,
        "normalized_return": [0.0, 0.95, 0.5, 1.0, 0.0, 0.2, 0.89, 0.3]})
    table = steps_to_threshold(curves, 0.9).set_index("algo")
    assert table.loc["dqn", "step"] == 100 and table.loc["dqn", "reached"]
    assert np.isnan(table.loc["ha_diiqn", "step"]) and not table.loc["ha_diiqn", "reached"]
    assert (table["budget"] == 300).all() and (table["threshold"] == 0.9).all()


def test_aggregates_over_envs_use_the_seeds_a_method_has_on_every_env():
    """A partial experiment (more seeds on one env than on another) is aggregated over envs on
    the seeds common to all its envs."""
    scores = pd.DataFrame({
        "method": ["a"] * 5 + ["b"] * 2,
        "env": ["x", "x", "x", "y", "y", "x", "y"],
        "seed": [0, 1, 2, 1, 2, 1, 1],
        "normalized_score": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]})
    # {x, y}: a's seeds 1, 2 and b's 1 on two envs (6 runs); {x}: a's three and b's one (4).
    assert aggregated_envs(scores) == ["x", "y"]
    assert balanced_seeds(scores) == {"a": [1, 2], "b": [1]}
    matrices = score_matrices(scores)
    np.testing.assert_allclose(matrices["a"], [[0.2, 0.4], [0.3, 0.5]])
    np.testing.assert_allclose(matrices["b"], [[0.6, 0.7]])


def _grid(cells: dict[tuple[str, str], list[int]]) -> pd.DataFrame:
    """Scores with a run of each (method, env) cell's seeds (the scores themselves arbitrary)."""
    rows = [{"method": method, "env": env, "seed": seed, "normalized_score": 0.1 * seed}
            for (method, env), seeds in cells.items() for seed in seeds]
    return pd.DataFrame(rows)


def test_a_new_game_enters_the_aggregates_over_envs_once_it_holds_as_many_runs():
    """One method's first run on a new game leaves the other games' aggregates as they were; the
    game comes in when every method has as many seeds there as on the others."""
    done = {(m, g): [0, 1, 2] for m in ("dqn", "diiqn") for g in ("breakout", "space_invaders")}
    first = _grid({**done, ("dqn", "asterix"): [0]})
    assert aggregated_envs(first) == ["breakout", "space_invaders"]
    assert balanced_seeds(first) == {"dqn": [0, 1, 2], "diiqn": [0, 1, 2]}
    assert {m: x.shape for m, x in score_matrices(first).items()} == {"dqn": (3, 2),
                                                                     "diiqn": (3, 2)}
    # Both methods on seed 0 of the new game: 3 x 2 runs on three games, 12 on the two.
    both = _grid({**done, ("dqn", "asterix"): [0], ("diiqn", "asterix"): [0]})
    assert aggregated_envs(both) == ["breakout", "space_invaders"]
    full = _grid({**done, ("dqn", "asterix"): [0, 1, 2], ("diiqn", "asterix"): [0, 1, 2]})
    assert aggregated_envs(full) == ["asterix", "breakout", "space_invaders"]
    assert {m: x.shape for m, x in score_matrices(full).items()} == {"dqn": (3, 3),
                                                                    "diiqn": (3, 3)}


def test_without_a_set_of_envs_that_serves_every_method_the_aggregates_take_every_env():
    scores = _grid({("a", "x"): [0], ("b", "y"): [0]})
    assert aggregated_envs(scores) == ["x", "y"]
    assert score_matrices(scores) == {}
