"""The binary nearest-neighbour index: groups, exact answers against brute force, similarities."""

import numpy as np
import pytest

from algos.envs import EnvConfig, MinAtarEnv, pack_states
from algos.experts import UniformRandomPolicy
from algos.knn import ExpertStateIndex, similarity


def random_play_states(game: str, n: int, seed: int) -> np.ndarray:
    """Packed states of ``n`` steps of uniformly random play (episodes restart)."""
    env = MinAtarEnv(EnvConfig(game), seed)
    policy = UniformRandomPolicy(env.n_actions, seed)
    obs = env.reset()
    out = []
    for _ in range(n):
        out.append(pack_states(obs))
        obs, _, done = env.step(policy.greedy_action(obs))
        if done:
            obs = env.reset()
    return np.array(out)


def brute_force_best(metric: str, query: np.ndarray, rows: np.ndarray, n_bits: int) -> float:
    return float(similarity(metric, query, rows, n_bits).max())


def test_similarities_on_hand_made_states():
    a = np.packbits(np.array([1, 1, 1, 1, 0, 0, 0, 0], bool))
    b = np.packbits(np.array([1, 1, 1, 0, 1, 0, 0, 0], bool))  # 3 shared, union 5
    empty = np.zeros(1, np.uint8)
    rows = np.stack([a, b, empty])
    assert similarity("jaccard", a, rows, 8).tolist() == [1.0, 3 / 5, 0.0]
    assert similarity("hamming", a, rows, 8).tolist() == [1.0, 1 - 2 / 8, 1 - 4 / 8]
    assert similarity("exact", a, rows, 8).tolist() == [1.0, 0.0, 0.0]
    assert similarity("jaccard", empty, empty[None], 8).tolist() == [1.0]


def test_groups_hold_exactly_the_transitions_that_start_at_their_state():
    states = random_play_states("breakout", 3000, seed=0)
    index = ExpertStateIndex(states, 400)
    assert len(index) == len(np.unique(states, axis=0)) < len(states)  # Breakout repeats states
    seen = np.zeros(len(states), bool)
    for g in range(len(index)):
        members = index.group_members(g)
        assert (states[members] == index.group_states[g]).all()
        seen[members] = True
    assert seen.all()
    assert index.group_of[0] == 0  # groups numbered in order of first appearance


@pytest.mark.parametrize("game", ["space_invaders", "asterix"])
@pytest.mark.parametrize("metric", ["hamming", "jaccard", "exact"])
def test_nearest_matches_brute_force(game, metric):
    """Hamming-normalised and exact answers equal brute force. Jaccard's (Hamming candidates
    re-ranked) may miss the best of several poor neighbours in very sparse games (Asterix: a
    third of the queries, all far below any threshold), but above every threshold in use it must
    make the brute force's accept decision and find its similarity."""
    n_bits = int(np.prod(MinAtarEnv(EnvConfig(game), 0).state_shape))
    expert = random_play_states(game, 4000, seed=1)
    queries = random_play_states(game, 300, seed=2)
    index = ExpertStateIndex(expert, n_bits, metric=metric)
    for q in queries:
        match = index.nearest(q)
        best = brute_force_best(metric, q, index.group_states, n_bits)
        if match.group >= 0:
            assert match.similarity == pytest.approx(brute_force_best(
                metric, q, index.group_states[match.group][None], n_bits))
        assert match.similarity <= best + 1e-12
        if metric != "jaccard" or best >= 0.8:
            assert match.similarity == pytest.approx(best)
    # A repeated query is answered from the exact table or the cache, with the same answer.
    again = [index.nearest(q) for q in queries[:50]]
    assert again == [index.nearest(q) for q in queries[:50]]
    assert index.stats()["index_queries"] == 400


def test_jaccard_rejects_unrelated_states_that_hamming_over_all_bits_accepts():
    """Sparse states: two states from different moments of Space Invaders share few set bits,
    yet differ in few of the 600 bits, so 'similarity over all bits' calls them >= 90 % alike.
    At the default τ = 0.97, Jaccard must reject nearly all such pairs."""
    states = random_play_states("space_invaders", 2000, seed=3)
    rng = np.random.default_rng(0)
    first, second = rng.integers(0, 2000, 300), rng.integers(0, 2000, 300)
    pairs = [(i, j) for i, j in zip(first, second, strict=True) if abs(int(i) - int(j)) > 50]
    jac = np.array([similarity("jaccard", states[i], states[j][None], 600)[0] for i, j in pairs])
    ham = np.array([similarity("hamming", states[i], states[j][None], 600)[0] for i, j in pairs])
    assert np.mean(jac >= 0.97) <= 0.02
    assert np.median(ham) >= 0.9
