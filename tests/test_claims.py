"""The verdict rules of algos/evidence/claims.py on hand-made scores."""

import numpy as np
import pandas as pd
import pytest

from algos.evidence import stats
from algos.evidence.aggregate import budget
from algos.evidence.claims import (
    EQUIVALENCE_MARGIN,
    _ranges,
    ahead_along_budget,
    baselines_capped,
    beyond_expert,
    compare,
    diiqn_over_dqn,
    head_start,
    level,
    no_difference,
)


def test_a_level_needs_three_runs_and_an_interval_on_one_side_of_the_expert():
    assert level(np.array([1.5]), above=True)["verdict"] == "inconclusive"
    assert level(np.array([1.5, 1.6]), above=True)["verdict"] == "inconclusive"
    assert level(np.array([1.4, 1.5, 1.6]), above=True)["verdict"] == "reproduced"
    assert level(np.array([0.4, 0.5, 0.6]), above=True)["verdict"] == "not reproduced"
    assert level(np.array([0.5, 1.0, 1.5]), above=True)["verdict"] == "inconclusive"
    assert level(np.array([0.4, 0.5, 0.6]), above=False)["verdict"] == "reproduced"


def test_a_comparison_is_a_one_sided_mann_whitney_test_at_five_percent():
    ahead, behind = np.array([3.0, 4.0, 5.0]), np.array([1.0, 1.5, 2.0])
    assert compare(ahead, behind)["verdict"] == "reproduced"
    assert compare(behind, ahead)["verdict"] == "not reproduced"
    mixed = np.array([1.0, 4.5, 2.5])
    assert compare(mixed, behind)["verdict"] == "inconclusive"
    assert compare(behind, ahead, higher_is_better=False)["verdict"] == "reproduced"


def _curves(values: dict[str, list[list[float]]], steps: list[int]) -> pd.DataFrame:
    """One env's curves: per method, one list of normalised returns per seed, at ``steps``."""
    return pd.DataFrame([{"method": method, "algo": method.split("-")[0], "env": "g",
                          "seed": seed, "step": step, "normalized_return": value}
                         for method, runs in values.items()
                         for seed, run in enumerate(runs)
                         for step, value in zip(steps, run, strict=True)])


def test_the_budget_table_smooths_each_run_and_tests_every_step_against_dqn():
    steps = [0, 10, 20, 30]
    # diiqn ahead of every DQN run at 10 and 20, then behind every one at 30 (last=1: no
    # smoothing); 3 runs against 3 reach p = 0.05 exactly.
    curves = _curves({"dqn": [[0, 0.1, 0.1, 0.9], [0, 0.2, 0.2, 1.0], [0, 0.3, 0.3, 1.1]],
                      "diiqn": [[0, 0.5, 0.6, 0.1], [0, 0.6, 0.7, 0.2], [0, 0.7, 0.8, 0.3]]},
                     steps)
    table = budget(curves, last=1, reps=100)
    ours = table[table["method"] == "diiqn"].set_index("step")
    assert list(ours.index) == steps and (ours["versus"] == "dqn").all()
    assert ours.loc[10, "p_value"] == pytest.approx(0.05) and ours.loc[10, "p_improvement"] == 1
    assert ours.loc[30, "p_value_reverse"] == pytest.approx(0.05)
    assert table.loc[table["method"] == "dqn", "p_value"].isna().all()
    # With last=2 a run's value at a step is the mean of its last two evaluations there.
    smoothed = budget(curves, last=2, reps=100)
    dqn = smoothed[smoothed["method"] == "dqn"].set_index("step")
    assert dqn.loc[30, "iqm"] == pytest.approx(np.mean([0.5, 0.6, 0.7]))

    # Adjusted for the steps: the relabeling that swaps the two groups is as far ahead at 30 as
    # the observed one is at 10 and 20, so each step's p is 2 of the 20 relabelings.
    assert ours.loc[10, "p_value_adjusted"] == pytest.approx(0.1)
    assert ours.loc[30, "p_value_reverse_adjusted"] == pytest.approx(0.1)
    assert table.loc[table["method"] == "dqn", "p_value_adjusted"].isna().all()

    scores = pd.DataFrame({"method": ["diiqn", "dqn"], "algo": ["diiqn", "dqn"], "env": "g",
                           "seed": 0})
    rows = ahead_along_budget({"budget": table, "scores": scores}, 100)
    assert len(rows) == 1
    assert rows[0]["where"] == ("of 4 evaluations to 0.03K; uncorrected p <= 0.05 ahead at "
                                "0.01K-0.02K, behind at 0.03K")
    assert rows[0]["verdict"] == "inconclusive" and rows[0]["effect"] == 0
    # Ahead at every step from 10 on, and nowhere the other way: 1 relabeling of 20.
    curves.loc[(curves["method"] == "diiqn") & (curves["step"] == 30), "normalized_return"] = [
        1.2, 1.3, 1.4]
    rows = ahead_along_budget({"budget": budget(curves, last=1, reps=100), "scores": scores}, 100)
    assert rows[0]["where"] == "ahead at 0.01K-0.03K; of 4 evaluations to 0.03K"
    assert rows[0]["verdict"] == "reproduced" and rows[0]["effect"] == 0.75
    assert rows[0]["p_value"] == pytest.approx(0.05)


