"""From run folders to tables and figures: the aggregate and plot commands end to end."""

from pathlib import Path

import pandas as pd
import pytest

from algos.algorithms import SHARED_REVISION
from algos.evidence.aggregate import expert_clearly_above_random
from algos.evidence.plots import palette
from algos.evidence.stats import aggregate_metrics, score_matrices
from conftest import cli, planner_expert_dataset

# Under pytest-xdist (make test), the tests sharing this module's fixtures run on one worker.
pytestmark = pytest.mark.xdist_group("aggregate_runs")

FAST_MAZE = ["--game", "grid_maze_small", "--action-set", "cardinal", "--steps", "600",
             "--set", "replay_start=200", "--set", "eval_every=200", "--set", "eval_episodes=2",
             "--set", "replay_capacity=1000", "--set", "epsilon_decay_steps=300"]


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    """A scripted expert, its dataset, and DQN and DIIQN runs on two seeds in the run-folder
    layout results/runs/{game}/{algo}/{variant}/seed{seed}. Returns (experts, run folders)."""
    root = tmp_path_factory.mktemp("results")
    experts = root / "experts"
    _, data = planner_expert_dataset(experts / "grid_maze_small", root / "n2000.npz", 2000,
                                     epsilon=0.2)
    folders = []
    for algo in ("dqn", "diiqn"):
        for seed in (0, 1):
            out = root / "runs" / "grid_maze_small" / algo / "default" / f"seed{seed}"
            dataset = ["--dataset", str(data)] if algo == "diiqn" else []
            cli("train", algo, "--seed", str(seed), *dataset, "--out", str(out), *FAST_MAZE,
                check=True)
            folders.append(out)
    return experts, folders


def test_aggregate_writes_scores_curves_and_rliable_intervals(runs, tmp_path):
    experts, folders = runs
    out = tmp_path / "aggregate"
    result = cli("aggregate", *map(str, folders), "--experts", str(experts), "--out", str(out),
                 "--reps", "300", "--experiment", "demo", check=True)
    assert "IQM" in result.stdout
    scores = pd.read_csv(out / "scores.csv")
    assert len(scores) == 4 and set(scores["algo"]) == {"dqn", "diiqn"}
    assert (scores["experiment"] == "demo").all()
    assert (scores["variant"] == "default").all()
    # The score is the mean of the last three evaluations; normalised by the expert's files.
    curves = pd.read_csv(out / "curves.csv")
    first = scores.iloc[0]
    mine = curves[(curves["algo"] == first["algo"]) & (curves["seed"] == first["seed"])]
    assert first["score"] == pytest.approx(mine["eval_return"].tail(3).mean())
    assert first["normalized_score"] == pytest.approx(
        (first["score"] - first["random_return"]) / (first["expert_return"] -
                                                     first["random_return"]))
    intervals = pd.read_csv(out / "intervals.csv")
    assert len(intervals) == 2 * 4
    expected = aggregate_metrics(score_matrices(scores), reps=300, seed=0)
    for row in intervals.itertuples():
        assert (row.point, row.lower, row.upper) == pytest.approx(
            expected[row.method][row.metric])
        assert row.lower <= row.point <= row.upper
    poi = pd.read_csv(out / "poi.csv")
    assert len(poi) == 2
    pair = poi.set_index(["x", "y"])["probability"]
    assert pair[("dqn/default", "diiqn/default")] == pytest.approx(
        1 - pair[("diiqn/default", "dqn/default")])

    figures = tmp_path / "figures"
    cli("plot", str(out), "--out", str(figures), check=True)
    diagnostics = pd.read_csv(out / "diagnostics.csv")
    assert set(diagnostics["algo"]) == {"dqn", "diiqn"} and len(diagnostics) == 4 * 4
    assert diagnostics["knn_acceptance"].dropna().between(0, 1).all()
    # Every column each run logged is kept (none of these algorithms logs a timing).
    for folder in folders:
        logged = set(pd.read_csv(folder / "diagnostics.csv").columns) - {"env_steps"}
        assert logged <= set(diagnostics.columns), logged - set(diagnostics.columns)
    profiles = pd.read_csv(out / "profiles.csv")
    assert len(profiles) == 2 * 41 and profiles["fraction"].between(0, 1).all()
    for name in ("learning_curves", "aggregates", "improvement", "profiles", "diagnostics"):
        for suffix in ("png", "pdf"):
            assert (figures / f"{name}.{suffix}").stat().st_size > 10_000, name


