"""The results page's tables (python -m algos tables): made from the aggregates, and the page
holds exactly what the command makes from the committed ones, so no table drifts from its
runs."""

import pandas as pd
import pytest

from algos.evidence.aggregate import AggregateError
from algos.evidence.tables import (
    BEGIN,
    END,
    HEADLINE_BEGIN,
    HEADLINE_END,
    claims_table,
    headline_markdown,
    headline_table,
    tables_markdown,
    with_tables,
)
from conftest import ROOT


def test_claims_are_a_markdown_row_each_with_intervals_and_bold_verdicts():
    claims = pd.DataFrame([
        {"claim": "A beats B", "experiment": "baseline", "env": "breakout",
         "measure": "final return", "effect": 2.0512, "effect_lower": 1.3, "effect_upper": 3.0,
         "p_value": 0.05, "p_adjusted": 0.1, "family": "primary", "runs": "a: seeds 0,1,2",
         "where": "ahead at 10K-20K", "fragility": "1 rank swap cross α 0.05",
         "pre_registered": "yes", "verdict": "reproduced"},
        {"claim": "C", "experiment": "sweep", "family": "secondary", "verdict": "not run"}])
    lines = claims_table(claims).splitlines()
    assert lines[0].startswith("| claim | game | measure |") and len(lines) == 4
    assert "| 2.05 [1.30, 3.00] | 0.050 | 0.100 | primary | a: seeds 0,1,2 | " \
        "ahead at 10K-20K | 1 rank swap cross α 0.05 | yes | **reproduced** |" in lines[2]
    assert lines[3] == "| C |  |  |  |  |  | secondary |  |  |  |  | not run |"
    headline = headline_table(claims).splitlines()
    assert len(headline) == 3  # the primary claim alone
    assert headline[2] == ("| `baseline` | A beats B | breakout | 2.05 [1.30, 3.00] | 0.100 | "
                           "**reproduced** |")


def test_the_readmes_verdicts_are_claims_csv_word_for_word():
    page = (ROOT / "README.md").read_text()
    made = headline_markdown(ROOT / "results" / "aggregate")
    assert with_tables(page, made, "README.md", HEADLINE_BEGIN, HEADLINE_END) == page, (
        "README.md's headline differs from results/aggregate/claims.csv: run python -m algos "
        "tables results/aggregate --headline --update README.md")


def test_the_marked_block_of_a_page_is_replaced_and_the_rest_kept():
    page = f"intro\n{BEGIN}\nold tables\n{END}\nafter\n"
    assert with_tables(page, "new\n") == f"intro\n{BEGIN}\n\nnew\n\n{END}\nafter\n"
    with pytest.raises(AggregateError, match="needs one line"):
        with_tables("no markers", "new\n")


def test_the_results_page_holds_the_tables_of_the_committed_aggregates():
    root = ROOT / "results" / "aggregate"
    page = (ROOT / "docs" / "results.md").read_text()
    assert with_tables(page, tables_markdown(root), "docs/results.md") == page, (
        "docs/results.md's tables differ from the committed aggregates: run python -m algos "
        "tables results/aggregate --update docs/results.md")


def _protocol_tables(final: dict, head: dict, finished: int = 3):
    """scores, curves and cells of two methods on two games, three seeds, every run of a method
    on a game at the given final score and head start."""
    scores, curves, cells = [], [], []
    for (method, env), value in final.items():
        cells.append({"method": method, "env": env, "planned": 3, "finished": finished})
        for seed in range(3):
            scores.append({"method": method, "env": env, "seed": seed,
                           "normalized_score": value})
            for step in (0, 50_000, 100_000):  # the head start reads the first two
                curves.append({"method": method, "env": env, "seed": seed, "step": step,
                               "normalized_return": head[(method, env)] if step else 0.0})
    return pd.DataFrame(scores), pd.DataFrame(curves), pd.DataFrame(cells)


def test_the_tuning_rule_waits_for_every_run_then_takes_the_best_eligible_simpler_on_a_tie():
    from algos.evidence.protocol import TuningProtocol, decide, run_measures

    protocol = TuningProtocol(experiment="t", games=("a", "b"), candidates=("old", "new"),
                              reference="old", simpler_first=("old", "new"))
    head = {("old", "a"): 0.4, ("old", "b"): 0.4, ("new", "a"): 0.4, ("new", "b"): 0.4}

    def choice(final, head=head, finished=3):
        scores, curves, cells = _protocol_tables(final, head, finished)
        return decide(run_measures(scores, curves, 50_000), cells, protocol)

    better = {("old", "a"): 1.0, ("old", "b"): 1.0, ("new", "a"): 1.1, ("new", "b"): 1.0}
    assert choice(better)[0] == "new"  # mean 1.05 against 1.0
    assert choice(better, finished=2)[0] is None  # a run missing: no choice
    # The head start is the mean over evaluations to 50K (0 and 0.4 here: 0.2); "new" with
    # 0.1 on one game is below 0.8 of the reference's: not eligible.
    slow = {**head, ("new", "b"): 0.2}
    chosen, why = choice(better, head=slow)
    assert chosen == "old" and "not eligible" in why and "new (0.50 of it on b)" in why
    tie = {**better, ("new", "a"): 1.05}  # mean 1.025 against 1.0: within 0.03
    assert choice(tie)[0] == "old"


def test_the_tuning_protocol_is_the_configs_experiment():
    import yaml

    from algos.evidence.protocol import DIIQN_DEFAULT

    experiment = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())[
        "experiments"][DIIQN_DEFAULT.experiment]
    names = {m if isinstance(m, str) else m.get("name", m["algo"]) for m in experiment["methods"]}
    assert set(DIIQN_DEFAULT.candidates) <= names and DIIQN_DEFAULT.reference in names
    assert set(DIIQN_DEFAULT.games) == set(experiment["envs"])
