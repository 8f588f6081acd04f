"""Experts and state-only datasets: contents, nesting, the hidden actions, and bad files."""

import json
import shutil

import numpy as np
import pytest

from algos.data.datasets import (
    ARRAYS,
    DatasetError,
    StateOnlyDataset,
    arrays_missing,
    load_action_effects,
    load_dataset,
    load_true_actions,
    make_dataset,
    restore_dataset,
    roll_out,
)
from algos.data.experts import load_expert
from algos.envs import EnvConfig, MinAtarEnv, unpack_states
from algos.seeds import Stream, child_seed
from algos.training.acting import UniformRandomPolicy
from conftest import cli, planner_expert_dataset

# Under pytest-xdist (make test), the tests sharing this module's fixtures run on one worker.
pytestmark = pytest.mark.xdist_group("breakout_expert")

STEPS = 1500


@pytest.fixture(scope="session")
def expert_dir(tmp_path_factory):
    """A tiny trained expert (budget only: --stop-fraction 0), made by the real command."""
    out = tmp_path_factory.mktemp("experts") / "breakout"
    cli("expert", "--game", "breakout", "--seed", "0", "--steps", str(STEPS), "--out", str(out),
        "--stop-fraction", "0", "--eval-episodes", "20", "--set", "replay_start=300",
        "--set", "eval_every=500", "--set", "eval_episodes=2", check=True)
    return out


@pytest.fixture(scope="session")
def datasets(expert_dir, tmp_path_factory):
    """Datasets of 1K and 4K transitions from the same expert and seed."""
    folder = tmp_path_factory.mktemp("datasets")
    paths = {}
    for size in (1000, 4000):
        paths[size] = folder / f"n{size}.npz"
        cli("dataset", "--expert", str(expert_dir), "--size", str(size), "--seed", "3",
            "--out", str(paths[size]), check=True)
    return paths


def test_expert_json_records_expert_and_random_scores(expert_dir):
    info = json.loads((expert_dir / "expert.json").read_text())
    assert info["kind"] == "dqn" and info["steps_trained"] == STEPS
    assert info["stopped_early"] is False and info["target_return"] is None
    assert info["eval"]["episodes"] == info["random"]["episodes"] == 20
    assert info["random"]["return_mean"] > 0  # random Breakout play scores about 0.6
    assert info["env"]["action_ids"] == [0, 1, 2, 3, 4, 5]
    assert info["env"]["minatar_version"] and info["provenance"]["torch"]
    assert (expert_dir / "policy.pt").is_file() and (expert_dir / "train/summary.json").is_file()
    policy, _ = load_expert(expert_dir)
    obs = MinAtarEnv(EnvConfig("breakout"), 0).reset()
    assert 0 <= policy.greedy_action(obs) < 6


def test_expert_stops_early_at_the_target(tmp_path):
    """A target any policy reaches (1e-9 x 10) stops training at the first evaluation after 0."""
    out = tmp_path / "expert"
    cli("expert", "--game", "breakout", "--seed", "1", "--steps", "5000", "--out", str(out),
        "--stop-fraction", "1e-9", "--eval-episodes", "5", "--set", "replay_start=100",
        "--set", "eval_every=200", "--set", "eval_episodes=30", check=True)
    info = json.loads((out / "expert.json").read_text())
    assert info["stopped_early"] is True and info["steps_trained"] < 5000
    assert info["target_return"] == pytest.approx(1e-8)
    again = cli("expert", "--game", "breakout", "--seed", "1", "--steps", "5000", "--out",
                str(out), "--stop-fraction", "1e-9", "--eval-episodes", "5", "--set",
                "replay_start=100", "--set", "eval_every=200", "--set", "eval_episodes=30",
                check=True)
    assert "already finished" in again.stdout


