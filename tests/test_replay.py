"""Replay: the sum-tree against brute force, PER's sampling law and weights, checkpoints."""

import numpy as np
import pytest
from scipy import stats

from algos.training.replay import PrioritizedReplay, SumTree, UniformReplay

STATE_BYTES = 7


def fill(memory, n, rng=None):
    rng = rng or np.random.default_rng(0)
    for i in range(n):
        state = rng.integers(0, 256, STATE_BYTES, dtype=np.uint8)
        memory.add(state, i % 6, float(i), state[::-1].copy(), i % 5 == 0)


@pytest.mark.parametrize("capacity", [1, 5, 64, 1000, 100_000])
def test_sum_tree_find_matches_brute_force(capacity):
    rng = np.random.default_rng(capacity)
    tree = SumTree(capacity)
    values = rng.random(capacity) * (rng.random(capacity) < 0.7)  # some zero priorities
    values[0] = 0.5
    tree.update(np.arange(capacity), values)
    assert tree.total == pytest.approx(values.sum())
    masses = rng.random(2000) * tree.total
    expected = np.searchsorted(np.cumsum(values), masses, side="right")
    found = tree.find(masses)
    # Equal, or (at a rounding tie) the next leaf with non-zero priority.
    assert (found == expected).mean() > 0.999
    assert np.all(values[found] > 0)


def test_sum_tree_updates_keep_every_level_consistent():
    rng = np.random.default_rng(1)
    tree = SumTree(3000)
    values = np.zeros(len(tree.levels[0]))
    for _ in range(200):
        idx = rng.integers(0, 3000, size=32)  # duplicates included
        new = rng.random(32)
        tree.update(idx, new)
        values[idx] = new  # last write wins, as in numpy assignment
        single = int(rng.integers(3000))
        tree.update_one(single, 0.25)
        values[single] = 0.25
    for child, parent in zip(tree.levels, tree.levels[1:], strict=False):
        np.testing.assert_allclose(parent, child.reshape(-1, tree.fanout).sum(axis=1))
    np.testing.assert_array_equal(tree.levels[0], values)
    assert tree.total == pytest.approx(values.sum())


def test_prioritized_sampling_frequencies_follow_priorities():
    """Chi-square test of 200K draws against P(i) = p_i / sum p (alpha applied to |TD|)."""
    memory = PrioritizedReplay(capacity=50, state_bytes=STATE_BYTES, seed=0, alpha=0.6)
    fill(memory, 50)
    td = np.linspace(0.0, 3.0, 50)
    memory.update_priorities(np.arange(50), td)
    expected_p = (td + memory.eps) ** 0.6
    expected_p /= expected_p.sum()
    counts = np.zeros(50)
    for _ in range(200_000 // 32):
        np.add.at(counts, memory.sample(32).indices, 1)
    chi2 = stats.chisquare(counts, expected_p * counts.sum())
    assert chi2.pvalue > 1e-3, chi2
    np.testing.assert_allclose(counts / counts.sum(), expected_p, atol=0.004)
    # A transition with |TD| = 0 keeps a tiny, non-zero chance (eps) but is practically never drawn.
    assert counts[0] < 0.001 * counts.sum()


def test_importance_weights_on_a_hand_made_case():
    memory = PrioritizedReplay(capacity=4, state_bytes=STATE_BYTES, seed=0, alpha=1.0, eps=0.0)
    fill(memory, 4)
    memory.update_priorities(np.arange(4), np.array([1.0, 2.0, 3.0, 4.0]))
    batch = memory.sample(64, beta=0.5)
    # P = [.1, .2, .3, .4]; w_i = (N P_i)^-0.5 / max_batch, and index 0 (largest weight) is drawn.
    probs = np.array([0.1, 0.2, 0.3, 0.4])[batch.indices]
    raw = (4 * probs) ** -0.5
    np.testing.assert_allclose(batch.weights, raw / raw.max(), rtol=1e-6)
    assert 0 in batch.indices
    # Index 0 has the largest weight, 1; index 3 has (0.1 / 0.4) ** 0.5 = 0.5 of it.
    np.testing.assert_allclose(batch.weights[batch.indices == 0], 1.0)
    np.testing.assert_allclose(batch.weights[batch.indices == 3], 0.5)


def test_new_transitions_enter_at_the_largest_priority_seen():
    memory = PrioritizedReplay(capacity=10, state_bytes=STATE_BYTES, seed=0, alpha=0.5, eps=0.0)
    fill(memory, 3)
    assert memory.tree.leaves(np.arange(3)).tolist() == [1.0, 1.0, 1.0]
    memory.update_priorities(np.array([0, 1]), np.array([16.0, 0.25]))
    np.testing.assert_allclose(memory.tree.leaves(np.array([0, 1])), [4.0, 0.5])
    fill(memory, 1)
    assert memory.tree.leaves(np.array([3]))[0] == 4.0


def test_ring_buffer_overwrites_the_oldest():
    memory = UniformReplay(capacity=4, state_bytes=STATE_BYTES, seed=0)
    fill(memory, 6)
    assert len(memory) == 4 and memory.cursor == 2
    assert sorted(memory.rewards.tolist()) == [2.0, 3.0, 4.0, 5.0]
    batch = memory.sample(100)
    assert set(batch.indices.tolist()) <= {0, 1, 2, 3}
    np.testing.assert_array_equal(batch.weights, 1.0)


@pytest.mark.parametrize("cls", [UniformReplay, PrioritizedReplay])
def test_state_dict_round_trip_gives_the_same_future(cls):
    a = cls(capacity=100, state_bytes=STATE_BYTES, seed=3)
    fill(a, 70)
    a.update_priorities(np.arange(10), np.arange(10.0))
    b = cls(capacity=100, state_bytes=STATE_BYTES, seed=99)
    b.load_state_dict(a.state_dict())
    for _ in range(5):
        x, y = a.sample(16, beta=0.7), b.sample(16, beta=0.7)
        for field in ("indices", "states", "actions", "rewards", "next_states", "dones", "weights"):
            np.testing.assert_array_equal(getattr(x, field), getattr(y, field))
        a.update_priorities(x.indices, np.ones(16))
        b.update_priorities(y.indices, np.ones(16))
