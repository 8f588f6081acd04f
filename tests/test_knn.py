"""The binary nearest-neighbour index: groups, exact answers against brute force, similarities."""

import numpy as np
import pytest

from algos.agents.diiqn.knn import NO_MATCH, ExpertStateIndex, Match, similarity
from algos.envs import EnvConfig, MinAtarEnv, pack_states
from algos.training.acting import UniformRandomPolicy


def random_play_states(game: str, n: int, seed: int) -> np.ndarray:
    """Packed states of ``n`` steps of uniformly random play (episodes restart)."""
    env = MinAtarEnv(EnvConfig(game), seed)
    policy = UniformRandomPolicy(env.n_actions, seed)
    obs = env.reset()
    out = []
    for _ in range(n):
        out.append(pack_states(obs))
        obs, _, done, _ = env.step(policy.greedy_action(obs))
        if done:
            obs = env.reset()
    return np.array(out)


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


def exhaustive(metric: str, query: np.ndarray, rows: np.ndarray, n_bits: int,
               tau: float) -> tuple[int, float]:
    """What a scan of every distinct state answers: the most similar (ties: the lowest id) if
    its similarity is at least τ, else (-1, 0); ``exact``: the identical state or nothing."""
    scores = similarity(metric, query, rows, n_bits)
    if metric == "exact":
        tau = 1.0
    best = int(np.argmax(scores))
    return (best, float(scores[best])) if scores[best] >= tau else (-1, 0.0)


@pytest.mark.parametrize("game", ["space_invaders", "asterix", "seaquest"])
@pytest.mark.parametrize("metric", ["hamming", "jaccard", "exact"])
def test_nearest_is_exactly_what_an_exhaustive_scan_answers(game, metric):
    """For every τ, from 0 (the prefix filter prunes nothing: a scan) to 1, the index returns the
    exhaustive scan's answer: the same group, the same similarity, the same "no match"."""
    n_bits = int(np.prod(MinAtarEnv(EnvConfig(game), 0).state_shape))
    expert = random_play_states(game, 3000, seed=1)
    queries = random_play_states(game, 200, seed=2)
    for tau in (0.0, 0.5, 0.9, 0.97, 1.0):
        index = ExpertStateIndex(expert, n_bits, metric=metric, tau=tau)
        for q in queries:
            match = index.nearest(q)
            assert (match.group, match.similarity) == exhaustive(
                metric, q, index.group_states, n_bits, tau), (tau, q)
        # A repeated query is answered from the exact table or the cache, with the same answer.
        again = [index.nearest(q) for q in queries[:50]]
        assert again == [index.nearest(q) for q in queries[:50]]
        assert index.stats()["index_queries"] == 300


def test_ties_go_to_the_lowest_group_id_and_low_thresholds_scan():
    """Hand-made states: the query is equally similar (3/4) to groups 1 and 2, and the index
    must answer group 1 whatever the bits' rarity; at τ = 0 the prefix filter cannot prune, so
    the search verifies every state and says so."""
    def state(*bits):
        row = np.zeros(16, bool)
        row[list(bits)] = True
        return np.packbits(row)

    expert = np.stack([state(8, 9, 10), state(0, 1, 2), state(1, 2, 3), state(1, 2, 3)])
    query = state(1, 2)  # J = 2/3 with groups 1 and 2
    for tau in (0.0, 0.5, 2 / 3):
        index = ExpertStateIndex(expert, 16, tau=tau)
        assert len(index) == 3
        assert index.nearest(query) == Match(1, 2 / 3)
    assert ExpertStateIndex(expert, 16, tau=0.7).nearest(query) == NO_MATCH
    index = ExpertStateIndex(expert, 16, tau=0.0)
    index.nearest(query)
    assert index.stats()["index_scan_share"] == 1.0


def test_the_prefix_filter_verifies_few_states_at_the_default_threshold():
    """Space Invaders, τ = 0.97: a novel state is checked against a few dozen candidates of the
    thousands of distinct expert states, never by a scan."""
    expert = random_play_states("space_invaders", 6000, seed=1)
    index = ExpertStateIndex(expert, 600, tau=0.97)
    for q in random_play_states("space_invaders", 500, seed=2):
        index.nearest(q)
    stats = index.stats()
    assert stats["index_scan_share"] == 0.0
    assert stats["index_candidates_mean"] < 0.02 * len(index)


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
