"""The verdict rules of algos/claims.py on hand-made scores."""

import numpy as np

from algos.claims import compare, level


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
