"""From finished run folders to an experiment's tables (CSV): scores, curves and rliable
statistics.

Every value comes from the runs' own files: a run's algorithm, environment, seed and any swept
setting from its ``config.json`` (never from its folder's name), its returns from
``metrics.csv``, its diagnostics from ``diagnostics.csv``. A method is a label given to a set of
runs (the workflow's manifest names them; by hand it is ``algo/variant``); where an experiment
sweeps a setting, each value of it is a method of its own, labelled with the value.

Tables (``aggregate``'s keys, written as ``{name}.csv``):

* ``scores``: one row per run: its score (mean evaluation return over the last ``last``
  evaluations), the expert's and the random policy's returns, the expert-normalised score
  ``(score - random) / (expert - random)``, and ``expert_above_random``, false where the expert
  is not clearly better than random (the normalised score then says nothing; the figures say so).
* ``curves``: every evaluation of every run, raw and normalised.
* ``intervals``: IQM, median, mean and optimality gap of the normalised scores per method over
  envs and seeds, with stratified-bootstrap 95 % intervals; ``intervals_by_env``: the IQM per
  method and env over seeds. Here and in ``poi``, ``profiles`` and ``beyond``, "over envs" is
  over ``stats.aggregated_envs``: every env once the experiment is finished; while it is
  partial, the envs on which every method's runs make the largest rectangular matrices
  (``cells``' ``seeds_over_envs`` says which seeds, and is empty on an env left out).
* ``poi``: P(X > Y) for every ordered pair of methods; ``profiles``: performance profiles.
* ``beyond``: per method, the share of runs above the expert (normalised score > 1) and the
  probability of beating DQN where the experiment has DQN, with intervals.
* ``budget``: the verdict along the budget: per env, method and evaluation step, the IQM of
  the runs' normalised return there (each run's mean over its last ``last`` evaluations up to
  that step, as its score is at the end) with its interval, and P(method > DQN) with its
  interval and the one-sided Mann-Whitney p-values (method > DQN, and the reverse) where the
  experiment has DQN: per step (``p_value``, ``p_value_reverse``) and adjusted for the number
  of steps (``*_adjusted``: ``stats.step_adjusted_p_values`` over the steps at which every run
  of both methods has been evaluated; empty at the others).
* ``steps_to_threshold``: each run's first evaluation within ``threshold`` of the expert.
* ``diagnostics``: every run's diagnostics over training: each column its ``diagnostics.csv``
  logged (``kept_diagnostics``: all but the timings its algorithm declares), so an algorithm's
  own diagnostics reach the tables without a list here to add them to.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from algos.algorithms import ALGORITHMS, REFERENCE, WALL_CLOCK_DIAGNOSTICS, revision_label
from algos.errors import UserError
from algos.evidence import stats
from algos.provenance.readers import check_nothing_lost, read_expert_info, read_run, run_key
from algos.provenance.verify import csv_problem

RUN_KEYS = ["method", "algo", "variant", "env", "seed"]


class AggregateError(UserError, ValueError):
    """Runs that cannot be aggregated: the message names the run and the problem."""


@dataclass(frozen=True)
class RunRef:
    """A run folder and the method it stands for."""

    folder: Path
    method: str
    env: str | None = None  # planned env (manifests); a finished run's own is in config.json


def runs_from_manifest(path: Path) -> tuple[list[RunRef], dict | None, str]:
    """The runs, the sweep and the experiment's name of a workflow manifest: every run it
    plans, finished or not (``aggregate`` scores the finished ones)."""
    try:
        manifest = json.loads(Path(path).read_text())
        runs = [RunRef(Path(r["folder"]), r["method"], r.get("env")) for r in manifest["runs"]]
        return runs, manifest.get("sweep"), manifest.get("experiment", "")
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise AggregateError(f"{path}: not an experiment manifest ({err})") from None


def runs_by_folder(folders: list[Path]) -> list[RunRef]:
    """Runs given by hand: each is the method ``algo/variant``."""
    refs = []
    for folder in map(Path, folders):
        config = _read_config(folder)
        refs.append(RunRef(folder, f"{config['algo']}/{folder.parent.name}"))
    return refs


def _read_config(folder: Path) -> dict:
    if not (folder / "summary.json").is_file():
        raise AggregateError(f"{folder}: not a finished run (no summary.json)")
    # The reader of finished runs: seals, the run's identity, its rows on its schedule.
    return read_run(folder).config


def _started(folder: Path) -> str:
    """When the run's first session began (``run.json``), ISO; "" where it does not say."""
    try:
        return str(json.loads((folder / "run.json").read_text())["started"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def _git_commit(folder: Path) -> str:
    """The git commit of the code that finished the run (``run.json``'s last session)."""
    try:
        return str(json.loads((folder / "run.json").read_text())["provenance"]["git_commit"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def _read_run_table(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """A run's CSV file with ``columns`` and at least one row, else ``AggregateError`` naming
    it (a run's files are verified against its summary.json, so this is a run whose writer
    sealed them so)."""
    problem = csv_problem(path, columns)
    if problem:
        raise AggregateError(f"{path}: {problem}")
    table = pd.read_csv(path)
    if table.empty:
        raise AggregateError(f"{path}: no evaluations (a header only)")
    return table


def _value_at(config: dict, path: str, folder: Path | None = None):
    """The setting at dotted ``path`` of a run's ``config``. A run that predates an algorithm's
    setting ran it at the default it was added with (``settings_differences`` reads it so too);
    any other missing key is one line naming the run."""
    value = config
    for key in path.split("."):
        if isinstance(value, dict) and key in value:
            value = value[key]
            continue
        algo = ALGORITHMS.get(config.get("algo"))
        head, _, name = path.partition(".")
        if head == "algo_config" and algo is not None and hasattr(algo.config(), name):
            return getattr(algo.config(), name)
        raise AggregateError(f"{folder or 'a run'}/config.json: no setting {path} (the swept "
                             "setting): a run of another kind than the sweep's")
    return value


def _expert_scores(config: dict, experts: Path | None) -> dict:
    """The expert's and random policy's returns (and their spread) for a run's env."""
    info = None
    if experts is not None:
        folder = Path(experts) / config["game"]
        if (folder / "expert.json").is_file():
            info = read_expert_info(folder)  # its seal checked, as every reader of it does
    if info is not None:
        return {"expert_return": info["eval"]["return_mean"],
                "expert_return_std": info["eval"]["return_std"],
                "expert_episodes": info["eval"]["episodes"],
                "random_return": info["random"]["return_mean"],
                "above": expert_clearly_above_random(info)}
    described = config.get("dataset", {}).get("expert", {})
    if described.get("return_mean") is not None:
        return {"expert_return": described["return_mean"],
                "expert_return_std": described.get("return_std", math.nan),
                "expert_episodes": described.get("episodes", math.nan),
                "random_return": described["random_return_mean"],
                "above": described["return_mean"] > described["random_return_mean"]}
    return {"expert_return": math.nan, "expert_return_std": math.nan,
            "expert_episodes": math.nan, "random_return": math.nan, "above": False}


def expert_clearly_above_random(info: dict, z: float = 2.0) -> bool:
    """Whether an expert's mean return exceeds the random policy's by more than ``z`` standard
    errors of the difference (``expert.json``'s means, spreads and episode counts)."""
    expert, random = info["eval"], info["random"]
    se = math.sqrt(expert["return_std"] ** 2 / max(expert["episodes"], 1)
                   + random["return_std"] ** 2 / max(random["episodes"], 1))
    return expert["return_mean"] - random["return_mean"] > max(z * se, 1e-9)


def kept_diagnostics(columns: list[str]) -> list[str]:
    """The columns of a run's ``diagnostics.csv`` that the ``diagnostics`` table keeps: every
    one but ``env_steps`` (its ``step``) and the timings (``WALL_CLOCK_DIAGNOSTICS``, which
    differ between identical runs)."""
    return [c for c in columns if c != "env_steps" and c not in WALL_CLOCK_DIAGNOSTICS]


def collect(runs: list[RunRef], experts: Path | None, last: int, sweep: dict | None = None
            ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Scores, curves and diagnostics of ``runs`` (see the module's docstring)."""
    seen: dict[tuple, Path] = {}
    score_rows, curves, diagnostics = [], [], []
    for ref in runs:
        config = _read_config(ref.folder)
        method = ref.method
        swept = sweep if sweep and ref.method not in sweep.get("anchors", []) else None
        if swept:
            value = _value_at(config, sweep["config_path"], ref.folder)
            method = f"{method} {sweep['key']}={value:g}" if isinstance(value, int | float) \
                else f"{method} {sweep['key']}={value}"
        key = {"method": method, "algo": config["algo"], "variant": ref.folder.parent.name,
               "env": config["game"], "seed": int(config["seed"])}
        base = {"method_base": ref.method, "revision": revision_label(config.get("revision")),
                "git_commit": _git_commit(ref.folder)}
        same = (method, key["env"], key["seed"])
        if same in seen:
            raise AggregateError(f"{ref.folder} and {seen[same]}: the same run twice ({method}, "
                                 f"{key['env']}, seed {key['seed']})")
        seen[same] = ref.folder
        ends = _expert_scores(config, experts)
        expert, random = ends["expert_return"], ends["random_return"]
        scale = expert - random if expert != random else math.nan
        metrics = _read_run_table(ref.folder / "metrics.csv", ("env_steps", "eval_return_mean"))
        score = float(metrics["eval_return_mean"].tail(last).mean())
        row = {**key, **base, "score": score, "normalized_score": (score - random) / scale,
               "expert_return": expert, "random_return": random,
               "expert_above_random": ends["above"],
               "expert_return_std": ends["expert_return_std"],
               "expert_episodes": ends["expert_episodes"], "started": _started(ref.folder)}
        if sweep:  # an anchor of the sweep has no value of it
            row.update(sweep_key=sweep["key"], sweep_label=sweep.get("label", sweep["key"]),
                       sweep_value=_value_at(config, sweep["config_path"], ref.folder) if swept
                       else math.nan)
        score_rows.append(row)
        curves.append(pd.DataFrame({**key, "step": metrics["env_steps"],
                                    "eval_return": metrics["eval_return_mean"],
                                    "normalized_return": (metrics["eval_return_mean"] - random)
                                    / scale}))
        table = _read_run_table(ref.folder / "diagnostics.csv", ("env_steps",))
        kept = table[kept_diagnostics(list(table.columns))].copy()
        kept.insert(0, "step", table["env_steps"])
        for name in reversed(RUN_KEYS):
            kept.insert(0, name, key[name])
        diagnostics.append(kept)
    curve_columns = [*RUN_KEYS, "step", "eval_return", "normalized_return"]
    return (pd.DataFrame(score_rows),
            pd.concat(curves, ignore_index=True)[curve_columns] if curves
            else pd.DataFrame(columns=curve_columns),
            pd.concat(diagnostics, ignore_index=True) if diagnostics
            else pd.DataFrame(columns=[*RUN_KEYS, "step"]))


def aggregate(runs: list[RunRef], experts: Path | None = None, last: int = 3, reps: int = 2000,
              seed: int = 0, threshold: float = 0.9, sweep: dict | None = None,
              experiment: str = "") -> dict[str, pd.DataFrame]:
    """Every table of an experiment (see the module's docstring)."""
    planned = runs
    runs = [ref for ref in runs if (ref.folder / "summary.json").is_file()]
    if not runs:
        raise AggregateError(f"none of the {len(planned)} runs is finished: nothing to aggregate"
                             if planned else "no runs to aggregate")
    scores, curves, diagnostics = collect(runs, experts, last, sweep)
    scores.insert(0, "experiment", experiment)
    try:
        matrices = stats.score_matrices(scores)
        by_env_matrices = {env: stats.score_matrices(scores[scores["env"] == env])
                           for env in sorted(scores["env"].unique())}
    except ValueError as err:
        raise AggregateError(str(err)) from None
    cells = cell_table(planned, scores, sweep)
    aggregates = stats.aggregate_metrics(matrices, reps=reps, seed=seed) if matrices else {}
    intervals = pd.DataFrame([{"metric": metric, "method": method, "point": point,
                               "lower": low, "upper": high}
                              for method, values in aggregates.items()
                              for metric, (point, low, high) in values.items()],
                             columns=["metric", "method", "point", "lower", "upper"])
    by_env = []
    for env, single in by_env_matrices.items():
        for method, values in stats.aggregate_metrics(single, reps=reps, seed=seed).items():
            point, low, high = values["iqm"]
            by_env.append({"env": env, "method": method, "iqm": point, "lower": low,
                           "upper": high})
    poi = []
    for x, y in itertools.permutations(matrices, 2):
        point, low, high = stats.probability_of_improvement(matrices[x], matrices[y], reps=reps,
                                                            seed=seed)
        poi.append({"x": x, "y": y, "probability": point, "lower": low, "upper": high})
    poi = pd.DataFrame(poi, columns=["x", "y", "probability", "lower", "upper"])
    thresholds = np.linspace(0.0, 2.0, 41)
    profiles = pd.DataFrame([
        {"method": method, "tau": tau, "fraction": f, "lower": lo, "upper": hi}
        for method, (fraction, low, high) in (stats.performance_profile(
            matrices, thresholds, reps=max(100, reps // 10), seed=seed) if matrices else {}
        ).items()
        for tau, f, lo, hi in zip(thresholds, fraction, low, high, strict=True)],
        columns=["method", "tau", "fraction", "lower", "upper"])
    return {"scores": scores, "curves": curves, "diagnostics": diagnostics,
            "steps_to_threshold": stats.steps_to_threshold(curves, threshold),
            "intervals": intervals, "intervals_by_env": pd.DataFrame(by_env), "poi": poi,
            "profiles": profiles, "beyond": beyond(matrices, poi, reps=reps, seed=seed),
            "budget": budget(curves, last, reps=reps, seed=seed), "cells": cells}


def aggregate_into(out: Path, runs: list[Path] | None = None, manifest: Path | None = None, *,
                   experiment: str = "", **settings) -> tuple[dict[str, pd.DataFrame], int]:
    """``aggregate`` the runs of the workflow's ``manifest`` (its methods, its sweep, its
    experiment unless ``experiment`` names one) or the finished run folders ``runs`` (each the
    method ``algo/variant``), and write the tables into ``out`` (``write_tables``, with the
    ``settings``: ``experts``, ``last``, ``reps``, ``seed``, ``threshold``). Returns the tables
    and the number of runs asked for."""
    if bool(manifest) == bool(runs):
        raise AggregateError("give either RUN folders or --manifest")
    sweep = None
    if manifest:
        refs, sweep, planned = runs_from_manifest(manifest)
        experiment = experiment or planned
    else:
        refs = runs_by_folder(runs)
    tables = aggregate(refs, sweep=sweep, experiment=experiment, **settings)
    # An aggregate already at ``out`` is never rebuilt from fewer runs without a word.
    check_nothing_lost(out, {(r.env, r.algo, r.variant, int(r.seed))
                             for r in tables["scores"].itertuples()},
                       {run_key(ref.folder): str(ref.folder) for ref in refs}
                       if manifest else None)
    write_tables(tables, out, settings={key: settings[key]
                                        for key in ("last", "threshold", "reps", "seed")})
    return tables, len(refs)


def summary_lines(tables: dict[str, pd.DataFrame], asked: int) -> list[str]:
    """What an aggregate holds, in words: the runs finished of those ``asked`` for, the methods,
    envs and code revisions, the IQM of each method over the envs it is over; then a line per
    method and env with fewer runs finished than planned."""
    scores, cells = tables["scores"], tables["cells"]
    iqm = tables["intervals"].query("metric == 'iqm'")
    over = sorted(set(cells.loc[cells["seeds_over_envs"] != "", "env"]))
    first = (f"{len(scores)} of {asked} runs finished, of {cells['method'].nunique()} methods "
             f"on {scores['env'].nunique()} envs (code revisions: "
             f"{', '.join(sorted(set(scores['revision'])))}); IQM of expert-normalised scores "
             f"over {', '.join(over) or 'envs'}: "
             + (", ".join(f"{m} {v:.2f}" for m, v in zip(iqm["method"], iqm["point"],
                                                          strict=True))
                or "none yet (no method has a run on every env)"))
    partial = cells[cells["finished"] < cells["planned"]]
    return [first, *(f"  {row.method} on {row.env}: {row.finished} of {row.planned} runs "
                     f"(seeds {row.seeds})" for row in partial.itertuples())]


def cell_table(planned: list[RunRef], scores: pd.DataFrame, sweep: dict | None
               ) -> pd.DataFrame:
    """What each (method, env) rests on: the runs planned (where a manifest says) and
    finished, their seeds, the seeds in the aggregates over envs (``stats.balanced_seeds``;
    none on an env those leave out, ``stats.aggregated_envs``), and the code revisions and
    commits they came from."""
    over = stats.aggregated_envs(scores)
    balanced = stats.balanced_seeds(scores, over)
    anchors = sweep.get("anchors", []) if sweep else []
    rows = []
    for (method, env), runs in scores.groupby(["method", "env"], sort=True):
        base = runs["method_base"].iloc[0]
        values = len(sweep["values"]) if sweep and base not in anchors else 1
        planned_here = sum(ref.method == base and ref.env == env for ref in planned) // values
        rows.append({"method": method, "env": env, "planned": max(planned_here, len(runs)),
                     "finished": len(runs),
                     "seeds": " ".join(map(str, sorted(runs["seed"]))),
                     "seeds_over_envs": " ".join(map(str, balanced.get(method, [])))
                     if env in over else "",
                     "revisions": " ".join(sorted(set(runs["revision"]))),
                     "git_commits": " ".join(sorted(set(runs["git_commit"]) - {""}))})
    return pd.DataFrame(rows, columns=["method", "env", "planned", "finished", "seeds",
                                       "seeds_over_envs", "revisions", "git_commits"])


def beyond(matrices: dict[str, np.ndarray], poi: pd.DataFrame, reps: int = 2000,
           seed: int = 0) -> pd.DataFrame:
    """Per method: the share of its runs above the expert (normalised score > 1) and the
    probability that it beats DQN (the experiment's method of the ``REFERENCE`` algorithm, if
    it has exactly one; the columns say ``dqn``), each with a 95 % interval."""
    above = stats.share_above(matrices, 1.0, reps=reps, seed=seed) if matrices else {}
    reference = [m for m in matrices if m.split("/")[0].split(" ")[0] == REFERENCE]
    versus = reference[0] if len(reference) == 1 else None
    rows = []
    for method, (share, low, high) in above.items():
        row = {"method": method, "above_expert": share, "above_expert_lower": low,
               "above_expert_upper": high, "versus": versus,
               "beats_dqn": math.nan, "beats_dqn_lower": math.nan, "beats_dqn_upper": math.nan}
        if versus is not None and method != versus:
            pair = poi[(poi["x"] == method) & (poi["y"] == versus)].iloc[0]
            row.update(beats_dqn=pair["probability"], beats_dqn_lower=pair["lower"],
                       beats_dqn_upper=pair["upper"])
        rows.append(row)
    return pd.DataFrame(rows, columns=["method", "above_expert", "above_expert_lower",
                                       "above_expert_upper", "versus", "beats_dqn",
                                       "beats_dqn_lower", "beats_dqn_upper"])


BUDGET_COLUMNS = ["env", "method", "step", "runs", "iqm", "iqm_lower", "iqm_upper", "versus",
                  "p_improvement", "p_improvement_lower", "p_improvement_upper", "p_value",
                  "p_value_reverse", "p_value_adjusted", "p_value_reverse_adjusted"]


def budget(curves: pd.DataFrame, last: int, reps: int = 2000, seed: int = 0) -> pd.DataFrame:
    """The ``budget`` table (see the module's docstring). Its intervals take
    ``max(100, reps // 10)`` resamples, as the profiles do: one pair of them per evaluation
    step and method."""
    curves = curves.dropna(subset=["normalized_return"])
    if curves.empty:
        return pd.DataFrame(columns=BUDGET_COLUMNS)
    curves = curves.sort_values(["method", "env", "seed", "step"], kind="stable")
    window = curves.groupby(["method", "env", "seed"], sort=False)["normalized_return"].transform(
        lambda run: run.rolling(last, min_periods=1).mean())
    curves = curves.assign(window=window)
    algos = dict(zip(curves["method"], curves["algo"], strict=True))
    methods = list(dict.fromkeys(curves["method"]))
    reference = [m for m in methods if algos[m] == REFERENCE]
    versus = reference[0] if len(reference) == 1 else None
    reps = max(100, reps // 10)
    rows = []
    for (env, step), at in curves.groupby(["env", "step"], sort=True):
        values = {m: run["window"].to_numpy() for m, run in at.groupby("method", sort=False)}
        for method in (m for m in methods if m in values):
            x = values[method]
            row = dict(zip(BUDGET_COLUMNS, [env, method, int(step), len(x),
                                            *stats.iqm_interval(x[:, None], reps, seed),
                                            versus, *[math.nan] * 7],
                           strict=True))
            if versus is not None and method != versus and versus in values:
                y = values[versus]
                point, low, high = stats.probability_of_improvement(x[:, None], y[:, None],
                                                                    reps=reps, seed=seed)
                ahead, behind = stats.one_sided_p_values(x, y)
                row.update(p_improvement=point, p_improvement_lower=low,
                           p_improvement_upper=high, p_value=ahead, p_value_reverse=behind)
            rows.append(row)
    table = pd.DataFrame(rows, columns=BUDGET_COLUMNS)
    if versus is not None:
        for method in methods:
            if method != versus:
                _adjust_along_budget(table, curves, method, versus)
    return table


def _adjust_along_budget(table: pd.DataFrame, curves: pd.DataFrame, method: str, versus: str
                         ) -> None:
    """Fill ``table``'s adjusted p-values of ``method`` against ``versus``, per env, over the
    steps at which every run of both has been evaluated."""
    for env, at in curves.groupby("env", sort=True):
        wide = {m: at[at["method"] == m].pivot(index="seed", columns="step", values="window")
                for m in (method, versus)}
        if wide[method].empty or wide[versus].empty:
            continue
        both = pd.concat([wide[method], wide[versus]], keys=[method, versus])
        steps = [step for step in both.columns if both[step].notna().all()]
        if not steps:
            continue
        ahead, behind = stats.step_adjusted_p_values(wide[method][steps].to_numpy(),
                                                     wide[versus][steps].to_numpy())
        for step, p_ahead, p_behind in zip(steps, ahead, behind, strict=True):
            where = ((table["env"] == env) & (table["method"] == method)
                     & (table["step"] == int(step)))
            table.loc[where, ["p_value_adjusted", "p_value_reverse_adjusted"]] = (p_ahead,
                                                                                  p_behind)


def write_tables(tables: dict[str, pd.DataFrame], out: Path, settings: dict | None = None
                 ) -> None:
    """Each table as ``out/{name}.csv``, and ``settings`` (what the tables were made with:
    ``last``, the evaluations a score is the mean of) into the index; all of them into a new
    folder that takes ``out``'s place whole (its other files, the manifest, carried over), so
    an error or an interrupt leaves ``out`` as it was (``runs.atomic_write_folder``)."""
    from algos.provenance.runs import atomic_write_folder, atomic_write_text

    def fill(folder: Path) -> None:
        sealed = {}
        for name, table in tables.items():
            text = table.to_csv(index=False)
            atomic_write_text(folder / f"{name}.csv", text)
            sealed[f"{name}.csv"] = hashlib.sha256(text.encode()).hexdigest()
        # Last: it seals the tables, which plot and claims check against it (read_tables).
        atomic_write_text(folder / TABLES_INDEX, json.dumps({"tables": sealed,
                                                             "settings": settings or {}},
                                                            indent=2) + "\n")

    atomic_write_folder(Path(out), fill, keep=lambda name: True)


TABLES = ("scores", "curves", "diagnostics", "steps_to_threshold", "intervals",
          "intervals_by_env", "poi", "profiles", "beyond", "budget", "cells")
"""The tables an aggregate folder holds."""


TABLES_INDEX = "tables.json"
"""Written last by ``write_tables``: the SHA-256 of each table, which ``read_tables`` checks."""

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "scores": ("method", "algo", "env", "seed", "score", "normalized_score", "expert_return",
               "random_return", "expert_above_random"),
    "curves": ("method", "algo", "env", "seed", "step", "eval_return", "normalized_return"),
    "diagnostics": (*RUN_KEYS, "step"),
    "steps_to_threshold": ("method", "env", "seed", "step", "reached", "budget"),
    "intervals": ("metric", "method", "point", "lower", "upper"),
    "poi": ("x", "y", "probability", "lower", "upper"),
    "profiles": ("method", "tau", "fraction", "lower", "upper"),
    "beyond": ("method", "above_expert"),
    "budget": tuple(BUDGET_COLUMNS),
}
"""The columns of each table that the figures and the claims read."""


def _read_index(folder: Path) -> dict | None:
    path = folder / TABLES_INDEX
    if not path.exists():
        return None  # an aggregate folder of before the index: its tables are checked alone
    try:
        sealed = json.loads(path.read_text())["tables"]
        if not isinstance(sealed, dict) or not all(f"{n}.csv" in sealed for n in TABLES):
            raise ValueError("not every table")
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise AggregateError(f"{path}: not the index of an aggregate folder ({err})") from None
    return sealed


def read_settings(folder: Path) -> dict:
    """What an aggregate folder's tables were made with (``write_tables``' ``settings``)."""
    sealed = _read_index(Path(folder))
    try:
        settings = json.loads((Path(folder) / TABLES_INDEX).read_text())["settings"]
        int(settings["last"])
    except (OSError, ValueError, KeyError, TypeError):
        sealed = None
    if sealed is None:
        raise AggregateError(f"{folder}: its {TABLES_INDEX} does not say what its tables were "
                             "made with (an aggregate of older code): aggregate it again")
    return settings


def read_tables(folder: Path) -> dict[str, pd.DataFrame]:
    """The tables of an aggregate folder, each checked against ``tables.json`` (where the
    folder has it) and for whole lines and the columns its readers need; ``AggregateError``
    naming the first that is not."""
    from algos.provenance.runs import file_sha256

    folder = Path(folder)
    sealed = _read_index(folder)
    if sealed is None and not (folder / "scores.csv").is_file():
        raise AggregateError(f"{folder}: not an aggregate folder (no scores.csv)")
    tables = {}
    for name in TABLES:
        path = folder / f"{name}.csv"
        if sealed is not None and path.is_file() and file_sha256(path) != sealed[path.name]:
            raise AggregateError(f"{path}: not the table its aggregate wrote (its checksum "
                                 f"differs from the one in {TABLES_INDEX}): cut, edited or "
                                 "swapped")
        problem = csv_problem(path, TABLE_COLUMNS.get(name, ()))
        if problem:
            raise AggregateError(f"{path}: {problem}")
        try:
            tables[name] = pd.read_csv(path)
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
            raise AggregateError(f"{path}: not a table ({err})") from None
    if tables["scores"].empty:
        raise AggregateError(f"{folder / 'scores.csv'}: no runs (a header only)")
    return tables
