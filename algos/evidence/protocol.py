"""The protocol that chooses DIIQN's default (docs/results.md, "Choosing DIIQN's default for the
title claim"), as code: its measures per run and its decision rule, pure functions over an
aggregate's tables, so that the tuning table and the choice are made by ``python -m algos
tables`` from the committed runs and not by hand.

* ``run_measures``: per run, the final expert-normalised score (``scores.csv``) and the head
  start, the mean normalised return over the evaluations up to ``head_start_until`` steps.
* ``decide``: the candidate the rule picks, or None with the reason (runs missing).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class TuningProtocol:
    """The protocol as written before its runs."""

    experiment: str
    """The experiment whose runs it reads (``config/config.yaml``)."""
    games: tuple[str, ...]
    """The games the choice averages over: no choice until each candidate has them all."""
    candidates: tuple[str, ...]
    """The methods it chooses among."""
    reference: str
    """Today's default: a candidate's head start must reach ``eligible`` times its own."""
    simpler_first: tuple[str, ...]
    """The order that breaks a tie: the first of these within ``tie`` of the best."""
    head_start_until: int = 50_000
    """Environment steps of the head start's evaluations."""
    eligible: float = 0.8
    """The share of the reference's head start a candidate needs on every game."""
    tie: float = 0.03
    """A difference of mean final normalised score below this is a tie."""


DIIQN_DEFAULT = TuningProtocol(
    experiment="beyond_expert_tuning", games=("space_invaders", "breakout"),
    candidates=("diiqn", "diiqn-paper", "diiqn-evidence", "diiqn-evidence-fading"),
    reference="diiqn", simpler_first=("diiqn", "diiqn-evidence", "diiqn-evidence-fading"))


def run_measures(scores: pd.DataFrame, curves: pd.DataFrame, head_start_until: int
                 ) -> pd.DataFrame:
    """One row per run (method, env, seed): ``final`` (its normalised score) and
    ``head_start`` (its mean normalised return over evaluations at steps <= the limit)."""
    early = curves[curves["step"] <= head_start_until]
    head = early.groupby(["method", "env", "seed"])["normalized_return"].mean()
    final = scores.set_index(["method", "env", "seed"])["normalized_score"]
    return pd.DataFrame({"final": final, "head_start": head.reindex(final.index)}).reset_index()


def per_game(measures: pd.DataFrame) -> pd.DataFrame:
    """Per method and env: the runs and the means over seeds of ``final`` and ``head_start``."""
    return measures.groupby(["method", "env"]).agg(
        runs=("seed", "size"), final=("final", "mean"), head_start=("head_start", "mean"))


def decide(measures: pd.DataFrame, cells: pd.DataFrame, protocol: TuningProtocol
           ) -> tuple[str | None, str]:
    """The candidate the rule chooses and why; None while a candidate lacks a planned run on
    one of the protocol's games."""
    planned = cells.set_index(["method", "env"])
    missing = [f"{method} on {game}" for method in protocol.candidates for game in protocol.games
               if (method, game) not in planned.index
               or planned.loc[(method, game), "finished"] < planned.loc[(method, game), "planned"]]
    if missing:
        return None, "no choice yet: runs missing for " + ", ".join(missing)
    games = per_game(measures[measures["env"].isin(protocol.games)])
    reference = games.loc[protocol.reference, "head_start"]
    eligible = {method: bool((games.loc[method, "head_start"]
                              >= protocol.eligible * reference).all())
                for method in protocol.candidates}
    mean_final = {method: float(games.loc[method, "final"].mean())
                  for method in protocol.candidates if eligible[method]}
    best = max(mean_final, key=mean_final.get)
    tied = [m for m in protocol.simpler_first
            if m in mean_final and mean_final[best] - mean_final[m] < protocol.tie]
    chosen = tied[0] if tied else best
    share = games["head_start"] / reference.reindex(games.index, level="env")
    left_out = [f"{m} ({share.loc[m].min():.2f} of it on {share.loc[m].idxmin()})"
                for m in protocol.candidates if not eligible[m]]
    why = (f"it chooses {chosen}, mean final normalised score over the games "
           f"{mean_final[chosen]:.3f} (the best eligible, {best}, {mean_final[best]:.3f}; a "
           f"difference below {protocol.tie} is a tie, which goes to the simpler)"
           + (f"; not eligible, a head start below {protocol.eligible} of {protocol.reference}'s "
              f"on a game: {', '.join(left_out)}" if left_out else ""))
    return chosen, why
