"""The Snakemake workflow: the test config (.test/config/config.yaml) end to end, the paper
config's job count, lint, and bad configs."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from algos.evidence.experiments import plan
from algos.evidence.figures import figures_for
from algos.evidence.stats import aggregate_metrics, score_matrices
from conftest import ROOT, snakemake

# The tests of the one smoke workflow run on one worker (under --dist loadgroup); the others of
# this module (dry runs, lint, bad configs) are free to run beside it on the other worker.
SMOKE_GROUP = pytest.mark.xdist_group("smoke_workflow")

TEST_CONFIG = ROOT / ".test" / "config" / "config.yaml"
PLAN = plan(yaml.safe_load(TEST_CONFIG.read_text()))


def figure_names(experiment: str) -> list[str]:
    runs = PLAN[experiment].runs
    return figures_for({r.algo for r in runs}, PLAN[experiment].sweep is not None)


def job_counts(result: subprocess.CompletedProcess) -> dict[str, str]:
    """A dry run's "Job stats" table: rule -> count (and "total")."""
    stats = (result.stdout + result.stderr).split("Job stats")[-1].split("Reasons")[0]
    return dict(line.split()[:2] for line in stats.splitlines()
                if len(line.split()) == 2 and line.split()[1].isdigit())


# Session scope: under xdist a worker may interleave other modules' tests, which would tear down
# and rebuild a module-scoped fixture (the whole workflow again: 5 minutes).
@pytest.fixture(scope="session")
def smoke(tmp_path_factory) -> Path:
    """``snakemake all_figures --configfile .test/config/config.yaml`` in an empty folder."""
    work = tmp_path_factory.mktemp("workflow")
    result = snakemake("all_figures", "--cores", "2", "--configfile", str(TEST_CONFIG), cwd=work,
                       timeout=1500)
    assert result.returncode == 0, result.stderr[-3000:]
    return work


@pytest.mark.slow
@SMOKE_GROUP
def test_smoke_config_makes_every_table_and_figure(smoke):
    for experiment in PLAN:
        folder = smoke / "results" / "aggregate" / experiment
        scores = pd.read_csv(folder / "scores.csv")
        assert len(scores) == len(PLAN[experiment].runs)
        assert (scores["experiment"] == experiment).all()
        assert np.isfinite(scores["normalized_score"]).all()
        curves = pd.read_csv(folder / "curves.csv")
        every = 1000 if experiment == "beyond_expert" else 500  # evaluations, and at the end
        assert len(curves) == sum(len(range(0, r.steps, every)) + 1
                                  for r in PLAN[experiment].runs)
        intervals = pd.read_csv(folder / "intervals.csv")
        assert ((intervals["lower"] <= intervals["point"] + 1e-12)
                & (intervals["point"] <= intervals["upper"] + 1e-12)).all()
        # Our aggregates are rliable's on the same scores.csv (point estimates exactly).
        expected = aggregate_metrics(score_matrices(scores), reps=200, seed=0)
        for row in intervals.itertuples():
            assert row.point == pytest.approx(expected[row.method][row.metric][0], abs=1e-12)
        if PLAN[experiment].sweep:  # the swept value comes from each run's config.json
            key = PLAN[experiment].sweep["key"]
            values = {v for v in PLAN[experiment].sweep["values"]}
            anchors = scores["method"].isin(PLAN[experiment].sweep["anchors"])  # trained once
            assert set(scores.loc[~anchors, "sweep_value"]) == values
            assert scores.loc[anchors, "sweep_value"].isna().all()
            assert (scores["sweep_key"] == key).all()
        reached = pd.read_csv(folder / "steps_to_threshold.csv")
        assert len(reached) == len(scores)
        assert (reached["step"].isna() == ~reached["reached"]).all()
        diagnostics = pd.read_csv(folder / "diagnostics.csv")
        assert diagnostics["phi_mean"].dropna().between(0, 1).all()
        if experiment == "heterogeneous":
            assert set(scores["env"]) == {"grid_maze_small", "point_maze", "breakout"}
            assert diagnostics["bridge_hits"].notna().any()
        for name in figure_names(experiment):
            for suffix in ("png", "pdf"):
                path = smoke / "figures" / experiment / f"{name}.{suffix}"
                assert path.stat().st_size > 10_000, path
    assert "beyond" in figure_names("beyond_expert") and "bridging" in figure_names(
        "heterogeneous")
    claims = pd.read_csv(smoke / "results" / "aggregate" / "claims.csv")
    assert set(claims["verdict"]) <= {"reproduced", "not reproduced", "inconclusive", "not run",
                                      "not testable at this budget"}
    assert set(claims["experiment"]) >= {"baseline", "beyond_expert", "heterogeneous"}
    # One seed a side (and a smoke expert): the row is not testable, and says why.
    along = claims[claims["id"] == "beyond_expert.ahead_along_budget"]
    assert len(along) == 1 and along["verdict"].iloc[0] == "not testable at this budget"
    why = along["where"].iloc[0]
    assert ("1 runs against 1 cannot reach p <= 0.05" in why
            or "the expert is not clearly better than random" in why), why
    # The heterogeneous runs: the agent's action set per env, the experiment's own settings for
    # every method, and the margin for DIIQN and HA-DIIQN only.
    agent_actions = {"grid_maze_small": "cardinal", "point_maze": "diagonal",
                     "breakout": "left,right"}
    for env, action_set in agent_actions.items():
        for algo in ("dqn", "diiqn", "ha_diiqn", "rilo"):
            run = smoke / "results" / "runs" / env / algo / "heterogeneous" / "seed0"
            config = json.loads((run / "config.json").read_text())
            assert config["env"]["action_set"] == action_set
            assert config["algo_config"]["eval_every"] == 500
            margin = algo in ("diiqn", "ha_diiqn")
            assert config["algo_config"].get("expert_margin", 0.0) == (0.05 if margin else 0.0)
            assert config["algo_config"].get("skip_unchanged", False) == margin
    # The default DIIQN run is shared by several experiments and trained once.
    runs = list((smoke / "results" / "runs" / "breakout" / "diiqn").glob("*/seed0"))
    variants = sorted(run.parent.name for run in runs)
    assert variants.count("default") == 1 and len(variants) == len(set(variants))


