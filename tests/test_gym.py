"""The mazes as Gymnasium environments (``algos/envs/gym.py``): Gymnasium's own checker passes on
each maze and action set, and a seeded rollout through the adapter is the suite's, state for
state."""

import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from algos.envs import EnvConfig, EnvError, make_env
from algos.envs.gym import MAZE_IDS

CASES = [(env_id, action_set) for env_id in MAZE_IDS
         for action_set in ("full", "cardinal", "diagonal")]


@pytest.mark.parametrize(("env_id", "action_set"), CASES)
def test_gymnasiums_checker_passes_without_a_warning(env_id, action_set):
    env = gymnasium.make(env_id, action_set=action_set)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Gymnasium's checker warns where it does not fail
        check_env(env.unwrapped)
    maze = MAZE_IDS[env_id]
    suite = make_env(EnvConfig(maze, action_set=action_set), seed=0)
    assert env.observation_space.shape == suite.state_shape
    assert env.observation_space.dtype == np.bool_
    assert env.action_space.n == suite.n_actions


@pytest.mark.parametrize(("env_id", "action_set"), CASES)
def test_a_seeded_rollout_is_the_suites_state_for_state(env_id, action_set):
    """The same seed and actions through the adapter and through the suite's own environment,
    across episode ends: in 1,000 random moves the grid maze reaches its goal and its time limit
    (300 steps), the point maze its goal."""
    env = gymnasium.make(env_id, action_set=action_set)
    suite = make_env(EnvConfig(MAZE_IDS[env_id], action_set=action_set), seed=7)
    obs, info = env.reset(seed=7)
    assert np.array_equal(obs, suite.reset()) and info == {}
    actions = np.random.default_rng(0).integers(env.action_space.n, size=1000)
    ends = {"terminated": 0, "truncated": 0}
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        expected = suite.step(int(action))
        assert np.array_equal(obs, expected.obs) and obs in env.observation_space
        assert (reward, terminated, truncated) == (expected.reward, expected.terminated,
                                                    expected.truncated)
        assert suite.actions[info["executed_action"]] == suite.executed_action
        if terminated or truncated:
            ends["terminated" if terminated else "truncated"] += 1
            obs, _ = env.reset()  # no seed: the same random stream goes on, as in the suite
            assert np.array_equal(obs, suite.reset())
    assert sum(ends.values()) >= 1, ends


def test_the_ids_register_on_import_and_a_bad_action_set_is_the_suites_error():
    env = gymnasium.make("algos.envs.gym:DIIQN/PointMaze-v0", action_set="up,right")
    assert env.action_space.n == 2
    with pytest.raises(EnvError, match="'jump' is not a maze action"):
        gymnasium.make("DIIQN/GridMaze-v0", action_set="jump")
