"""A verdict for every claim of the paper, from the experiments' aggregate tables.

Each claim of the paper (docs/paper.md) is tested on the runs that exist: its measured
effect with a 95 % interval, the probability of improvement where two methods are compared, the
runs it rests on, and a verdict:

* comparisons (A beats B; A is faster than B): *reproduced* where a one-sided Mann-Whitney test
  over the runs finds A ahead at p <= 0.05, *not reproduced* where it finds B ahead at that
  level, *inconclusive* otherwise (three runs per method can reach p = 0.05 only if every run
  of A beats every run of B);
* no difference (Freeway): an equivalence test, *reproduced* where the 95 % interval of the
  gain lies within ±24 % (the smallest gain the paper reports), *not reproduced* where either
  method is ahead at p <= 0.05, *inconclusive* otherwise;
* levels (beyond the expert, capped at the expert): from the 95 % stratified-bootstrap interval
  of the IQM of expert-normalised scores: *reproduced* where the interval lies on the claimed
  side of 1, *not reproduced* where it lies on the other, *inconclusive* where it straddles it
  or rests on fewer than three runs (whose bootstrap interval says nothing);
* along the budget (``where``): the same two tests at every evaluation step (the ``budget``
  table). DIIQN against DQN: the Mann-Whitney test's p adjusted for the number of steps
  (``stats.step_adjusted_p_values``: a 5 % chance, over all steps together, of a step "ahead"
  between two methods that are alike; at 5 % per step it was about 20 %), *reproduced* where
  DIIQN is ahead at one step or more, *not reproduced* where it is only ever behind,
  *inconclusive* otherwise; ``where`` names those steps and, apart, the steps at p <= 0.05
  uncorrected. DIIQN against the expert: the IQM's interval at each step, not corrected,
  *reproduced* where it is above 1 at one step or more, *not reproduced* where at the end it is
  below; ``where`` names the steps;
* the head start (``beyond_expert``): each run's mean normalised return over its evaluations
  up to 50K steps, the measure the protocol that chose DIIQN's default fixed in advance,
  compared as a final score is (one number a run, so no adjustment for steps);
* *not run* where the config has no experiment to test it.

"At this budget" belongs to every verdict: a claim made at 5M frames and 10 seeds is tested at
the budget and seeds of the config that ran.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from algos.evidence import stats
from algos.evidence.aggregate import TABLES_INDEX, AggregateError, read_tables
from algos.evidence.protocol import DIIQN_DEFAULT, run_measures

HEAD_START_UNTIL = DIIQN_DEFAULT.head_start_until
"""The head start's horizon: the one the protocol that chose DIIQN's default fixed."""

COLUMNS = ["claim", "paper", "experiment", "env", "measure", "effect", "effect_lower",
           "effect_upper", "p_improvement", "p_improvement_lower", "p_improvement_upper",
           "p_value", "runs", "where", "verdict"]


@dataclass(frozen=True)
class Claim:
    """A claim of the paper and how to test it on one experiment's tables."""

    name: str
    paper: str
    experiment: str
    test: Callable[[dict[str, pd.DataFrame], int], list[dict]]
    normalised: bool = False
    """Whether it rests on expert-normalised scores (no verdict where the expert is not
    clearly better than random)."""


def _scores(tables: dict[str, pd.DataFrame], method: str, env: str | None = None) -> np.ndarray:
    scores = tables["scores"]
    rows = scores[scores["method"] == method]
    if env is not None:
        rows = rows[rows["env"] == env]
    return rows.sort_values(["env", "seed"])["normalized_score"].to_numpy(dtype=float)


def _methods(tables: dict[str, pd.DataFrame], algo: str) -> list[str]:
    scores = tables["scores"]
    return list(dict.fromkeys(scores.loc[scores["algo"] == algo, "method"]))


def bootstrap(statistic: Callable[..., float], *samples: np.ndarray, reps: int = 2000
              ) -> tuple[float, float]:
    """95 % percentile interval of ``statistic(*samples)``, each sample resampled with
    replacement (seeded: the same runs give the same interval)."""
    rng = np.random.default_rng(0)
    draws = [statistic(*(x[rng.integers(0, len(x), len(x))] for x in samples))
             for _ in range(reps)]
    low, high = np.nanpercentile(draws, [2.5, 97.5])
    return float(low), float(high)


def relative_gain(a: np.ndarray, b: np.ndarray) -> float:
    """mean(a) / mean(b) - 1 (NaN where mean(b) is 0)."""
    return float(np.mean(a) / np.mean(b) - 1) if np.mean(b) else float("nan")