def test_aggregate_refuses_unfinished_runs_and_missing_expert_scores(runs, tmp_path):
    _, folders = runs
    unfinished = tmp_path / "half"
    unfinished.mkdir()
    result = cli("aggregate", str(unfinished), "--out", str(tmp_path / "a"))
    assert result.returncode == 2 and "not a finished run" in result.stderr
    dqn_only = [f for f in folders if "/dqn/" in str(f)]
    result = cli("aggregate", *map(str, dqn_only), "--out", str(tmp_path / "b"))
    assert result.returncode == 2 and "no normalised score" in result.stderr
    assert not (tmp_path / "b").exists()


def test_each_algorithm_keeps_its_colour_across_figures():
    """HA-DIIQN is the same colour in a figure with DQN and in one without it (the diagnostics
    figure); variants of one algorithm get distinct colours."""
    with_dqn = palette(["dqn/agent-actions", "diiqn/agent-actions", "ha_diiqn/agent-actions"])
    without = palette(["diiqn/agent-actions", "ha_diiqn/agent-actions"])
    assert with_dqn["ha_diiqn/agent-actions"] == without["ha_diiqn/agent-actions"]
    assert with_dqn["diiqn/agent-actions"] == without["diiqn/agent-actions"]
    assert palette(["ha_diiqn"])["ha_diiqn"] == without["ha_diiqn/agent-actions"]
    variants = palette(["diiqn/default", "diiqn/tau-0.9", "diiqn/tau-1"])
    assert len(set(variants.values())) == 3
    # Beside variants of its own, the default keeps DIIQN's colour, and no variant takes
    # another algorithm's (BCO's beside the DIIQNs of beyond_expert).
    beyond = palette(["dqn", "bco", "diiqn-paper", "diiqn", "diiqn-evidence"],
                     ["dqn", "bco", "diiqn", "diiqn", "diiqn"])
    alone = palette(["dqn", "diiqn", "bco"])
    assert all(beyond[m] == alone[m] for m in alone)
    assert len(set(beyond.values())) == 5


def test_the_same_run_twice_is_an_error(runs, tmp_path):
    _, folders = runs
    result = cli("aggregate", str(folders[0]), str(folders[0]), str(folders[1]),
                 "--out", str(tmp_path / "twice"))
    assert result.returncode == 2 and "the same run twice" in result.stderr
    assert not (tmp_path / "twice").exists()


def test_an_expert_not_clearly_above_random_is_flagged(tmp_path):
    """An expert whose return is within noise of the random policy's (or below it) makes
    normalised scores meaningless, and inverted where it is below: the scores say so."""
    info = {"eval": {"return_mean": 0.0, "return_std": 1.0, "episodes": 100},
            "random": {"return_mean": 1.0, "return_std": 1.0, "episodes": 100}}
    assert not expert_clearly_above_random(info)
    info["eval"]["return_mean"] = 1.1  # 0.1 above, with a standard error of 0.14
    assert not expert_clearly_above_random(info)
    info["eval"]["return_mean"] = 2.0
    assert expert_clearly_above_random(info)


