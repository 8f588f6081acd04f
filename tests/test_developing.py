"""docs/developing.md's checklists stay true: every file, test and name it points to exists,
every file that names an algorithm is in its checklist, every registered figure has its drawing
function and chooses by what an algorithm declares, and every agent's diagnostics reach the
aggregate."""

import ast
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
    from algos.agents.diiqn import matching
    from algos.evidence import aggregate, claims, figures
    from algos.training import learner, loop

    for module, name in [(algorithms, "ALGORITHMS"), (algorithms, "DIIQN_FAMILY"),
                         (algorithms, "SHARED_REVISION"), (algorithms, "LoopConfig"),
                         (algorithms, "TRAITS"), (algorithms, "WALL_CLOCK_DIAGNOSTICS"),
                         (algorithms, "ExpertMatchingConfig"), (algorithms.Algorithm, "traits"),
                         (algorithms.Algorithm, "wall_clock"), (loop, "Agent"),
                         (loop, "train_run"), (matching, "ExpertMatching"),
                         (aggregate, "kept_diagnostics"), (figures, "Methods"),
                         (claims, "run_values"), (claims, "effect_interval"),
                         (claims, "_decide"), (config, "workflow_default"),
                         (plots, "palette"), (plots, "_save"), (learner.QLearner, "td_loss"),
                         (diiqn.DIIQNAgent, "batch_loss")]:
        assert hasattr(module, name), name
        assert name in PAGE.read_text() or name in (ROOT / "docs" / "algorithms.md").read_text()


def _section(title: str) -> str:
    """The text of the page's section ``## title``, up to the next one."""
    text = PAGE.read_text()
    return text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def _files_naming(name: str) -> set[str]:
    """The files of the code, the benchmarks, the workflow and the configs that name algorithm
    ``name`` as data: a Python string that is the name, or the name as a YAML word."""
    found = set()
    for path in sorted(ROOT.glob("algos/**/*.py")) + sorted(ROOT.glob("benchmarks/*.py")):
        tree = ast.parse(path.read_text())
        if any(isinstance(node, ast.Constant) and node.value == name for node in ast.walk(tree)):
            found.add(str(path.relative_to(ROOT)))
    word = re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])")
    for pattern in ("Snakefile", "workflow/**/*.smk", "workflow/**/*.yaml", "config/*.yaml",
                    ".test/**/*.yaml", "profiles/**/*.yaml"):
        for path in sorted(ROOT.glob(pattern)):
            if word.search(path.read_text()):
                found.add(str(path.relative_to(ROOT)))
    return found


def test_every_file_that_names_an_algorithm_is_in_its_checklist():
    """"Add an algorithm" lists every file a new algorithm touches, and the files that name one
    on purpose: a file that names a registered algorithm by hand and is in neither list fails
    here (a figure rule, a benchmark's variants, a family tuple written out by hand)."""
    from algos.algorithms import ALGORITHMS

    section = _section("Add an algorithm")
    for name in ALGORITHMS:
        listed = {path.replace("<name>", name)
                  for path in re.findall(r"`((?:algos|tests|workflow|config|benchmarks|\.test)"
                                         r"/[^`\s]+?)`", section)}
        unlisted = _files_naming(name) - listed
        assert not unlisted, (f"{sorted(unlisted)} name {name!r}: list them under 'Add an "
                              "algorithm' in docs/developing.md, or choose by the registry")


def test_figures_choose_by_what_an_algorithm_declares():
    """A figure's rule sees ``Methods`` (declared traits, a count, a sweep), never a name, and
    the figure and aggregate code names no algorithm; every trait it reads is a known one."""
    import inspect

    from algos.algorithms import ALGORITHMS, TRAITS
    from algos.evidence import aggregate, figures

    for module in (figures, plots, aggregate):
        strings = {node.value for node in ast.walk(ast.parse(inspect.getsource(module)))
                   if isinstance(node, ast.Constant) and isinstance(node.value, str)}
        assert not strings & set(ALGORITHMS), (module.__name__, strings & set(ALGORITHMS))
    for figure in FIGURES.values():  # a rule that looked for a name would fail on these
        for traits in ([], *([t] for t in TRAITS), list(TRAITS)):
            for swept in (False, True):
                figure.applies(figures.Methods(frozenset(traits), 2, swept))
    # HA-DIIQN declares what DIIQN does and bridges: it gets DIIQN's figures and bridging.
    assert set(figures.figures_for({"ha_diiqn"}, False)) - set(
        figures.figures_for({"diiqn"}, False)) == {"bridging"}


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
        config = algorithm.config()
        if hasattr(config, "replay_capacity"):  # a small memory where the agent has one
            config.replay_capacity = 100
        agent = agent_class(name)(config, env.state_shape, env.n_actions, 0, 100, **inputs)
        columns = list(agent.take_diagnostics())
        assert set(algorithm.wall_clock) <= set(columns), name
        assert kept_diagnostics(["env_steps", *columns]) == [
            c for c in columns if c not in algorithm.wall_clock], name
