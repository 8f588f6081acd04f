"""A verdict for every claim of the claims file (config/claims.yaml), from the experiments'
aggregate tables. The rules are data (each entry's measure, effect, test, α, smallest effect
of interest, decision rule and family); this module names no algorithm or game.

For each claim and env (and each step of a ``return_at`` measure): one number per run (the
measure), the effect with its interval (``algos.evidence.intervals``, calibrated at 3-10
runs), the test's p-value, the p adjusted for the claim's family, and a verdict:

* *reproduced*: the test finds the claim at its α after adjustment (a level: the interval
  above 1, or below 1 + the smallest effect of interest for "at most");
* *not reproduced*: the interval excludes the smallest effect of interest (an equivalence
  reading: a gain below it, a level below 1 + it, a difference at least it for "no
  difference");
* *inconclusive*: neither;
* *not testable at this budget*: the two sides' runs are identical, or (a level) no method of
  the experiment gets within ``testable_from`` of the expert there, or the test cannot reach α
  at these seed counts, or the entry says so;
* *not run*: the experiment has no aggregate, or no finished run of a side on that env.

A row read while some of its registered seeds are missing names them (``seeds_missing``): its
verdict is an interim look, not the registered test (the tables mark it "interim").

Families: an experiment's primary claims are adjusted together by Holm; every secondary row of
claims.csv together by Benjamini-Hochberg. ``pre_registered`` is read from git: whether the
commit that added the entry's id to the claims file precedes the first run the row reads.
The rules in full, with their reasons: docs/results.md, "How a verdict is given".
"""

from __future__ import annotations

import math
import subprocess
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from algos.evidence import claims_file, intervals, power, stats
from algos.evidence.aggregate import TABLES_INDEX, AggregateError, read_settings, read_tables
from algos.evidence.claims_file import CLAIMS_FILE, ClaimSpec
from algos.provenance.runs import atomic_write_text, read_json

COLUMNS = ["id", "claim", "paper", "experiment", "env", "method", "against", "measure",
           "effect", "effect_lower", "effect_upper", "p_improvement", "p_value", "p_adjusted",
           "family", "alpha", "smallest_effect", "runs", "seeds_missing", "where", "fragility",
           "verdict", "pre_registered", "note"]

NOT_RUN = "not run"
NOT_TESTABLE = "not testable at this budget"
SHORT_BUDGET_STEPS = 1.1
"""A run that never reaches a level counts as reaching it at its budget times this."""


# --- one number per run -------------------------------------------------------------------------
def _window(curves: pd.DataFrame, last: int) -> pd.DataFrame:
    """Each run's return at each step as its score is at the end: the mean of its last
    ``last`` evaluations up to that step (raw and normalised)."""
    curves = curves.sort_values(["method", "env", "seed", "step"], kind="stable")
    grouped = curves.groupby(["method", "env", "seed"], sort=False)
    return curves.assign(
        window=grouped["eval_return"].transform(lambda r: r.rolling(last, 1).mean()),
        window_normalized=grouped["normalized_return"].transform(
            lambda r: r.rolling(last, 1).mean()))


def run_values(spec: ClaimSpec, tables: dict, method: str, env: str, last: int
               ) -> list[tuple[str, pd.Series]]:
    """``(label, values by seed)`` of ``spec``'s measure for ``method``'s runs on ``env``: one
    entry, or one per step of a ``return_at`` measure."""
    scores = tables["scores"]
    rows = scores[(scores["method"] == method) & (scores["env"] == env)].set_index("seed")
    curves = tables["curves"]
    curves = curves[(curves["method"] == method) & (curves["env"] == env)]
    measure = spec.measure
    name = measure["name"]
    if name == "final_return":
        return [("", rows["score"].sort_index())]
    if name == "final_score":
        return [("", rows["normalized_score"].sort_index())]
    if name == "head_start":
        early = curves[curves["step"] <= measure["until"]]
        return [("", early.groupby("seed")["normalized_return"].mean().sort_index())]
    if name == "return_at":
        windowed = _window(curves, last)
        out = []
        for at in measure["at"]:
            upto = windowed[windowed["step"] <= at]
            reached = upto.groupby("seed")["step"].max()
            values = upto.groupby("seed")["window"].last()[reached >= at]
            out.append((f"at {at / 1000:g}K", values.sort_index()))
        return out
    if name == "steps_to_level":
        budget = curves.groupby("seed")["step"].max()
        reached = curves[curves["normalized_return"] >= measure["level"]]
        first = reached.groupby("seed")["step"].min()
        return [("", first.reindex(budget.index).fillna(budget * SHORT_BUDGET_STEPS))]
    raise ValueError(f"measure {name!r} is not one number per run")


