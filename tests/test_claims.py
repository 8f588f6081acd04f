"""The verdict rules of algos/evidence/claims.py on hand-made tables: each decision rule on
each side of its decision, the expert's own error, the families' adjustment, and what makes a
claim "not testable" or "not run"."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from algos.evidence.aggregate import budget
from algos.evidence.claims import _pre_registered, _ranges, adjust, claim_rows
from algos.evidence.claims_file import ClaimSpec

EXPERT = {"expert_return": 10.0, "expert_return_std": 5.0, "expert_episodes": 100,
          "random_return": 0.0, "expert_above_random": True}


def _tables(returns: dict[str, list[float]], env: str = "g", expert: dict = EXPERT,
            curves: dict[str, list[list[float]]] | None = None,
            steps: list[int] | None = None) -> dict[str, pd.DataFrame]:
    """An experiment's tables: per method one final return per seed (and, given, curves of
    returns at ``steps``)."""
    scale = expert["expert_return"] - expert["random_return"]
    scores = pd.DataFrame([{"method": m, "algo": m.split("-")[0], "env": env, "seed": seed,
                            "score": value,
                            "normalized_score": (value - expert["random_return"]) / scale,
                            "started": "2026-12-02T00:00:00+00:00", **expert}
                           for m, values in returns.items() for seed, value in enumerate(values)])
    rows = []
    for m, runs in (curves or {}).items():
        for seed, run in enumerate(runs):
            for step, value in zip(steps, run, strict=True):
                rows.append({"method": m, "algo": m, "env": env, "seed": seed, "step": step,
                             "eval_return": value,
                             "normalized_return": (value - expert["random_return"]) / scale})
    return {"scores": scores, "curves": pd.DataFrame(rows, columns=[
        "method", "algo", "env", "seed", "step", "eval_return", "normalized_return"])}


GAIN = ClaimSpec(id="x.gain", claim="A beats B", paper="", experiment="x", method="a",
                 against="b", measure={"name": "final_return"}, effect="ratio",
                 test="permutation", alpha=0.05, smallest_effect=0.24, decision="superiority",
                 family="primary", seeds=(0, 1, 2), budget=100)
LEVEL = replace(GAIN, id="x.level", against="expert", measure={"name": "final_score"},
                effect="level", test="interval", smallest_effect=0.05, decision="level_above",
                testable_from=0.8)


def _verdict(spec: ClaimSpec, tables: dict, last: int = 1) -> dict:
    row, = adjust(pd.DataFrame(claim_rows(spec, tables, last))).to_dict("records")
    return row


def test_a_gain_is_reproduced_by_the_rank_test_and_refuted_by_its_interval():
    ahead = _verdict(GAIN, _tables({"a": [30, 40, 50], "b": [10, 15, 20]}))
    assert ahead["verdict"] == "reproduced" and ahead["p_value"] == pytest.approx(0.05)
    assert ahead["effect"] == pytest.approx(40 / 15 - 1)
    # Level with B: the interval's upper bound below the smallest gain of interest (24 %).
    level = _verdict(replace(GAIN, seeds=(0, 1, 2, 3, 4)),
                     _tables({"a": [20.1, 19.9, 20.0, 20.2, 19.8],
                              "b": [20.0, 20.1, 19.9, 20.2, 19.8]}))
    assert level["verdict"] == "not reproduced" and level["effect_upper"] < 0.24
    mixed = _verdict(GAIN, _tables({"a": [10, 40, 25], "b": [10, 15, 20]}))
    assert mixed["verdict"] == "inconclusive"
    assert "rank swap" in mixed["fragility"]


def test_a_verdict_read_without_registered_seeds_names_them_and_reads_as_interim():
    from algos.evidence.tables import claims_table, headline_table

    spec = replace(GAIN, seeds=(0, 1, 2, 3))
    row = _verdict(spec, _tables({"a": [30, 40, 50], "b": [10, 15, 20, 12]}))
    assert row["verdict"] == "reproduced" and row["seeds_missing"] == "a: 3"
    whole = _verdict(GAIN, _tables({"a": [30, 40, 50], "b": [10, 15, 20]}))
    assert whole["seeds_missing"] == ""
    table = pd.DataFrame([row, whole])
    assert "**reproduced** (interim: registered seeds missing, a: 3)" in claims_table(table)
    headline = headline_table(table).splitlines()
    assert headline[2].endswith("| **reproduced** (interim) |")
    assert headline[3].endswith("| **reproduced** |")
    # A reference side that plans fewer seeds (BCO's three) is whole with them.
    tables = _tables({"a": [30, 40, 50, 45], "b": [10, 15, 20]})
    tables["plan"] = pd.DataFrame([{"method": m, "env": "g", "seed": seed}
                                   for m, n in (("a", 4), ("b", 3)) for seed in range(n)])
    assert _verdict(spec, tables)["seeds_missing"] == ""
    tables["plan"] = pd.concat([tables["plan"], pd.DataFrame([{"method": "b", "env": "g",
                                                               "seed": 3}])])
    assert _verdict(spec, tables)["seeds_missing"] == "b: 3"


def test_two_runs_a_side_cannot_reach_five_percent_and_say_so():
    row = _verdict(GAIN, _tables({"a": [30, 40], "b": [10, 15]}))
    assert row["verdict"] == "not testable at this budget"
    assert "cannot reach p <= 0.05" in row["where"]


def test_identical_runs_are_not_evidence_of_no_difference():
    equivalence = replace(GAIN, decision="equivalence", family="secondary")
    row = _verdict(equivalence, _tables({"a": [1.0, 2.0, 0.0], "b": [1.0, 2.0, 0.0]}))
    assert row["verdict"] == "not testable at this budget" and row["where"] == "identical runs"
    close = _verdict(replace(equivalence, seeds=(0, 1, 2, 3, 4)),
                     _tables({"a": [20.1, 19.9, 20.0, 20.2, 19.8],
                              "b": [20.0, 20.1, 19.9, 20.3, 19.8]}))
    assert close["verdict"] == "reproduced"
    apart = _verdict(equivalence, _tables({"a": [40, 41, 42], "b": [10, 11, 12]}))
    assert apart["verdict"] == "not reproduced"


def test_a_level_counts_the_experts_own_error():
    runs = {"a": [10.6, 10.8, 11.0, 10.7, 10.9]}  # normalised 1.06-1.10
    precise = _verdict(LEVEL, _tables(runs, expert={**EXPERT, "expert_return_std": 0.5}))
    assert precise["verdict"] == "reproduced" and precise["effect_lower"] > 1
    # The same runs against an expert measured on four episodes: the bound crosses 1.
    rough = _verdict(LEVEL, _tables(runs, expert={**EXPERT, "expert_episodes": 4}))
    assert rough["verdict"] == "inconclusive" and rough["effect_lower"] < 1
    assert "expert SE" in precise["fragility"]


def test_a_level_is_refuted_below_one_plus_the_smallest_effect_and_untestable_far_below():
    at = _verdict(LEVEL, _tables({"a": [9.8, 10.0, 10.1, 9.9, 10.2]},
                                 expert={**EXPERT, "expert_return_std": 0.5}))
    assert at["verdict"] == "not reproduced" and at["effect_upper"] < 1.05
    far = _verdict(LEVEL, _tables({"a": [2.0, 2.2, 2.4], "b": [3.0, 3.1, 3.2]}))
    assert far["verdict"] == "not testable at this budget"
    capped = replace(LEVEL, decision="level_at_most")
    near = _verdict(capped, _tables({"a": [9.0, 9.2, 9.4, 9.1, 9.3], "b": [12, 13, 12]},
                                    expert={**EXPERT, "expert_return_std": 0.5}))
    assert near["verdict"] == "reproduced"
    beyond = _verdict(capped, _tables({"a": [14.0, 14.2, 14.4, 14.1, 14.3]},
                                      expert={**EXPERT, "expert_return_std": 0.5}))
    assert beyond["verdict"] == "not reproduced"


def test_a_weak_expert_or_a_missing_side_gives_no_verdict():
    weak = _verdict(LEVEL, _tables({"a": [11, 12, 13]},
                                   expert={**EXPERT, "expert_above_random": False}))
    assert weak["verdict"] == "not testable at this budget" and "random" in weak["where"]
    missing = _verdict(GAIN, _tables({"a": [1, 2, 3]}))
    assert missing["verdict"] == "not run"


def test_the_head_start_and_returns_at_steps_read_only_the_steps_they_name():
    steps = [0, 10, 20, 30]
    curves = {"a": [[0, 9, 9, 0], [0, 8, 8, 1], [0, 7, 7, 2]],
              "b": [[0, 1, 1, 20], [0, 2, 2, 21], [0, 3, 3, 22]]}
    tables = _tables({"a": [0, 0, 0], "b": [20, 21, 22]}, curves=curves, steps=steps)
    head = replace(GAIN, measure={"name": "head_start", "until": 20}, effect="difference",
                   smallest_effect=0.05)
    row = _verdict(head, tables)
    assert row["verdict"] == "reproduced"
    assert row["effect"] == pytest.approx((np.mean([0, 9, 9]) + np.mean([0, 8, 8])
                                           + np.mean([0, 7, 7])) / 30
                                          - (np.mean([0, 1, 1]) + np.mean([0, 2, 2])
                                             + np.mean([0, 3, 3])) / 30)
    at = replace(GAIN, measure={"name": "return_at", "at": [20, 30]})
    rows = adjust(pd.DataFrame(claim_rows(at, tables, last=1)))
    assert list(rows["measure"].str.extract(r"(at [\d.]+K)")[0]) == ["at 0.02K", "at 0.03K"]
    # Two primary rows, adjusted together (Holm): 0.05 alone would pass, 0.05 of two cannot,
    # and three runs a side give no smaller p, so the first reads "not testable".
    assert rows["p_value"].tolist()[0] == pytest.approx(0.05)
    assert rows["p_adjusted"].tolist()[0] == pytest.approx(0.1)
    assert list(rows["verdict"]) == ["not testable at this budget", "not reproduced"]


def test_along_the_budget_the_steps_are_adjusted_together():
    steps = [0, 10, 20, 30]
    curves = {"b": [[0, 1, 1, 9], [0, 2, 2, 10], [0, 3, 3, 11]],
              "a": [[0, 5, 6, 1], [0, 6, 7, 2], [0, 7, 8, 3]]}
    tables = _tables({"a": [1, 2, 3], "b": [9, 10, 11]}, curves=curves, steps=steps)
    along = replace(GAIN, measure={"name": "curve"}, effect="difference",
                    test="max_t_permutation", smallest_effect=0.0,
                    decision="ahead_along_budget")
    row = _verdict(along, tables)
    # The swap of the two groups is as far ahead at 30 as the observed one at 10 and 20:
    # 2 of 20 relabelings, so no step passes 0.05 once adjusted.
    assert row["verdict"] == "inconclusive" and row["p_value"] == pytest.approx(0.1)
    assert row["where"] == "behind at 0.03K; of 4 evaluations to 0.03K" or \
        row["where"] == "of 4 evaluations to 0.03K"
    curves["a"] = [[0, 5, 6, 12], [0, 6, 7, 13], [0, 7, 8, 14]]
    row = _verdict(along, _tables({"a": [12, 13, 14], "b": [9, 10, 11]}, curves=curves,
                                  steps=steps))
    assert row["verdict"] == "reproduced" and row["where"].startswith("ahead at 0.01K-0.03K")


def test_primary_claims_are_adjusted_by_holm_and_the_rest_together_by_bh():
    table = pd.DataFrame({"experiment": ["x", "x", "y", "x", "x"],
                          "family": ["primary", "primary", "primary", "secondary", "secondary"],
                          "p_value": [0.01, 0.04, 0.04, 0.02, 0.03], "alpha": 0.05,
                          "verdict": "inconclusive"})
    adjusted = adjust(table)
    assert adjusted["p_adjusted"].tolist() == pytest.approx([0.02, 0.04, 0.04, 0.03, 0.03])
    assert (adjusted["verdict"] == "reproduced").all()
    table.loc[1, "p_value"] = 0.06
    assert adjust(table)["verdict"].tolist()[:2] == ["reproduced", "inconclusive"]


def test_pre_registration_is_the_entry_before_every_run_it_reads():
    first_run = "2026-12-03T00:00:00+00:00"
    assert _pre_registered(GAIN, "2026-12-02T00:00:00+00:00", first_run) == "yes"
    assert _pre_registered(GAIN, "2026-12-07T00:00:00+00:00", first_run) == "no"
    assert _pre_registered(GAIN, None, first_run).startswith("unknown")


def test_the_budget_table_smooths_each_run_and_tests_every_step_against_dqn():
    steps = [0, 10, 20, 30]
    curves = pd.DataFrame([{"method": m, "algo": m, "env": "g", "seed": seed, "step": step,
                            "normalized_return": value}
                           for m, runs in {"dqn": [[0, 0.1, 0.1, 0.9], [0, 0.2, 0.2, 1.0],
                                                   [0, 0.3, 0.3, 1.1]],
                                           "diiqn": [[0, 0.5, 0.6, 0.1], [0, 0.6, 0.7, 0.2],
                                                     [0, 0.7, 0.8, 0.3]]}.items()
                           for seed, run in enumerate(runs)
                           for step, value in zip(steps, run, strict=True)])
    table = budget(curves, last=1, reps=100)
    ours = table[table["method"] == "diiqn"].set_index("step")
    assert list(ours.index) == steps and (ours["versus"] == "dqn").all()
    assert ours.loc[10, "p_value"] == pytest.approx(0.05) and ours.loc[10, "p_improvement"] == 1
    assert ours.loc[30, "p_value_reverse"] == pytest.approx(0.05)
    assert ours.loc[10, "p_value_adjusted"] == pytest.approx(0.1)
    smoothed = budget(curves, last=2, reps=100)
    dqn = smoothed[smoothed["method"] == "dqn"].set_index("step")
    assert dqn.loc[30, "iqm"] == pytest.approx(np.mean([0.5, 0.6, 0.7]))


def test_steps_read_as_runs_of_consecutive_evaluations():
    grid = [0, 10_000, 20_000, 30_000, 40_000, 50_000]
    assert _ranges([10_000, 20_000, 30_000, 50_000], grid) == "10K-30K, 50K"
    assert _ranges([0], grid) == "0K"


def test_the_power_of_a_claim_follows_the_spread_of_its_runs():
    from algos.evidence.planning import claim_power

    tight = _tables({"a": [10.0, 11.0, 9.0, 10.5, 9.5], "b": [10.0, 11.0, 9.0, 10.5, 9.5]})
    wide = _tables({"a": [5.0, 15.0, 8.0, 12.0, 10.0], "b": [5.0, 15.0, 8.0, 12.0, 10.0]})
    (narrow,), (broad,) = (claim_power(GAIN, t, last=1) for t in (tight, wide))
    assert narrow["runs"] == "5" and narrow["spread"] == "CV 0.079 / 0.079"
    assert narrow["power_now"] > 0.9 and narrow["seeds_for_target"] <= 5
    assert broad["power_now"] < 0.5
    assert broad["seeds_for_target"] == "> 20" or \
        broad["seeds_for_target"] > narrow["seeds_for_target"]
    few, = claim_power(GAIN, _tables({"a": [1.0], "b": [2.0]}), last=1)
    assert "fewer than two runs" in few["note"]


def test_a_primary_family_its_seeds_cannot_pass_says_so():
    """Three runs a side reach p = 0.05 at best: Holm over two primary rows needs 0.025."""
    tables = _tables({"a": [30, 40, 50], "b": [10, 15, 20]})
    rows = claim_rows(GAIN, tables, 1) + claim_rows(replace(GAIN, id="x.other"), tables, 1)
    verdicts = adjust(pd.DataFrame(rows))
    assert (verdicts["verdict"] == "not testable at this budget").all()
    assert verdicts["where"].str.contains("Holm over 2 primary rows needs p <= 0.025").all()
    alone = adjust(pd.DataFrame(claim_rows(GAIN, tables, 1)))
    assert alone["verdict"].tolist() == ["reproduced"]