def test_a_partial_experiment_is_aggregated_on_its_finished_runs(runs, tmp_path):
    """A manifest whose runs are not all finished (an experiment still training) is
    aggregated on the finished ones; cells.csv says how many runs each cell rests on, with
    their seeds and code revision."""
    import json

    experts, folders = runs
    planned = [{"folder": str(f), "method": f"{f.parent.parent.name}/default",
                "env": "grid_maze_small", "seed": int(f.name[4:])} for f in folders]
    planned.append({"folder": str(tmp_path / "not-yet" / "seed2"), "method": "dqn/default",
                    "env": "grid_maze_small", "seed": 2})
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"experiment": "demo", "runs": planned, "sweep": None}))
    out = tmp_path / "partial"
    result = cli("aggregate", "--manifest", str(manifest), "--experts", str(experts),
                 "--out", str(out), "--reps", "100", check=True)
    assert "4 of 5 runs finished" in result.stdout
    assert "dqn/default on grid_maze_small: 2 of 3 runs (seeds 0 1)" in result.stdout
    cells = pd.read_csv(out / "cells.csv").set_index("method")
    assert cells.loc["dqn/default", "planned"] == 3 and cells.loc["dqn/default", "finished"] == 2
    assert cells.loc["diiqn/default", "planned"] == 2
    assert (cells["revisions"].str.startswith("shared")).all()
    shared = f"shared{SHARED_REVISION}"
    assert set(pd.read_csv(out / "scores.csv")["revision"]) == {f"{shared}-dqn1",
                                                                f"{shared}-diiqn1"}


def test_five_games_of_learning_curves_budget_and_beyond_wrap_into_rows(
        tmp_path, monkeypatch):
    """One panel per game, at most three a row: five games in one row would be too narrow to
    read. Each panel keeps its game's title; the sixth cell of the grid is empty."""
    import matplotlib.pyplot as plt
    from PIL import Image

    from algos.evidence.aggregate import budget as aggregate_budget
    from algos.evidence.plots import beyond, budget, learning_curves

    games = ["asterix", "breakout", "freeway", "seaquest", "space_invaders"]
    curves = pd.DataFrame([{"env": g, "step": s, "eval_return": float(s + seed), "seed": seed,
                            "method": m, "algo": m} for g in games for m in ("dqn", "diiqn")
                           for seed in (0, 1) for s in (0, 1000, 2000)])
    scores = pd.DataFrame([{"env": g, "method": "dqn", "algo": "dqn", "expert_return": 5.0,
                            "random_return": 0.0, "expert_above_random": True} for g in games])
    titles = []
    real_savefig = plt.Figure.savefig

    def spy(fig, *args, **kwargs):
        titles.append([ax.get_title() for ax in fig.axes if ax.get_visible()])
        return real_savefig(fig, *args, **kwargs)

    monkeypatch.setattr(plt.Figure, "savefig", spy)
    png, _ = learning_curves({"curves": curves, "scores": scores}, tmp_path)
    assert titles[0] == games
    width, height = Image.open(png).size
    assert 1.0 < width / height < 2.0  # two rows of three, not one row of five (about 6:1)
    # The budget figure: each game a column of two panels, three games a row.
    table = aggregate_budget(curves.assign(normalized_return=curves["eval_return"] / 5.0),
                             last=1, reps=100)
    png, _ = budget({"budget": table, "scores": scores}, tmp_path)
    top, bottom = "IQM of normalised return", "P(method > DQN)"
    assert titles[2] == [f"{g}: {what}" for row in (games[:3], games[3:])
                         for what in (top, bottom) for g in row]  # titles[1]: the curves' PDF
    width, height = Image.open(png).size
    assert 0.5 < width / height < 1.5  # two rows of three games, not one row of five
    # The beyond figure: a panel per game and its two summaries, four a row.
    by_env = pd.DataFrame([{"env": g, "method": m, "iqm": 0.5, "lower": 0.4, "upper": 0.6}
                           for g in games for m in ("dqn", "diiqn")])
    summary = pd.DataFrame([{"method": m, "above_expert": 0.2, "above_expert_lower": 0.1,
                             "above_expert_upper": 0.3, "versus": "dqn", "beats_dqn": 0.6,
                             "beats_dqn_lower": 0.5, "beats_dqn_upper": 0.7}
                            for m in ("dqn", "diiqn")])
    png, _ = beyond({"intervals_by_env": by_env, "beyond": summary,
                     "scores": scores.assign(seed=0)}, tmp_path)
    assert titles[4] == [f"{g}: IQM" for g in games] + ["runs above the expert",
                                                         "P(method > DQN)"]
    width, height = Image.open(png).size
    assert width / height < 4  # two rows of four panels, not one row of seven (about 9:1)


