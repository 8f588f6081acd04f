"""The imitation baselines' cost over DQN: every registered algorithm that learns from a
dataset without DIIQN's confidence (BCO, GAIfO, ORIL; those with a classifier also with it
updated every update besides every ``classifier_every`` updates, the default), through the
suite's real training loop (``dqn_speed.ours``), one thread, one update per step, the same game,
seed and 5000-step random warm-up, with a 30K-transition dataset of a random expert; runs
alternate and the best of the repeats counts. Target: GAIfO and ORIL <= 1.5x DQN's time per
step.

    python benchmarks/imitation_speed.py --out benchmarks/out/imitation_speed.json
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import fields
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import emit, random_expert_dataset  # noqa: E402
from dqn_speed import ours  # noqa: E402

from algos.algorithms import ALGORITHMS, REFERENCE, agent_class  # noqa: E402
from algos.training.learner import configure_torch  # noqa: E402


def baselines() -> dict[str, tuple[str, dict]]:
    """Name -> (algorithm, settings) of each variant timed, from the registry: the reference
    learner, then every algorithm that learns from a dataset without DIIQN's confidence, one
    with a classifier first with it updated every update."""
    variants = {REFERENCE: (REFERENCE, {})}
    for name, algorithm in ALGORITHMS.items():
        if not algorithm.needs_dataset or "confidence" in algorithm.traits:
            continue
        if "classifier_every" in {f.name for f in fields(algorithm.config)}:
            variants[f"{name}_every_update"] = (name, {"classifier_every": 1})
        variants[name] = (name, {})
    return variants


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--game", default="breakout")
    parser.add_argument("--warmup", type=int, default=5_000)
    parser.add_argument("--steps", type=int, default=3_000, help="timed training steps")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    configure_torch(1)
    variants = baselines()
    with tempfile.TemporaryDirectory() as tmp:
        dataset = random_expert_dataset(args.game, 30_000, Path(tmp) / "n30000.npz")
        runs = {name: [] for name in variants}
        for repeat in range(args.repeats):  # interleaved, so drifts in load hit all alike
            for name, (algo, overrides) in variants.items():
                config_cls, agent_cls = ALGORITHMS[algo].config, agent_class(algo)
                inputs = {"dataset": dataset} if ALGORITHMS[algo].needs_dataset else {}
                runs[name].append(ours(args.game, args.warmup, args.steps, repeat,
                                       agent_cls=agent_cls, config_cls=config_cls,
                                       agent_inputs=inputs, **overrides))
    best = {name: max(values) for name, values in runs.items()}
    emit({
        "benchmark": "imitation_speed",
        "game": args.game,
        "threads": 1,
        "timed_steps": args.steps,
        "steps_per_second": {k: [round(v, 1) for v in vs] for k, vs in runs.items()},
        "best_steps_per_second": {k: round(v, 1) for k, v in best.items()},
        "time_per_step_vs_dqn": {k: round(best[REFERENCE] / v, 2) for k, v in best.items()},
        "target_time_ratio": 1.5,
    }, args.out)


if __name__ == "__main__":
    main()
