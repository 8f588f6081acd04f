"""Learning: DIIQN learns Breakout faster than DQN from the expert's states (several seeds, a
test across them), DQN and the imitation baselines clearly beat a random policy, and HA-DIIQN
reaches the expert's level in the mazes long before DIIQN and DQN.

Every threshold was calibrated on seeds 10-12 (docs/results.md, "The learning tests"), never on
the seeds asserted here (0-2), and sits well inside the calibrated effect."""

import csv
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from algos.envs import EnvConfig
from algos.training.acting import UniformRandomPolicy, evaluate
from conftest import cli, planner_expert_dataset

pytestmark = [pytest.mark.slow, pytest.mark.learning]  # make test-learning

BREAKOUT_EXPERT = Path(__file__).parent.parent / "results" / "experts" / "breakout"
# Breakout, 20K steps, learning from step 1000, ε 1 -> 0.1 over 10K steps, an evaluation of 20
# episodes every 5K; a run's score is the mean of its last two evaluations (40 episodes).
BREAKOUT = ["--game", "breakout", "--steps", "20000", "--set", "replay_start=1000",
            "--set", "epsilon_decay_steps=10000", "--set", "eval_every=5000",
            "--set", "eval_episodes=20", "--set", "checkpoint_every=100000"]
SEEDS = (0, 1, 2)


@pytest.fixture(scope="session")
def breakout_expert_data(tmp_path_factory) -> Path:
    """30K transitions of the shipped Breakout expert (6.69 over 100 episodes; random 0.59),
    made by the real dataset command."""
    path = tmp_path_factory.mktemp("breakout_expert") / "n30000.npz"
    cli("dataset", "--expert", str(BREAKOUT_EXPERT), "--size", "30000", "--seed", "0",
        "--epsilon", "0.01", "--no-effects", "--out", str(path), check=True)
    return path


