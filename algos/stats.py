"""Aggregate statistics over runs and tasks, on rliable (Agarwal et al. 2021).

Pure functions over score matrices of shape ``(runs, tasks)``, one matrix per algorithm, in the
style of rliable itself; the workflow's ``aggregate`` step writes their results to CSV.

* ``normalise``: expert-normalised scores, ``(score - random) / (expert - random)``: 0 is the
  uniformly random policy, 1 the expert, and "beyond the expert" reads as > 1.
* ``aggregate_metrics``: IQM, median (over tasks, of the mean over runs), mean and optimality
  gap, with stratified-bootstrap confidence intervals (``rliable.library.get_interval_estimates``).
* ``probability_of_improvement``: P(X > Y) between two algorithms, with its interval.
* ``performance_profile``: the fraction of runs above each threshold τ, with its interval.
* ``steps_to_threshold``: per run, the first evaluation step reaching a normalised return.

Bootstrap draws are seeded by the caller, so the same scores give the same intervals. rliable
1.2.0's stratified bootstrap draws its indices from numpy's *global* generator
(``np.random.choice``) and ignores the ``random_state`` it is given, so two identical calls differ;
``_seeded`` seeds the global generator around each call and restores its state afterwards.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from rliable import library as rly
from rliable import metrics

AGGREGATES = {
    "iqm": metrics.aggregate_iqm,
    "median": metrics.aggregate_median,
    "mean": metrics.aggregate_mean,
    "optimality_gap": metrics.aggregate_optimality_gap,
}
"""Name -> rliable aggregate over a ``(runs, tasks)`` matrix."""


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
    scores = _check(scores)

    def all_metrics(matrix: np.ndarray) -> np.ndarray:
        return np.array([f(matrix) for f in AGGREGATES.values()])

    with _seeded(seed):
        points, intervals = rly.get_interval_estimates(
            scores, all_metrics, reps=reps, confidence_interval_size=confidence)
    return {algo: {name: (float(points[algo][i]), float(intervals[algo][0, i]),
                          float(intervals[algo][1, i]))
                   for i, name in enumerate(AGGREGATES)}
            for algo in scores}


def probability_of_improvement(x: np.ndarray, y: np.ndarray, reps: int = 2000, seed: int = 0,
                               confidence: float = 0.95) -> tuple[float, float, float]:
    """P(X > Y): the probability that a run of X beats a run of Y on a random task (ties count
    half), with a stratified-bootstrap interval. ``x`` and ``y`` are ``(runs, tasks)``."""
    pair = _check({"x": x, "y": y})
    with _seeded(seed):
        points, intervals = rly.get_interval_estimates(
            {"pair": [pair["x"], pair["y"]]}, metrics.probability_of_improvement, reps=reps,
            confidence_interval_size=confidence)
    low, high = np.ravel(intervals["pair"])
    return float(points["pair"]), float(low), float(high)


def performance_profile(scores: Mapping[str, np.ndarray], thresholds: np.ndarray,
                        reps: int = 2000, seed: int = 0
                        ) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``{algorithm: (fraction, low, high)}``: the share of (run, task) scores above each
    threshold, with bootstrap intervals."""
    scores = _check(scores)
    with _seeded(seed):
        points, intervals = rly.create_performance_profile(scores, thresholds, reps=reps)
    return {algo: (points[algo], intervals[algo][0], intervals[algo][1]) for algo in scores}


# --- from run folders to tables ----------------------------------------------------------------

