"""The shared Q-learning update: targets, network, optimizer, state decoding, divergence."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from algos.envs import pack_states
from algos.training.learner import (
    CenteredRMSprop,
    DivergenceError,
    QLearner,
    StateDecoder,
    q_targets,
)
from algos.training.nets import QNetwork


def test_double_dqn_target_on_a_hand_made_batch():
    q_next_online = torch.tensor([[1.0, 5.0, 2.0], [3.0, 0.0, 1.0], [0.0, 0.0, 9.0]])
    q_next_target = torch.tensor([[7.0, 4.0, 8.0], [2.0, 6.0, 5.0], [1.0, 1.0, 3.0]])
    rewards = torch.tensor([1.0, 0.0, 2.0])
    dones = torch.tensor([0.0, 0.0, 1.0])
    # Online argmax: actions 1, 0, 2 -> target values 4, 2, (terminal) -> 1 + .9*4, 0 + .9*2, 2.
    expected = torch.tensor([1 + 0.9 * 4.0, 0.9 * 2.0, 2.0])
    torch.testing.assert_close(q_targets(q_next_online, q_next_target, rewards, dones, 0.9),
                               expected)
    # Plain DQN: the target network's own max: 8, 6 -> 1 + .9*8, .9*6, 2.
    torch.testing.assert_close(q_targets(None, q_next_target, rewards, dones, 0.9),
                               torch.tensor([1 + 0.9 * 8.0, 0.9 * 6.0, 2.0]))


class Conv2dQNetwork(torch.nn.Module):
    """MinAtar's network written with nn.Conv2d, as in its examples/dqn.py."""

    def __init__(self, channels: int, n_actions: int):
        super().__init__()
        self.conv = torch.nn.Conv2d(channels, 16, 3)
        self.fc = torch.nn.Linear(1024, 128)
        self.out = torch.nn.Linear(128, n_actions)

    def forward(self, x):
        x = F.relu(self.conv(x))
        return self.out(F.relu(self.fc(x.flatten(1))))


@pytest.mark.parametrize("channels", [4, 10])
def test_q_network_computes_minatar_network(channels):
    torch.manual_seed(0)
    ours = QNetwork(channels, 5)
    reference = Conv2dQNetwork(channels, 5)
    reference.load_state_dict(ours.to_conv2d_layout())
    x = (torch.rand(17, channels, 10, 10) < 0.2).float()
    torch.testing.assert_close(ours(x), reference(x), atol=1e-5, rtol=1e-5)
    # Gradients agree as well (the im2col convolution's backward pass).
    ours(x).square().sum().backward()
    reference(x).square().sum().backward()
    torch.testing.assert_close(ours.conv.weight.grad, reference.conv.weight.grad, atol=1e-4,
                               rtol=1e-4)


def test_centered_rmsprop_matches_torch():
    torch.manual_seed(1)
    ours_net, torch_net = QNetwork(4, 6), QNetwork(4, 6)
    torch_net.load_state_dict(ours_net.state_dict())
    ours = CenteredRMSprop(ours_net.parameters(), lr=2.5e-4, alpha=0.95, eps=0.01)
    reference = torch.optim.RMSprop(torch_net.parameters(), lr=2.5e-4, alpha=0.95, eps=0.01,
                                    centered=True)
    initial = [p.detach().clone() for p in ours_net.parameters()]
    for _ in range(100):
        x = (torch.rand(32, 4, 10, 10) < 0.1).float()
        ours.zero_grad()
        ours_net(x).pow(2).mean().backward()
        ours.step()
        reference.zero_grad()
        torch_net(x).pow(2).mean().backward()
        reference.step()
    assert not torch.equal(initial[2], ours_net.fc.weight)  # the optimizer did move the weights
    for a, b in zip(ours_net.parameters(), torch_net.parameters(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)


def test_centered_rmsprop_survives_a_rounded_negative_variance():
    """v - g_avg^2 one rounding below zero (v = g_avg^2 exactly in real numbers) must not make
    the parameter NaN."""
    weight = torch.nn.Parameter(torch.ones(3))
    optimizer = CenteredRMSprop([weight], lr=0.1, alpha=0.5, eps=0.01)
    g = torch.tensor([0.1, 0.3, 0.7])
    optimizer.grad_avg.copy_(g)
    optimizer.square_avg.copy_(g * g * (1 - 2 ** -22))  # a last-bit shortfall
    optimizer.flat_grads.copy_(g)
    optimizer.step()
    assert torch.isfinite(weight).all()
    assert (weight < 1).all()  # a step against the gradient, bounded by lr / eps


def test_state_decoder_round_trip():
    rng = np.random.default_rng(0)
    states = rng.random((8, 4, 10, 10)) < 0.3
    decode = StateDecoder((4, 10, 10), max_rows=16)
    packed = pack_states(states)
    out = decode(packed[:5], packed[5:])
    np.testing.assert_array_equal(out.numpy(), states.astype(np.float32))
    np.testing.assert_array_equal(decode.observation(states[2]).numpy()[0], states[2])


def make_learner(**kw) -> QLearner:
    torch.manual_seed(0)
    return QLearner(QNetwork(4, 3), gamma=0.99, lr=1e-3, rms_alpha=0.95, rms_eps=0.01,
                    target_update_every=kw.pop("target_update_every", 1000), double=True, **kw)


def batch(n=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    s = (torch.rand(n, 4, 10, 10, generator=g) < 0.2).float()
    s2 = (torch.rand(n, 4, 10, 10, generator=g) < 0.2).float()
    a = torch.randint(0, 3, (n,), generator=g)
    return s, a, torch.ones(n), s2, torch.zeros(n)


def test_td_loss_regresses_towards_the_target():
    """Repeated updates on one batch shrink the TD error (the update moves Q the right way)."""
    learner = make_learner()
    s, a, r, s2, d = batch()
    first = learner.td_loss(s, a, r, s2, d)[1].abs().mean().item()
    for _ in range(200):
        loss = learner.td_loss(s, a, r, s2, d).loss
        learner.apply(loss.mean())
    last = learner.td_loss(s, a, r, s2, d)[1].abs().mean().item()
    assert last < 0.3 * first


def test_target_network_syncs_every_n_updates():
    learner = make_learner(target_update_every=3)
    s, a, r, s2, d = batch()
    for update in range(1, 7):
        learner.apply(learner.td_loss(s, a, r, s2, d)[0].mean())
        same = all(torch.equal(p, q) for p, q in zip(learner.online.parameters(),
                                                     learner.target.parameters(), strict=True))
        assert same == (update % 3 == 0)


def test_nan_loss_raises_divergence():
    learner = make_learner()
    with pytest.raises(DivergenceError, match="nan"):
        learner.apply(torch.tensor(math.nan, requires_grad=True))


def test_target_network_computes_with_its_own_weights():
    """The target is a deep copy: its forward pass must use its weights, not the online ones."""
    learner = make_learner(target_update_every=10**6)
    s, a, r, s2, d = batch()
    for _ in range(5):
        learner.apply(learner.td_loss(s, a, r, s2, d)[0].mean())
    with torch.no_grad():
        assert not torch.allclose(learner.online(s), learner.target(s))
        learner.sync_target()
        torch.testing.assert_close(learner.online(s), learner.target(s))