def compare(a: np.ndarray, b: np.ndarray, *, higher_is_better: bool = True,
            alpha: float = 0.05, reps: int = 2000) -> dict:
    """A beats B? P(A > B) (ties half) with its bootstrap interval, the one-sided Mann-Whitney
    p-values both ways, and the verdict."""
    if not higher_is_better:
        a, b = -a, -b
    point, low, high = stats.probability_of_improvement(a[:, None], b[:, None], reps=reps)
    ahead, behind = stats.one_sided_p_values(a, b)
    verdict = ("reproduced" if ahead <= alpha else "not reproduced" if behind <= alpha
               else "inconclusive")
    return {"p_improvement": point, "p_improvement_lower": low, "p_improvement_upper": high,
            "p_value": float(ahead), "p_value_reverse": float(behind), "verdict": verdict}


MIN_LEVEL_RUNS = 3  # the interval of one or two runs' IQM is the runs themselves


def level(values: np.ndarray, above: bool, reps: int = 2000) -> dict:
    """The IQM of expert-normalised scores against 1 (the expert): ``values`` the runs of one
    task, or a ``(runs, tasks)`` matrix (bootstrapped within each task, as the aggregates are)."""
    matrix = values if values.ndim == 2 else values[:, None]
    point, low, high = stats.aggregate_metrics({"m": matrix}, reps=reps)["m"]["iqm"]
    claimed, other = (low > 1.0, high < 1.0) if above else (high <= 1.0, low > 1.0)
    verdict = ("inconclusive" if len(values) < MIN_LEVEL_RUNS else "reproduced" if claimed
               else "not reproduced" if other else "inconclusive")
    return {"effect": point, "effect_lower": low, "effect_upper": high, "verdict": verdict}


def _runs(tables: dict[str, pd.DataFrame], *methods: str, env: str | None = None) -> str:
    scores = tables["scores"]
    rows = scores[scores["method"].isin(methods)]
    if env is not None:
        rows = rows[rows["env"] == env]
    return "; ".join(f"{m}: seeds {','.join(map(str, sorted(g['seed'].unique())))}"
                     for m, g in rows.groupby("method", sort=False))


def _returns(tables: dict[str, pd.DataFrame], method: str, env: str) -> np.ndarray:
    scores = tables["scores"]
    rows = scores[(scores["method"] == method) & (scores["env"] == env)]
    return rows.sort_values("seed")["score"].to_numpy(dtype=float)


NO_DIFFERENCE_GAMES = ("freeway",)
"""The games where the paper finds no gain over DQN ("plain DRL already finds the optimal
policy"); the gain claims leave them out and ``no_difference`` tests them."""

EQUIVALENCE_MARGIN = 0.24
"""No difference means a gain smaller than the smallest the paper reports as one (24 %)."""


def _gain(tables: dict[str, pd.DataFrame], diiqn: str, dqn: str, env: str, reps: int
          ) -> dict:
    """DIIQN's mean return over DQN's - 1 on ``env``, its interval and the comparison."""
    ours, theirs = _returns(tables, diiqn, env), _returns(tables, dqn, env)
    low, high = bootstrap(relative_gain, ours, theirs, reps=reps)
    return {"env": env, "measure": f"mean return {diiqn} / {dqn} - 1",
            "effect": relative_gain(ours, theirs), "effect_lower": low, "effect_upper": high,
            **compare(ours, theirs, reps=reps), "runs": _runs(tables, diiqn, dqn, env=env)}


def _pairs(tables: dict[str, pd.DataFrame], *, gain_claimed: bool) -> list[tuple[str, str, str]]:
    """(DIIQN method, DQN method, game) for the games where the paper claims a gain (or,
    ``gain_claimed=False``, claims none)."""
    envs = [env for env in sorted(tables["scores"]["env"].unique())
            if (env in NO_DIFFERENCE_GAMES) != gain_claimed]
    # A game where one side has no finished run yet (a five-game experiment part-trained) has
    # nothing to compare: it gets no row rather than an empty sample.
    return [(diiqn, dqn, env) for diiqn in _methods(tables, "diiqn")
            for dqn in _methods(tables, "dqn") for env in envs
            if len(_returns(tables, diiqn, env)) and len(_returns(tables, dqn, env))]


