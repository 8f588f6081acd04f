"""Learning: after a short run DQN and DIIQN clearly beat a uniformly random policy, the
imitation baselines learn from the expert, DIIQN beats DQN on Breakout at 30K steps, and
HA-DIIQN reaches the expert's level in the mazes long before DIIQN and DQN."""

import csv
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from algos.acting import UniformRandomPolicy, evaluate
from algos.envs import EnvConfig
from conftest import cli

# Space Invaders, 50K steps, learning from step 1000, epsilon 1 -> 0.1 over 25K steps, an
# evaluation of 20 episodes every 5K steps: about two minutes on one core for DQN.
PROTOCOL = ["--game", "space_invaders", "--steps", "50000", "--set", "replay_start=1000",
            "--set", "epsilon_decay_steps=25000", "--set", "eval_every=5000",
            "--set", "eval_episodes=20"]
SHIPPED_EXPERT = Path(__file__).parent / "data" / "space_invaders_expert"


@pytest.fixture(scope="session")
def expert_data(tmp_path_factory) -> Path:
    """30K transitions of the shipped Space Invaders expert (24.3 over 100 episodes; random
    2.9), made by the real dataset command."""
    path = tmp_path_factory.mktemp("expert") / "n30000.npz"
    cli("dataset", "--expert", str(SHIPPED_EXPERT), "--size", "30000", "--seed", "0",
        "--out", str(path), check=True)
    return path


def expert_return() -> float:
    return json.loads((SHIPPED_EXPERT / "expert.json").read_text())["eval"]["return_mean"]