# --- effects and their intervals ----------------------------------------------------------------
def effect_interval(spec: ClaimSpec, a: np.ndarray, b: np.ndarray, alpha: float
                    ) -> tuple[float, float, float]:
    """The effect of ``a`` (the method's values) over ``b`` (the other side's), with its
    two-sided ``1 - alpha`` interval."""
    if spec.effect == "ratio":
        return intervals.ratio_interval(a, b, alpha)
    if spec.effect == "difference":
        return intervals.difference_interval(a, b, alpha)
    if spec.effect == "speedup":
        point, low, high = intervals.ratio_interval(a, b, alpha)
        return -point, -high, -low
    raise ValueError(f"effect {spec.effect!r} compares two methods; a level has its own")


def _p_from_interval(interval: Callable[[float], tuple[float, float, float]], bound: float,
                     side: str) -> float:
    """The p-value of "the effect is above ``bound``" (``side="lower"``) or below it
    (``"upper"``), read from an interval family: the α at which the two-sided ``1 - α``
    interval's bound on that side just touches ``bound``. So the claim holds at α exactly
    where the ``1 - α`` interval that claims.csv shows lies past the bound (a one-sided test
    at α / 2: the stricter reading, and the one the reader sees)."""
    def clears(alpha: float) -> bool:
        _, low, high = interval(alpha)
        return low > bound if side == "lower" else high < bound

    if not clears(0.999):
        return 1.0
    low, high = 1e-12, 0.999  # clears(high) holds
    if clears(low):
        return low
    for _ in range(60):
        mid = math.sqrt(low * high)
        low, high = (low, mid) if clears(mid) else (mid, high)
    return high


# --- the decision rules -------------------------------------------------------------------------
def _decide(spec: ClaimSpec, low: float, high: float) -> str:
    """The verdict the interval alone gives (the test's p decides *reproduced* afterwards):
    *not reproduced* where it excludes the smallest effect of interest."""
    sei = spec.smallest_effect
    if not (math.isfinite(low) or math.isfinite(high)):
        return "inconclusive"
    if spec.decision in ("superiority", "ahead_along_budget"):
        return "not reproduced" if high < sei else "inconclusive"
    if spec.decision == "equivalence":
        return "not reproduced" if low > sei or high < -sei else "inconclusive"
    if spec.decision == "non_inferiority":
        return "not reproduced" if high < -sei else "inconclusive"
    if spec.decision in ("level_above", "above_along_budget"):
        return "not reproduced" if high < 1 + sei else "inconclusive"
    if spec.decision == "level_at_most":
        return "not reproduced" if low > 1 else "inconclusive"
    raise ValueError(f"decision {spec.decision!r}")


def _claimed_p(spec: ClaimSpec, a: np.ndarray, b: np.ndarray,
               interval: Callable[[float], tuple[float, float, float]]) -> float:
    """The p-value of the claim's own direction, before adjustment."""
    sei = spec.smallest_effect
    if spec.decision == "superiority" and spec.test == "permutation":
        flip = -1.0 if spec.effect == "speedup" else 1.0
        return stats.one_sided_p_values(flip * a, flip * b)[0]
    if spec.decision == "equivalence":  # two one-sided tests: the larger p
        return max(_p_from_interval(interval, -sei, "lower"),
                   _p_from_interval(interval, sei, "upper"))
    if spec.decision == "non_inferiority":
        return _p_from_interval(interval, -sei, "lower")
    if spec.decision == "level_above":
        return _p_from_interval(interval, 1.0, "lower")
    if spec.decision == "level_at_most":
        return _p_from_interval(interval, 1.0 + sei, "upper")
    return _p_from_interval(interval, 0.0, "lower")