def test_the_adjustment_takes_the_steps_every_run_has_and_methods_of_other_seed_counts():
    steps = [0, 10, 20, 30]
    curves = _curves({"dqn": [[0, 0.1, 0.1, 0.1], [0, 0.2, 0.2, 0.2], [0, 0.3, 0.3, 0.3]],
                      "diiqn": [[0, 0.5, 0.6, 0.7], [0, 0.6, 0.7, 0.8]]}, steps)
    # Four seeds of DIIQN against three of DQN, the fourth run short of the last step.
    curves = pd.concat([curves, _curves({"diiqn": [[0, 0.7, 0.8]]}, steps[:3]).assign(seed=5)])
    table = budget(curves, last=1, reps=100)
    ours = table[table["method"] == "diiqn"].set_index("step")
    assert ours.loc[30, "runs"] == 2 and np.isnan(ours.loc[30, "p_value_adjusted"])
    # At 10 and 20 all three of DIIQN's runs beat DQN's: 1 of C(6, 3) = 20 relabelings.
    assert ours.loc[[10, 20], "p_value_adjusted"].tolist() == pytest.approx([0.05, 0.05])
    scores = pd.DataFrame({"method": ["diiqn", "dqn"], "algo": ["diiqn", "dqn"], "env": "g",
                           "seed": 0})
    row, = ahead_along_budget({"budget": table, "scores": scores}, 100)
    # (At 30, two runs against three cannot reach p = 0.05 even uncorrected: 1 of 10.)
    assert row["where"] == ("ahead at 0.01K-0.02K; of 4 evaluations to 0.03K; not tested at "
                            "0.03K (a run lacks them)")
    assert row["verdict"] == "reproduced" and "adjusted for the 3 steps" in row["measure"]


def test_steps_read_as_runs_of_consecutive_evaluations():
    grid = [0, 10_000, 20_000, 30_000, 40_000, 50_000]
    assert _ranges([10_000, 20_000, 30_000, 50_000], grid) == "10K-30K, 50K"
    assert _ranges([0], grid) == "0K"


def _baseline(returns: dict[tuple[str, str], list[float]]) -> dict[str, pd.DataFrame]:
    """A baseline's scores table: per (method, game), one final return per seed."""
    return {"scores": pd.DataFrame([{"method": method, "algo": method, "env": env, "seed": seed,
                                     "score": value}
                                    for (method, env), values in returns.items()
                                    for seed, value in enumerate(values)])}


def test_freeway_is_tested_for_no_difference_and_left_out_of_the_gain_claim():
    same = [20.0, 21.0, 22.0, 20.5, 21.5]
    tables = _baseline({("dqn", "freeway"): same, ("diiqn", "freeway"): [x + 0.2 for x in same],
                        ("dqn", "breakout"): [1.0, 2.0, 3.0], ("diiqn", "breakout"): [5, 6, 7]})
    assert [row["env"] for row in diiqn_over_dqn(tables, 200)] == ["breakout"]
    (row,) = no_difference(tables, 200)
    assert row["env"] == "freeway" and row["verdict"] == "reproduced"
    assert -EQUIVALENCE_MARGIN < row["effect_lower"] < row["effect_upper"] < EQUIVALENCE_MARGIN
    # A difference either way fails it; too wide an interval says nothing.
    apart = _baseline({("dqn", "freeway"): same, ("diiqn", "freeway"): [x + 9 for x in same]})
    assert no_difference(apart, 200)[0]["verdict"] == "not reproduced"
    noisy = _baseline({("dqn", "freeway"): [1.0, 30.0, 15.0],
                       ("diiqn", "freeway"): [2.0, 28.0, 14.0]})
    assert no_difference(noisy, 200)[0]["verdict"] == "inconclusive"