def test_a_game_that_one_method_has_not_reached_stays_out_of_the_aggregates_over_games(
        runs, tmp_path, monkeypatch):
    """One DQN run on a second maze (a game DIIQN has no run on yet): the aggregates over games
    keep to the first maze, where both methods have their seeds; cells.csv and the figures say
    so, and every figure is drawn, its legend naming both methods."""
    import matplotlib.pyplot as plt

    from algos.evidence.aggregate import aggregate, read_tables, runs_by_folder, write_tables
    from algos.evidence.plots import draw

    experts, folders = runs
    cli("expert", "--game", "grid_maze", "--action-set", "cardinal", "--scripted", "planner",
        "--seed", "0", "--eval-episodes", "2", "--out", str(experts / "grid_maze"), check=True)
    other = tmp_path / "runs" / "grid_maze" / "dqn" / "default" / "seed0"
    maze = ["grid_maze" if word == "grid_maze_small" else word for word in FAST_MAZE]
    cli("train", "dqn", "--seed", "0", "--out", str(other), *maze, check=True)
    tables = aggregate(runs_by_folder([*folders, other]), experts=experts, reps=100)
    cells = tables["cells"].set_index(["method", "env"])
    assert cells.loc[("dqn/default", "grid_maze"), "seeds_over_envs"] == ""
    assert cells.loc[("dqn/default", "grid_maze_small"), "seeds_over_envs"] == "0 1"
    assert set(tables["intervals"]["method"]) == {"dqn/default", "diiqn/default"}
    write_tables(tables, tmp_path / "aggregate")
    texts, legends = [], []
    real_savefig = plt.Figure.savefig

    def spy(fig, *args, **kwargs):
        texts.append(" ".join(t.get_text() for t in fig.texts))
        legends.append([t.get_text() for legend in fig.legends for t in legend.get_texts()])
        return real_savefig(fig, *args, **kwargs)

    monkeypatch.setattr(plt.Figure, "savefig", spy)
    paths = draw(read_tables(tmp_path / "aggregate"), tmp_path / "figures")
    names = {path.stem for path in paths}
    assert {"aggregates", "beyond", "budget", "learning_curves"} <= names
    assert any("over grid_maze_small; not yet grid_maze" in text for text in texts)
    assert any({"dqn/default", "diiqn/default"} <= set(legend) for legend in legends)


def test_a_swept_setting_a_run_predates_reads_as_its_default():
    """A run made before a setting existed ran it at the default it was added with (as
    ``settings_differences`` reads it); a key no algorithm has is one line naming the run."""
    from algos.algorithms import ALGORITHMS
    from algos.evidence.aggregate import AggregateError, _value_at

    config = {"algo": "diiqn", "algo_config": {"c_max": 1000}, "dataset": {"size": 30000}}
    assert _value_at(config, "algo_config.c_max") == 1000
    assert _value_at(config, "algo_config.metric") == ALGORITHMS["diiqn"].config().metric
    assert _value_at(config, "dataset.size") == 30000
    with pytest.raises(AggregateError, match=r"^runs/x/config.json: no setting "
                                             r"algo_config.nothing \(the swept setting\)"):
        _value_at(config, "algo_config.nothing", Path("runs/x"))