def test_dataset_has_the_documented_arrays_and_consistent_transitions(datasets):
    data = load_dataset(datasets[4000], game="breakout")
    assert len(data) == 4000 and data.state_shape == (4, 10, 10)
    for name, dtype in ARRAYS.items():
        assert getattr(data, name).dtype == np.dtype(dtype)
    states = unpack_states(data.states, data.state_shape)
    next_states = unpack_states(data.next_states, data.state_shape)
    # Within an episode, s' of step t is s of step t+1; steps count up from 0.
    same_episode = (data.episodes[1:] == data.episodes[:-1]) & ~data.dones[:-1]
    assert same_episode.sum() > 3000
    np.testing.assert_array_equal(next_states[:-1][same_episode], states[1:][same_episode])
    np.testing.assert_array_equal(data.steps[1:][same_episode], data.steps[:-1][same_episode] + 1)
    # An episode starts at step 0 after every terminal transition.
    assert np.all(data.steps[1:][data.dones[:-1]] == 0)
    assert data.info["complete_episodes"] == int(data.dones.sum()) >= 5
    assert data.info["expert"]["return_mean"] is not None


def test_packed_states_are_what_the_environment_produced(expert_dir):
    """Replaying the recorded true actions in a fresh, identically seeded environment gives back
    the recorded states, so packing lost nothing and the actions are the executed ones."""
    policy, _ = load_expert(expert_dir)
    arrays, hidden, _ = roll_out(policy, EnvConfig("breakout"), 300, seed=5, epsilon=0.2)
    actions = hidden["actions"]
    # Sticky probability 0 still draws from the game's RandomState every step (and never
    # repeats), so the replay consumes random numbers exactly as the rollout did.
    env = MinAtarEnv(EnvConfig("breakout", sticky_action_prob=0.0),
                     child_seed(5, Stream.DATASET, 0))
    obs = env.reset()
    for t in range(300):
        np.testing.assert_array_equal(unpack_states(arrays["states"][t], (4, 10, 10)), obs)
        obs, _, done, _ = env.step(int(actions[t]))  # full action set: index == MinAtar id
        np.testing.assert_array_equal(unpack_states(arrays["next_states"][t], (4, 10, 10)), obs)
        if done:
            obs = env.reset()
    assert arrays["dones"].sum() >= 1


def test_smaller_dataset_is_a_prefix_of_the_larger(datasets):
    small, large = load_dataset(datasets[1000]), load_dataset(datasets[4000])
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(small, name), getattr(large, name)[:1000])
    np.testing.assert_array_equal(load_true_actions(datasets[1000]),
                                  load_true_actions(datasets[4000])[:1000])


def test_learning_loader_returns_no_actions_and_never_opens_them(datasets, tmp_path):
    copy = tmp_path / "n1000.npz"
    for source in (datasets[1000], datasets[1000].with_suffix(".json")):
        shutil.copy(source, tmp_path / source.name)
    data = load_dataset(copy)  # works without the actions file beside it
    fields = set(StateOnlyDataset.__dataclass_fields__)
    assert not any("action" in name for name in fields | set(vars(data)))
    with pytest.raises(DatasetError, match="true-actions file is missing"):
        load_true_actions(copy)
    with pytest.raises(DatasetError, match="action-effects file is missing"):
        load_action_effects(copy)
    actions = load_true_actions(datasets[1000])
    assert actions.shape == (1000,) and set(np.unique(actions)) <= set(range(6))


def test_random_rollouts_have_varied_true_actions():
    _, hidden, stats = roll_out(UniformRandomPolicy(6, 0), EnvConfig("asterix"), 2000, 0, 0)
    assert set(np.unique(hidden["actions"])) == set(range(6))
    assert stats["episodes"] >= 2


