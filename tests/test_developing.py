"""docs/developing.md's checklists stay true: every file, test and name it points to exists,
every registered figure has its drawing function, and every agent's diagnostics reach the
aggregate."""

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


def test_the_aggregate_keeps_every_diagnostic_an_agent_logs(breakout_dataset):
    """Each registered agent's ``diagnostics.csv`` columns (its ``take_diagnostics`` keys)
    reach the aggregate's table, but for the timings it declares (``Algorithm.wall_clock``),
    which are among them. A new agent's diagnostics are never dropped silently."""
    from algos.algorithms import ALGORITHMS, agent_class
    from algos.data.datasets import load_dataset
    from algos.envs import EnvConfig, make_env
    from algos.evidence.aggregate import kept_diagnostics

    env = make_env(EnvConfig("breakout"), 0)
    for name, algorithm in ALGORITHMS.items():
        inputs = {"dataset": load_dataset(breakout_dataset)} if algorithm.needs_dataset else {}
        config = algorithm.config(replay_capacity=100)
        agent = agent_class(name)(config, env.state_shape, env.n_actions, 0, 100, **inputs)
        columns = list(agent.take_diagnostics())
        assert set(algorithm.wall_clock) <= set(columns), name
        assert kept_diagnostics(["env_steps", *columns]) == [
            c for c in columns if c not in algorithm.wall_clock], name
