"""How much the claims' tests can tell at a few runs: multiple-test adjustments, the floor and
the fragility of the exact permutation test, and the runs a verdict needs.

* ``benjamini_hochberg`` and ``holm``: adjusted p-values over a family of tests (the false
  discovery rate, and the family-wise error); NaN (a test not made) passes through and is not
  counted.
* ``min_attainable_p``: the smallest one-sided p the exact permutation test over relabelings
  can give, 1 / C(n_a + n_b, n_a): 0.05 at 3 runs against 3, so a comparison of three runs can
  reach p <= 0.05 only if every run of A beats every run of B.
* ``rank_swaps_to_cross``: how many pairwise order reversals between a run of A and a run of B
  would turn the test's verdict at ``alpha``: 1 says the verdict rests on one pair of runs.
* ``seeds_for_power`` and ``power_of_level``: by seeded simulation, the power of the one-sided
  exact Mann-Whitney test (a gain) or of the level's interval (beyond the expert) at each
  number of runs, and the fewest runs that reach a target power.

The exact test here is the suite's (``stats.one_sided_p_values``: a permutation test over the
relabelings of the runs, ties counted half). Without ties its p is a function of Mann-Whitney's
U alone and equals scipy's exact Mann-Whitney p (``mannwhitneyu(method="exact")``), which is
fast at any number of runs; the simulations, whose log-normal draws have no ties, use that.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from scipy import stats as scipy_stats

from algos.evidence.intervals import level_interval
from algos.evidence.stats import one_sided_p_values


def _p_values(p_values: Any) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(p_values, dtype=float)
    present = ~np.isnan(p)
    if np.any((p[present] < 0) | (p[present] > 1)):
        raise ValueError("p-values must lie in [0, 1] (or be NaN: a test not made)")
    return p, present


def benjamini_hochberg(p_values: Any) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (the step-up procedure; reject where the adjusted p
    <= q keeps the false discovery rate at q for independent or positively dependent tests):
    p_(i) m / i, made monotone from the largest down, at most 1. Same shape as the input; NaN
    passes through untouched and is not counted in m."""
    p, present = _p_values(p_values)
    out = p.copy()
    values = p[present]
    m = values.size
    if m:
        order = np.argsort(values, kind="stable")
        scaled = values[order] * m / np.arange(1, m + 1)
        adjusted = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
        result = np.empty(m)
        result[order] = adjusted
        out[present] = result
    return out


def holm(p_values: Any) -> np.ndarray:
    """Holm's step-down adjusted p-values (reject where the adjusted p <= alpha keeps the
    family-wise error at alpha under any dependence): p_(i) (m - i + 1), made monotone from the
    smallest up, at most 1. Same shape as the input; NaN passes through untouched and is not
    counted in m."""
    p, present = _p_values(p_values)
    out = p.copy()
    values = p[present]
    m = values.size
    if m:
        order = np.argsort(values, kind="stable")
        scaled = values[order] * (m - np.arange(m))
        adjusted = np.minimum(np.maximum.accumulate(scaled), 1.0)
        result = np.empty(m)
        result[order] = adjusted
        out[present] = result
    return out


def min_attainable_p(n_a: int, n_b: int) -> float:
    """The smallest one-sided p the exact permutation test of ``n_a`` runs against ``n_b`` can
    give, 1 / C(n_a + n_b, n_a) (every run of A above every run of B): 0.05 at 3 against 3,
    1/252 at 5 against 5. A test at alpha below it can never find a difference."""
    if n_a < 1 or n_b < 1:
        raise ValueError(f"need a run on each side, got {n_a} and {n_b}")
    return 1 / math.comb(n_a + n_b, n_a)


def _ahead_p(a: np.ndarray, b: np.ndarray, tied: bool) -> float:
    """The one-sided p of A ahead of B: the suite's exact test, or (no ties) scipy's exact
    Mann-Whitney p, the same number, fast."""
    if tied:
        return one_sided_p_values(a, b)[0]
    return float(scipy_stats.mannwhitneyu(a, b, alternative="greater", method="exact").pvalue)


def rank_swaps_to_cross(a: Any, b: Any, alpha: float = 0.05) -> int | None:
    """How fragile the one-sided exact permutation test of A ahead of B is at ``alpha``: the
    fewest pairwise order reversals between one run of A and one of B that move its p-value
    to the other side of ``alpha`` (from p <= alpha to p > alpha, or back). Each reversal
    changes Mann-Whitney's U by 1; 1 means the verdict rests on a single pair of runs. None
    where no order of the runs can cross (p > alpha even with every run of A above every run
    of B: ``min_attainable_p`` > alpha).

    The reversals are made by exchanging the values of a run of A and a run of B next to each
    other in the pooled order, so the pooled values, and with them the test's permutation
    distribution, stay as they are. With tied values, an exchange moves U by the size of the
    two tied groups over two (a tie made strict counts half a reversal), each step takes the
    smallest such move, and the count is the U moved, rounded up. The p-values are the suite's
    exact test (``stats.one_sided_p_values``); without ties, scipy's exact Mann-Whitney p,
    which equals it."""
    a, b = np.asarray(a, dtype=float).copy(), np.asarray(b, dtype=float).copy()
    if a.ndim != 1 or b.ndim != 1 or not (len(a) and len(b)):
        raise ValueError("a and b must be non-empty one-dimensional samples of runs")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    tied = len(np.unique(np.concatenate([a, b]))) < len(a) + len(b)
    significant = one_sided_p_values(a, b)[0] <= alpha
    if not significant and min_attainable_p(len(a), len(b)) > alpha:
        return None
    levels = np.unique(np.concatenate([a, b]))
    counts = {v: int(np.sum(a == v) + np.sum(b == v)) for v in levels}
    moved = 0.0
    while True:
        # Neighbouring levels (x, y), x < y: A at x and B at y (raise U) or the reverse.
        best = None
        for x, y in itertools.pairwise(levels):
            low_side, high_side = (b, a) if significant else (a, b)
            if np.any(low_side == x) and np.any(high_side == y):
                step = (counts[x] + counts[y]) / 2
                if best is None or step < best[0]:
                    best = (step, x, y)
        if best is None:  # every run already on one side of the other
            return None
        step, x, y = best
        low_side, high_side = (b, a) if significant else (a, b)
        i, j = np.flatnonzero(low_side == x)[0], np.flatnonzero(high_side == y)[0]
        low_side[i], high_side[j] = y, x
        moved += step
        if (_ahead_p(a, b, tied) <= alpha) != significant:
            return math.ceil(moved - 1e-9)