def _fragility(spec: ClaimSpec, a: np.ndarray, b: np.ndarray, low: float, high: float,
               expert_se: float) -> str:
    """What would change the verdict: rank swaps for a rank test, the distance of the deciding
    bound from the level in the expert's standard errors for a level."""
    if spec.test == "permutation" and len(a) and len(b):
        flip = -1.0 if spec.effect == "speedup" else 1.0
        swaps = power.rank_swaps_to_cross(flip * a, flip * b, spec.alpha)
        if swaps is None:
            return f"no order of these runs crosses α {spec.alpha:g}"
        return f"{swaps:g} rank swap{'s' if swaps != 1 else ''} cross α {spec.alpha:g}"
    if spec.effect == "level" and expert_se > 0 and math.isfinite(low):
        bound, edge = ((low, 1.0) if spec.decision in ("level_above", "above_along_budget")
                       else (high, 1.0 + spec.smallest_effect))
        return f"bound {bound - edge:+.3f} from {edge:g}: {(bound - edge) / expert_se:+.1f} " \
               "expert SE"
    return ""


def _registered(spec: ClaimSpec, tables: dict, side: str, env: str) -> set[int]:
    """The seeds ``side`` of a row is registered to read: the claim's ``seeds``, of those its
    experiment plans for the side on ``env`` (``tables["plan"]``, the manifest's runs, where
    given): a reference side may plan fewer (BCO's three seeds against DIIQN's five)."""
    plan = tables.get("plan")
    if plan is None:
        return set(spec.seeds)
    method = side.split(" ")[0]  # a sweep's cell, "diiqn tau=0.9", runs the method's seeds
    planned = plan.loc[(plan["method"] == method) & (plan["env"] == env), "seed"]
    return set(spec.seeds) & set(planned.astype(int))


def plan_of(folder: Path) -> pd.DataFrame | None:
    """The runs an experiment's aggregate folder plans (its ``manifest.json``: method, env,
    seed), or None where it has no manifest."""
    path = Path(folder) / "manifest.json"
    if not path.is_file():
        return None
    runs = read_json(path).get("runs", [])
    return pd.DataFrame(runs, columns=["folder", "method", "env", "seed"])


def _runs_read(spec: ClaimSpec, tables: dict, env: str, by_side: dict[str, pd.Series]
               ) -> dict[str, str]:
    """The seeds a row reads per side (``runs``), and the registered seeds it lacks
    (``seeds_missing``, empty when none): a verdict read without some of them is interim."""
    missing = {side: sorted(_registered(spec, tables, side, env) - set(values.index))
               for side, values in by_side.items()}
    return {"runs": "; ".join(f"{side}: seeds {','.join(map(str, values.index))}"
                              for side, values in by_side.items()),
            "seeds_missing": "; ".join(f"{side}: {','.join(map(str, seeds))}"
                                       for side, seeds in missing.items() if seeds)}


def _expert(tables: dict, env: str) -> dict:
    scores = tables["scores"]
    row = scores[scores["env"] == env].iloc[0]
    return {"mean": float(row["expert_return"]), "sd": float(row["expert_return_std"]),
            "episodes": int(row["expert_episodes"]), "random": float(row["random_return"])}


def _level_interval(spec: ClaimSpec, returns: np.ndarray, expert: dict
                    ) -> Callable[[float], tuple[float, float, float]]:
    """The level's interval as a function of α (its p-value is read from it)."""
    return partial(intervals.level_interval, returns, expert["mean"], expert["sd"],
                   expert["episodes"], expert["random"])