def test_a_game_with_runs_of_one_side_only_gets_no_comparison():
    """A five-game experiment part-trained: Asterix has a DQN run and no DIIQN run yet."""
    tables = _baseline({("dqn", "breakout"): [1.0, 2.0, 3.0], ("diiqn", "breakout"): [5, 6, 7],
                        ("dqn", "asterix"): [1.0]})
    assert [row["env"] for row in diiqn_over_dqn(tables, 200)] == ["breakout"]
    # The level of DIIQN's score has no row where DIIQN has no run (Seaquest: DQN's alone).
    tables["scores"]["normalized_score"] = tables["scores"]["score"] / 10
    extra = pd.DataFrame([{"method": "dqn", "algo": "dqn", "env": "seaquest", "seed": 0,
                           "score": 1.0, "normalized_score": 0.1}])
    tables["scores"] = pd.concat([tables["scores"], extra], ignore_index=True)
    assert [row["env"] for row in beyond_expert(tables, 200)] == ["breakout"]


def test_capped_over_the_envs_bootstraps_within_each_env_as_the_aggregates_do():
    """The level over envs is the IQM of the method's (runs, tasks) matrix, resampled within
    each env: the interval of its row in intervals.csv, not that of the runs pooled as one."""
    tables = _baseline({("bco", "breakout"): [0.80, 0.85, 0.90, 0.95],
                        ("bco", "space_invaders"): [0.60, 0.70, 0.75, 0.78],
                        ("dqn", "breakout"): [0.2, 0.3, 0.4, 0.5],
                        ("dqn", "space_invaders"): [0.2, 0.3, 0.4, 0.5]})
    tables["scores"]["normalized_score"] = tables["scores"]["score"]
    (row,) = baselines_capped(tables, 300)
    matrix = stats.score_matrices(tables["scores"])["bco"]
    assert matrix.shape == (4, 2)
    point, low, high = stats.aggregate_metrics({"bco": matrix}, reps=300)["bco"]["iqm"]
    assert (row["effect"], row["effect_lower"], row["effect_upper"]) == (point, low, high)
    pooled = level(np.sort(matrix.ravel()), above=False, reps=300)
    assert (pooled["effect_lower"], pooled["effect_upper"]) != (low, high)
    assert row["verdict"] == "reproduced" and row["runs"] == "bco: seeds 0,1,2,3"


def _with_final_scores(curves: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Curves and a scores table whose score is each run's last normalised return."""
    last = curves[curves["step"] == curves["step"].max()]
    scores = last.assign(normalized_score=last["normalized_return"],
                         score=last["normalized_return"])
    return {"curves": curves, "scores": scores}


def test_the_head_start_compares_each_runs_mean_early_return_and_nothing_after_50k():
    steps = [0, 25_000, 50_000, 75_000]
    # DIIQN ahead at every step to 50K, far behind at 75K (which the head start leaves out).
    runs = {"dqn": [[0, 0.1, 0.2, 0.9], [0, 0.0, 0.3, 1.0], [0, 0.2, 0.1, 1.1]],
            "diiqn": [[0, 0.3, 0.6, 0.1], [0, 0.4, 0.5, 0.2], [0, 0.5, 0.7, 0.3]]}
    (row,) = head_start(_with_final_scores(_curves(runs, steps)), 200)
    # Per run, the mean over 0, 25K and 50K: DQN 0.1, 0.1, 0.1; DIIQN 0.3, 0.3, 0.4.
    assert row["effect"] == pytest.approx(1 / 30 + 0.2)
    assert row["verdict"] == "reproduced" and row["p_value"] == pytest.approx(0.05)
    assert row["effect_lower"] <= row["effect"] <= row["effect_upper"]
    assert "to 50K steps, diiqn - dqn" in row["measure"]
    # The same runs read the other way round: DQN starts faster.
    swapped = {"dqn": runs["diiqn"], "diiqn": runs["dqn"]}
    (row,) = head_start(_with_final_scores(_curves(swapped, steps)), 200)
    assert row["verdict"] == "not reproduced" and row["effect"] < 0
