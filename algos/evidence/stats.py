"""Aggregate statistics over runs and tasks, on rliable (Agarwal et al. 2021).

Pure functions over score matrices of shape ``(runs, tasks)``, one matrix per algorithm, in the
style of rliable itself; the workflow's ``aggregate`` step writes their results to CSV.

* ``normalise``: expert-normalised scores, ``(score - random) / (expert - random)``: 0 is the
  uniformly random policy, 1 the expert, and "beyond the expert" reads as > 1.
* ``aggregate_metrics``: IQM, median (over tasks, of the mean over runs), mean and optimality
  gap, with stratified-bootstrap confidence intervals (``rliable.library.get_interval_estimates``).
* ``probability_of_improvement``: P(X > Y) between two algorithms, with its interval.
* ``performance_profile``: the fraction of runs above each threshold τ, with its interval.
* ``share_above``: the share of runs above a normalised score (1: beyond the expert).
* ``steps_to_threshold``: per run, the first evaluation step reaching a normalised return.
* ``one_sided_p_values``: the one-sided Mann-Whitney test of two samples of runs, exact with
  ties; ``step_adjusted_p_values`` the same at every evaluation step of two groups of learning
  curves, adjusted for the number of steps (Westfall and Young's maxT over relabelings).

Bootstrap draws are seeded by the caller, so the same scores give the same intervals. rliable
1.2.0's stratified bootstrap draws its indices from numpy's *global* generator
(``np.random.choice``) and ignores the ``random_state`` it is given, so two identical calls differ;
``_seeded`` seeds the global generator around each call and restores its state afterwards.
rliable also draws the algorithms of one call one after another from that generator, so an
algorithm's interval would depend on which algorithms come before it in the dict; each is drawn
here under the seed alone, so its interval is the same in every table that holds it (an
experiment's aggregates, one env's, a claim's).
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Iterator, Mapping

import numpy as np
import pandas as pd

# rliable is imported where it is used: it takes a second and a half to import (arch, scipy),
# and reading the tables (the figures) needs none of it.

AGGREGATES = ("iqm", "median", "mean", "optimality_gap")
"""The aggregates over a ``(runs, tasks)`` matrix, each rliable's ``metrics.aggregate_<name>``."""