def _testable(spec: ClaimSpec, tables: dict, env: str) -> bool:
    """A level can discriminate only where some method of the experiment gets near the
    expert: its mean normalised final score at least ``testable_from``."""
    if spec.testable_from is None:
        return True
    scores = tables["scores"]
    best = scores[scores["env"] == env].groupby("method")["normalized_score"].mean().max()
    return bool(best >= spec.testable_from)


def _compare(spec: ClaimSpec, tables: dict, env: str, last: int, base: dict) -> list[dict]:
    """The rows of a claim between two methods (or a method and the expert) on ``env``."""
    if spec.measure["name"] == "curve":
        return [_along_budget(spec, tables, env, last, base)]
    ours = run_values(spec, tables, spec.method, env, last)
    theirs = (run_values(spec, tables, spec.against, env, last) if spec.against != "expert"
              else [(label, None) for label, _ in ours])
    rows = []
    for (label, a), (_, b) in zip(ours, theirs, strict=True):
        row = {**base, "measure": _measure_text(spec) + (f" {label}" if label else "")}
        sides = {spec.method: a} | ({spec.against: b} if b is not None else {})
        row.update(_runs_read(spec, tables, env, sides))
        if a.empty or (b is not None and b.empty):
            rows.append({**row, "verdict": NOT_RUN})
            continue
        x = a.to_numpy(dtype=float)
        if spec.effect == "level":
            expert = _expert(tables, env)
            returns = run_values(_with_measure(spec, "final_return"), tables, spec.method, env,
                                 last)[0][1].to_numpy(dtype=float)
            interval = _level_interval(spec, returns, expert)
            y = np.array([])
            expert_se = expert["sd"] / math.sqrt(expert["episodes"]) / \
                (expert["mean"] - expert["random"])
        else:
            y = b.to_numpy(dtype=float)
            interval = partial(effect_interval, spec, x, y)
            expert_se = 0.0
        point, low, high = interval(spec.alpha)
        row.update(effect=point, effect_lower=low, effect_upper=high)
        if len(y):
            row["p_improvement"] = _p_improvement(x, y, spec.effect == "speedup")
        if len(y) and a.index.equals(b.index) and np.array_equal(x, y):
            rows.append({**row, "verdict": NOT_TESTABLE, "where": "identical runs"})
            continue
        if spec.effect == "level" and not _testable(spec, tables, env):
            rows.append({**row, "verdict": NOT_TESTABLE,
                         "where": f"no method's mean normalised score reaches "
                                  f"{spec.testable_from:g} here"})
            continue
        if spec.test == "permutation" and \
                power.min_attainable_p(len(x), len(y)) > spec.alpha:
            rows.append({**row, "verdict": NOT_TESTABLE, "where": f"{len(x)} runs against "
                         f"{len(y)} cannot reach p <= {spec.alpha:g}"})
            continue
        if spec.test == "permutation":
            row["min_p"] = power.min_attainable_p(len(x), len(y))
        row["p_value"] = _claimed_p(spec, x, y, interval)
        row["verdict"] = _decide(spec, low, high)
        row["fragility"] = _fragility(spec, x, y, low, high, expert_se)
        rows.append(row)
    return rows


def _p_improvement(a: np.ndarray, b: np.ndarray, lower_is_better: bool) -> float:
    if lower_is_better:
        a, b = -a, -b
    return float(((a[:, None] > b[None, :]) + 0.5 * (a[:, None] == b[None, :])).mean())


def _with_measure(spec: ClaimSpec, name: str) -> ClaimSpec:
    from dataclasses import replace

    return replace(spec, measure={"name": name})


def _measure_text(spec: ClaimSpec) -> str:
    measure = spec.measure
    text = {"final_return": "final return", "final_score": "final normalised score",
            "head_start": f"mean normalised return to {measure.get('until', 0) / 1000:g}K steps",
            "return_at": "return", "steps_to_level": f"steps to normalised return "
            f"{measure.get('level', 0):g}", "curve": "normalised return at each evaluation"
            }[measure["name"]]
    effect = {"ratio": f"{spec.method} / {spec.against} - 1",
              "difference": f"{spec.method} - {spec.against}",
              "speedup": f"1 - {spec.method} / {spec.against}",
              "level": f"{spec.method} (1 = the expert)"}[spec.effect]
    return f"{text}, {effect}"


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


