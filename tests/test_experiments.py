"""Experiments as data: the config's experiments become runs with canonical settings, shared
where they mean the same thing, and a bad setting fails at once, naming it."""

import copy

import pytest
import yaml

from algos.evidence.experiments import PlanError, check_schema, plan
from conftest import ROOT

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"

SMOKE = yaml.safe_load((ROOT / ".test" / "config" / "config.yaml").read_text())


def test_variants_name_settings_and_runs_that_mean_the_same_are_shared():
    experiments = plan(SMOKE)
    runs = {(r.env, r.algo, r.variant, r.seed): r for e in experiments.values() for r in e.runs}
    baseline_diiqn = [r for r in experiments["baseline"].runs if r.algo == "diiqn"]
    assert {r.variant for r in baseline_diiqn} == {"default"}
    # The sweeps' default points are the baseline's runs (τ = 0.97 is DIIQN's default).
    tau = experiments["tau_sensitivity"].methods["diiqn"]
    assert {r.variant for r in tau} == {"tau-0.9", "tau-1.0"}  # 0.97 is not swept here
    assert all(dict(r.settings)["tau"] in (0.9, 1.0) for r in tau)
    sizes = experiments["dataset_size"].methods["diiqn"]
    assert {(r.variant, r.dataset_size) for r in sizes} == {("dataset_size-500", 500),
                                                            ("default", 2000)}
    # An experiment with settings of its own names its runs after itself.
    heterogeneous = experiments["heterogeneous"].runs
    assert {r.variant for r in heterogeneous} == {"heterogeneous"}
    maze = next(r for r in heterogeneous if r.env == "point_maze" and r.algo == "ha_diiqn")
    assert maze.action_set == "diagonal" and dict(maze.settings)["expert_margin"] == 0.05
    assert "--action-set diagonal" in maze.options()
    beyond = experiments["beyond_expert"]
    assert set(beyond.methods) == {"dqn", "bco", "diiqn-paper", "diiqn"}
    assert {r.variant for r in beyond.methods["diiqn-paper"]} == {"beyond_expert+diiqn-paper"}
    assert all(r.steps == 1500 for r in beyond.runs)  # its own budget
    assert len(runs) == len({r.folder for r in runs.values()})


def test_a_game_with_a_budget_of_its_own_is_named_after_the_experiment_and_no_other():
    config = copy.deepcopy(SMOKE)
    config["experiments"]["baseline"]["envs"] = ["breakout", "freeway"]
    config["experiments"]["baseline"]["steps"] = {"breakout": SMOKE["steps"],
                                                  "freeway": 3 * SMOKE["steps"]}
    runs = plan(config)["baseline"].runs
    assert {(r.env, r.variant, r.steps) for r in runs if r.algo == "dqn"} == {
        ("breakout", "default", SMOKE["steps"]), ("freeway", "baseline", 3 * SMOKE["steps"])}


def test_options_are_canonical_whatever_the_config_order():
    """The same settings written in another order, or a default written out, give the same
    command: a reordered config retrains nothing."""
    reordered = copy.deepcopy(SMOKE)
    reordered["train_set"] = dict(reversed(list(SMOKE["train_set"].items())))
    reordered["diiqn_set"] = {"tau": 0.97}  # DIIQN's default, written out
    a, b = plan(SMOKE), plan(reordered)
    for name in a:
        assert [(r.folder, r.options()) for r in a[name].runs] == \
            [(r.folder, r.options()) for r in b[name].runs]
    run = a["baseline"].runs[0]
    assert run.options().split("--set ")[1:] == sorted(run.options().split("--set ")[1:])


