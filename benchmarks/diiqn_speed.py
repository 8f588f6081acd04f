"""DIIQN's cost over DQN, and the speed of its nearest-neighbour queries, measured in one run.

1. **Training.** Steps/s of DIIQN and of our DQN (Double DQN + PER), both through the suite's
   real training loop (``dqn_speed.ours``), one thread, one update per step, the same game, seed
   and 5000-step random warm-up; runs alternate and the best of the repeats is compared. DIIQN
   reads a 100K-transition dataset (``--dataset``, else one rolled out here by a uniformly random
   expert, whose states the early agent matches often: the expensive case, most batches carrying
   expert rows). Target: DIIQN's time per step <= 1.2x DQN's. Also DQN with batches of 64
   (``dqn_double_batch``): the network work of DIIQN's update when every sample of its batch of
   32 carries an expert row of its own (an exact twin shares its agent's row), without any of
   DIIQN's own work: what computing DIIQN's loss costs at least in that case. And the tuning
   protocol's candidate losses (``diiqn-evidence``, ``diiqn-evidence-fading``), each as a time
   per step over today's DIIQN's.
2. **Queries** against the 100K dataset's index
   (``algos.agents.diiqn.knn.ExpertStateIndex``), one core:
   ``search``: novel states only (no exact twin, never cached), the worst case, by the prefix
   filter and by the exhaustive scan of every distinct state (the same answers; measured in the
   same run); ``stream``: the states of a fresh random-play stream as the agent meets them
   (exact hits, cache hits and searches mixed); ``observe``: a whole DIIQN ``observe`` per
   transition (replay insert, query, action-inference update). Target: >= 30,000 novel-state
   queries/s at τ = 0.97 (Space Invaders, 100K transitions).

    python benchmarks/diiqn_speed.py --game breakout --out benchmarks/out/diiqn_speed.json
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import emit, random_expert_dataset  # noqa: E402
from dqn_speed import ours  # noqa: E402

from algos.agents.diiqn.agent import DIIQNAgent  # noqa: E402
from algos.agents.diiqn.knn import ExpertStateIndex  # noqa: E402
from algos.algorithms import DIIQNConfig  # noqa: E402
from algos.data.datasets import load_dataset  # noqa: E402
from algos.envs import EnvConfig, MinAtarEnv, pack_states  # noqa: E402
from algos.training.learner import configure_torch  # noqa: E402


def _candidates() -> dict[str, dict]:
    """The DIIQN candidates of the tuning protocol (``beyond_expert_tuning`` in
    ``config/config.yaml``) other than today's default and the paper's reading: their loss's
    cost against today's."""
    experiment = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())[
        "experiments"]["beyond_expert_tuning"]
    return {m["name"]: m["set"] for m in experiment["methods"]
            if isinstance(m, dict) and m["name"].startswith("diiqn-evidence")}


CANDIDATES = _candidates()


def random_stream(game: str, n: int, seed: int) -> list[tuple]:
    """``n`` transitions ``(s, a, r, s', done)`` of uniformly random play, states packed."""
    env = MinAtarEnv(EnvConfig(game), seed)
    rng = np.random.default_rng(seed)
    obs, out = env.reset(), []
    for _ in range(n):
        action = int(rng.integers(env.n_actions))
        next_obs, reward, done, _ = env.step(action)
        out.append((pack_states(obs), action, reward, pack_states(next_obs), done))
        obs = env.reset() if done else next_obs
    return out


def novel_state_rate(index: ExpertStateIndex, novel: list) -> float:
    """Searches per second over states with no exact twin (each searched once)."""
    start = time.perf_counter()
    for state in novel:
        index._search(state)
    return len(novel) / (time.perf_counter() - start)