def score(run: Path, last: int = 2) -> float:
    """Mean evaluation return of a run's last evaluations."""
    with open(run / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    return float(np.mean([float(r["eval_return_mean"]) for r in rows[-last:]]))


def train_all(jobs: list[tuple[str, list[str]]], folder: Path) -> dict[str, Path]:
    """Train ``(name, arguments)`` jobs two at a time (the runs are single-threaded)."""
    def run(job):
        name, args = job
        out = folder / name
        cli("train", *args, "--out", str(out), check=True, timeout=1200)
        return name, out

    with ThreadPoolExecutor(2) as pool:
        return dict(pool.map(run, jobs))


@pytest.fixture(scope="session")
def breakout_runs(tmp_path_factory, breakout_expert_data) -> dict[str, Path]:
    """DQN and DIIQN (its defaults) on Breakout, seeds 0-2, and BCO, seed 0."""
    data = ["--dataset", str(breakout_expert_data)]
    jobs = [(f"{algo}{seed}", [algo, "--seed", str(seed), *BREAKOUT,
                               *(data if algo != "dqn" else [])])
            for seed in SEEDS for algo in ("dqn", "diiqn")]
    jobs.append(("bco0", ["bco", "--seed", "0", *BREAKOUT, *data]))
    return train_all(jobs, tmp_path_factory.mktemp("breakout_runs"))


def random_returns(episodes: int = 200) -> np.ndarray:
    return evaluate(UniformRandomPolicy(6, seed=1), EnvConfig("breakout"), episodes=episodes,
                    epsilon=0.0, max_steps=10_000, seed=1, stream=(0,))


def test_diiqn_learns_breakout_faster_than_dqn_from_the_expert(breakout_runs):
    """Calibrated on seeds 10-12: DIIQN 2.13, 2.73, 3.43, DQN 0.40, 0.38, 0.63. On seeds 0-2
    every DIIQN run must score above every DQN run (the one-sided Mann-Whitney test at its
    smallest p, 0.05) and DIIQN's mean must be at least twice DQN's. A DIIQN whose expert
    channel is inert is DQN and fails."""
    diiqn = np.array([score(breakout_runs[f"diiqn{s}"]) for s in SEEDS])
    dqn = np.array([score(breakout_runs[f"dqn{s}"]) for s in SEEDS])
    print({"diiqn": diiqn, "dqn": dqn})
    test = stats.mannwhitneyu(diiqn, dqn, alternative="greater", method="exact")
    assert test.pvalue <= 0.05 and diiqn.mean() >= 2 * dqn.mean(), (diiqn, dqn)
    with open(breakout_runs["diiqn0"] / "diagnostics.csv") as f:
        first = list(csv.DictReader(f))[1]  # the first evaluation interval after step 0
    assert float(first["expert_loss_share"]) >= 0.1  # the expert speaks from the start


# Space Invaders, 50K steps, learning from step 1000, ε 1 -> 0.1 over 25K steps, an evaluation of
# 20 episodes every 5K steps: about two minutes on one core.
SPACE_INVADERS = ["--game", "space_invaders", "--steps", "50000", "--set", "replay_start=1000",
                  "--set", "epsilon_decay_steps=25000", "--set", "eval_every=5000",
                  "--set", "eval_episodes=20"]


def test_dqn_clearly_beats_random_on_space_invaders(tmp_path):
    """The shared learner alone (DDQN + PER) learns: calibrated on seeds 10, 11:
    8.0 and 8.9. The score (mean of the last three evaluations, 60 episodes) must be at
    least 1.6x the random policy's (about 3.2) and beat its 200 episodes by a one-sided Welch
    test at p < 1e-3; the untrained network scores 0.1-0.25."""
    out = tmp_path / "run"
    cli("train", "dqn", "--seed", "0", "--out", str(out), *SPACE_INVADERS, check=True,
        timeout=1200)
    with open(out / "metrics.csv") as f:
        rows = list(csv.DictReader(f))[-3:]
    means = np.array([float(r["eval_return_mean"]) for r in rows])
    stds = np.array([float(r["eval_return_std"]) for r in rows])
    random = evaluate(UniformRandomPolicy(6, seed=1), EnvConfig("space_invaders"), episodes=200,
                      epsilon=0.0, max_steps=10_000, seed=1, stream=(0,))
    pooled = float(np.sqrt(np.mean(stds**2 + (means - means.mean()) ** 2)))
    test = stats.ttest_ind_from_stats(means.mean(), pooled, 60, random.mean(),
                                      random.std(ddof=1), len(random), equal_var=False,
                                      alternative="greater")
    assert means.mean() >= 1.6 * random.mean() and test.pvalue < 1e-3, means


def test_bco_learns_breakout_from_the_expert_alone(breakout_runs):
    """BCO never sees Breakout's reward; it must reach half the expert's return and beat the
    random policy's episodes by a one-sided Welch test. Calibrated on seed 10: 6.2, 6.15 at 15K
    and 20K steps (92 % of the 6.69 expert). GAIfO and ORIL are not tested here: at this budget
    neither learns Breakout reliably (GAIfO 2.8 at seed 10 and 0.43 at seed 0, ORIL 0.5;
    docs/results.md); their reward models are tested in tests/test_gaifo_oril.py."""
    run = breakout_runs["bco0"]
    expert = json.loads((BREAKOUT_EXPERT / "expert.json").read_text())["eval"]["return_mean"]
    random = random_returns()
    value = score(run)
    assert value >= 0.5 * expert, value
    with open(run / "metrics.csv") as f:
        rows = list(csv.DictReader(f))[-2:]
    means = np.array([float(r["eval_return_mean"]) for r in rows])
    stds = np.array([float(r["eval_return_std"]) for r in rows])
    pooled = float(np.sqrt(np.mean(stds**2 + (means - means.mean()) ** 2)))
    test = stats.ttest_ind_from_stats(means.mean(), pooled, 40, random.mean(),
                                      random.std(ddof=1), len(random), equal_var=False,
                                      alternative="greater")
    assert test.pvalue < 1e-3


# The mazes: learning from step 1000, epsilon 1 -> 0.1 over 5K steps, target network synced every
# 100 updates, 10 evaluation episodes every 1K steps; sticky actions 0.1 for agent and expert.
# DIIQN and HA-DIIQN as in the heterogeneous experiment: DQfD's margin (0.05) on the inferred or
# bridged expert action, and no imitation of expert transitions that changed nothing.
MAZE_PROTOCOL = ["--set", "replay_start=1000", "--set", "epsilon_decay_steps=5000",
                 "--set", "target_update_every=100", "--set", "eval_every=1000",
                 "--set", "eval_episodes=10"]
MAZE_AGENT = {"grid_maze": "cardinal", "point_maze": "diagonal"}
MAZE_EXPERT = {"grid_maze": "full", "point_maze": "cardinal"}


def maze_runs(folder: Path, game: str, algos: tuple[str, ...], seeds: tuple[int, ...],
              steps: int) -> dict[tuple[str, int], Path]:
    """Train every (algo, seed) on ``game`` with the agent's action set, the planner expert's
    30K-transition dataset for the imitation methods, two runs at a time (the runs are
    single-threaded). Returns the run folders; the expert folder is ``folder / "expert"``."""
    _, data = planner_expert_dataset(folder / "expert", folder / "n30000.npz", 30000, game=game,
                                     action_set=MAZE_EXPERT[game], eval_episodes=20)

    def train(job: tuple[str, int]) -> Path:
        algo, seed = job
        out = folder / algo / f"seed{seed}"
        extra = [] if algo == "dqn" else ["--dataset", str(data), "--set", "expert_margin=0.05",
                                          "--set", "skip_unchanged=true"]
        cli("train", algo, "--game", game, "--action-set", MAZE_AGENT[game], "--seed",
            str(seed), "--steps", str(steps), "--out", str(out), *MAZE_PROTOCOL, *extra,
            check=True, timeout=900)
        return out

    jobs = [(algo, seed) for algo in algos for seed in seeds]
    with ThreadPoolExecutor(2) as pool:
        return dict(zip(jobs, pool.map(train, jobs), strict=True))


def expert_threshold(expert: Path, fraction: float = 0.9) -> float:
    """The return at ``fraction`` of the way from the random policy's to the expert's."""
    info = json.loads((expert / "expert.json").read_text())
    low, high = info["random"]["return_mean"], info["eval"]["return_mean"]
    return low + fraction * (high - low)


def eval_returns(run: Path) -> tuple[np.ndarray, np.ndarray]:
    """Evaluation steps and mean returns of a run."""
    with open(run / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    return (np.array([int(r["env_steps"]) for r in rows]),
            np.array([float(r["eval_return_mean"]) for r in rows]))


def steps_to(run: Path, threshold: float) -> float:
    """First evaluation step whose mean return reaches ``threshold`` (inf: never)."""
    steps, returns = eval_returns(run)
    reached = np.flatnonzero(returns >= threshold)
    return float(steps[reached[0]]) if len(reached) else float("inf")


def test_ha_diiqn_reaches_the_grid_maze_goal_before_diiqn_and_dqn(tmp_path):
    """The 10x10 grid maze (17 cardinal steps from start to goal, 13 with diagonals), the
    eight-move planner's dataset, a cardinal agent: the expert's diagonal moves are infeasible
    and HA-DIIQN bridges them. Calibrated at this protocol with a 6K-step budget on seeds 10-12
    (steps to 90 % of the expert): HA-DIIQN 3K, 3K, 3K (last three evaluations 0.82, 0.70,
    0.80 on average against a threshold of 0.49); DIIQN and DQN never. HA-DIIQN must reach 90 %
    of the expert by 4K in every seed and score there (mean of its last three evaluations: one
    episode in ten that ε or a sticky action knocks off the path can pull a single evaluation
    below); DIIQN and DQN must each take over 1K steps longer on average (never counts as the
    budget + 1K). A HA-DIIQN whose bridges did not work is DIIQN and fails."""
    seeds = (0, 1, 2)
    runs = maze_runs(tmp_path, "grid_maze", ("dqn", "diiqn", "ha_diiqn"), seeds, 6000)
    threshold = expert_threshold(tmp_path / "expert")
    reach = {key: min(steps_to(run, threshold), 7000.0) for key, run in runs.items()}
    print(reach)
    mean = {algo: np.mean([reach[(algo, seed)] for seed in seeds])
            for algo in ("dqn", "diiqn", "ha_diiqn")}
    for seed in seeds:
        assert reach[("ha_diiqn", seed)] <= 4000, reach
        assert eval_returns(runs[("ha_diiqn", seed)])[1][-3:].mean() >= threshold
    assert mean["ha_diiqn"] + 1000 < mean["diiqn"] and mean["ha_diiqn"] + 1000 < mean["dqn"]


def test_in_the_point_maze_ha_diiqn_learns_where_diiqn_cannot(tmp_path):
    """The point maze: the expert moves along the axes, the agent only diagonally, so no expert
    transition is one agent move; only bridges (right, right = up-right, down-right) make the
    data usable. Calibrated at this protocol, 5K steps, seeds 10-17: HA-DIIQN's last three
    evaluations 0.90-0.92 in every seed (90 % of the way from random to the expert: 0.49),
    DIIQN's -6.0 to -2.4 (-6 is the step limit's return). HA-DIIQN's mean of its last three
    evaluations must be at 90 % of the expert in every seed (one episode in ten that ε or a
    sticky action knocks off the path pulls a single evaluation down: seed 0 scores 0.905,
    0.218, 0.907), DIIQN's below it in every seed, and HA-DIIQN above DIIQN across seeds
    (one-sided Mann-Whitney, p = 0.05)."""
    seeds = (0, 1, 2)
    runs = maze_runs(tmp_path, "point_maze", ("diiqn", "ha_diiqn"), seeds, 5000)
    threshold = expert_threshold(tmp_path / "expert")
    final = {key: eval_returns(run)[1][-3:].mean() for key, run in runs.items()}
    print(threshold, final)
    for seed in seeds:
        assert final[("ha_diiqn", seed)] >= threshold > final[("diiqn", seed)], final
    test = stats.mannwhitneyu([final[("ha_diiqn", s)] for s in seeds],
                              [final[("diiqn", s)] for s in seeds], alternative="greater",
                              method="exact")
    assert test.pvalue <= 0.05, final