def diiqn_over_dqn(tables: dict[str, pd.DataFrame], reps: int) -> list[dict]:
    return [_gain(tables, *pair, reps) for pair in _pairs(tables, gain_claimed=True)]


def mean_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(a) - np.mean(b))


def head_start(tables: dict[str, pd.DataFrame], reps: int) -> list[dict]:
    """DIIQN's head start over DQN: per run, the tuning protocol's measure (the mean normalised
    return over the evaluations up to ``HEAD_START_UNTIL`` steps), compared as final scores
    are. One number a run, fixed in advance, so no adjustment for the steps it spans."""
    measures = run_measures(tables["scores"], tables["curves"], HEAD_START_UNTIL)
    out = []
    for diiqn, dqn, env in _pairs(tables, gain_claimed=True):
        ours, theirs = (measures.loc[(measures["method"] == method) & (measures["env"] == env)]
                        .sort_values("seed")["head_start"].to_numpy(dtype=float)
                        for method in (diiqn, dqn))
        low, high = bootstrap(mean_difference, ours, theirs, reps=reps)
        out.append({"env": env, "measure": f"mean normalised return to {HEAD_START_UNTIL // 1000}K"
                    f" steps, {diiqn} - {dqn}", "effect": mean_difference(ours, theirs),
                    "effect_lower": low, "effect_upper": high, **compare(ours, theirs, reps=reps),
                    "runs": _runs(tables, diiqn, dqn, env=env)})
    return out


def no_difference(tables: dict[str, pd.DataFrame], reps: int) -> list[dict]:
    """An equivalence test: *reproduced* where the gain's 95 % interval lies within
    ±``EQUIVALENCE_MARGIN``, *not reproduced* where either method is ahead at p <= 0.05,
    *inconclusive* otherwise (no significant difference is not yet evidence of none)."""
    out = []
    for diiqn, dqn, env in _pairs(tables, gain_claimed=False):
        row = _gain(tables, diiqn, dqn, env, reps)
        within = (-EQUIVALENCE_MARGIN < row["effect_lower"]
                  and row["effect_upper"] < EQUIVALENCE_MARGIN)
        row["p_value"] = min(row["p_value"], row.pop("p_value_reverse"))
        row["verdict"] = ("not reproduced" if row["p_value"] <= 0.05 else "reproduced"
                          if within else "inconclusive")
        out.append(row)
    return out


def beyond_expert(tables: dict[str, pd.DataFrame], reps: int) -> list[dict]:
    out = []
    for diiqn in _methods(tables, "diiqn"):
        for env in sorted(tables["scores"]["env"].unique()):
            if not len(_scores(tables, diiqn, env)):
                continue  # a game it has no finished run on yet
            out.append({"env": env, "measure": f"IQM of {diiqn}'s normalised score (> 1)",
                        **level(_scores(tables, diiqn, env), above=True, reps=reps),
                        "runs": _runs(tables, diiqn, env=env)})
    return out


def baselines_capped(tables: dict[str, pd.DataFrame], reps: int) -> list[dict]:
    """Over the envs: the method's ``(runs, tasks)`` matrix of the aggregates (its seeds on
    every env), so the interval is the one of its ``intervals.csv``."""
    scores = tables["scores"]
    matrices = stats.score_matrices(scores)
    seeds = stats.balanced_seeds(scores, stats.aggregated_envs(scores))
    out = []
    for algo in ("bco", "gaifo", "oril"):
        for method in _methods(tables, algo):
            if method not in matrices:
                continue  # no seed on every env yet
            out.append({"env": "all", "measure": f"IQM of {method}'s normalised score (<= 1)",
                        **level(matrices[method], above=False, reps=reps),
                        "runs": f"{method}: seeds {','.join(map(str, sorted(seeds[method])))}"})
    return out


def _ranges(steps: list[int], grid: list[int]) -> str:
    """``steps`` (a subset of the evaluation steps ``grid``) as runs of consecutive
    evaluations: "20K-60K, 100K"."""
    def k(step: int) -> str:
        return f"{step / 1000:g}K"

    position = {step: i for i, step in enumerate(grid)}
    parts: list[list[int]] = []
    for step in sorted(steps):
        if parts and position[step] == position[parts[-1][-1]] + 1:
            parts[-1].append(step)
        else:
            parts.append([step])
    return ", ".join(k(p[0]) if len(p) == 1 else f"{k(p[0])}-{k(p[-1])}" for p in parts)


def _budget_rows(tables: dict[str, pd.DataFrame], method: str, env: str) -> pd.DataFrame:
    table = tables["budget"]
    return table[(table["method"] == method) & (table["env"] == env)].sort_values("step")


