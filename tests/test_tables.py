"""The results page's tables (python -m algos tables): made from the aggregates, and the page
holds exactly what the command makes from the committed ones, so no table drifts from its
runs."""

import pandas as pd
import pytest

from algos.aggregate import AggregateError
from algos.tables import BEGIN, END, claims_table, tables_markdown, with_tables
from conftest import ROOT


def test_claims_are_a_markdown_row_each_with_intervals_and_bold_verdicts():
    claims = pd.DataFrame([
        {"claim": "A beats B", "experiment": "baseline", "env": "breakout",
         "measure": "mean return", "effect": 2.0512, "effect_lower": 1.3, "effect_upper": 3.0,
         "p_improvement": 1.0, "p_improvement_lower": 0.5, "p_improvement_upper": 1.0,
         "p_value": 0.05, "runs": "a: seeds 0,1,2", "verdict": "reproduced"},
        {"claim": "C", "experiment": "sweep", "verdict": "not run"}])
    lines = claims_table(claims).splitlines()
    assert lines[0].startswith("| claim | experiment | game |") and len(lines) == 4
    assert "| 2.05 [1.30, 3.00] | 1.00 [0.50, 1.00] | 0.050 | a: seeds 0,1,2 | " \
        "**reproduced** |" in lines[2]
    assert lines[3] == "| C | sweep |  |  |  |  |  |  | not run |"


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