def _lognormal(rng: np.random.Generator, mean: float, cv: float, shape: tuple[int, ...]
               ) -> np.ndarray:
    """Log-normal draws of the given mean and coefficient of variation."""
    if cv < 0:
        raise ValueError(f"a coefficient of variation must be >= 0, got {cv}")
    sigma = math.sqrt(math.log1p(cv ** 2))
    return mean * np.exp(rng.normal(-sigma ** 2 / 2, sigma, shape))


def _smallest(power: dict[int, float], target: float) -> int | None:
    return next((n for n, value in power.items() if value >= target), None)


def seeds_for_power(cv_a: float, cv_b: float, gain: float, alpha: float = 0.05,
                    target: float = 0.8, max_seeds: int = 20, sims: int = 4000, seed: int = 0
                    ) -> tuple[dict[int, float], int | None]:
    """The power of the one-sided exact permutation (Mann-Whitney) test of A ahead of B at
    ``alpha``, at n = 3 to ``max_seeds`` runs a side, and the smallest n whose power reaches
    ``target`` (None if none does): ``({n: power}, n)``.

    Seeded simulation (``sims`` pairs of samples at each n): log-normal returns with
    coefficients of variation ``cv_a`` and ``cv_b``, A's mean (1 + ``gain``) times B's. The
    power is the share of samples with p <= alpha; its simulation error is at most 0.5 /
    sqrt(sims) (0.008 at 4,000)."""
    if max_seeds < 3:
        raise ValueError(f"max_seeds must be 3 or more, got {max_seeds}")
    power = {}
    for n in range(3, max_seeds + 1):
        rng = np.random.default_rng([seed, n])
        b = _lognormal(rng, 1.0, cv_b, (sims, n))
        a = _lognormal(rng, 1.0 + gain, cv_a, (sims, n))
        p = scipy_stats.mannwhitneyu(a, b, alternative="greater", method="exact", axis=1).pvalue
        power[n] = float(np.mean(p <= alpha))
    return power, _smallest(power, target)


def power_of_level(margin: float, cv: float, expert_se: float, alpha: float = 0.05,
                   target: float = 0.8, max_seeds: int = 20, sims: int = 4000, seed: int = 0,
                   expert_episodes: int = 100, above: bool = True
                   ) -> tuple[dict[int, float], int | None]:
    """The power of a level claim, at n = 3 to ``max_seeds`` runs, and the smallest n whose
    power reaches ``target`` (None if none does): ``({n: power}, n)``.

    "Beyond the expert" (``above``): the runs' true mean normalised score is 1 + ``margin``
    and the claim holds where ``level_interval``'s lower bound is above 1; "capped at the
    expert" (``above=False``): the true level is 1 - ``margin`` and the claim holds where the
    upper bound is at most 1. Seeded simulation: the runs' normalised scores log-normal with
    coefficient of variation ``cv`` (the spread of returns above random over their mean), the
    expert's mean a mean of ``expert_episodes`` normal episodes with standard error
    ``expert_se`` in normalised units, the random policy's return exact."""
    if max_seeds < 3:
        raise ValueError(f"max_seeds must be 3 or more, got {max_seeds}")
    truth = 1 + margin if above else 1 - margin
    sd = expert_se * math.sqrt(expert_episodes)
    power = {}
    for n in range(3, max_seeds + 1):
        rng = np.random.default_rng([seed, n])
        scores = _lognormal(rng, truth, cv, (sims, n))
        expert = rng.normal(1.0, expert_se, sims)
        expert_sd = sd * np.sqrt(rng.chisquare(expert_episodes - 1, sims)
                                 / (expert_episodes - 1))
        _, low, high = level_interval(scores, expert, expert_sd, expert_episodes, 0.0, alpha)
        power[n] = float(np.mean(low > 1.0) if above else np.mean(high <= 1.0))
    return power, _smallest(power, target)


def power_of_shift(sd_a: float, sd_b: float, shift: float, alpha: float = 0.05,
                   target: float = 0.8, max_seeds: int = 20, sims: int = 4000, seed: int = 0
                   ) -> tuple[dict[int, float], int | None]:
    """As ``seeds_for_power``, for a difference rather than a gain: normal values with standard
    deviations ``sd_a`` and ``sd_b``, A's mean ``shift`` above B's (a head start, in
    normalised units). ``({n: power}, n)``."""
    if max_seeds < 3:
        raise ValueError(f"max_seeds must be 3 or more, got {max_seeds}")
    power = {}
    for n in range(3, max_seeds + 1):
        rng = np.random.default_rng([seed, n])
        b = rng.normal(0.0, sd_b, (sims, n))
        a = rng.normal(shift, sd_a, (sims, n))
        p = scipy_stats.mannwhitneyu(a, b, alternative="greater", method="exact", axis=1).pvalue
        power[n] = float(np.mean(p <= alpha))
    return power, _smallest(power, target)
