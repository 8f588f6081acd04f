"""Experts: the suboptimal teachers whose state-only rollouts become the imitation datasets.

An expert is any ``Policy`` (``greedy_action(obs) -> action index``) for an environment, saved in
a folder with an ``expert.json`` that states what it is and how well it plays. Two kinds plug in:

* ``dqn``: a Double DQN + PER agent trained by ``python -m algos expert`` with the shared loop
  (``train/`` is its ordinary, resumable run folder), kept at a chosen strength: a training
  budget, and by default an early stop at the first evaluation that reaches a fraction of
  MinAtar's 5M-frame DQN score, so that the expert sits clearly between random and a full DQN.
  Its network goes to ``policy.pt``.
* ``scripted``: a hand-written policy (the maze planners of the heterogeneous-action experiments)
  registered in ``SCRIPTED_EXPERTS``; it has no ``policy.pt``.

``expert.json`` (written last; its presence means the expert is done) holds the expert's mean and
standard deviation of return over ``eval_episodes`` episodes and the same for the uniformly random
policy on the same action set (the two ends of the normalised score), the environment settings,
the steps trained, and versions.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from algos.algorithms import LoopConfig
from algos.envs import EnvConfig, ShortestPathExpert, make_env, validate_env_config
from algos.provenance.existing import differences, nothing_to_do, refuse_if_different
from algos.provenance.readers import ExpertError, read_expert_info
from algos.provenance.runs import (
    atomic_write,
    atomic_write_json,
    file_sha256,
    now,
    provenance,
    sealed,
)
from algos.seeds import Stream, child_seed
from algos.training.acting import Policy, UniformRandomPolicy, evaluate
from algos.training.learner import StateDecoder
from algos.training.nets import QNetwork

REFERENCE_DQN_SCORES: dict[str, float] = {
    "asterix": 17.0,
    "breakout": 10.0,
    "freeway": 50.0,
    "space_invaders": 43.0,
}
"""MinAtar's DQN after 5M frames (its README's learning curves, 30 seeds). Seaquest has none: its
published curve predates the oxygen fix of minatar 1.0.11."""

SCRIPTED_EXPERTS: dict[str, Callable[[EnvConfig], Policy]] = {"planner": ShortestPathExpert}
"""Scripted expert name -> factory taking the environment config. ``planner``: the mazes'
shortest-path expert (``envs.ShortestPathExpert``), with the expert's own action set."""


class DQNExpert:
    """A trained Q-network acting greedily."""

    def __init__(self, network: QNetwork, state_shape: tuple[int, int, int]):
        self.network = network.eval()
        self.n_actions = network.out.out_features
        self.decode = StateDecoder(state_shape, max_rows=1)

    @torch.inference_mode()
    def greedy_action(self, obs: np.ndarray) -> int:
        return int(self.network(self.decode.observation(obs)).argmax(dim=1)[0])

    def save(self, path: Path, state_shape: tuple[int, int, int], n_actions: int) -> None:
        payload = {"format": 1, "network": "QNetwork", "state_shape": list(state_shape),
                   "n_actions": n_actions, "state_dict": self.network.state_dict()}
        atomic_write(path, lambda f: torch.save(payload, f))

    @classmethod
    def load(cls, path: Path) -> DQNExpert:
        try:
            payload = torch.load(path, weights_only=True)  # tensors and plain values only
            shape = tuple(payload["state_shape"])
            network = QNetwork(shape[0], payload["n_actions"], grid=shape[1])
            network.load_state_dict(payload["state_dict"])
        except FileNotFoundError:
            raise ExpertError(f"{path}: the expert's policy file is missing") from None
        except Exception as err:  # any unreadable file gets the same message
            raise ExpertError(f"{path}: cannot read the expert's policy ({err})") from None
        return cls(network, shape)


def score_policy(policy: Policy, env_config: EnvConfig, *, episodes: int, epsilon: float,
                 max_steps: int, seed: int) -> dict:
    """Mean and standard deviation of the return of ``policy`` and of a random policy."""
    n_actions = make_env(env_config, seed=0).n_actions
    common = {"episodes": episodes, "max_steps": max_steps, "seed": seed}
    expert = evaluate(policy, env_config, epsilon=epsilon, stream=(Stream.EXPERT_EVAL,), **common)
    random = evaluate(UniformRandomPolicy(n_actions, child_seed(seed, Stream.RANDOM_EVAL)),
                      env_config, epsilon=0.0, stream=(Stream.RANDOM_EVAL,), **common)
    return {
        "eval": {"episodes": episodes, "epsilon": epsilon, "return_mean": float(expert.mean()),
                 "return_std": float(expert.std())},
        "random": {"episodes": episodes, "return_mean": float(random.mean()),
                   "return_std": float(random.std())},
    }


