"""Mazes: the heterogeneous-action settings of the paper, with the MinAtar environment's API.

A maze is a text layout in ``algos/layouts/<name>.txt`` (``#`` wall, ``.`` free, ``S`` start,
``G`` goal; lines starting with ``# `` are comments, a line ``@resolution R`` sets the
resolution); its name is an environment name for ``--game``.

* **Grid maze** (resolution 1, ``grid_maze``, ``grid_maze_small``): the agent occupies a cell and
  moves one cell per step in one of eight directions.
* **Point maze** (resolution R > 1, ``point_maze``): a point on an R x R lattice inside every
  cell, moving one lattice step (1/R of a cell) per action; the goal is the whole goal cell.
  On the lattice an axis move and a diagonal move never land on the same point, so an expert that
  moves along the axes and an agent that moves only diagonally have **disjoint** action sets:
  no expert transition is one agent step. Two axis moves are two diagonal ones (right, right =
  up-right, down-right) and right, up is up-right, so the agent can rejoin the expert's path one
  or two expert steps later (a bridge). Both can reach the goal: a diagonal move keeps the parity
  of row + column, and the goal cell holds lattice points of both parities.

A move into a wall (or off the grid) leaves the agent in place. Reaching the goal gives reward 1
and terminates the episode; every other step costs ``STEP_COST`` (so a return says how short the
path was), and the step limit (``MAX_EPISODE_STEPS`` x R) truncates an episode: a time limit, not
an end of the task, so learners bootstrap through it. Observations are boolean
``(2, H R, W R)`` grids (agent, goal cell), so bit-packing, the Q-network and the binary
nearest-neighbour index work unchanged. The walls are not observed: a layout's walls never change,
so they carry no information, and as a constant block of set bits they would make every two
states look alike (two positions would be 63/65 = 97 % Jaccard-similar in the shipped grid maze,
above any useful threshold τ).

Action sets (``--action-set``): ``full`` (all eight), ``cardinal`` (up, right, down, left: the
axis moves), ``diagonal`` (the four diagonals; disjoint from ``cardinal``) or a comma list of
names. The expert and the agent may use different sets: that is the heterogeneous-action
experiment. Sticky actions work as in MinAtar (the previous action is repeated with
``sticky_action_prob``).

``ShortestPathExpert`` is the scripted expert: it follows a breadth-first-search distance map
to the goal with its own action set (registered as ``planner`` in
``experts.SCRIPTED_EXPERTS``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict
from functools import cache
from pathlib import Path

import numpy as np

from .base import EnvConfig, EnvError, Step, check_sticky_prob, sticky_action

LAYOUTS = Path(__file__).parent / "layouts"

MAZE_ACTION_NAMES: tuple[str, ...] = ("up", "right", "down", "left", "up_right", "down_right",
                                      "down_left", "up_left")
"""The eight moves; an action id is an index into this tuple."""

MOVES = np.array([(-1, 0), (0, 1), (1, 0), (0, -1), (-1, 1), (1, 1), (1, -1), (-1, -1)])
"""(row, column) displacement of each action id."""

NAMED_SETS = {"full": tuple(range(8)), "cardinal": (0, 1, 2, 3), "diagonal": (4, 5, 6, 7)}

STEP_COST = 0.01
"""Reward of every step that does not reach the goal is ``-STEP_COST``."""

MAX_EPISODE_STEPS = 300
"""Step limit of an episode at resolution 1 (R times this at resolution R). The shipped grid
maze's shortest path takes 17 cardinal steps; a uniformly random cardinal walk reaches the goal
within 300 steps in 18 % of episodes (2 % within 100), so exploration finds the reward now and
then."""


def maze_names() -> tuple[str, ...]:
    """Environment names of the shipped layouts."""
    return tuple(sorted(p.stem for p in LAYOUTS.glob("*.txt")))


@cache
def _parse_layout(name: str) -> tuple[np.ndarray, tuple[int, int], tuple[int, int], int]:
    """Walls (bool ``(H, W)``), start and goal cells, and resolution of layout ``name``: the
    file is read once."""
    path = LAYOUTS / f"{name}.txt"
    if not path.is_file():
        raise EnvError(f"unknown maze {name!r}; shipped mazes: {', '.join(maze_names())}")
    lines = path.read_text().splitlines()
    resolution = 1
    for line in lines:
        if line.startswith("@resolution"):
            value = line.split()[-1]
            if not value.isdigit() or int(value) < 1:
                raise EnvError(f"{path}: bad '{line}' (a positive integer)")
            resolution = int(value)
    rows = [line.rstrip("\n") for line in lines
            if line.strip() and not line.startswith(("# ", "@"))]
    if len({len(r) for r in rows}) != 1:
        raise EnvError(f"{path}: rows of different lengths")
    grid = np.array([list(r) for r in rows])
    if not set(np.unique(grid)) <= set("#.SG") or (grid == "S").sum() != 1 or \
            (grid == "G").sum() != 1:
        raise EnvError(f"{path}: a layout holds only # . S G, with one S and one G")
    start = tuple(int(v) for v in np.argwhere(grid == "S")[0])
    goal = tuple(int(v) for v in np.argwhere(grid == "G")[0])
    return grid == "#", start, goal, resolution


def load_layout(name: str) -> tuple[np.ndarray, tuple[int, int], tuple[int, int]]:
    """Walls (bool ``(H, W)``), start and goal cells of layout ``name``."""
    return _parse_layout(name)[:3]


def layout_resolution(name: str) -> int:
    """Lattice points per cell and axis: 1 for a grid maze, ``@resolution R`` for a point maze."""
    return _parse_layout(name)[3]


def resolve_maze_actions(spec: str) -> tuple[int, ...]:
    if spec in NAMED_SETS:
        return NAMED_SETS[spec]
    ids = []
    for token in (t.strip() for t in spec.split(",")):
        if token not in MAZE_ACTION_NAMES:
            raise EnvError(f"bad action set {spec!r}: {token!r} is not a maze action; use "
                           f"{', '.join(NAMED_SETS)} or a list of {', '.join(MAZE_ACTION_NAMES)}")
        ids.append(MAZE_ACTION_NAMES.index(token))
    if len(set(ids)) != len(ids):
        raise EnvError(f"bad action set {spec!r}: actions must be distinct")
    return tuple(ids)


def maze_state_shape(name: str) -> tuple[int, int, int]:
    walls, _, _ = load_layout(name)
    resolution = layout_resolution(name)
    return (2, walls.shape[0] * resolution, walls.shape[1] * resolution)


class GridMazeEnv:
    """A grid or point maze with the interface of ``envs.MinAtarEnv``. Positions are lattice
    points ``(row, column)`` of the ``(H R, W R)`` grid; at resolution 1 they are the cells."""

    def __init__(self, config: EnvConfig, seed: int):
        self.config = config
        cell_walls, start_cell, goal_cell = load_layout(config.game)
        self.resolution = r = layout_resolution(config.game)
        self.walls = np.kron(cell_walls, np.ones((r, r), dtype=bool))
        self.goal_region = np.zeros_like(self.walls)
        self.goal_region[goal_cell[0] * r:(goal_cell[0] + 1) * r,
                         goal_cell[1] * r:(goal_cell[1] + 1) * r] = True
        # The start cell's middle point (for even R, the one below and right of the centre).
        self.start = (start_cell[0] * r + r // 2, start_cell[1] * r + r // 2)
        self.max_episode_steps = MAX_EPISODE_STEPS * r
        self.actions = resolve_maze_actions(config.action_set)
        check_sticky_prob(config.sticky_action_prob)
        self.n_actions = len(self.actions)
        self.state_shape = (2, *self.walls.shape)
        self._random = np.random.RandomState(seed)
        self._last_action = self.actions[0]
        self.position = self.start
        self.steps = 0

    def reset(self) -> np.ndarray:
        self.position, self.steps = self.start, 0
        return self.observe()

    def observe(self) -> np.ndarray:
        obs = np.zeros(self.state_shape, dtype=bool)
        obs[0][self.position] = True
        obs[1] = self.goal_region
        return obs

    def _move(self, position: tuple[int, int], action: int) -> tuple[int, int]:
        row, col = position[0] + MOVES[action][0], position[1] + MOVES[action][1]
        if 0 <= row < self.walls.shape[0] and 0 <= col < self.walls.shape[1] and \
                not self.walls[row, col]:
            return (int(row), int(col))
        return position

    def step(self, action_index: int) -> Step:
        action = sticky_action(self._random, self.config.sticky_action_prob,
                               self.actions[action_index], self._last_action)
        self._last_action = action
        self.position = self._move(self.position, action)
        self.steps += 1
        reached = bool(self.goal_region[self.position])
        reward = 1.0 if reached else -STEP_COST
        return Step(self.observe(), reward, reached,
                    not reached and self.steps >= self.max_episode_steps)

    @property
    def executed_action(self) -> int:
        """Maze action id the last ``step`` really applied (sticky actions included)."""
        return self._last_action

    def equivalent_actions(self):
        """As ``MinAtarEnv.equivalent_actions``: moves into walls all equal staying put."""
        outcomes = [self._move(self.position, a) for a in range(len(MAZE_ACTION_NAMES))]

        def mask(executed: int) -> int:
            return sum(1 << a for a, cell in enumerate(outcomes) if cell == outcomes[executed])

        return mask

    def state_dict(self) -> dict:
        return {"position": self.position, "steps": self.steps,
                "last_action": self._last_action, "random": self._random.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.position = tuple(int(v) for v in state["position"])
        self.steps = int(state["steps"])
        self._last_action = int(state["last_action"])
        self._random.set_state(state["random"])

    def describe(self) -> dict:
        return {**asdict(self.config),
                "kind": "grid_maze" if self.resolution == 1 else "point_maze",
                "action_ids": list(self.actions),
                "action_names": [MAZE_ACTION_NAMES[a] for a in self.actions],
                "state_shape": list(self.state_shape),
                "layout": (LAYOUTS / f"{self.config.game}.txt").name,
                "resolution": self.resolution,
                "max_episode_steps": self.max_episode_steps}


class ShortestPathExpert:
    """Moves along a shortest path to the goal using its own action set (breadth-first search
    over the maze with those moves). Ties go to the lowest action index."""

    def __init__(self, config: EnvConfig):
        env = GridMazeEnv(config, seed=0)
        self.actions = env.actions
        self.distance = np.full(env.walls.shape, np.iinfo(np.int32).max, dtype=np.int64)
        self.distance[env.goal_region] = 0
        queue = deque(tuple(int(v) for v in cell) for cell in np.argwhere(env.goal_region))
        while queue:  # BFS from the goal along reversed moves
            cell = queue.popleft()
            for action in self.actions:
                previous = (cell[0] - MOVES[action][0], cell[1] - MOVES[action][1])
                if (0 <= previous[0] < env.walls.shape[0] and 0 <= previous[1] < env.walls.shape[1]
                        and not env.walls[previous] and env._move(previous, action) == cell
                        and self.distance[previous] > self.distance[cell] + 1):
                    self.distance[previous] = self.distance[cell] + 1
                    queue.append(previous)
        self._env = env

    def greedy_action(self, obs: np.ndarray) -> int:
        position = tuple(int(v) for v in np.argwhere(obs[0])[0])
        nexts = [self.distance[self._env._move(position, a)] for a in self.actions]
        return int(np.argmin(nexts))