def normalise(scores: np.ndarray, random: np.ndarray, expert: np.ndarray) -> np.ndarray:
    """Expert-normalised scores of a ``(runs, tasks)`` matrix, given per-task random and expert
    returns (arrays of length ``tasks``)."""
    random, expert = np.asarray(random, float), np.asarray(expert, float)
    if np.any(expert == random):
        raise ValueError("an expert scores the same as the random policy: nothing to normalise by")
    return (np.asarray(scores, float) - random) / (expert - random)


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Seed numpy's global generator (which rliable's bootstrap draws from) for the block,
    leaving it as it was afterwards."""
    saved = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(saved)


def _check(scores: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {}
    for name, matrix in scores.items():
        matrix = np.asarray(matrix, dtype=float)
        if matrix.ndim != 2 or 0 in matrix.shape:
            raise ValueError(f"scores of {name!r} must be a non-empty (runs, tasks) matrix, "
                             f"got shape {matrix.shape}")
        if not np.isfinite(matrix).all():
            raise ValueError(f"scores of {name!r} hold NaN or infinite values")
        out[name] = matrix
    return out


def aggregate_metrics(scores: Mapping[str, np.ndarray], reps: int = 2000, seed: int = 0,
                      confidence: float = 0.95) -> dict[str, dict[str, tuple[float, float, float]]]:
    """``{algorithm: {metric: (point, low, high)}}`` for IQM, median, mean and optimality gap,
    with stratified-bootstrap intervals (``reps`` resamples)."""
    from rliable import library as rly
    from rliable import metrics

    scores = _check(scores)
    functions = [getattr(metrics, f"aggregate_{name}") for name in AGGREGATES]

    def all_metrics(matrix: np.ndarray) -> np.ndarray:
        return np.array([f(matrix) for f in functions])

    out = {}
    for algo, matrix in scores.items():
        with _seeded(seed):
            points, intervals = rly.get_interval_estimates(
                {algo: matrix}, all_metrics, reps=reps, confidence_interval_size=confidence)
        out[algo] = {name: (float(points[algo][i]), float(intervals[algo][0, i]),
                            float(intervals[algo][1, i]))
                     for i, name in enumerate(AGGREGATES)}
    return out


def iqm_interval(matrix: np.ndarray, reps: int = 2000, seed: int = 0,
                 confidence: float = 0.95) -> tuple[float, float, float]:
    """The IQM of one ``(runs, tasks)`` matrix with its stratified-bootstrap interval: (point,
    low, high)."""
    from rliable import library as rly
    from rliable import metrics

    scores = _check({"m": matrix})
    with _seeded(seed):
        points, intervals = rly.get_interval_estimates(
            scores, metrics.aggregate_iqm, reps=reps, confidence_interval_size=confidence)
    low, high = np.ravel(intervals["m"])
    return float(points["m"]), float(low), float(high)


def probability_of_improvement(x: np.ndarray, y: np.ndarray, reps: int = 2000, seed: int = 0,
                               confidence: float = 0.95) -> tuple[float, float, float]:
    """P(X > Y): the probability that a run of X beats a run of Y on a random task (ties count
    half), with a stratified-bootstrap interval. ``x`` and ``y`` are ``(runs, tasks)``."""
    from rliable import library as rly
    from rliable import metrics

    pair = _check({"x": x, "y": y})
    with _seeded(seed):
        points, intervals = rly.get_interval_estimates(
            {"pair": [pair["x"], pair["y"]]}, metrics.probability_of_improvement, reps=reps,
            confidence_interval_size=confidence)
    low, high = np.ravel(intervals["pair"])
    return float(points["pair"]), float(low), float(high)


def one_sided_p_values(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """The one-sided Mann-Whitney p-values of two samples of runs, exact with ties (a
    permutation test over the relabelings of the runs, midranks: scipy's exact method assumes
    no ties, and returns are often tied): (A ahead of B, A behind B)."""
    ahead, behind = step_adjusted_p_values(np.asarray(a, dtype=float)[:, None],
                                           np.asarray(b, dtype=float)[:, None])
    return float(ahead[0]), float(behind[0])


def step_adjusted_p_values(a: np.ndarray, b: np.ndarray, max_labelings: int = 200_000,
                           seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One-sided p-values at every step of two groups of learning curves, adjusted for the
    number of steps: ``a`` is ``(runs of A, steps)``, ``b`` ``(runs of B, steps)``, no NaN.
    Returns (A ahead of B, A behind B), one p per step.

    Westfall and Young's single-step maxT: the statistic at a step is Mann-Whitney's U (ties
    count half), and a step's p is the share of the runs' relabelings into groups of A's and
    B's sizes whose largest U over all steps reaches the step's own U. A run's whole curve keeps
    its label, so the steps' correlation is kept and the chance of any step's p <= α when A and
    B are alike is at most α (the family-wise error). Each p is at least the step's own
    permutation p (``one_sided_p_values``) and at least 1 / (number of relabelings): 0.05 at
    3 runs against 3, 1/252 at 5 against 5. Exact over every relabeling up to
    ``max_labelings`` of them, else over that many drawn at random (``seed``) beside the
    observed one."""
    from scipy import stats as scipy_stats

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or 0 in (*a.shape, len(b)):
        raise ValueError(f"curves of shapes {a.shape} and {b.shape}: need (runs, steps) each, "
                         "with the same steps and at least one run")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("curves hold NaN or infinite values")
    n_a, n = len(a), len(a) + len(b)
    ranks = scipy_stats.rankdata(np.vstack([a, b]), axis=0)  # midranks: ties count half
    count = math.comb(n, n_a)
    if count <= max_labelings:
        groups = np.array(list(itertools.combinations(range(n), n_a)))  # the first: observed
    else:
        rng = np.random.default_rng(seed)
        drawn = np.argsort(rng.random((max_labelings - 1, n)), axis=1, kind="stable")[:, :n_a]
        groups = np.vstack([np.arange(n_a)[None, :], drawn])
    member = np.zeros((len(groups), n))
    np.put_along_axis(member, groups, 1.0, axis=1)
    u = member @ ranks - n_a * (n_a + 1) / 2  # (relabelings, steps): U of the labelled A
    reverse = n_a * (n - n_a) - u
    # Ranks are multiples of one half, so the sums are exact and ">=" needs no tolerance.
    ahead = (u.max(axis=1)[:, None] >= u[0][None, :]).mean(axis=0)
    behind = (reverse.max(axis=1)[:, None] >= reverse[0][None, :]).mean(axis=0)
    return ahead, behind


