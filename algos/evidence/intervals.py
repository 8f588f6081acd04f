"""Confidence intervals for the claims' effects at three to ten runs a method.

* ``difference_interval``: mean(a) - mean(b), Welch's t interval.
* ``ratio_interval``: the gain mean(a) / mean(b) - 1, Fieller's interval with Welch's degrees
  of freedom (infinite bounds where mean(b) is not clearly away from 0).
* ``level_interval``: the runs' mean expert-normalised score, counting the error of the
  expert's own mean return beside the runs' spread (and the random policy's, if given).
* ``level_interval_over_games``: the mean over games of the per-game levels, stratified.

Why these: a percentile bootstrap of 3 to 10 runs cannot see more spread than the runs show
(it covered 79-92 % of a difference where 95 % was asked, and 41-92 % of a level whose expert
it took as exact), while these t-based intervals covered 95 % or more on normal and log-normal
draws at 3, 5 and 10 runs (docs/statistics.md; a level whose runs' error, skewed at a CV of
50 %, dwarfs the expert's: 92-94 %). Fieller's interval is as good as the log-scale
delta method for the gain and stays honest where a mean nears 0 or is negative, which the log
cannot (a level at or below random); the level adds each source's error at its own t quantile
in quadrature because one t at Welch-Satterthwaite's degrees of freedom undercovered (0.89-0.93)
with 3 runs beside a precise expert.

Every function takes the runs on the last axis; leading axes are separate samples (a
simulation's) and give arrays. A degenerate sample (one run, or every run equal) gives NaN
bounds, never a zero-width interval: its spread is unknown, not zero. The point is still given.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats as scipy_stats

Interval = tuple[Any, Any, Any]
"""(point, low, high): floats for one sample of runs, arrays of the leading shape for a stack
of samples (a simulation's)."""


def _sample(x: Any, name: str, missing: bool = False) -> np.ndarray:
    """``x`` as a float array whose last axis is runs; NaN only where ``missing`` allows it (a
    run that a game lacks), never an infinite value."""
    x = np.asarray(x, dtype=float)
    if x.ndim == 0 or x.shape[-1] == 0:
        raise ValueError(f"{name}: need at least one run (the last axis), got shape {x.shape}")
    bad = np.isinf(x) if missing else ~np.isfinite(x)
    if bad.any():
        raise ValueError(f"{name} holds {'infinite' if missing else 'NaN or infinite'} values")
    return x


def _moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per sample (last axis, NaN left out): the mean, the variance of the mean (s² / n), the
    count n and whether the sample is degenerate (n < 2 or every value equal: its spread is
    unknown, not zero)."""
    present = np.isfinite(x)
    n = present.sum(axis=-1)
    filled = np.where(present, x, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = filled.sum(axis=-1) / n
        squares = np.where(present, (x - mean[..., None]) ** 2, 0.0).sum(axis=-1)
        var_of_mean = squares / (n - 1) / n
    spread = np.where(present, x, -np.inf).max(axis=-1) - np.where(present, x, np.inf).min(axis=-1)
    degenerate = (n < 2) | ~(spread > 0)
    return mean, var_of_mean, n, degenerate


def _out(point: Any, low: Any, high: Any) -> Interval:
    """Floats where the sample was one sample of runs, arrays otherwise."""
    if np.ndim(point) == 0:
        return float(point), float(low), float(high)
    return np.asarray(point, float), np.asarray(low, float), np.asarray(high, float)


def _t(alpha: float, df: Any) -> np.ndarray:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    with np.errstate(invalid="ignore"):
        return scipy_stats.t.ppf(1 - alpha / 2, df)


def _satterthwaite(*terms: tuple[Any, Any]) -> np.ndarray:
    """Welch-Satterthwaite degrees of freedom of a sum of variances, each ``(variance, df)``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        total = sum(v for v, _ in terms)
        return total ** 2 / sum(np.where(v > 0, v ** 2 / df, 0.0) for v, df in terms)


def _fieller(x: Any, y: Any, v11: Any, v22: Any, v12: Any, t: Any
             ) -> tuple[np.ndarray, np.ndarray]:
    """Fieller's set for ρ = E[x] / E[y]: the ρ with (x - ρ y)² <= t² Var(x - ρ y), where
    Var(x - ρ y) = v11 - 2 ρ v12 + ρ² v22. Bounded where y is clearly away from 0 (y² > t²
    v22); otherwise the set is unbounded (the whole line, or the line less an interval) and
    both bounds are infinite."""
    a = y ** 2 - t ** 2 * v22
    b = x * y - t ** 2 * v12
    c = x ** 2 - t ** 2 * v11
    with np.errstate(invalid="ignore", divide="ignore"):
        root = np.sqrt(np.maximum(b ** 2 - a * c, 0.0))
        low, high = (b - root) / a, (b + root) / a
    bounded = a > 0
    return np.where(bounded, low, -np.inf), np.where(bounded, high, np.inf)


def difference_interval(a: Any, b: Any, alpha: float = 0.05) -> Interval:
    """mean(a) - mean(b) with its two-sided (1 - alpha) Welch interval: (point, low, high).

    ``a`` and ``b`` are the runs' scores (the last axis; leading axes, if any, are separate
    samples and give arrays). Welch's t with Satterthwaite's degrees of freedom: unequal spreads
    are the rule between methods. A degenerate side (one run, or every run equal) gives NaN
    bounds: its spread is unknown, not zero, and a zero-width interval would read as certainty.
    """
    a, b = _sample(a, "a"), _sample(b, "b")
    mean_a, var_a, n_a, flat_a = _moments(a)
    mean_b, var_b, n_b, flat_b = _moments(b)
    point = mean_a - mean_b
    df = _satterthwaite((var_a, n_a - 1), (var_b, n_b - 1))
    half = _t(alpha, df) * np.sqrt(var_a + var_b)
    bad = flat_a | flat_b
    return _out(point, np.where(bad, np.nan, point - half), np.where(bad, np.nan, point + half))


def ratio_interval(a: Any, b: Any, alpha: float = 0.05) -> Interval:
    """The gain mean(a) / mean(b) - 1 with its two-sided (1 - alpha) interval: (point, low,
    high).

    Fieller's interval for the ratio of two independent means, with the Welch-Satterthwaite
    degrees of freedom of a - ρ b at the estimated ratio ρ. Where mean(b) is not clearly away
    from 0 (mean(b)² <= t² var(mean(b)) at the interval's t) the set of ratios the data allow is
    unbounded and the bounds are -inf and +inf; the point is NaN where mean(b) is 0. A
    degenerate side (one run, or every run equal) gives NaN bounds.
    """
    a, b = _sample(a, "a"), _sample(b, "b")
    mean_a, var_a, n_a, flat_a = _moments(a)
    mean_b, var_b, n_b, flat_b = _moments(b)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(mean_b != 0, mean_a / mean_b, np.nan)
    df = _satterthwaite((var_a, n_a - 1), (np.nan_to_num(ratio) ** 2 * var_b, n_b - 1))
    df = np.where(np.isfinite(ratio), df, np.minimum(n_a, n_b) - 1)
    low, high = _fieller(mean_a, mean_b, var_a, var_b, 0.0, _t(alpha, df))
    bad = flat_a | flat_b
    return _out(ratio - 1, np.where(bad, np.nan, low - 1), np.where(bad, np.nan, high - 1))


def _reference_se(sd: Any, episodes: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The variance of a reference policy's mean return (sd² / episodes) and its degrees of
    freedom (episodes - 1)."""
    sd, episodes = np.asarray(sd, dtype=float), np.asarray(episodes, dtype=float)
    if np.any(sd < 0) or np.any(episodes < 2):
        raise ValueError(f"{name}: need a standard deviation >= 0 over 2 episodes or more")
    return sd ** 2 / episodes, episodes - 1


def _level_terms(returns: np.ndarray, expert_mean: Any, expert_sd: Any, expert_episodes: Any,
                 random_mean: Any, random_sd: Any, random_episodes: Any
                 ) -> tuple[np.ndarray, ...]:
    """The pieces of a normalised level, per sample of runs (the last axis): the runs' mean
    return above random x, the expert's y, the variance of the runs' mean, their count,
    whether they are degenerate, and the variance of the expert's and the random policy's
    mean return with its degrees of freedom (0 and 1 for a random return taken as exact)."""
    mean, var, n, flat = _moments(returns)
    v_e, df_e = _reference_se(expert_sd, expert_episodes, "expert")
    if random_sd is None:
        v_r, df_r = np.zeros_like(v_e), np.ones_like(df_e)
    else:
        if random_episodes is None:
            raise ValueError("random_sd needs random_episodes")
        v_r, df_r = _reference_se(random_sd, random_episodes, "random")
    x = mean - np.asarray(random_mean, float)
    y = np.asarray(expert_mean, float) - np.asarray(random_mean, float)
    if np.any(y == 0):
        raise ValueError("an expert scores the same as the random policy: nothing to normalise by")
    return x, y, var, n, flat, v_e, df_e, v_r, df_r


def level_interval(returns: Any, expert_mean: Any, expert_sd: Any, expert_episodes: Any,
                   random_mean: Any, alpha: float = 0.05, *, random_sd: Any = None,
                   random_episodes: Any = None) -> Interval:
    """The mean expert-normalised score of the runs, (mean(returns) - random) / (expert -
    random), with its two-sided (1 - alpha) interval: (point, low, high).

    ``returns`` are the runs' scores in return units (the last axis; leading axes, if any, are
    separate samples, and the reference values may then be arrays of their shape). The
    expert's mean return is itself a mean of ``expert_episodes`` episodes, so its standard error
    ``expert_sd / sqrt(expert_episodes)`` widens the interval beside the runs' spread. The
    random policy's return is taken as exact unless ``random_sd`` and ``random_episodes`` are
    given (then its error enters both the numerator and the denominator).

    Fieller's interval for the ratio, each source of error expanded by its own t quantile (the
    runs' at n - 1 degrees of freedom, the expert's at episodes - 1) and the expanded errors
    added in quadrature. Where the expert is not clearly above random the set is unbounded and
    the bounds are infinite. Degenerate runs (one, or every one equal) give NaN bounds: their
    spread is unknown, not zero.
    """
    returns = _sample(returns, "returns")
    x, y, var, n, flat, v_e, df_e, v_r, df_r = _level_terms(
        returns, expert_mean, expert_sd, expert_episodes, random_mean, random_sd,
        random_episodes)
    t_runs, t_e, t_r = _t(alpha, n - 1), _t(alpha, df_e), _t(alpha, df_r)
    e_runs, e_e, e_r = t_runs ** 2 * var, t_e ** 2 * v_e, t_r ** 2 * v_r  # expanded, squared
    with np.errstate(invalid="ignore", divide="ignore"):
        theta = x / y
    low, high = _fieller(x, y, e_runs + e_r, e_e + e_r, e_r, 1.0)
    return _out(theta, np.where(flat, np.nan, low), np.where(flat, np.nan, high))


def level_interval_over_games(returns: Any, expert_mean: Any, expert_sd: Any,
                              expert_episodes: Any, random_mean: Any, alpha: float = 0.05, *,
                              random_sd: Any = None, random_episodes: Any = None) -> Interval:
    """The mean over games of each game's mean expert-normalised score, with its two-sided
    (1 - alpha) interval: (point, low, high).

    ``returns`` is a ``(runs, games)`` matrix of the runs' scores in return units (leading
    axes, if any, are separate samples); NaN marks a run that a game lacks, so games may hold
    different numbers of runs. The per-game reference values (expert and random mean, sd,
    episodes) are arrays of length ``games`` (or scalars shared by every game).

    Stratified by game: each game's normalised mean and its error come from its own runs and
    its own expert, and the variance of the mean over games is the sum of the games' (the delta
    method, each game's score a ratio). The runs' terms are pooled with Welch-Satterthwaite's
    degrees of freedom, the experts' (and random policies') apart with theirs, and the two
    expanded errors added in quadrature, as ``level_interval`` does; with one game it is
    ``level_interval``. Any degenerate game (one run, or every run equal) gives NaN bounds.
    """
    returns = _sample(returns, "returns", missing=True)
    if returns.ndim < 2:
        raise ValueError(f"returns must be a (runs, games) matrix, got shape {returns.shape}")
    count = returns.shape[-1]
    if count == 1:
        def first(v: Any) -> Any:
            return v if v is None or np.ndim(v) == 0 else np.asarray(v)[..., 0]

        return level_interval(returns[..., 0], first(expert_mean), first(expert_sd),
                              first(expert_episodes), first(random_mean), alpha,
                              random_sd=first(random_sd), random_episodes=first(random_episodes))
    games = np.swapaxes(returns, -1, -2)  # (..., games, runs): the runs on the last axis
    x, y, var, n, flat, v_e, df_e, v_r, df_r = _level_terms(
        games, expert_mean, expert_sd, expert_episodes, random_mean, random_sd,
        random_episodes)
    theta = x / y
    weight = 1 / (count * y) ** 2  # (d mean over games / d x_g)²
    runs = weight * var
    reference = [(weight * theta ** 2 * v_e, df_e), (weight * (1 - theta) ** 2 * v_r, df_r)]
    half_squared = 0.0
    for terms in ([(runs, n - 1)], reference):
        variance = sum(np.sum(v, axis=-1) for v, _ in terms)
        with np.errstate(invalid="ignore", divide="ignore"):
            df = variance ** 2 / sum(np.sum(np.where(v > 0, v ** 2 / d, 0.0), axis=-1)
                                     for v, d in terms)
        half_squared = half_squared + np.where(variance > 0, _t(alpha, df) ** 2 * variance, 0.0)
    point = theta.mean(axis=-1)
    half = np.sqrt(half_squared)
    bad = flat.any(axis=-1)
    return _out(point, np.where(bad, np.nan, point - half), np.where(bad, np.nan, point + half))
