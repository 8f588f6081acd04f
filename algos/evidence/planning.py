"""How many seeds each claim needs: its power at the spread the committed runs show
(``python -m algos power EXPERIMENT``). The issue that designs an experiment chooses its seeds
with it, and the claims file records the calculation beside the seeds (``power``)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from algos.evidence import claims_file, power
from algos.evidence.aggregate import AggregateError, read_settings, read_tables
from algos.evidence.claims import run_values
from algos.evidence.claims_file import ClaimSpec

COLUMNS = ["id", "env", "measure", "runs", "spread", "power_now", "seeds_for_target", "note"]


def _cv(values: np.ndarray) -> float:
    mean = float(np.mean(values))
    return float(np.std(values, ddof=1) / abs(mean)) if len(values) > 1 and mean else math.nan


def claim_power(spec: ClaimSpec, tables: dict[str, pd.DataFrame], last: int,
                target: float = 0.8, max_seeds: int = 20) -> list[dict]:
    """Per env of ``spec``: the runs there now, their spread, the claim's power at that many
    runs a side for its smallest effect of interest, and the seeds a side that reach
    ``target``."""
    rows = []
    scores = tables["scores"]
    for env in spec.envs or sorted(scores["env"].unique()):
        row = {"id": spec.id, "env": env, "measure": spec.measure["name"]}
        if spec.measure["name"] == "curve" or spec.decision in ("equivalence", "not_testable"):
            rows.append({**row, "note": "read with its final-score claim's seeds"})
            continue
        try:
            ours = run_values(spec, tables, spec.method, env, last)[-1][1].to_numpy(float)
            theirs = (run_values(spec, tables, spec.against, env, last)[-1][1].to_numpy(float)
                      if spec.against != "expert" else None)
        except KeyError:
            ours, theirs = np.array([]), None
        if len(ours) < 2 or (theirs is not None and len(theirs) < 2):
            rows.append({**row, "note": "fewer than two runs a side: no spread to read"})
            continue
        n_now = min(len(ours), len(theirs) if theirs is not None else len(ours))
        if spec.effect == "level":
            first = scores[scores["env"] == env].iloc[0]
            scale = first["expert_return"] - first["random_return"]
            expert_se = first["expert_return_std"] / math.sqrt(first["expert_episodes"]) / scale
            cv = _cv(ours)
            curve, needed = power.power_of_level(
                spec.smallest_effect, cv, expert_se, spec.alpha, target, max_seeds,
                expert_episodes=int(first["expert_episodes"]),
                above=spec.decision == "level_above")
            spread = f"CV {cv:.3f}; expert SE {expert_se:.3f}"
        elif spec.effect == "difference":
            sd_a, sd_b = float(np.std(ours, ddof=1)), float(np.std(theirs, ddof=1))
            curve, needed = power.power_of_shift(sd_a, sd_b, spec.smallest_effect, spec.alpha,
                                                 target, max_seeds)
            spread = f"sd {sd_a:.3f} / {sd_b:.3f}"
        else:
            cv_a, cv_b = _cv(ours), _cv(theirs)
            gain = spec.smallest_effect
            curve, needed = power.seeds_for_power(cv_a, cv_b, gain, spec.alpha, target,
                                                  max_seeds)
            spread = f"CV {cv_a:.3f} / {cv_b:.3f}"
        rows.append({**row, "runs": str(n_now), "spread": spread,
                     "power_now": round(curve[n_now], 2) if n_now in curve else math.nan,
                     "seeds_for_target": needed if needed is not None else f"> {max_seeds}",
                     "note": f"for {spec.effect} {spec.smallest_effect:g} at α {spec.alpha:g}"})
    return rows


def power_table(aggregate_root: Path, experiment: str, specs: list[ClaimSpec],
                target: float = 0.8, max_seeds: int = 20) -> pd.DataFrame:
    """``claim_power`` for every claim of ``experiment``, from its aggregate folder."""
    folder = Path(aggregate_root) / experiment
    tables = read_tables(folder)
    last = int(read_settings(folder)["last"])
    rows = [row for spec in specs if spec.experiment == experiment
            for row in claim_power(spec, tables, last, target, max_seeds)]
    return pd.DataFrame(rows).reindex(columns=COLUMNS)


def power_report(aggregate_root: Path, experiment: str, claims: Path | None = None,
                 target: float = 0.8) -> pd.DataFrame:
    """``power_table`` of the claims file ``claims`` (default config/claims.yaml) for
    ``experiment``; ``AggregateError`` where no claim reads it or it has no aggregate."""
    specs = claims_file.load(claims or claims_file.CLAIMS_FILE)
    if not any(spec.experiment == experiment for spec in specs):
        raise AggregateError(f"no claim of the claims file reads {experiment!r}")
    if not (Path(aggregate_root) / experiment).is_dir():
        raise AggregateError(f"{Path(aggregate_root) / experiment}: no aggregate of "
                             f"{experiment} (its runs are aggregated by the workflow)")
    return power_table(aggregate_root, experiment, specs, target=target)