def write_expert_json(directory: Path, *, kind: str, policy: Policy, env_config: EnvConfig,
                      seed: int, eval_episodes: int, eval_epsilon: float, max_steps: int,
                      **details) -> dict:
    """Score ``policy`` and write ``expert.json`` (last, atomically), with the checksum of
    its ``policy_file`` if it has one. Returns its contents."""
    env = make_env(env_config, seed=0)
    if details.get("policy_file"):
        details["policy_sha256"] = file_sha256(Path(directory) / details["policy_file"])
    info = {
        "kind": kind,
        "game": env_config.game,
        "env": env.describe(),
        "seed": seed,
        **score_policy(policy, env_config, episodes=eval_episodes, epsilon=eval_epsilon,
                       max_steps=max_steps, seed=seed),
        **details,
        "created": now(),
        "provenance": provenance(),
    }
    info = sealed(info)
    atomic_write_json(Path(directory) / "expert.json", info)
    return info


def load_expert(directory: Path) -> tuple[Policy, dict]:
    """The expert in ``directory`` and its ``expert.json``; ``ExpertError`` if it is not there."""
    directory = Path(directory)
    info_path = directory / "expert.json"
    info = read_expert_info(directory)
    if info.get("kind") == "dqn":
        policy = directory / str(info.get("policy_file", "policy.pt"))
        # An expert.json of before the checksum (the committed experts) has none to check.
        if "policy_sha256" in info and policy.is_file() and \
                file_sha256(policy) != info["policy_sha256"]:
            raise ExpertError(f"{policy}: not the policy its expert.json describes (its checksum "
                              "differs): changed or swapped after it was written")
        expert = DQNExpert.load(policy)
        shape = tuple(info["env"].get("state_shape", ()))
        actions = len(info["env"].get("action_ids", ()))
        network = (expert.decode.state_shape, expert.n_actions)
        if network != (shape, actions):
            raise ExpertError(f"{directory}: policy.pt is a network for states {network[0]} "
                              f"and {network[1]} actions, but expert.json describes "
                              f"{info['env'].get('game')} with {shape} and {actions}")
        return expert, info
    if info.get("kind") == "scripted" and info.get("name") in SCRIPTED_EXPERTS:
        return SCRIPTED_EXPERTS[info["name"]](EnvConfig(**_env_fields(info["env"]))), info
    raise ExpertError(f"{info_path}: unknown expert kind {info.get('kind')!r}")


def scripted_expert(name: str, env_config: EnvConfig, seed: int, eval_episodes: int,
                    out: Path) -> dict | None:
    """Write the scripted expert ``name`` (of ``SCRIPTED_EXPERTS``) for ``env_config`` into
    ``out``: its ``expert.json``, scored over ``eval_episodes`` episodes. Returns that, or None
    where ``out`` holds the same expert already (another one there is refused)."""
    validate_env_config(env_config)
    out = Path(out)
    if (out / "expert.json").exists():
        _, info = load_expert(out)
        asked = {"kind": "scripted", "name": name, "seed": seed,
                 "env": make_env(env_config, seed=0).describe(), "eval episodes": eval_episodes}
        found = {"kind": info.get("kind"), "name": info.get("name"), "seed": info.get("seed"),
                 "env": info.get("env"), "eval episodes": info.get("eval", {}).get("episodes")}
        refuse_if_different(out, "another expert", differences(found, asked),
                            "move it away to make a new one", ExpertError)
        nothing_to_do(out, "expert already finished (expert.json present)")
        return None
    try:
        policy = SCRIPTED_EXPERTS[name](env_config)
    except (ValueError, AttributeError) as err:
        raise ExpertError(f"the {name} expert cannot play {env_config.game}: {err}") from None
    loop = LoopConfig()
    return write_expert_json(out, kind="scripted", name=name, policy=policy,
                             env_config=env_config, seed=seed, eval_episodes=eval_episodes,
                             eval_epsilon=loop.eval_epsilon,
                             max_steps=loop.eval_max_episode_steps, steps_trained=0)


def expert_env_config(info: dict) -> EnvConfig:
    """The environment an expert was made for, from its ``expert.json``."""
    return EnvConfig(**_env_fields(info["env"]))


def _env_fields(env: dict) -> dict:
    return {k: env[k] for k in ("game", "action_set", "sticky_action_prob", "difficulty_ramping")}


def stop_at_return(target: float) -> Callable[[dict], bool]:
    """Early-stop rule for ``train_run``: the first evaluation whose mean return reaches
    ``target``."""
    return lambda row: row["eval_return_mean"] >= target