@pytest.mark.parametrize(("edit", "message"), [
    (lambda c: c["train_set"].update(lrr=0.1), "unknown config key 'lrr'"),
    (lambda c: c["train_set"].update(replay_start="soon"), "bad value 'soon' for replay_start"),
    (lambda c: c["experiments"]["baseline"]["methods"].append(
        {"name": "far", "algo": "diiqn", "set": {"tau": 2}}), "tau must lie in"),
    (lambda c: c.update(seeds=[0, 0]), "lists a seed twice"),
    (lambda c: c["experiments"]["heterogeneous"].update(agent_action_set={"point_maze": "x"}),
     "agent_action_set"),
    (lambda c: c["experiments"]["confidence_ablation"]["methods"].append(
        {"name": "phi-fixed-0", "algo": "diiqn"}), "two methods named alike"),
    # issue 30: each of these passed the start and failed late, or planned a run twice
    (lambda c: c["experiments"]["tau_sensitivity"]["sweep"].update(values=[0.9, "0.9"]),
     r"tau_sensitivity.sweep.values: 0.9 and '0.9' are one setting of tau \(the same run"),
    (lambda c: c["experiments"]["dataset_size"]["methods"].append("dqn"),
     "dataset_size.sweep: dataset_size is swept, but method 'dqn' .dqn. learns without a"),
    (lambda c: c["experts"]["set"].update(replay_strat=300),
     "experts.set: unknown config key 'replay_strat'"),
    (lambda c: c["experts"]["scripted"].update(breakout={"name": "planner",
                                                         "action_set": "full"}),
     "experts.scripted.breakout: the planner expert plays the mazes only"),
    (lambda c: c["train_set"].update(lr=float("nan")),
     "bad value 'nan' for lr .float.: expected a finite number"),
    (lambda c: c["experiments"]["tau_sensitivity"]["sweep"].update(values=[0.9]),
     r"tau_sensitivity.sweep.values: \[0.9\] is one value, no sweep"),
    (lambda c: c["experts"].update(steps={"space_invaders": 100}),
     "experts.steps has no entry for 'breakout'"),
])
def test_a_bad_setting_fails_at_once_naming_it(edit, message):
    config = copy.deepcopy(SMOKE)
    edit(config)
    with pytest.raises(PlanError, match=message):
        plan(config)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda c: c.update(threadz=1),
     "the config's top level: Additional properties are not allowed ('threadz' was unexpected)"),
    (lambda c: c["experiments"]["tau_sensitivity"]["sweep"].update(values=[0.9]),
     "experiments.tau_sensitivity.sweep.values: [0.9] is too short"),
])
def test_the_schema_names_the_key_in_one_line(edit, message):
    config = copy.deepcopy(SMOKE)
    edit(config)
    with pytest.raises(PlanError) as error:
        check_schema(config, SCHEMA)
    assert str(error.value).startswith(message) and "\n" not in str(error.value)
    check_schema(SMOKE, SCHEMA)


def test_one_variant_cannot_mean_two_settings():
    config = copy.deepcopy(SMOKE)
    config["experiments"]["other"] = {"envs": ["breakout"], "methods": [
        {"name": "phi-fixed-0", "algo": "diiqn", "set": {"confidence": "fixed",
                                                         "fixed_phi": 0.3}}]}
    with pytest.raises(PlanError, match="variant 'phi-fixed-0' of diiqn on breakout means other"):
        plan(config)


def test_an_experiment_may_have_seeds_of_its_own(tmp_path):
    config = copy.deepcopy(SMOKE)
    config["experiments"]["beyond_expert"]["seeds"] = [0, 1, 2, 3, 4]
    experiments = plan(config)
    assert {r.seed for r in experiments["beyond_expert"].runs} == {0, 1, 2, 3, 4}
    assert {r.seed for r in experiments["baseline"].runs} == set(SMOKE["seeds"])
    config["experiments"]["beyond_expert"]["seeds"] = [3, 3]
    with pytest.raises(PlanError, match=r"experiments\.beyond_expert\.seeds: \[3, 3\] lists a "
                                        "seed twice"):
        plan(config)


def test_a_method_may_have_seeds_of_its_own_and_keeps_its_variant():
    config = copy.deepcopy(SMOKE)
    spec = config["experiments"]["beyond_expert"]
    spec["seeds"] = [0, 1, 2, 3, 4]
    before = {r.variant for r in plan(config)["beyond_expert"].methods["bco"]}
    spec["methods"] = [{"algo": "bco", "seeds": [0, 2]} if m == "bco" else m
                       for m in spec["methods"]]
    beyond = plan(config)["beyond_expert"]
    assert sorted(r.seed for r in beyond.methods["bco"]) == [0, 2]
    assert {r.variant for r in beyond.methods["bco"]} == before  # the same runs, fewer of them
    assert sorted(r.seed for r in beyond.methods["dqn"]) == [0, 1, 2, 3, 4]
    spec["methods"][1]["seeds"] = [1, 1]
    with pytest.raises(PlanError, match=r"experiments\.beyond_expert\.methods \(bco\)\.seeds: "
                                        r"\[1, 1\] lists a seed twice"):
        plan(config)
    spec["methods"][1]["seeds"] = []
    with pytest.raises(PlanError, match=r"experiments\.beyond_expert\.methods\.1\.seeds"):
        check_schema(config, SCHEMA)


def test_finished_only_keeps_the_finished_runs_and_leaves_out_empty_experiments(
        tmp_path, monkeypatch, capsys):
    import json
    import sys

    from algos.algorithms import revision
    from algos.evidence.experiments import only_finished

    monkeypatch.chdir(tmp_path)
    experiments = plan(SMOKE)
    done, stale = experiments["baseline"].runs[:2], experiments["baseline"].runs[2]
    for run in (*done, stale):
        (tmp_path / run.folder).mkdir(parents=True)
        (tmp_path / run.folder / "summary.json").write_text("{}")
        made_by = revision(run.algo) if run in done else {"shared": 0, run.algo: 1}
        (tmp_path / run.folder / "config.json").write_text(json.dumps({"revision": made_by}))
    kept = only_finished(experiments, log=sys.stderr)
    assert "baseline" in kept and "heterogeneous" not in kept
    assert [r.folder for r in kept["baseline"].runs] == [r.folder for r in done]
    shared = {r.folder for e in kept.values() for r in e.runs}
    assert shared <= {r.folder for r in done}
    assert f"baseline: 2 of {len(experiments['baseline'].runs)} runs finished by this code's " \
        "revision" in capsys.readouterr().err


