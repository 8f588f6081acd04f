"""GAIfO and ORIL: rewards from the classifier, the PU loss, and a classifier that separates."""

import math

import numpy as np
import pytest
import torch

from algos.agents.gaifo import GAIfOAgent
from algos.agents.oril import ORILAgent, pu_risk
from algos.algorithms import GAIfOConfig, ORILConfig
from algos.data.datasets import load_dataset
from algos.envs import EnvConfig, make_env, pack_states


def test_pu_risk_on_hand_computed_logits():
    def logistic(x, label):  # -log sigmoid(x) for label 1, -log(1 - sigmoid(x)) for label 0
        return math.log1p(math.exp(-x)) if label else math.log1p(math.exp(x))

    pos, unl = torch.tensor([2.0, 0.0]), torch.tensor([1.0, -1.0])
    prior = 0.3
    p1 = (logistic(2, 1) + logistic(0, 1)) / 2
    p0 = (logistic(2, 0) + logistic(0, 0)) / 2
    u0 = (logistic(1, 0) + logistic(-1, 0)) / 2
    assert pu_risk(pos, unl, prior).item() == pytest.approx(prior * p1 + max(0.0, u0 - prior * p0))
    # The negative-risk term is clamped at zero (unlabelled data that look negative, positives
    # that look positive): only the positive term is left.
    assert pu_risk(torch.tensor([3.0]), torch.tensor([-5.0]), 0.5).item() == pytest.approx(
        0.5 * logistic(3, 1))


def _agents(dataset_path, seed=0):
    data = load_dataset(dataset_path)
    env = make_env(EnvConfig("breakout"), 1)
    kwargs = {"replay_capacity": 2000, "batch_size": 32}
    return (GAIfOAgent(GAIfOConfig(**kwargs), env.state_shape, env.n_actions, seed, 10_000,
                       dataset=data),
            ORILAgent(ORILConfig(**kwargs), env.state_shape, env.n_actions, seed, 10_000,
                      dataset=data), env)


def test_rewards_are_the_documented_functions_of_the_logit(breakout_dataset):
    """By default both rewards are the logit log D - log(1 - D), clipped: no fixed sign, so a
    step survived is not paid for its own sake (DAC's survival bias); the positive rewards of
    the original methods are settings."""
    gaifo, oril, _ = _agents(breakout_dataset)
    logits = np.array([-3.0, 0.0, 2.0, 30.0], dtype=np.float32)
    for agent in (gaifo, oril):
        rewards = agent.reward_from_logits(logits)
        assert rewards.dtype == np.float32 and rewards.tolist() == [-3.0, 0.0, 2.0, 10.0]
    gaifo.config.reward = "gail"  # -log(1 - D)
    assert gaifo.reward_from_logits(logits).tolist() == pytest.approx(
        [-math.log(1 - 1 / (1 + math.exp(-x))) if x < 20 else x for x in logits.tolist()],
        rel=1e-5)
    oril.config.reward = "probability"  # D
    assert oril.reward_from_logits(logits).tolist() == pytest.approx(
        [1 / (1 + math.exp(-x)) for x in logits.tolist()])


@pytest.mark.parametrize("which", ["gaifo", "oril"])
def test_the_classifier_tells_the_expert_from_a_different_policy(tmp_path, which):
    """Expert: a policy that always moves right (its paddle lives at the right wall); agent: one
    that always moves left. After 300 classifier steps the expert's transitions must score as
    the expert's >= 90 % of the time and above the agent's. GAIfO's cross-entropy must
    also call the agent's transitions the agent's; ORIL's PU loss need not (it treats them as
    unlabelled, a share η of them possibly expert-like)."""
    from algos.data.datasets import make_dataset

    class Always:
        def __init__(self, action):
            self.action = action

        def greedy_action(self, obs):
            return self.action

    path = tmp_path / "right.npz"
    make_dataset(Always(3), EnvConfig("breakout"), size=2000, seed=0, epsilon=0.0, out=path,
                 expert_dir=tmp_path, expert_info={}, record_effects=False)
    gaifo, oril, env = _agents(path)
    agent = gaifo if which == "gaifo" else oril
    obs = env.reset()
    for step in range(2000):
        next_obs, reward, done, _ = env.step(1)  # always left
        agent.observe(pack_states(obs), 1, reward, pack_states(next_obs), done, step)
        obs = env.reset() if done else next_obs
    for _ in range(300):
        agent.train_classifier()
    agent.classifier_tally.restart()
    for _ in range(20):
        agent.train_classifier()
    stats = agent.take_diagnostics()
    print(which, {k: round(v, 3) for k, v in stats.items() if k.startswith("classifier")})
    assert stats["classifier_expert_accuracy"] >= 0.9
    assert stats["classifier_expert_score"] > stats["classifier_agent_score"]
    if which == "gaifo":
        assert stats["classifier_agent_accuracy"] >= 0.9
    assert np.isfinite(stats["classifier_loss"])