def query_rates(game: str, dataset, n: int) -> dict:
    n_bits = int(np.prod(dataset.state_shape))
    start = time.perf_counter()
    index = ExpertStateIndex(dataset.states, n_bits)
    build = time.perf_counter() - start
    stream = random_stream(game, n, seed=123)
    novel = [s for s, *_ in stream if s.tobytes() not in index._exact]
    novel = list({s.tobytes(): s for s in novel}.values())[: max(1, n // 4)]
    search = novel_state_rate(index, novel)
    candidates = index.stats()["index_candidates_mean"]
    exhaustive = novel_state_rate(ExpertStateIndex(dataset.states, n_bits, scan_share=0.0),
                                  novel[: max(1, len(novel) // 10)])
    index = ExpertStateIndex(dataset.states, n_bits)  # a fresh, empty cache
    start = time.perf_counter()
    for state, *_ in stream:
        index.nearest(state)
    mixed = len(stream) / (time.perf_counter() - start)
    shares = index.stats()
    env = MinAtarEnv(EnvConfig(game), 0)
    agent = DIIQNAgent(DIIQNConfig(replay_capacity=n), env.state_shape, env.n_actions, 0, n,
                       dataset=dataset)
    start = time.perf_counter()
    for step, (s, a, r, s2, done) in enumerate(stream):
        agent.observe(s, a, r, s2, done, step)
    observe = len(stream) / (time.perf_counter() - start)
    return {
        "distinct_expert_states": len(index),
        "index_build_seconds": round(build, 2),
        "index_megabytes": round(index.memory_bytes() / 1e6, 2),
        "packed_dataset_megabytes": round(dataset.states.nbytes / 1e6, 2),
        "search_queries_per_second": round(search),
        "search_candidates_mean": round(candidates, 1),
        "exhaustive_search_queries_per_second": round(exhaustive),
        "search_speedup_over_exhaustive": round(search / exhaustive, 1),
        "stream_queries_per_second": round(mixed),
        "stream_exact_share": round(shares["index_exact_share"], 3),
        "stream_cache_share": round(shares["index_cache_share"], 3),
        "stream_search_share": round(shares["index_search_share"], 3),
        "observe_per_second": round(observe),
        "target_queries_per_second": 30000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--game", default="breakout")
    parser.add_argument("--dataset", type=Path, help="a 100K dataset of --game (default: one "
                        "rolled out here by a uniformly random expert)")
    parser.add_argument("--warmup", type=int, default=5_000)
    parser.add_argument("--steps", type=int, default=5_000, help="timed training steps")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--queries", type=int, default=20_000)
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    configure_torch(1)
    with tempfile.TemporaryDirectory() as tmp:
        dataset = (load_dataset(args.dataset, game=args.game) if args.dataset else
                   random_expert_dataset(args.game, 100_000, Path(tmp) / "n100000.npz"))
        runs = {"dqn": [], "diiqn": [], "dqn_double_batch": [],
                **{name: [] for name in CANDIDATES}}
        for repeat in range(args.repeats):  # interleaved, so drifts in load hit all alike
            runs["dqn"].append(ours(args.game, args.warmup, args.steps, repeat))
            runs["dqn_double_batch"].append(ours(args.game, args.warmup, args.steps, repeat,
                                                 batch_size=64))
            for name, settings in {"diiqn": {}, **CANDIDATES}.items():
                runs[name].append(ours(args.game, args.warmup, args.steps, repeat,
                                       agent_cls=DIIQNAgent, config_cls=DIIQNConfig,
                                       agent_inputs={"dataset": dataset}, **settings))
        queries = query_rates(args.game, dataset, args.queries)
    best = {name: max(values) for name, values in runs.items()}
    emit({
        "benchmark": "diiqn_speed",
        "game": args.game,
        "dataset": str(args.dataset) if args.dataset else "100K transitions of a random expert",
        "threads": 1,
        "timed_steps": args.steps,
        "steps_per_second": {k: [round(v, 1) for v in vs] for k, vs in runs.items()},
        "best_steps_per_second": {k: round(v, 1) for k, v in best.items()},
        "time_per_step_ratio_diiqn_vs_dqn": round(best["dqn"] / best["diiqn"], 3),
        "target_time_ratio": 1.2,
        "time_per_step_ratio_dqn_double_batch_vs_dqn": round(
            best["dqn"] / best["dqn_double_batch"], 3),
        "time_per_step_ratio_vs_diiqn": {name: round(best["diiqn"] / best[name], 3)
                                         for name in CANDIDATES},
        "candidate_settings": CANDIDATES,
        "queries": queries,
    }, args.out)


if __name__ == "__main__":
    main()