def ahead_along_budget(tables: dict[str, pd.DataFrame], reps: int) -> list[dict]:
    """At which evaluation steps DIIQN's runs beat DQN's: the ``budget`` table's one-sided
    Mann-Whitney test, its p adjusted for the number of steps, at 5 %."""
    out = []
    for diiqn in _methods(tables, "diiqn"):
        for env in sorted(set(tables["budget"]["env"]) - set(NO_DIFFERENCE_GAMES)):
            rows = _budget_rows(tables, diiqn, env).dropna(subset=["p_value"])
            if rows.empty:
                continue
            grid = [int(s) for s in rows["step"]]
            # NaN (a step some run lacks, so not in the adjusted family) is never <= 0.05.
            ahead, behind, *uncorrected = (
                [int(s) for s in rows.loc[rows[column] <= 0.05, "step"]]
                for column in ("p_value_adjusted", "p_value_reverse_adjusted", "p_value",
                               "p_value_reverse"))
            untested = [int(s) for s in rows.loc[rows["p_value_adjusted"].isna(), "step"]]
            per_step = ", ".join(f"{side} at {_ranges(at, grid)}" for side, at in
                                 zip(("ahead", "behind"), uncorrected, strict=True) if at)
            where = "; ".join(part for part in (
                f"ahead at {_ranges(ahead, grid)}" if ahead else "",
                f"behind at {_ranges(behind, grid)}" if behind else "",
                f"of {len(grid)} evaluations to {grid[-1] / 1000:g}K",
                f"not tested at {_ranges(untested, grid)} (a run lacks them)" if untested else "",
                f"uncorrected p <= 0.05 {per_step}"
                if per_step and uncorrected != [ahead, behind] else "") if part)
            verdict = ("reproduced" if ahead else "not reproduced" if behind
                       else "inconclusive")
            out.append({"env": env, "measure": f"share of evaluation steps where {diiqn} beats "
                        f"{rows['versus'].iloc[0]} (one-sided p <= 0.05, adjusted for the "
                        f"{len(grid) - len(untested)} steps)",
                        "p_value": float(rows["p_value_adjusted"].min()),
                        "effect": len(ahead) / len(grid), "where": where, "verdict": verdict,
                        "runs": _runs(tables, diiqn, rows["versus"].iloc[0], env=env)})
    return out


def above_expert_along_budget(tables: dict[str, pd.DataFrame], reps: int) -> list[dict]:
    """At which evaluation steps the IQM of DIIQN's normalised return has its interval above 1
    (the ``budget`` table; three runs at least, as for a level)."""
    out = []
    for diiqn in _methods(tables, "diiqn"):
        for env in sorted(tables["budget"]["env"].unique()):
            rows = _budget_rows(tables, diiqn, env)
            if rows.empty:
                continue
            grid = [int(s) for s in rows["step"]]
            enough = rows["runs"] >= MIN_LEVEL_RUNS
            above = [int(s) for s in rows.loc[enough & (rows["iqm_lower"] > 1.0), "step"]]
            final = rows.iloc[-1]
            where = (f"above the expert at {_ranges(above, grid)}" if above else
                     "never above the expert") + f", of {len(grid)} evaluations"
            verdict = ("reproduced" if above else "not reproduced"
                       if enough.iloc[-1] and final["iqm_upper"] <= 1.0 else "inconclusive")
            out.append({"env": env, "measure": f"share of evaluation steps where the IQM of "
                        f"{diiqn}'s normalised return is above 1 (its 95 % interval)",
                        "effect": len(above) / len(grid), "where": where, "verdict": verdict,
                        "runs": _runs(tables, diiqn, env=env)})
    return out


def _sweep_trend(tables: dict[str, pd.DataFrame], what: str, reps: int) -> list[dict]:
    """Spearman's rank correlation between the swept value and the normalised score, with a
    bootstrap interval over runs."""
    scores = tables["scores"]
    if "sweep_value" not in scores.columns:
        return []
    values = pd.to_numeric(scores["sweep_value"]).to_numpy()
    normalized = scores["normalized_score"].to_numpy(dtype=float)
    pairs = np.stack([values, normalized], axis=1)

    def rho(rows: np.ndarray) -> float:
        with warnings.catch_warnings():  # a resample of one value has no rank correlation
            warnings.simplefilter("ignore", scipy_stats.ConstantInputWarning)
            return float(scipy_stats.spearmanr(rows[:, 0], rows[:, 1]).statistic)

    low, high = bootstrap(rho, pairs, reps=reps)
    verdict = "reproduced" if low > 0 else "not reproduced" if high < 0 else "inconclusive"
    return [{"env": ",".join(sorted(scores["env"].unique())), "measure": what,
             "effect": rho(pairs), "effect_lower": low, "effect_upper": high,
             "verdict": verdict, "runs": f"{len(scores)} runs over "
             f"{', '.join(f'{v:g}' for v in sorted(set(values)))}"}]