def _wide(windowed: pd.DataFrame, method: str, env: str, column: str) -> pd.DataFrame:
    runs = windowed[(windowed["method"] == method) & (windowed["env"] == env)]
    return runs.pivot(index="seed", columns="step", values=column)


def _along_budget(spec: ClaimSpec, tables: dict, env: str, last: int, base: dict) -> dict:
    """A claim along the budget: at every evaluation step every run of the sides has reached,
    the maxT-adjusted permutation test (two methods), or the level's interval at α divided by
    the number of steps (Bonferroni; against the expert)."""
    windowed = _window(tables["curves"], last)
    ours = _wide(windowed, spec.method, env, "window_normalized")
    row = {**base, "measure": _measure_text(spec)}
    if spec.against == "expert":
        theirs = None
        both = ours
    else:
        theirs = _wide(windowed, spec.against, env, "window_normalized")
        both = pd.concat([ours, theirs])
    if ours.empty or (theirs is not None and theirs.empty):
        return {**row, "verdict": NOT_RUN}
    row.update(_runs_read(spec, tables, env, {spec.method: ours.iloc[:, 0]} | (
        {spec.against: theirs.iloc[:, 0]} if theirs is not None else {})))
    steps = [step for step in both.columns if both[step].notna().all()]
    grid = [int(s) for s in steps]
    if theirs is not None:
        if power.min_attainable_p(len(ours), len(theirs)) > spec.alpha:
            return {**row, "verdict": NOT_TESTABLE, "where": f"{len(ours)} runs against "
                    f"{len(theirs)} cannot reach p <= {spec.alpha:g}"}
        if np.array_equal(ours[steps].to_numpy(), theirs[steps].to_numpy()):
            return {**row, "verdict": NOT_TESTABLE, "where": "identical runs"}
        ahead, behind = stats.step_adjusted_p_values(ours[steps].to_numpy(),
                                                     theirs[steps].to_numpy())
        row["min_p"] = power.min_attainable_p(len(ours), len(theirs))
        up = [s for s, p in zip(grid, ahead, strict=True) if p <= spec.alpha]
        down = [s for s, p in zip(grid, behind, strict=True) if p <= spec.alpha]
        where = "; ".join(part for part in (
            f"ahead at {_ranges(up, grid)}" if up else "",
            f"behind at {_ranges(down, grid)}" if down else "",
            f"of {len(grid)} evaluations to {grid[-1] / 1000:g}K") if part)
        verdict = "not reproduced" if down and not up else "inconclusive"
        return {**row, "effect": len(up) / len(grid), "p_value": float(min(ahead)),
                "where": where, "verdict": verdict,
                "fragility": f"{len(up)} of {len(grid)} steps ahead after adjustment"}
    if not _testable(spec, tables, env):
        return {**row, "verdict": NOT_TESTABLE, "where": f"no method's mean normalised "
                f"score reaches {spec.testable_from:g} here"}
    expert = _expert(tables, env)
    raw = _wide(windowed, spec.method, env, "window")
    per_step = []
    for step in steps:
        interval = _level_interval(spec, raw[step].to_numpy(dtype=float), expert)
        per_step.append((int(step), _p_from_interval(interval, 1.0, "lower"),
                         interval(spec.alpha / len(steps))))
    above = [s for s, p, _ in per_step if p * len(steps) <= spec.alpha]
    final_high = per_step[-1][2][2]
    verdict = "not reproduced" if not above and final_high < 1 + spec.smallest_effect \
        else "inconclusive"
    where = (f"above the expert at {_ranges(above, grid)}" if above else
             "never above the expert") + f", of {len(grid)} evaluations (each at α / " \
        f"{len(grid)})"
    return {**row, "effect": len(above) / len(grid),
            "p_value": float(min(1.0, min(p for _, p, _ in per_step) * len(steps))),
            "where": where, "verdict": verdict}