def test_finished_only_keeps_only_the_envs_with_a_finished_run(tmp_path, monkeypatch):
    """An env with no finished run leaves the experiment, so its expert is not asked for (the
    workflow would train it: hours for a new game's expert)."""
    import json

    from algos.algorithms import revision
    from algos.evidence.experiments import only_finished

    monkeypatch.chdir(tmp_path)
    experiments = plan(SMOKE)
    assert len(experiments["heterogeneous"].envs) == 3
    run = next(r for r in experiments["heterogeneous"].runs if r.env == "point_maze")
    (tmp_path / run.folder).mkdir(parents=True)
    (tmp_path / run.folder / "summary.json").write_text("{}")
    (tmp_path / run.folder / "config.json").write_text(json.dumps({"revision": revision(run.algo)}))
    assert only_finished(experiments)["heterogeneous"].envs == ["point_maze"]


def test_the_lists_that_name_algorithms_and_experiments_agree_with_the_registry():
    """Adding an algorithm or renaming an experiment touches lists elsewhere: the schema's
    enum of algorithms is the registry's, and every claim names an experiment that the default
    and the tests' configs have (so a renamed experiment fails here, not as "not run"; the
    paper's config has no beyond_expert: its baseline is the long budget)."""
    from algos.algorithms import ALGORITHMS
    from algos.evidence.claims_file import load

    schema = yaml.safe_load(SCHEMA.read_text())
    assert set(schema["definitions"]["algo"]["enum"]) == set(ALGORITHMS)
    for path in (ROOT / "config" / "config.yaml", ROOT / ".test" / "config" / "config.yaml"):
        config = yaml.safe_load(path.read_text())
        missing = {claim.experiment for claim in load()} - set(config["experiments"])
        assert not missing, f"{path} has no experiment {missing} that a claim tests"


def test_the_agents_action_set_can_be_swept():
    """Each value of an ``agent_action_set`` sweep is the action set of its runs (a folder per
    value but the default, ``full``); a value an env cannot play, or an action set also given
    to the experiment, fails at once naming it."""
    bridging = plan(SMOKE)["bridging_grid"]
    sets = {(r.algo, r.variant, r.action_set) for r in bridging.runs}
    assert sets == {("dqn", "bridging_grid", "full"), ("ha_diiqn", "bridging_grid", "full"),
                    ("dqn", "bridging_grid+agent_action_set-cardinal", "cardinal"),
                    ("ha_diiqn", "bridging_grid+agent_action_set-cardinal", "cardinal")}
    assert bridging.sweep["config_path"] == "env.action_set"
    config = copy.deepcopy(SMOKE)
    config["experiments"]["bridging_grid"]["sweep"]["values"] = ["full", "upward"]
    with pytest.raises(PlanError, match=r"bridging_grid\.sweep\.values: 'upward' on "
                                        r"grid_maze_small: "):
        plan(config)
    config = copy.deepcopy(SMOKE)
    config["experiments"]["bridging_grid"]["agent_action_set"] = "cardinal"
    with pytest.raises(PlanError, match=r"agent_action_set is swept; leave "
                                        r"experiments\.bridging_grid\.agent_action_set out"):
        plan(config)
    # A comma-separated set names its folder with dashes.
    default = plan(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()))
    assert {r.variant for r in default["bridging_breakout"].runs} >= {
        "bridging_breakout+agent_action_set-left-right"}


def test_a_sweeps_anchor_is_trained_once_and_runs_as_shares_another_experiments_runs():
    experiments = plan(SMOKE)
    tau = experiments["tau_sensitivity"]
    assert {r.variant for r in tau.methods["dqn"]} == {"default"}  # once, not per value
    assert tau.manifest()["sweep"]["anchors"] == ["dqn"]
    config = copy.deepcopy(SMOKE)
    config["experiments"]["tau_sensitivity"]["sweep"]["anchors"] = ["dqnn"]
    with pytest.raises(PlanError, match="'dqnn' is not a method"):
        plan(config)
    config["experiments"]["tau_sensitivity"]["sweep"]["anchors"] = ["dqn", "diiqn"]
    with pytest.raises(PlanError, match="every method is an anchor"):
        plan(config)
    # The default config's confidence ablation re-reads beyond_expert's DQN and DIIQN runs.
    default = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    check_schema(default, SCHEMA)
    default.setdefault("last_evaluations", 3)
    planned = plan(default)
    ablation = {r.folder for r in planned["confidence_ablation"].runs}
    beyond = {r.folder for r in planned["beyond_expert"].runs}
    assert {r.folder for m in ("dqn", "diiqn")
            for r in planned["confidence_ablation"].methods[m]} <= beyond
    assert len(ablation - beyond) == 30  # three fixed Φs, two games, five seeds
    # Other settings under a shared name are refused, not silently mixed.
    default["experiments"]["confidence_ablation"]["set"]["eval_episodes"] = 10
    with pytest.raises(PlanError, match="means other settings in another experiment"):
        plan(default)
