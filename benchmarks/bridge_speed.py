"""HA-DIIQN's bridge search: the indexed search against the brute-force one, by replay size.

The replay holds uniformly random play of a game (default Space Invaders, whose states rarely
repeat, so a brute-force scan finds few edges per state and pays for the whole scan each time).
Queries start at states the replay holds and look for any of three states that follow them in
the stream, k = 3 steps, as HA-DIIQN's searches do. Both searches run on the same queries and
must return the same bridges; the JSON gives searches/s of each and their ratio per replay size
(target: indexed >= 20x brute force at 100K).

    python benchmarks/bridge_speed.py --out benchmarks/out/bridge_speed.json
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import emit  # noqa: E402
from diiqn_speed import random_stream  # noqa: E402

from algos.agents.ha_diiqn import ReplayGraph, brute_force_bridge, indexed_bridge  # noqa: E402
from algos.envs import packed_size, state_shape  # noqa: E402
from algos.training.replay import UniformReplay  # noqa: E402


def measure(game: str, size: int, queries: int, seed: int = 0) -> dict:
    stream = random_stream(game, size, seed)
    replay = UniformReplay(size, packed_size(state_shape(game)), seed)
    graph = ReplayGraph(replay)
    for state, action, reward, next_state, done in stream:
        graph.add(replay.add(state, action, reward, next_state, done))
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, size - 10, queries)
    cases = []
    for i in starts:
        targets = {}
        for j in range(1, 4):  # the stream's next states, skipping one (as a skipped move)
            targets.setdefault(stream[i + j][3].tobytes(), j)
        cases.append((stream[i][0].tobytes(), targets))
    began = time.perf_counter()
    indexed = [indexed_bridge(graph, s, t, 3) for s, t in cases]
    indexed_rate = queries / (time.perf_counter() - began)
    brute_cases = cases[: max(1, queries // 10)]  # the slow one on a tenth of the queries
    began = time.perf_counter()
    brute = [brute_force_bridge(replay, s, t, 3) for s, t in brute_cases]
    brute_rate = len(brute_cases) / (time.perf_counter() - began)
    assert brute == indexed[: len(brute)], "the two searches disagree"
    return {"replay_size": size, "indexed_searches_per_second": round(indexed_rate),
            "brute_force_searches_per_second": round(brute_rate, 1),
            "speedup": round(indexed_rate / brute_rate, 1),
            "found_share": round(float(np.mean([b is not None for b in indexed])), 3),
            "identical_results_on": len(brute)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--game", default="space_invaders")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    results = [measure(args.game, size, args.queries) for size in args.sizes]
    emit({"benchmark": "bridge_speed", "game": args.game, "agent_steps": 3, "expert_steps": 3,
          "target_speedup_at_100k": 20, "results": results}, args.out)


if __name__ == "__main__":
    main()