def collect_runs(run_dirs: list[Path], experts: Path | None = None, last: int = 3,
                 experiment: str = "") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The finished runs in ``run_dirs`` as two tables.

    ``scores``: one row per run: experiment, algo, variant, env, seed, score (mean evaluation
    return over its ``last`` evaluations), normalized_score ((score - random) / (expert -
    random)) and the expert and random returns. ``curves``: every evaluation of every run:
    algo, variant, env, seed, step, eval_return, normalized_return. A run's variant is the name
    of its folder's parent (``results/runs/{env}/{algo}/{variant}/seed{seed}``). Expert and
    random returns come from ``experts/{env}/expert.json`` if ``experts`` is given, else from
    the run's dataset description (imitation methods); an env with neither gets NaN.
    """
    score_rows, curves = [], []
    for run in map(Path, run_dirs):
        if not (run / "summary.json").is_file():
            raise ValueError(f"{run}: not a finished run (no summary.json)")
        config = json.loads((run / "config.json").read_text())
        metrics_table = pd.read_csv(run / "metrics.csv")
        key = {"algo": config["algo"], "variant": run.parent.name, "env": config["game"],
               "seed": int(config["seed"])}
        expert, random = _expert_scores(config, experts)
        scale = (expert - random) if expert is not None and expert != random else float("nan")
        offset = random if random is not None else float("nan")
        score = float(metrics_table["eval_return_mean"].tail(last).mean())
        score_rows.append({"experiment": experiment, **key, "score": score,
                           "normalized_score": (score - offset) / scale,
                           "expert_return": expert, "random_return": random})
        curves.append(pd.DataFrame({
            **key, "step": metrics_table["env_steps"],
            "eval_return": metrics_table["eval_return_mean"],
            "normalized_return": (metrics_table["eval_return_mean"] - offset) / scale}))
    columns = ["algo", "variant", "env", "seed", "step", "eval_return", "normalized_return"]
    return (pd.DataFrame(score_rows),
            pd.concat(curves, ignore_index=True)[columns] if curves
            else pd.DataFrame(columns=columns))


def steps_to_threshold(curves: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """The first evaluation step at which each run's expert-normalised return reached
    ``threshold`` (0.9: within 10 % of the expert, on the scale from random to expert): algo,
    variant, env, seed, threshold, step (NaN if never), reached. ``curves`` as ``collect_runs``
    returns it."""
    rows = []
    for (algo, variant, env, seed), run in curves.groupby(["algo", "variant", "env", "seed"],
                                                          sort=True):
        run = run.sort_values("step")
        hits = run.loc[run["normalized_return"] >= threshold, "step"]
        rows.append({"algo": algo, "variant": variant, "env": env, "seed": int(seed),
                     "threshold": threshold, "step": float(hits.iloc[0]) if len(hits)
                     else float("nan"), "reached": bool(len(hits)),
                     "budget": float(run["step"].max())})
    columns = ["algo", "variant", "env", "seed", "threshold", "step", "reached", "budget"]
    return pd.DataFrame(rows, columns=columns)


DIAGNOSTICS = ("inference_accuracy", "inference_effect_accuracy", "inferred_coverage",
               "knn_acceptance", "phi_mean", "delta_q_mean", "delta_mean", "zeta_mean",
               "expert_loss_share", "infeasible_share", "bridge_attempts", "bridge_hits",
               "bridge_length_mean")
"""Columns of DIIQN's and HA-DIIQN's ``diagnostics.csv`` that ``collect_diagnostics`` keeps."""


def collect_diagnostics(run_dirs: list[Path]) -> pd.DataFrame:
    """The DIIQN-family diagnostics of the runs that have them, one row per evaluation: algo,
    variant, env, seed, step and the ``DIAGNOSTICS`` columns they log."""
    tables = []
    for run in map(Path, run_dirs):
        config = json.loads((run / "config.json").read_text())
        table = pd.read_csv(run / "diagnostics.csv")
        if "phi_mean" not in table.columns:
            continue
        kept = table[[c for c in DIAGNOSTICS if c in table.columns]].copy()
        kept.insert(0, "step", table["env_steps"])
        for name, value in (("seed", int(config["seed"])), ("env", config["game"]),
                            ("variant", run.parent.name), ("algo", config["algo"])):
            kept.insert(0, name, value)
        tables.append(kept)
    return (pd.concat(tables, ignore_index=True) if tables
            else pd.DataFrame(columns=["algo", "variant", "env", "seed", "step"]))


def _expert_scores(config: dict, experts: Path | None) -> tuple[float | None, float | None]:
    if experts is not None:
        path = Path(experts) / config["game"] / "expert.json"
        if path.is_file():
            info = json.loads(path.read_text())
            return info["eval"]["return_mean"], info["random"]["return_mean"]
    described = config.get("dataset", {}).get("expert", {})
    if described.get("return_mean") is not None:
        return described["return_mean"], described["random_return_mean"]
    return None, None


def score_matrices(scores: pd.DataFrame) -> dict[str, np.ndarray]:
    """``{"algo/variant": (runs, tasks) matrix}`` of normalised scores; tasks are the envs in
    sorted order, runs the seeds. Every method must have the same number of seeds per env."""
    matrices = {}
    envs = sorted(scores["env"].unique())
    for (algo, variant), table in scores.groupby(["algo", "variant"], sort=True):
        columns = []
        for env in envs:
            values = table[table["env"] == env].sort_values("seed")["normalized_score"]
            if values.isna().any() or values.empty:
                raise ValueError(f"{algo}/{variant} on {env}: no normalised score (give the "
                                 "experts' folder, or train it on every env)")
            columns.append(values.to_numpy())
        if len({len(c) for c in columns}) != 1:
            raise ValueError(f"{algo}/{variant}: different numbers of seeds per env")
        matrices[f"{algo}/{variant}"] = np.stack(columns, axis=1)
    return matrices