# --- families, registration, the table ------------------------------------------------------
def adjust(table: pd.DataFrame) -> pd.DataFrame:
    """``p_adjusted`` per family (Holm over an experiment's primary rows, Benjamini-Hochberg
    over every secondary row), and *reproduced* where it is at most the row's α."""
    table = table.reindex(columns=list(dict.fromkeys([*table.columns, "p_value", "min_p",
                                                      "where"])))
    table["p_adjusted"] = np.nan
    table["where"] = table["where"].astype(object)
    tested = table["p_value"].notna()
    for experiment in table["experiment"].unique():
        primary = tested & (table["family"] == "primary") & (table["experiment"] == experiment)
        table.loc[primary, "p_adjusted"] = power.holm(table.loc[primary, "p_value"].to_numpy())
        # Holm's first step multiplies the smallest p by the family's size: where even the
        # smallest p these seeds allow cannot pass it, no row of the family can be reproduced.
        floor = table.loc[primary, "min_p"].min() * primary.sum()
        if floor > table.loc[primary, "alpha"].min():
            stuck = primary & (table["verdict"] == "inconclusive")
            table.loc[stuck, "verdict"] = NOT_TESTABLE
            table.loc[stuck, "where"] = (
                f"Holm over {int(primary.sum())} primary rows needs p <= "
                f"{table.loc[primary, 'alpha'].min() / primary.sum():.3g}; these runs' "
                f"smallest is {table.loc[primary, 'min_p'].min():.3g}")
    secondary = tested & (table["family"] == "secondary")
    table.loc[secondary, "p_adjusted"] = power.benjamini_hochberg(
        table.loc[secondary, "p_value"].to_numpy())
    found = tested & (table["p_adjusted"] <= table["alpha"])
    table.loc[found, "verdict"] = "reproduced"
    return table


