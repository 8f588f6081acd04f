"""RILO: the task's reward plus λ times GAIfO's discriminator reward. With λ = 0 it is the
plain reinforcement learner (DQN, bit for bit: the discriminator trains beside it on streams of
its own and changes nothing); with λ > 0 the rewards are the documented mixture."""

import numpy as np
import pytest

from algos.agents.rilo import RILOAgent
from algos.algorithms import ALGORITHMS, ConfigError, RILOConfig
from algos.config import apply_overrides
from algos.data.datasets import load_dataset
from algos.envs import EnvConfig, make_env
from conftest import cli, metrics_without_wall_clock, train_args


def test_the_training_reward_is_the_task_s_plus_lambda_times_the_discriminator_s(
        breakout_dataset):
    env = make_env(EnvConfig("breakout"), 1)
    agent = RILOAgent(RILOConfig(replay_capacity=2000, batch_size=32, imitation_weight=0.5),
                      env.state_shape, env.n_actions, 0, 10_000,
                      dataset=load_dataset(breakout_dataset))
    task = np.array([0.0, 1.0, 0.0], dtype=np.float32)
    learned = np.array([-3.0, 2.0, 10.0], dtype=np.float32)
    rewards = agent.training_rewards(task, learned)
    assert rewards.dtype == np.float32 and rewards.tolist() == [-1.5, 2.0, 5.0]


def test_a_negative_or_non_finite_weight_is_refused():
    for value in ("-1", "nan"):
        with pytest.raises(ConfigError):
            apply_overrides(ALGORITHMS["rilo"].config(), [f"imitation_weight={value}"])


def test_with_lambda_zero_it_is_dqn_bit_for_bit(tmp_path, breakout_dataset):
    """The Q-learner's batches, networks and random streams are DQN's; only the reward could
    differ, and at λ = 0 it is the task's. Every evaluation's return and loss are DQN's."""
    rilo, dqn = tmp_path / "rilo", tmp_path / "dqn"
    cli(*train_args(rilo, algo="rilo", dataset=breakout_dataset,
                    extra=("--set", "imitation_weight=0")), check=True)
    cli(*train_args(dqn), check=True)
    assert metrics_without_wall_clock(rilo) == metrics_without_wall_clock(dqn)
    weighted = tmp_path / "weighted"
    cli(*train_args(weighted, algo="rilo", dataset=breakout_dataset), check=True)
    assert metrics_without_wall_clock(weighted) != metrics_without_wall_clock(dqn)
