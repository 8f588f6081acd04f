"""BCO: the inverse-dynamics model against the hidden actions, and the state-only contract."""

import csv

import pytest

from algos.agents.bco import BCOAgent
from algos.algorithms import ALGORITHMS, BCOConfig
from algos.data.datasets import actions_path, effects_path, inference_scorer, load_dataset
from algos.envs import EnvConfig, make_env
from conftest import cli, play_randomly, random_expert_dataset, train_args


def test_inverse_dynamics_labels_expert_pairs_accurately(tmp_path):
    """Breakout, minimal action set, sticky actions off; the expert is uniformly random (3K
    pairs, true actions hidden). After 4K random agent steps and 3K IDM updates (the IDM's
    alone: the cloning steps neither change it nor draw from its replay's generator) the IDM
    must give >= 95 % of the expert pairs an action with the executed one's effect, and >= 90 %
    the executed action itself (measured: 100 % and 99.3 %; left into the wall is noop)."""
    path = random_expert_dataset(tmp_path / "n3000.npz", action_set="minimal", sticky_prob=0.0)
    env = make_env(EnvConfig("breakout", action_set="minimal", sticky_action_prob=0.0), 3)
    config = BCOConfig(replay_start=4000, replay_capacity=4000)
    agent = BCOAgent(config, env.state_shape, env.n_actions, 0, 10_000,
                     dataset=load_dataset(path), scorer=inference_scorer(path, env.actions))
    play_randomly(agent, env, 4000, seed=0)
    for _ in range(3000):
        agent.update_idm()
    scores = agent.idm_expert_scores()
    print({k: scores[k] for k in ("idm_expert_accuracy", "idm_expert_effect_accuracy")})
    assert scores["idm_expert_effect_accuracy"] >= 0.95
    assert scores["idm_expert_accuracy"] >= 0.90


def test_bco_learns_from_states_alone(tmp_path, breakout_dataset):
    """Without the hidden files beside the dataset BCO trains all the same (only the scoring
    columns go): learning never reads the true actions."""
    import shutil

    data = tmp_path / "n3000.npz"
    for source in (breakout_dataset, breakout_dataset.with_suffix(".json")):
        shutil.copy(source, tmp_path / source.name)
    assert not actions_path(data).exists() and not effects_path(data).exists()
    out = tmp_path / "run"
    result = cli(*train_args(out, steps=1500, algo="bco", dataset=data), check=True)
    assert "no inference accuracy" in result.stderr
    with open(out / "diagnostics.csv") as f:
        rows = list(csv.DictReader(f))
    assert "idm_expert_accuracy" not in rows[-1] and float(rows[-1]["idm_train_accuracy"]) > 0
    with_scoring = cli(*train_args(tmp_path / "scored", steps=1500, algo="bco",
                                   dataset=breakout_dataset), check=True)
    assert "warning" not in with_scoring.stderr
    with open(tmp_path / "scored" / "diagnostics.csv") as f:
        assert float(list(csv.DictReader(f))[-1]["idm_expert_effect_accuracy"]) > 0


@pytest.mark.parametrize("algo", sorted(name for name, algorithm in ALGORITHMS.items()
                                         if algorithm.needs_dataset and name != "bco"))
def test_every_imitation_method_trains_without_the_hidden_files(tmp_path, breakout_dataset, algo):
    """The true actions and their effects are for scoring only: remove them and every method
    that reads the dataset still trains to the end."""
    import shutil

    data = tmp_path / "n3000.npz"
    for source in (breakout_dataset, breakout_dataset.with_suffix(".json")):
        shutil.copy(source, tmp_path / source.name)
    result = cli(*train_args(tmp_path / "run", steps=1200, algo=algo, dataset=data))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "run" / "summary.json").is_file()
