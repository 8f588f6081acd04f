"""Grid mazes: layout, moves, rewards, the planner expert, and their place in the shared API."""

import numpy as np
import pytest

from algos.envs import EnvConfig, EnvError, environment_names, make_env, state_shape
from algos.experts import SCRIPTED_EXPERTS
from algos.mazes import MAX_EPISODE_STEPS, MAZE_ACTION_NAMES, STEP_COST, GridMazeEnv, load_layout


def maze(action_set: str = "full", sticky: float = 0.0, seed: int = 0) -> GridMazeEnv:
    return make_env(EnvConfig("grid_maze", action_set=action_set, sticky_action_prob=sticky), seed)


def test_the_shipped_maze_is_an_environment_name_with_its_own_action_sets():
    assert "grid_maze" in environment_names()
    assert state_shape("grid_maze") == (2, 10, 10)
    assert maze("cardinal").actions == (0, 1, 2, 3)
    assert maze("diagonal").actions == (4, 5, 6, 7)
    assert maze("up,left").actions == (0, 3)
    with pytest.raises(EnvError, match="not a maze action"):
        maze("noop")
    with pytest.raises(EnvError, match=r"unknown game 'no_such_maze'.*grid_maze"):
        make_env(EnvConfig("no_such_maze"), 0)


def test_moves_walls_goal_and_step_limit():
    env = maze("full")
    obs = env.reset()
    walls, start, goal = load_layout("grid_maze")
    assert obs.shape == (2, 10, 10) and obs[0].sum() == 1 and obs[0][start] and obs[1][goal]
    assert obs[1].sum() == 1 and not walls[start] and not walls[goal]
    up = MAZE_ACTION_NAMES.index("up")
    obs, reward, done = env.step(up)  # the start is under a wall: stay put
    assert env.position == start and reward == -STEP_COST and not done
    obs, reward, done = env.step(MAZE_ACTION_NAMES.index("right"))
    assert env.position == (start[0], start[1] + 1)
    env.reset()
    for step in range(MAX_EPISODE_STEPS):
        _, reward, done = env.step(up)
        assert reward == -STEP_COST and done == (step == MAX_EPISODE_STEPS - 1)


@pytest.mark.parametrize(("action_set", "length"), [("cardinal", 17), ("full", 13)])
def test_planner_takes_a_shortest_path(action_set, length):
    env = maze(action_set)
    expert = SCRIPTED_EXPERTS["planner"](env.config)
    obs, steps, done, reward = env.reset(), 0, False, 0.0
    while not done:
        obs, reward, done = env.step(expert.greedy_action(obs))
        steps += 1
    assert reward == 1.0 and steps == length


def test_equivalent_actions_and_checkpoint_round_trip():
    env = maze("full", sticky=0.3, seed=4)
    env.reset()
    same = env.equivalent_actions()
    # In the start's corner only right and down are open: the other six moves all mean "stay".
    stay = [a for a, name in enumerate(MAZE_ACTION_NAMES) if name not in ("right", "down")]
    assert same(stay[0]) == sum(1 << a for a in stay)
    assert same(MAZE_ACTION_NAMES.index("right")) == 1 << MAZE_ACTION_NAMES.index("right")
    state = env.state_dict()
    first = [env.step(a % env.n_actions)[0] for a in range(20)]
    env.load_state_dict(state)
    again = [env.step(a % env.n_actions)[0] for a in range(20)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