def test_action_effects_mark_the_indistinguishable_actions():
    """Every mask holds the executed action. In Breakout only left and right move the paddle:
    noop, up, down and fire have one effect (bits 0, 2, 4, 5) wherever the paddle is free, and
    left (or right) joins them at a wall. In Asterix all five moves differ, so fire (which does
    nothing there) shares noop's effect and nothing else does while the player is free."""
    _, hidden, _ = roll_out(UniformRandomPolicy(6, 0), EnvConfig("breakout"), 1000, 0, 0)
    actions, effects = hidden["actions"].astype(int), hidden["effects"].astype(int)
    assert ((effects >> actions) & 1).all()
    still = 0b110101
    is_still = np.isin(actions, [0, 2, 4, 5])
    assert ((effects[is_still] & still) == still).all()
    assert np.mean(effects[~is_still] & still == 0) > 0.7  # a move is a move, except at walls
    _, hidden, _ = roll_out(UniformRandomPolicy(6, 1), EnvConfig("asterix"), 1000, 0, 0)
    actions, effects = hidden["actions"].astype(int), hidden["effects"].astype(int)
    assert ((effects >> actions) & 1).all()
    assert np.mean(effects[actions == 5] & 1) > 0.9  # fire == noop in Asterix


def _rewrite(path, **changes):
    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files}
    arrays.update(changes)
    np.savez(path, **arrays)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("truncate", "unreadable or truncated"),
        ("checksum", "checksum mismatch"),
        ("dtype", "array dones has dtype int64, expected bool"),
        ("missing", "missing arrays steps"),
        ("no_json", "missing"),
        ("no_file", "no such dataset file"),
    ],
)
def test_damaged_datasets_are_one_clear_error(datasets, tmp_path, damage, message):
    path = tmp_path / "n1000.npz"
    shutil.copy(datasets[1000], path)
    shutil.copy(datasets[1000].with_suffix(".json"), path.with_suffix(".json"))
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "checksum":
        with np.load(path) as data:
            states = data["states"].copy()
        states[0, 0] ^= 1
        _rewrite(path, states=states)
    elif damage == "dtype":
        with np.load(path) as data:
            _rewrite(path, dones=data["dones"].astype(np.int64))
    elif damage == "missing":
        with np.load(path) as data:
            arrays = {name: data[name] for name in data.files if name != "steps"}
        np.savez(path, **arrays)
    elif damage == "no_json":
        path.with_suffix(".json").unlink()
    elif damage == "no_file":
        path.unlink()
    with pytest.raises(DatasetError, match=message) as info:
        load_dataset(path)
    assert path.stem in str(info.value) and "\n" not in str(info.value)  # names the file


def test_wrong_game_is_refused(datasets):
    with pytest.raises(DatasetError, match="a dataset of 'breakout', not of 'asterix'"):
        load_dataset(datasets[1000], game="asterix")


def test_check_dataset_command(datasets, tmp_path):
    ok = cli("check-dataset", str(datasets[1000]), "--game", "breakout", check=True)
    assert "ok; breakout, 1000 transitions" in ok.stdout
    wrong = cli("check-dataset", str(datasets[1000]), "--game", "freeway")
    assert wrong.returncode == 2 and "not of 'freeway'" in wrong.stderr
    broken = tmp_path / "n1000.npz"
    broken.write_bytes(datasets[1000].read_bytes()[:5000])
    shutil.copy(datasets[1000].with_suffix(".json"), broken.with_suffix(".json"))
    bad = cli("check-dataset", str(broken))
    assert bad.returncode == 2 and "unreadable or truncated" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_cli_reports_a_bad_expert_folder_in_one_line(tmp_path):
    result = cli("dataset", "--expert", str(tmp_path / "nowhere"), "--size", "10", "--seed", "0",
                 "--out", str(tmp_path / "d" / "n10.npz"))
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error:") and "no expert.json" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "d").exists()


class BallChaser:
    """A scripted Breakout expert: move the paddle under the ball (full action set)."""

    def __init__(self, env_config):
        self.env_config = env_config

    def greedy_action(self, obs):
        paddle = int(np.argmax(obs[0, 9]))
        ball = np.argwhere(obs[1])
        if len(ball) == 0 or ball[0][1] == paddle:
            return 0  # noop
        return 1 if ball[0][1] < paddle else 3  # left / right