@pytest.mark.slow
@SMOKE_GROUP
def test_the_report_holds_every_figure_under_its_experiment_with_its_caption(smoke):
    result = snakemake("--report", "report.html", "--configfile", str(TEST_CONFIG), cwd=smoke,
                       timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    html = (smoke / "report.html").read_text()
    assert len(html) > 100_000
    for experiment in PLAN:
        assert experiment in html
    for name in {name for experiment in PLAN for name in figure_names(experiment)}:
        assert f"{name}.png" in html
    assert "claims.csv" in html
    assert "stratified" in html and "bridges HA-DIIQN found" in html  # captions


@pytest.mark.slow
@SMOKE_GROUP
def test_a_manifest_that_is_not_the_configs_plan_is_rewritten_and_its_experiment_aggregated(
        smoke, tmp_path):
    """A fresh clone whose committed manifest lacks a method the config now plans (trained and
    committed since): Snakemake has no metadata of the committed files, so only the workflow's
    own check at its start makes the aggregate take the new runs."""
    clone = tmp_path / "clone"
    shutil.copytree(smoke, clone, ignore=shutil.ignore_patterns(".snakemake"))  # keeps mtimes
    manifest = clone / "results" / "aggregate" / "baseline" / "manifest.json"
    planned, stat = manifest.read_text(), manifest.stat()
    older = json.loads(planned)
    older["runs"] = older["runs"][1:]  # the plan before its first run was added
    manifest.write_text(json.dumps(older, indent=2) + "\n")
    os.utime(manifest, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # as old as it was
    result = snakemake("all_figures", "-n", "--configfile", str(TEST_CONFIG), cwd=clone)
    assert result.returncode == 0, result.stderr
    assert "baseline/manifest.json: rewritten to the config's plan" in result.stderr
    assert manifest.read_text() == planned
    assert job_counts(result) == {"manifest": "1", "aggregate": "1", "figures": "1",
                                  "claims": "1", "all_figures": "1", "total": "5"}


@pytest.mark.slow
@SMOKE_GROUP
def test_a_second_run_has_nothing_to_do_and_a_lost_run_is_redone_alone(smoke):
    smoke_config = str(TEST_CONFIG)
    result = snakemake("all_figures", "-n", "--configfile", smoke_config, cwd=smoke)
    assert result.returncode == 0 and "Nothing to be done" in result.stdout + result.stderr
    # A run, the baseline's aggregate and its figures gone (Snakemake does not regenerate a
    # missing intermediate file while what was made from it is still there): that run is
    # retrained, the baseline re-aggregated and re-drawn, and nothing else (no expert, no
    # dataset, no other run).
    shutil.rmtree(smoke / "results" / "runs" / "breakout" / "dqn" / "default" / "seed0")
    shutil.rmtree(smoke / "results" / "aggregate" / "baseline")
    shutil.rmtree(smoke / "figures" / "baseline")
    result = snakemake("all_figures", "-n", "--configfile", smoke_config, cwd=smoke)
    assert result.returncode == 0
    # The run is also the DQN anchor of the two sweeps that have one: their aggregates and
    # figures are redone too.
    lost = "results/runs/breakout/dqn/default/seed0"
    readers = [name for name, experiment in PLAN.items()
               if lost in {run.folder for run in experiment.runs}]
    assert "baseline" in readers
    n = str(len(readers))
    assert job_counts(result) == {"train": "1", "manifest": "1", "aggregate": n, "figures": n,
                                  "claims": "1", "all_figures": "1",
                                  "total": str(4 + 2 * len(readers))}


@SMOKE_GROUP
def test_xdist_keeps_the_smoke_tests_on_one_worker(request):
    """``make test`` runs pytest-xdist with ``--dist loadgroup``: the group suffix on the node id
    is what keeps the smoke tests, and so their one smoke workflow, on one worker. With pytest 9
    and xdist 3.8 the suffix is silently lost and the workflow ran once per worker."""
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("not under pytest-xdist --dist loadgroup")
    assert request.node.nodeid.endswith("@smoke_workflow"), request.node.nodeid


def test_paper_config_lists_the_expected_train_jobs(tmp_path):
    """Paper scale: baseline 5 envs x 5 algos x 10 seeds = 250; confidence ablation 6 variants
    (the default run is the baseline's) x 10 = 60; dataset sizes 1K, 10K, 30K, 50K (100K is the
    default) x 10 = 40; c_max 670, 1500 (1,000 is the default) x 10 = 20; τ 0.9, 0.95, 0.99
    (0.97 is the default) x 10 = 30; heterogeneous 2 mazes and Breakout with two actions x 4
    algos (RILO among them) x 10 = 120. Total 520. The heterogeneous runs train for the
    experiment's own 500K steps, the others for the config's 5M."""
    result = snakemake("all_figures", "-n", "-p", "--configfile",
                       str(ROOT / "config" / "paper.yaml"), cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    output = result.stdout + result.stderr
    counts = job_counts(result)
    assert counts["train"] == "520"
    paper = plan(yaml.safe_load((ROOT / "config" / "paper.yaml").read_text()))
    assert counts["expert"] == "7" and counts["figures"] == str(len(paper))  # one per experiment
    commands = [line for line in output.splitlines() if "-m algos train" in line]
    maze = [c for c in commands if "--game point_maze" in c]
    game = [c for c in commands if "--game seaquest" in c]
    assert len(maze) == 40 and all("--steps 500000 " in c for c in maze)
    assert len(game) == 50 and all("--steps 5000000 " in c for c in game)


def test_default_config_is_valid_and_the_workflow_lints_clean(tmp_path):
    assert snakemake("all_figures", "-n", cwd=tmp_path, timeout=300).returncode == 0
    lint = snakemake("--lint", cwd=tmp_path, timeout=300)
    assert lint.returncode == 0, lint.stdout[-3000:] + lint.stderr[-3000:]


@pytest.mark.parametrize(("old", "new", "message"), [
    ("bootstrap_reps: 200", "bootstrap_reps: 200\nwarp_factor: 9", "warp_factor"),
    ("values: [0.9, 1.0]", "values: [0.9, 1.5]", "tau must lie in [0, 1], got 1.5"),
    ("  checkpoint_every: 500", "  checkpoint_every: 500\n  replay_strat: 5",
     "unknown config key 'replay_strat'"),
    ("  eval_every: 500", "  eval_every: often", "bad value 'often' for eval_every"),
    ("seeds: [0]", "seeds: [0, 0]", "non-unique"),
])
def test_a_bad_config_fails_at_start_naming_the_key(tmp_path, old, new, message):
    bad = tmp_path / "bad.yaml"
    text = TEST_CONFIG.read_text()
    assert old in text
    bad.write_text(text.replace(old, new, 1))
    result = snakemake("all_figures", "-n", "--configfile", str(bad), cwd=tmp_path, timeout=300)
    assert result.returncode != 0 and message in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()
