"""The benchmarks run (their numbers are measured by ``make bench``, never asserted here): a
few steps of each training measurement through the real loop, so that a change elsewhere
cannot break them unseen."""

import sys

import pytest

from algos.agents.diiqn.agent import DIIQNAgent
from algos.algorithms import DIIQNConfig
from algos.data.datasets import load_dataset
from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

import diiqn_speed
from dqn_speed import ours


def test_the_training_speed_measurements_run_for_dqn_and_each_diiqn_candidate(breakout_dataset):
    assert ours("breakout", 300, 100, seed=0) > 0
    dataset = load_dataset(breakout_dataset)
    assert diiqn_speed.CANDIDATES, "no DIIQN candidate read from beyond_expert_tuning"
    for settings in ({}, *diiqn_speed.CANDIDATES.values()):
        assert ours("breakout", 300, 100, seed=0, agent_cls=DIIQNAgent, config_cls=DIIQNConfig,
                    agent_inputs={"dataset": dataset}, **settings) > 0


@pytest.mark.parametrize("game", ["breakout"])
def test_the_query_measurements_run(game, breakout_dataset):
    rates = diiqn_speed.query_rates(game, load_dataset(breakout_dataset), 200)
    assert rates["search_queries_per_second"] > 0 and rates["observe_per_second"] > 0
