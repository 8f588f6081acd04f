"""docs/developing.md's checklists stay true: every file, test and name it points to exists, and
every registered figure has its drawing function."""

import re

from algos.evidence import plots
from algos.evidence.figures import FIGURES
from conftest import ROOT

PAGE = ROOT / "docs" / "developing.md"


def test_every_figure_has_the_plots_function_of_its_name():
    missing = [name for name in FIGURES if not callable(getattr(plots, name, None))]
    assert not missing, f"FIGURES without a function in algos/evidence/plots.py: {missing}"


def test_every_file_and_test_the_checklists_name_exists():
    text = PAGE.read_text()
    named = re.findall(r"`((?:algos|tests|workflow|config|benchmarks|\.test)/[^`<>\s]+?)"
                       r"(?:::(\w+))?`", text)
    assert named, "docs/developing.md names no file"
    for path, test in named:
        assert (ROOT / path).exists(), f"docs/developing.md names {path}, which does not exist"
        if test:
            assert re.search(rf"^def {test}\(", (ROOT / path).read_text(), re.M), \
                f"docs/developing.md names {path}::{test}, which does not exist"


def test_every_name_the_checklists_give_in_code_exists():
    from algos import algorithms, config
    from algos.agents.diiqn import agent as diiqn
    from algos.evidence import claims
    from algos.training import learner

    for module, name in [(algorithms, "ALGORITHMS"), (algorithms, "DIIQN_FAMILY"),
                         (algorithms, "SHARED_REVISION"), (algorithms, "LoopConfig"),
                         (claims, "run_values"), (claims, "effect_interval"),
                         (claims, "_decide"), (config, "workflow_default"),
                         (plots, "palette"), (plots, "_save"), (learner.QLearner, "td_loss"),
                         (diiqn.DIIQNAgent, "batch_loss")]:
        assert hasattr(module, name), name
        assert name in PAGE.read_text() or name in (ROOT / "docs" / "algorithms.md").read_text()
