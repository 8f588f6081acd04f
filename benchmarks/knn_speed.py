"""The expert-state index alone: novel-state queries per second at τ = 0.97 against 10K, 30K
and 100K transitions of a random expert (Space Invaders and Breakout), by the prefix filter and
by the exhaustive scan of every distinct state (the same answers), with the index's memory
beside the packed states'. One core.

    python benchmarks/knn_speed.py --out benchmarks/out/knn_speed.json
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import emit, random_expert_dataset  # noqa: E402
from diiqn_speed import novel_state_rate, random_stream  # noqa: E402

from algos.agents.diiqn.knn import ExpertStateIndex  # noqa: E402


def measure(game: str, sizes: list[int], queries: int, tau: float, folder: Path) -> list[dict]:
    dataset = random_expert_dataset(game, max(sizes), folder / f"{game}.npz")
    n_bits = int(np.prod(dataset.state_shape))
    stream = random_stream(game, 4 * queries, seed=123)
    rows = []
    for size in sizes:
        states = dataset.states[:size]
        index = ExpertStateIndex(states, n_bits, tau=tau)
        novel = list({s.tobytes(): s for s, *_ in stream
                      if s.tobytes() not in index._exact}.values())[:queries]
        prefix = novel_state_rate(index, novel)
        stats = index.stats()
        exhaustive = novel_state_rate(ExpertStateIndex(states, n_bits, tau=tau, scan_share=0.0),
                                      novel[: max(1, queries // 10)])
        rows.append({"game": game, "transitions": size, "distinct_states": len(index),
                     "novel_queries": len(novel), "prefix_queries_per_second": round(prefix),
                     "exhaustive_queries_per_second": round(exhaustive),
                     "speedup": round(prefix / exhaustive, 1),
                     "candidates_per_query": round(stats["index_candidates_mean"], 1),
                     "scan_share": stats["index_scan_share"],
                     "index_megabytes": round(index.memory_bytes() / 1e6, 2),
                     "packed_states_megabytes": round(states.nbytes / 1e6, 2)})
        print(rows[-1], file=sys.stderr)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", nargs="+", default=["space_invaders", "breakout"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[10_000, 30_000, 100_000])
    parser.add_argument("--queries", type=int, default=5000)
    parser.add_argument("--tau", type=float, default=0.97)
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [row for game in args.games
                for row in measure(game, args.sizes, args.queries, args.tau, Path(tmp))]
    emit({"benchmark": "knn_speed", "tau": args.tau, "results": rows}, args.out)


if __name__ == "__main__":
    main()