def assert_clearly_beats_random(run: Path, steps: int = 50_000) -> float:
    """Score = mean return of the last three evaluations (20 episodes each, epsilon 0.05). It
    must be at least 1.6x the random policy's (about 3.2) and pass a one-sided Welch t-test at
    p < 1e-3 over the 60 episodes against 200 random ones. Returns the score."""
    with open(run / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert int(rows[-1]["env_steps"]) == steps
    final = np.array([float(r["eval_return_mean"]) for r in rows[-3:]])
    random_returns = evaluate(UniformRandomPolicy(6, seed=1), EnvConfig("space_invaders"),
                              episodes=200, epsilon=0.0, max_steps=10_000, seed=1, stream=(0,))
    # Per-episode returns of the trained agent are not in metrics.csv; test the means with their
    # reported standard deviations (Welch's t-test from summary statistics).
    stds = np.array([float(r["eval_return_std"]) for r in rows[-3:]])
    pooled_std = float(np.sqrt(np.mean(stds**2 + (final - final.mean()) ** 2)))
    test = stats.ttest_ind_from_stats(final.mean(), pooled_std, 60, random_returns.mean(),
                                      random_returns.std(ddof=1), len(random_returns),
                                      equal_var=False, alternative="greater")
    print(f"final score {final.mean():.2f} vs random {random_returns.mean():.2f}")
    assert final.mean() >= 1.6 * random_returns.mean()
    assert test.pvalue < 1e-3
    return float(final.mean())


@pytest.mark.slow
def test_dqn_clearly_beats_random_on_space_invaders(tmp_path):
    """DDQN + PER under ``PROTOCOL``. Calibration (seeds 0, 1, 2): 9.0, 8.1, 6.4; the untrained
    network scores 0.1-0.25, so a learner that does not learn fails."""
    out = tmp_path / "run"
    cli("train", "dqn", "--seed", "0", "--out", str(out), *PROTOCOL, check=True, timeout=1200)
    assert_clearly_beats_random(out)


@pytest.mark.slow
def test_diiqn_learns_and_uses_the_expert_on_space_invaders(tmp_path, expert_data):
    """DIIQN under ``PROTOCOL`` with a 30K dataset of the shipped Space Invaders expert
    (``tests/data``: 24.3 over 100 episodes, random 2.9). It must clearly beat random, as DQN
    does, with its expert channel working: matches accepted, actions inferred, a share of the
    loss from the expert. Calibration (100K dataset, seeds 0 and 1): 9.0 and 8.4; DQN under the
    same protocol: 9.0 and 8.1 (DIIQN is *not* shown to beat DQN at this budget: see the README).
    A loss that mixed in the expert wrongly (a sign, a Φ outside [0, 1], a mismatched row)
    breaks learning and fails here."""
    out = tmp_path / "run"
    cli("train", "diiqn", "--seed", "0", "--dataset", str(expert_data), "--out", str(out),
        *PROTOCOL, check=True, timeout=1500)
    assert_clearly_beats_random(out)
    with open(out / "diagnostics.csv") as f:
        last = list(csv.DictReader(f))[-1]
    print({k: last[k] for k in ("knn_acceptance", "usable_share", "inferred_coverage",
                                "phi_mean", "expert_loss_share", "inference_accuracy")})
    assert float(last["knn_acceptance"]) >= 0.05
    assert float(last["usable_share"]) >= 0.05
    assert float(last["inferred_coverage"]) > 0.01
    assert 0.0 < float(last["phi_mean"]) < 1.0
    assert float(last["expert_loss_share"]) > 0.005


@pytest.mark.slow
def test_bco_imitates_the_expert_on_space_invaders(tmp_path, expert_data):
    """BCO with a 30K dataset of the shipped expert (24.3), 30K steps: 5K random steps for the
    inverse-dynamics model, then the cloned policy acts (epsilon 1 -> 0.1 over 10K steps).
    It must reach half the expert's return and clearly beat random. Calibration (seed 0):
    19.6 (81 % of the expert); the IDM labels 68-70 % of the expert pairs with the executed
    action and 99 % with one of the same effect (fire is often a no-op)."""
    out = tmp_path / "run"
    cli("train", "bco", "--game", "space_invaders", "--seed", "0", "--steps", "30000",
        "--dataset", str(expert_data), "--out", str(out), "--set", "replay_start=5000",
        "--set", "epsilon_decay_steps=10000", "--set", "eval_every=5000",
        "--set", "eval_episodes=20", check=True, timeout=1200)
    score = assert_clearly_beats_random(out, steps=30_000)
    assert score >= 0.5 * expert_return()
    with open(out / "diagnostics.csv") as f:
        last = list(csv.DictReader(f))[-1]
    assert float(last["idm_expert_effect_accuracy"]) >= 0.9


@pytest.mark.slow
def test_gaifo_imitates_the_expert_on_space_invaders(tmp_path, expert_data):
    """GAIfO under ``PROTOCOL`` with the same 30K expert dataset: the agent never sees the game's
    reward, only the discriminator's. It must reach 30 % of the expert's return and clearly beat
    random. Calibration (seed 0): 12.6 (52 % of the expert), discriminator 91-95 % accurate."""
    out = tmp_path / "run"
    cli("train", "gaifo", "--seed", "0", "--dataset", str(expert_data), "--out", str(out),
        *PROTOCOL, check=True, timeout=1500)
    assert assert_clearly_beats_random(out) >= 0.3 * expert_return()


@pytest.mark.slow
def test_oril_imitates_the_expert_on_space_invaders(tmp_path, expert_data):
    """ORIL under ``PROTOCOL`` with the same 30K expert dataset: the agent's reward is the
    state-only reward model's P(expert | s'), trained with the PU loss. It must reach 30 % of the
    expert's return and clearly beat random. Calibration (seed 0): 12.8 (53 % of the expert);
    the model scores the expert's states 0.997 and the agent's 0.88-0.90."""
    out = tmp_path / "run"
    cli("train", "oril", "--seed", "0", "--dataset", str(expert_data), "--out", str(out),
        *PROTOCOL, check=True, timeout=1500)
    assert assert_clearly_beats_random(out) >= 0.3 * expert_return()


# The default workflow config's protocol (config/config.yaml), where DIIQN beat DQN on Breakout.
BREAKOUT_PROTOCOL = ["--game", "breakout", "--steps", "30000", "--set", "replay_start=1000",
                     "--set", "epsilon_decay_steps=15000", "--set", "eval_every=5000",
                     "--set", "eval_episodes=20", "--set", "checkpoint_every=10000"]
BREAKOUT_EXPERT = Path(__file__).parent / "data" / "breakout_expert"


def final_evaluations(run: Path) -> tuple[float, float]:
    """Mean and pooled standard deviation of the last three evaluations (60 episodes)."""
    with open(run / "metrics.csv") as f:
        rows = list(csv.DictReader(f))[-3:]
    means = np.array([float(r["eval_return_mean"]) for r in rows])
    stds = np.array([float(r["eval_return_std"]) for r in rows])
    return float(means.mean()), float(np.sqrt(np.mean(stds**2 + (means - means.mean()) ** 2)))


@pytest.mark.slow
def test_diiqn_beats_dqn_on_breakout_at_a_short_budget(tmp_path):
    """Breakout, 30K steps (the default workflow config's protocol), a 30K dataset of the
    shipped Breakout expert (``tests/data/breakout_expert``: 6.69 over 100 episodes after 150K
    steps; random 0.59). Measured in the default workflow run (score = mean of the last three
    evaluations, seeds 0, 1, 2): DIIQN 1.78, 3.23, 2.35; DQN 1.28, 1.80, 1.03 (each DIIQN seed
    above the same seed's DQN; on Space Invaders at the same budget DQN is slightly ahead). Here
    seed 0 (1.78 against 1.28): DIIQN must beat DQN by 30 % and a one-sided Welch t-test over
    the 60 final evaluation episodes at p < 0.01. A DIIQN whose expert channel adds nothing
    scores like DQN and fails."""
    data = tmp_path / "n30000.npz"
    cli("dataset", "--expert", str(BREAKOUT_EXPERT), "--size", "30000", "--seed", "0",
        "--epsilon", "0.01", "--no-effects", "--out", str(data), check=True)
    scores = {}
    for algo in ("dqn", "diiqn"):
        out = tmp_path / algo
        extra = ["--dataset", str(data)] if algo == "diiqn" else []
        cli("train", algo, "--seed", "0", "--out", str(out), *extra, *BREAKOUT_PROTOCOL,
            check=True, timeout=1500)
        scores[algo] = final_evaluations(out)
    print(scores)
    (dqn, dqn_std), (diiqn, diiqn_std) = scores["dqn"], scores["diiqn"]
    test = stats.ttest_ind_from_stats(diiqn, diiqn_std, 60, dqn, dqn_std, 60, equal_var=False,
                                      alternative="greater")
    assert diiqn >= 1.3 * dqn and test.pvalue < 0.01, (scores, test.pvalue)


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
    expert, data = folder / "expert", folder / "n30000.npz"
    cli("expert", "--game", game, "--scripted", "planner", "--action-set", MAZE_EXPERT[game],
        "--seed", "0", "--eval-episodes", "20", "--out", str(expert), check=True)
    cli("dataset", "--expert", str(expert), "--size", "30000", "--seed", "0", "--out", str(data),
        check=True)

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


@pytest.mark.slow
def test_ha_diiqn_reaches_the_grid_maze_goal_before_diiqn_and_dqn(tmp_path):
    """The 10x10 grid maze (17 cardinal steps from start to goal, 13 with diagonals), the
    eight-move planner's dataset, a cardinal agent: the expert's diagonal moves are infeasible
    and HA-DIIQN bridges them. Measured at this protocol with a 6K-step budget, seeds 0-2
    (steps to 90 % of the expert): HA-DIIQN 3K, 4K, 3K; DIIQN and DQN never (over 20K steps:
    DIIQN 7K-9K, DQN never). HA-DIIQN must reach 90 % of the expert by 4K in every seed and
    score there (mean of its last three evaluations: one episode in ten that ε or a sticky
    action knocks off the path can pull a single evaluation below); DIIQN and DQN must each
    take over 1K steps longer on average (never counts as the budget + 1K). A HA-DIIQN whose
    bridges did not work is DIIQN and fails."""
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


@pytest.mark.slow
def test_in_the_point_maze_ha_diiqn_learns_where_diiqn_cannot(tmp_path):
    """The point maze: the expert moves along the axes, the agent only diagonally, so no expert
    transition is one agent move; only bridges (right, right = up-right, down-right) make the
    data usable. Measured at this protocol, 5K steps, seeds 0-2: HA-DIIQN's last two evaluations
    0.90-0.92 in every seed (the expert 0.86, 90 % of the way from random 0.49), DIIQN's -5.1
    to -6.0 (-6 is the step limit's return). HA-DIIQN's last two evaluations must be at 90 % of
    the expert in every seed, DIIQN's below it in every seed."""
    seeds = (0, 1, 2)
    runs = maze_runs(tmp_path, "point_maze", ("diiqn", "ha_diiqn"), seeds, 5000)
    threshold = expert_threshold(tmp_path / "expert")
    final = {key: eval_returns(run)[1][-2:] for key, run in runs.items()}
    print(threshold, final)
    for seed in seeds:
        assert (final[("ha_diiqn", seed)] >= threshold).all(), final
        assert (final[("diiqn", seed)] < threshold).all(), final
