"""Grid and point mazes: layout, moves, rewards, the planner expert, their place in the API."""

import numpy as np
import pytest

from algos.data.experts import SCRIPTED_EXPERTS
from algos.envs import EnvConfig, EnvError, environment_names, make_env, state_shape
from algos.envs.mazes import (
    MAX_EPISODE_STEPS,
    MAZE_ACTION_NAMES,
    NAMED_SETS,
    STEP_COST,
    GridMazeEnv,
    layout_resolution,
    load_layout,
)


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
    obs, reward, terminated, truncated = env.step(up)  # the start is under a wall: stay put
    assert env.position == start and reward == -STEP_COST and not (terminated or truncated)
    env.step(MAZE_ACTION_NAMES.index("right"))
    assert env.position == (start[0], start[1] + 1)
    env.reset()
    for step in range(MAX_EPISODE_STEPS):
        _, reward, terminated, truncated = env.step(up)
        # The step limit cuts the episode: a time limit, not the task's end.
        assert reward == -STEP_COST and not terminated
        assert truncated == (step == MAX_EPISODE_STEPS - 1)


@pytest.mark.parametrize(("action_set", "length"), [("cardinal", 17), ("full", 13)])
def test_planner_takes_a_shortest_path(action_set, length):
    env = maze(action_set)
    expert = SCRIPTED_EXPERTS["planner"](env.config)
    obs, steps, terminated, reward = env.reset(), 0, False, 0.0
    while not terminated:
        obs, reward, terminated, truncated = env.step(expert.greedy_action(obs))
        steps += 1
        assert not truncated
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


def point_maze(action_set: str) -> GridMazeEnv:
    return make_env(EnvConfig("point_maze", action_set=action_set, sticky_action_prob=0.0), 0)


def test_the_point_maze_is_a_finer_lattice_with_a_goal_cell():
    walls, start, goal = load_layout("point_maze")
    assert layout_resolution("point_maze") == 2 and layout_resolution("grid_maze") == 1
    assert state_shape("point_maze") == (2, 2 * walls.shape[0], 2 * walls.shape[1])
    env = point_maze("diagonal")
    obs = env.reset()
    assert obs[0].sum() == 1 and env.position == (2 * start[0] + 1, 2 * start[1] + 1)
    goal_rows, goal_cols = slice(2 * goal[0], 2 * goal[0] + 2), slice(2 * goal[1], 2 * goal[1] + 2)
    assert obs[1].sum() == 4 and obs[1][goal_rows, goal_cols].all()
    assert env.max_episode_steps == 2 * MAX_EPISODE_STEPS
    assert env.describe()["kind"] == "point_maze" and env.describe()["resolution"] == 2


@pytest.mark.parametrize("action_set", ["cardinal", "diagonal"])
def test_in_the_point_maze_both_disjoint_action_sets_reach_the_goal(action_set):
    env = point_maze(action_set)
    expert = SCRIPTED_EXPERTS["planner"](env.config)
    obs, terminated, reward = env.reset(), False, 0.0
    while not terminated:
        obs, reward, terminated, _ = env.step(expert.greedy_action(obs))
    assert reward == 1.0 and env.goal_region[env.position]


def test_no_axis_move_of_the_point_maze_is_one_diagonal_move():
    """From every free lattice point, the cells an axis move reaches (other than staying put) are
    never reached by a diagonal move: the sets are disjoint in effect, not only in name."""
    env = point_maze("full")
    axis, diagonal = NAMED_SETS["cardinal"], NAMED_SETS["diagonal"]
    for point in map(tuple, np.argwhere(~env.walls)):
        by_axis = {env._move(point, a) for a in axis} - {point}
        by_diagonal = {env._move(point, a) for a in diagonal} - {point}
        assert not by_axis & by_diagonal