def dataset_knee(tables: dict[str, pd.DataFrame], reps: int) -> list[dict]:
    return _sweep_trend(tables, "rank correlation of dataset size and score (> 0)", reps)


def higher_tau_better(tables: dict[str, pd.DataFrame], reps: int) -> list[dict]:
    return _sweep_trend(tables, "rank correlation of τ and score (> 0)", reps)


def cmax_stability(tables: dict[str, pd.DataFrame], reps: int) -> list[dict]:
    """The spread over seeds at each c_max: the paper finds the lowest c_max the least stable."""
    scores = tables["scores"]
    if "sweep_value" not in scores.columns:
        return []
    values = pd.to_numeric(scores["sweep_value"])
    groups = dict(list(scores.groupby(values)["normalized_score"]))
    spread = {k: float(v.std()) for k, v in groups.items()}
    lowest, *higher = sorted(groups)
    if not higher:
        return []
    rest = np.concatenate([groups[k].to_numpy() for k in higher])
    p_value = float(scipy_stats.levene(groups[lowest].to_numpy(), rest).pvalue)
    effect = spread[lowest] - float(np.std(rest, ddof=1))
    few = len(groups[lowest]) < 3  # a spread of one or two runs says nothing
    verdict = ("inconclusive" if few or not p_value <= 0.05 else "reproduced" if effect > 0
               else "not reproduced")
    return [{"env": ",".join(sorted(scores["env"].unique())),
             "measure": f"seed spread at c_max {lowest:g} minus at higher c_max (> 0; "
                        "Levene's test)", "effect": effect, "p_value": p_value,
             "verdict": verdict, "runs": f"{len(scores)} runs; spreads " + ", ".join(
                 f"{k:g}: {v:.3f}" for k, v in spread.items())}]


def _steps(tables: dict[str, pd.DataFrame], method: str, env: str) -> np.ndarray:
    """Steps to the threshold, a run that never got there counting as budget + one
    evaluation interval (behind every run that did)."""
    steps = tables["steps_to_threshold"]
    rows = steps[(steps["method"] == method) & (steps["env"] == env)].sort_values("seed")
    never = rows["budget"] * 1.1
    return np.where(rows["reached"], rows["step"], never).astype(float)


def ha_diiqn_faster(tables: dict[str, pd.DataFrame], reps: int) -> list[dict]:
    out = []
    envs = [e for e in sorted(tables["scores"]["env"].unique()) if "grid_maze" in e]
    for env in envs:
        for ha in _methods(tables, "ha_diiqn"):
            for algo in ("diiqn", "dqn"):
                for other in _methods(tables, algo):
                    a, b = _steps(tables, ha, env), _steps(tables, other, env)
                    if not (len(a) and len(b)):
                        continue
                    low, high = bootstrap(lambda x, y: -relative_gain(x, y), a, b, reps=reps)
                    out.append({"env": env, "measure": f"steps to the expert, {ha} against "
                                f"{other}: 1 - mean ratio (> 0: faster)",
                                "effect": -relative_gain(a, b), "effect_lower": low,
                                "effect_upper": high,
                                **compare(a, b, higher_is_better=False, reps=reps),
                                "runs": _runs(tables, ha, other, env=env)})
    return out


def only_ha_diiqn_on_point_maze(tables: dict[str, pd.DataFrame], reps: int) -> list[dict]:
    out = []
    if "point_maze" not in set(tables["scores"]["env"]):
        return out
    for ha in _methods(tables, "ha_diiqn"):
        for algo in ("diiqn", "dqn"):
            for other in _methods(tables, algo):
                a, b = _scores(tables, ha, "point_maze"), _scores(tables, other, "point_maze")
                if not (len(a) and len(b)):
                    continue

                def gap(x: np.ndarray, y: np.ndarray) -> float:
                    return float(np.mean(x) - np.mean(y))

                low, high = bootstrap(gap, a, b, reps=reps)
                out.append({"env": "point_maze", "measure": f"final normalised score, {ha} "
                            f"minus {other}", "effect": gap(a, b), "effect_lower": low,
                            "effect_upper": high, **compare(a, b, reps=reps),
                            "runs": _runs(tables, ha, other, env="point_maze")})
    return out