def registration_dates(ids: list[str], path: Path = CLAIMS_FILE) -> dict[str, str] | None:
    """The commit date (ISO) at which each id was added to the claims file, from git; None
    where the repository's history is not there to read (a shallow clone, no git)."""
    root = Path(path).resolve().parent.parent
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              timeout=60, check=True).stdout
    try:
        if git("rev-parse", "--is-shallow-repository").strip() != "false":
            return None
        relative = str(Path(path).resolve().relative_to(root))
        dates = {}
        for claim_id in ids:
            pattern = "id: " + claim_id.replace(".", r"\.") + "$"
            found = git("log", "--reverse", "--format=%cI", "-G", pattern, "--", relative)
            dates[claim_id] = found.split()[0] if found.strip() else ""
        return dates
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def commit_date(commit: str, root: Path = CLAIMS_FILE.parent.parent) -> str:
    """The commit date (ISO) of ``commit``, "" where git cannot tell."""
    try:
        return subprocess.run(["git", "show", "-s", "--format=%cI", commit], cwd=root,
                              capture_output=True, text=True, timeout=60,
                              check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _pre_registered(spec: ClaimSpec, added: str | None, first_run: str) -> str:
    """yes / no / in code only (the entry is later, but the commit ``registered_in`` stated the
    claim before the runs, with the rules of its day) / unknown (no history)."""
    if added is None:
        return "unknown: no git history here"
    if not first_run:
        return "yes" if added else "not yet committed"
    first = pd.Timestamp(first_run)
    if added and pd.Timestamp(added) < first:
        return "yes"
    if spec.registered_in:
        stated = commit_date(spec.registered_in)
        if stated and pd.Timestamp(stated) < first:
            return f"in code only ({spec.registered_in}, before its runs; its rules since changed)"
    return "no"


def _first_run(tables: dict, spec: ClaimSpec, env: str) -> str:
    scores = tables["scores"]
    sides = [m for m in (spec.method, spec.against) if m != "expert"]
    read = scores[(scores["env"] == env) & scores["method"].isin(sides)]
    return str(read["started"].min()) if "started" in read and len(read) else ""


def _normalised(spec: ClaimSpec) -> bool:
    """Whether the claim reads expert-normalised numbers (meaningless where the expert is not
    clearly better than random)."""
    return spec.effect == "level" or spec.measure["name"] in (
        "final_score", "head_start", "curve", "steps_to_level")


def claim_rows(spec: ClaimSpec, tables: dict[str, pd.DataFrame], last: int,
               added: str | None = "") -> list[dict]:
    """The rows of one claim from its experiment's tables (before the families' adjustment):
    one per env (and per step of a ``return_at`` measure). ``last``: the evaluations a score
    is the mean of; ``added``: when the entry was committed (None: no history to read)."""
    base = {"id": spec.id, "claim": spec.claim, "paper": spec.paper,
            "experiment": spec.experiment, "method": spec.method, "against": spec.against,
            "family": spec.family, "alpha": spec.alpha, "smallest_effect": spec.smallest_effect,
            "note": spec.note}
    scores = tables["scores"]
    rows = []
    for env in spec.envs or sorted(scores["env"].unique()):
        here = {**base, "env": env}
        sides = [m for m in (spec.method, spec.against) if m != "expert"]
        if not all(((scores["env"] == env) & (scores["method"] == m)).any() for m in sides):
            rows.append({**here, "verdict": NOT_RUN})
            continue
        first = _first_run(tables, spec, env)
        here["pre_registered"] = _pre_registered(spec, added, first)
        if spec.decision == "not_testable":
            rows.append({**here, "verdict": NOT_TESTABLE, "where": spec.note})
            continue
        weak = ~scores.loc[scores["env"] == env, "expert_above_random"].astype(bool)
        if _normalised(spec) and weak.any():
            rows.append({**here, "verdict": NOT_TESTABLE,
                         "where": "the expert is not clearly better than random here"})
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            rows += _compare(spec, tables, env, last, here)
    return rows


def verdicts(aggregate_root: Path, specs: list[ClaimSpec]) -> pd.DataFrame:
    """One row per claim, env (and step, for ``return_at``), from
    ``aggregate_root/{experiment}/``, every p adjusted for its family."""
    if not Path(aggregate_root).is_dir():
        raise AggregateError(f"{aggregate_root}: no such folder (give the folder of the "
                             "experiments' aggregate folders, e.g. results/aggregate)")
    if not any((folder / "scores.csv").is_file() or (folder / TABLES_INDEX).is_file()
               for folder in Path(aggregate_root).iterdir()):
        raise AggregateError(f"{aggregate_root}: no experiment's aggregate in it (give the "
                             "folder of the experiments' aggregate folders, e.g. "
                             "results/aggregate)")
    added = registration_dates([spec.id for spec in specs])
    rows = []
    for spec in specs:
        folder = Path(aggregate_root) / spec.experiment
        if not (folder / "scores.csv").is_file() and not (folder / TABLES_INDEX).is_file():
            rows.append({"id": spec.id, "claim": spec.claim, "paper": spec.paper,
                         "experiment": spec.experiment, "env": ",".join(spec.envs or ()),
                         "method": spec.method, "against": spec.against,
                         "family": spec.family, "alpha": spec.alpha,
                         "smallest_effect": spec.smallest_effect, "note": spec.note,
                         "verdict": NOT_RUN})
            continue
        tables = read_tables(folder)  # a folder that is there must be whole: else one line
        tables["plan"] = plan_of(folder)
        rows += claim_rows(spec, tables, int(read_settings(folder)["last"]),
                           None if added is None else added.get(spec.id, ""))
    return adjust(pd.DataFrame(rows)).reindex(columns=COLUMNS)


def write_verdicts(aggregate_root: Path, out: Path, claims: Path | None = None) -> pd.DataFrame:
    """The ``verdicts`` of the claims file ``claims`` (default ``config/claims.yaml``) on the
    aggregates under ``aggregate_root``, written to ``out`` (CSV) and returned."""
    table = verdicts(aggregate_root, claims_file.load(claims or CLAIMS_FILE))
    try:
        atomic_write_text(out, table.to_csv(index=False))
    except OSError as err:
        raise AggregateError(f"--out {out}: cannot write ({err.strerror})") from None
    return table