def performance_profile(scores: Mapping[str, np.ndarray], thresholds: np.ndarray,
                        reps: int = 2000, seed: int = 0
                        ) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``{algorithm: (fraction, low, high)}``: the share of (run, task) scores above each
    threshold, with bootstrap intervals."""
    from rliable import library as rly

    out = {}
    for algo, matrix in _check(scores).items():
        with _seeded(seed):
            points, intervals = rly.create_performance_profile({algo: matrix}, thresholds,
                                                               reps=reps)
        out[algo] = (points[algo], intervals[algo][0], intervals[algo][1])
    return out


# --- tables ---------------------------------------------------------------------------------

def share_above(scores: Mapping[str, np.ndarray], threshold: float, reps: int = 2000,
                seed: int = 0) -> dict[str, tuple[float, float, float]]:
    """``{algorithm: (share, low, high)}``: the share of (run, task) scores above
    ``threshold`` (1: beyond the expert), with its bootstrap interval."""
    profile = performance_profile(scores, np.array([threshold]), reps=reps, seed=seed)
    return {algo: (float(f[0]), float(lo[0]), float(hi[0]))
            for algo, (f, lo, hi) in profile.items()}


def steps_to_threshold(curves: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """The first evaluation step at which each run's expert-normalised return reached
    ``threshold`` (0.9: within 10 % of the expert, on the scale from random to expert): method,
    algo, variant, env, seed, threshold, step (NaN if never), reached, budget. ``curves``: one
    row per evaluation (method, algo, variant, env, seed, step, normalized_return)."""
    keys = ["method", "algo", "variant", "env", "seed"]
    rows = []
    for key, run in curves.groupby(keys, sort=True):
        run = run.sort_values("step")
        hits = run.loc[run["normalized_return"] >= threshold, "step"]
        rows.append({**dict(zip(keys, key, strict=True)), "seed": int(key[-1]),
                     "threshold": threshold,
                     "step": float(hits.iloc[0]) if len(hits) else float("nan"),
                     "reached": bool(len(hits)), "budget": float(run["step"].max())})
    return pd.DataFrame(rows, columns=[*keys, "threshold", "step", "reached", "budget"])


def score_matrices(scores: pd.DataFrame) -> dict[str, np.ndarray]:
    """``{method: (runs, tasks) matrix}`` of normalised scores (``scores``: one row per run,
    with method, env, seed, normalized_score); tasks are ``aggregated_envs`` in sorted order,
    runs the seeds that the method has on every one of them (``balanced_seeds``): rliable's
    matrices are rectangular, and a partial experiment has more seeds on some envs than on
    others. A method with no seed on every such env has no matrix."""
    matrices = {}
    envs = aggregated_envs(scores)
    common = balanced_seeds(scores, envs)
    for method, table in scores.groupby("method", sort=False):
        if not common[method]:
            continue
        table = table[table["seed"].isin(common[method])]
        columns = []
        for env in envs:
            values = table[table["env"] == env].sort_values("seed")["normalized_score"]
            if values.isna().any():
                raise ValueError(f"{method} on {env}: no normalised score (the expert's "
                                 "expert.json was not found for this env)")
            columns.append(values.to_numpy())
        matrices[method] = np.stack(columns, axis=1)
    return matrices


def aggregated_envs(scores: pd.DataFrame) -> list[str]:
    """The envs (sorted) that the aggregates over envs are taken over: of the sets of envs on
    which every method has a run of some seed on each env, the one whose matrices hold the most
    runs (ties: more envs, then the first in sorted order). A finished experiment has every env;
    a partial one leaves out an env that some method has not reached yet (one DQN run on a new
    game would otherwise empty every other method's matrix) or that has fewer seeds than the
    rest have. Where no set serves every method, every env (a method without a seed on all of
    them then has no matrix)."""
    envs = sorted(scores["env"].unique())
    seeds = {(method, env): set(table["seed"])
             for (method, env), table in scores.groupby(["method", "env"], sort=False)}
    methods = list(dict.fromkeys(scores["method"]))
    best, chosen = 0, envs
    for size in range(len(envs), 0, -1):
        for subset in itertools.combinations(envs, size):
            common = [set.intersection(*(seeds.get((m, env), set()) for env in subset))
                      for m in methods]
            runs = size * sum(map(len, common))
            if all(common) and runs > best:
                best, chosen = runs, list(subset)
    return chosen


def balanced_seeds(scores: pd.DataFrame, envs: list[str] | None = None
                   ) -> dict[str, list[int]]:
    """Per method, the seeds it has a run of on every env of ``envs`` (default: the scores'
    ``aggregated_envs``), sorted."""
    envs = set(aggregated_envs(scores) if envs is None else envs)
    return {method: sorted(seed for seed, runs in table.groupby("seed")
                           if envs <= set(runs["env"]))
            for method, table in scores.groupby("method", sort=False)}