CLAIMS = [
    Claim("DIIQN beats DQN", "up to 130 % higher return than DQN; 24-130 % on every game but "
          "Freeway", "baseline", diiqn_over_dqn),
    Claim("DIIQN beats DQN at the long budget", "as above", "beyond_expert", diiqn_over_dqn),
    Claim("DIIQN starts faster than DQN (long budget)", "imitation gives the initial guidance "
          "that accelerates learning", "beyond_expert", head_start, normalised=True),
    Claim("Freeway: DIIQN no different from DQN", "no gain on Freeway: plain DRL already finds "
          "the optimal policy", "baseline", no_difference),
    Claim("DIIQN ahead of DQN along the budget", "as above (\"up to\": at some budget)",
          "baseline", ahead_along_budget, normalised=True),
    Claim("DIIQN ahead of DQN along the budget (long budget)", "as above", "beyond_expert",
          ahead_along_budget, normalised=True),
    Claim("DIIQN goes beyond the expert", "DIIQN goes past a suboptimal expert",
          "baseline", beyond_expert, normalised=True),
    Claim("DIIQN goes beyond the expert (long budget)", "as above", "beyond_expert",
          beyond_expert, normalised=True),
    Claim("DIIQN above the expert along the budget (long budget)", "as above", "beyond_expert",
          above_expert_along_budget, normalised=True),
    Claim("baselines capped at the expert", "BCO, GAIfO and ORIL plateau at the expert's "
          "level", "baseline", baselines_capped, normalised=True),
    Claim("baselines capped at the expert (long budget)", "as above", "beyond_expert",
          baselines_capped, normalised=True),
    Claim("dataset-size knee near 30K", "gains up to 30K transitions, then a plateau to 100K",
          "dataset_size", dataset_knee, normalised=True),
    Claim("c_max 150K-225K more stable than 100K", "100K faster early but more variable",
          "cmax_sensitivity", cmax_stability),
    Claim("higher τ is better", "higher τ: less but cleaner data, a better final return",
          "tau_sensitivity", higher_tau_better, normalised=True),
    Claim("HA-DIIQN faster in the 2D maze", "52 % faster than DIIQN, 64 % faster than DQN",
          "heterogeneous", ha_diiqn_faster),
    Claim("only HA-DIIQN learns the point maze", "DIIQN ~ DQN, both low; HA-DIIQN much "
          "higher", "heterogeneous", only_ha_diiqn_on_point_maze, normalised=True),
]


def verdicts(aggregate_root: Path, reps: int = 2000) -> pd.DataFrame:
    """One row per claim and tested case, from ``aggregate_root/{experiment}/``; every
    interval from ``reps`` bootstrap resamples."""
    if not Path(aggregate_root).is_dir():
        raise AggregateError(f"{aggregate_root}: no such folder (give the folder of the "
                             "experiments' aggregate folders, e.g. results/aggregate)")
    rows = []
    for claim in CLAIMS:
        folder = Path(aggregate_root) / claim.experiment
        base = {"claim": claim.name, "paper": claim.paper, "experiment": claim.experiment}
        if not (folder / "scores.csv").is_file() and not (folder / TABLES_INDEX).is_file():
            rows.append({**base, "verdict": "not run"})  # not aggregated (a manifest at most)
            continue
        tables = read_tables(folder)  # a folder that is there must be whole: else one line
        with warnings.catch_warnings():
            # Degenerate groups (one run, equal values) give NaN effects and p-values, which
            # the verdict rules read as inconclusive; numpy's and scipy's warnings say no more.
            warnings.simplefilter("ignore", RuntimeWarning)
            found = claim.test(tables, reps)
        scores = tables["scores"]
        for row in found:
            envs = set(scores["env"]) if row["env"] == "all" else set(row["env"].split(","))
            weak = ~scores["expert_above_random"].astype(bool) & scores["env"].isin(envs)
            if claim.normalised and weak.any():
                row["verdict"] = "no verdict: the expert is not clearly better than random"
        rows += [{**base, **row} for row in found] or [{**base, "verdict": "not run"}]
    return pd.DataFrame(rows).reindex(columns=COLUMNS)
