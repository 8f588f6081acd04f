"""The MinAtar wrapper: equivalence with minatar.Environment, action sets, bit-packing."""

import numpy as np
import pytest

from algos.envs import (
    GAMES,
    EnvConfig,
    EnvError,
    MinAtarEnv,
    pack_states,
    packed_size,
    resolve_action_set,
    state_shape,
    unpack_states,
)


def rollout(env: MinAtarEnv, steps: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    states = [env.reset()]
    for _ in range(steps):
        obs, _, done, _ = env.step(int(rng.integers(env.n_actions)))
        states.append(obs)
        if done:
            states.append(env.reset())
    return states


@pytest.mark.parametrize("game", GAMES)
def test_wrapper_matches_minatar_environment_step_for_step(game):
    """Same seed and actions -> the same states, rewards and terminals as minatar.Environment,
    sticky actions and difficulty ramping included (over several episodes)."""
    from minatar import Environment

    ours = MinAtarEnv(EnvConfig(game), seed=123)
    reference = Environment(game, sticky_action_prob=0.1, difficulty_ramping=True)
    reference.seed(123)
    reference.reset()
    obs = ours.reset()
    rng = np.random.default_rng(0)
    episodes = 0
    for _ in range(6000):  # Freeway's episodes last 2500 steps
        np.testing.assert_array_equal(obs, reference.state().transpose(2, 0, 1))
        action = int(rng.integers(6))
        obs, reward, done, _ = ours.step(action)
        ref_reward, ref_done = reference.act(action)
        assert (reward, done) == (float(ref_reward), bool(ref_done))
        if done:
            episodes += 1
            obs = ours.reset()
            reference.reset()
    assert episodes >= 2  # the comparison crossed episode boundaries


@pytest.mark.parametrize("game", GAMES)
def test_pack_unpack_round_trip_on_real_states(game):
    env = MinAtarEnv(EnvConfig(game), seed=0)
    states = np.stack(rollout(env, 500, seed=1))
    assert states.dtype == bool and states.shape[1:] == state_shape(game)
    packed = pack_states(states)
    assert packed.dtype == np.uint8 and packed.shape == (len(states), packed_size(states.shape[1:]))
    np.testing.assert_array_equal(unpack_states(packed, state_shape(game)), states)
    assert states.any()  # real, non-empty states were compared


def test_action_sets():
    assert resolve_action_set("breakout", "full") == (0, 1, 2, 3, 4, 5)
    assert resolve_action_set("breakout", "minimal") == (0, 1, 3)
    assert resolve_action_set("seaquest", "noop,fire,3") == (0, 5, 3)
    env = MinAtarEnv(EnvConfig("breakout", action_set="minimal"), seed=0)
    assert env.n_actions == 3
    info = env.describe()
    assert info["action_names"] == ["noop", "left", "right"]
    assert info["sticky_action_prob"] == 0.1 and info["difficulty_ramping"] is True
    assert info["minatar_version"]


def test_reduced_action_set_maps_indices_to_minatar_ids():
    """Index 1 of the set (noop,right) must move the paddle right, like MinAtar's action 3."""
    ours = MinAtarEnv(EnvConfig("breakout", action_set="noop,right", sticky_action_prob=0.0), 5)
    ours.reset()
    start = int(np.argmax(ours.observe()[0, 9]))  # paddle column, bottom row
    ours.step(1)
    assert int(np.argmax(ours.observe()[0, 9])) == min(9, start + 1)


@pytest.mark.parametrize(
    ("game", "spec", "message"),
    [
        ("pong", "full", "unknown game 'pong'"),
        ("breakout", "jump", "'jump' is not an action"),
        ("breakout", "left,left", "distinct"),
    ],
)
def test_bad_env_settings_are_one_clear_error(game, spec, message):
    with pytest.raises(EnvError, match=message):
        MinAtarEnv(EnvConfig(game, action_set=spec), seed=0)


def test_sticky_probability_out_of_range():
    with pytest.raises(EnvError, match="sticky_action_prob"):
        MinAtarEnv(EnvConfig("breakout", sticky_action_prob=1.5), seed=0)


def test_seed_fixes_the_trajectory():
    a = rollout(MinAtarEnv(EnvConfig("asterix"), seed=7), 300, seed=3)
    b = rollout(MinAtarEnv(EnvConfig("asterix"), seed=7), 300, seed=3)
    c = rollout(MinAtarEnv(EnvConfig("asterix"), seed=8), 300, seed=3)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=False))


@pytest.mark.parametrize("game", GAMES)
def test_state_dict_restores_the_game_mid_episode(game):
    env = MinAtarEnv(EnvConfig(game), seed=11)
    env.reset()
    for action in range(30):
        env.step(action % 6)
    saved = env.state_dict()
    first = rollout_from_here(env, 200)
    env.load_state_dict(saved)
    again = rollout_from_here(env, 200)
    fresh = MinAtarEnv(EnvConfig(game), seed=999)  # a different game state and RandomState
    fresh.load_state_dict(saved)
    assert first == again == rollout_from_here(fresh, 200)


def rollout_from_here(env: MinAtarEnv, steps: int) -> list:
    out = []
    for t in range(steps):
        obs, reward, done, _ = env.step(t * 7 % env.n_actions)
        out.append((pack_states(obs).tobytes(), reward, done))
        if done:
            env.reset()
    return out
