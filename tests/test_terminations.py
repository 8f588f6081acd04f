"""Terminations are not time limits: the mazes, the replay, the datasets and HA-DIIQN's bridges
tell a task's end (nothing follows: no bootstrap) from a cut episode (bootstrap through it)."""

import json

import numpy as np
import pytest

from algos.data.datasets import DatasetError, checksum, info_path, load_dataset, make_dataset
from algos.envs import EnvConfig, make_env, unpack_states
from algos.provenance import before_seals
from algos.provenance.runs import SEAL_KEY, file_sha256
from algos.training.acting import UniformRandomPolicy
from algos.training.checkpoint import read_checkpoint
from conftest import cli, random_expert_dataset


def test_a_maze_run_stores_goals_as_terminal_and_time_limits_as_not(tmp_path):
    """grid_maze_small's episodes end at the goal (reward 1) or after 300 steps. A random agent
    meets both in 3000 steps; the replay must mark exactly the goal arrivals terminal, so that
    a state at the step limit keeps its bootstrapped value."""
    out = tmp_path / "run"
    cli("train", "dqn", "--game", "grid_maze_small", "--action-set", "cardinal", "--seed", "0",
        "--steps", "3000", "--out", str(out), "--set", "replay_start=5000",
        "--set", "checkpoint_every=3000", check=True)
    state = read_checkpoint(out / "checkpoint" / "state.pt")
    replay = state["agent"]["replay"]
    goals = replay["rewards"] == 1.0
    episodes = state["loop"]["episodes"]
    assert episodes > goals.sum() >= 1  # some episodes were cut by the step limit
    assert np.array_equal(replay["dones"] > 0, goals)


def test_maze_datasets_split_terminations_from_time_limits(tmp_path):
    config = EnvConfig("grid_maze_small", action_set="cardinal")
    out = tmp_path / "n3000.npz"
    make_dataset(UniformRandomPolicy(4, 0), config, size=3000, seed=0, epsilon=0.0, out=out,
                 expert_dir=tmp_path, expert_info={"kind": "random"}, record_effects=False)
    data = load_dataset(out)
    next_states = unpack_states(data.next_states, data.state_shape)
    at_goal = (next_states[:, 0] & next_states[:, 1]).any(axis=(1, 2))
    limit = make_env(config, 0).max_episode_steps
    assert np.array_equal(data.dones, at_goal) and data.dones.any()
    assert np.array_equal(data.truncated, ~at_goal & (data.steps == limit - 1))
    assert data.truncated.any() and not (data.dones & data.truncated).any()


def _as_format_1(path, monkeypatch):
    """Rewrite a dataset as the first format wrote it: no ``truncated`` array, no seal; and
    take it for a description the repository shipped before seals (only those are read
    without one)."""
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files if k != "truncated"}
    np.savez(path, **arrays)
    info = json.loads(info_path(path).read_text())
    info.update(format=1, sha256=checksum(arrays))
    del info["arrays"]["truncated"]
    del info[SEAL_KEY]  # format 1 had no seal
    info_path(path).write_text(json.dumps(info))
    monkeypatch.setattr(before_seals, "DATASET_DESCRIPTIONS",
                        before_seals.DATASET_DESCRIPTIONS | {file_sha256(info_path(path))})


def test_format_1_datasets_load_for_minatar_and_are_refused_for_mazes(tmp_path, monkeypatch):
    minatar = random_expert_dataset(tmp_path / "breakout.npz", size=500)
    _as_format_1(minatar, monkeypatch)
    data = load_dataset(minatar)
    assert not data.truncated.any() and data.dones.any()  # MinAtar has no time limit
    maze = tmp_path / "maze.npz"
    make_dataset(UniformRandomPolicy(4, 0), EnvConfig("grid_maze_small", action_set="cardinal"),
                 size=500, seed=0, epsilon=0.0, out=maze, expert_dir=tmp_path,
                 expert_info={"kind": "random"}, record_effects=False)
    _as_format_1(maze, monkeypatch)
    with pytest.raises(DatasetError, match="format-1 maze dataset"):
        load_dataset(maze)