def test_a_scripted_expert_plugs_into_expert_json_and_datasets(tmp_path, monkeypatch):
    from algos.data import experts
    from algos.data.datasets import make_dataset

    monkeypatch.setitem(experts.SCRIPTED_EXPERTS, "ball_chaser", BallChaser)
    env_config = EnvConfig("breakout")
    info = experts.write_expert_json(
        tmp_path, kind="scripted", name="ball_chaser", policy=BallChaser(env_config),
        env_config=env_config, seed=0, eval_episodes=10, eval_epsilon=0.0, max_steps=2000)
    assert info["eval"]["return_mean"] > 3 * info["random"]["return_mean"]
    policy, loaded = load_expert(tmp_path)
    assert isinstance(policy, BallChaser) and loaded["kind"] == "scripted"
    out = tmp_path / "n500.npz"
    make_dataset(policy, experts.expert_env_config(loaded), size=500, seed=0, epsilon=0.0,
                 out=out, expert_dir=tmp_path, expert_info=loaded)
    assert len(load_dataset(out, game="breakout")) == 500


def test_a_learner_for_another_state_shape_is_refused(datasets):
    data = load_dataset(datasets[1000])
    data.require_state_shape((4, 10, 10))
    with pytest.raises(DatasetError, match=r"states of shape \(4, 10, 10\).*\(6, 10, 10\)"):
        data.require_state_shape((6, 10, 10))


def test_a_committed_description_gets_its_arrays_back_or_a_refusal(tmp_path):
    """Datasets are committed as descriptions only: the arrays made again from the same expert
    and seed must have the described checksums (then they are written, byte for byte the
    first ones), else nothing is written and the error names the description."""
    env_config = EnvConfig("breakout")
    out = tmp_path / "n300.npz"
    make_dataset(UniformRandomPolicy(6, 5), env_config, size=300, seed=5, epsilon=0.0, out=out,
                 expert_dir=tmp_path, expert_info={"kind": "random"})
    first = out.read_bytes()
    out.unlink()
    assert arrays_missing(out)
    restore_dataset(UniformRandomPolicy(6, 5), env_config, out)
    assert out.read_bytes() == first and not arrays_missing(out)
    out.unlink()
    with pytest.raises(DatasetError, match=r"n300\.json: the arrays made again .* differ"):
        restore_dataset(UniformRandomPolicy(6, 6), env_config, out)  # another expert
    assert not out.exists()


def test_check_dataset_play_says_what_random_play_finds(breakout_dataset):
    """A random expert's Breakout dataset: random play from the same start meets its states
    (some exactly), and infers actions for some of its transitions."""
    result = cli("check-dataset", str(breakout_dataset), "--play", "600", check=True)
    line = result.stdout.splitlines()[-1]
    assert line.startswith("600 steps of random play: match_share ")
    found = dict(part.split(" ") for part in line.split(": ", 1)[1].split(", "))
    shares = {key: float(value) for key, value in found.items()}
    assert 0 < shares["exact_share"] <= shares["match_share"] <= 1
    assert 0 < shares["inferred_coverage"] <= 1 and 0 <= shares["inference_accuracy"] <= 1


def test_check_dataset_play_plays_a_maze_with_the_datasets_own_actions(tmp_path):
    """A maze's expert moves in four directions of eight: random play goes through the
    dataset's own environment (the maze, its action set), and its inferred actions are scored
    against the hidden ones of that set."""
    _, data = planner_expert_dataset(tmp_path / "expert", tmp_path / "n500.npz", 500,
                                     eval_episodes=2, epsilon=0.2)
    result = cli("check-dataset", str(data), "--play", "300", check=True)
    line = result.stdout.splitlines()[-1]
    shares = dict(part.split(" ") for part in line.split(": ", 1)[1].split(", "))
    assert 0 < float(shares["match_share"]) <= 1
    assert 0 < float(shares["inference_accuracy"]) <= 1
