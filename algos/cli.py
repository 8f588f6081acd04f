"""Command-line interface: ``python -m algos <command>``.

Every step of the workflow is one command, so each can be run, tested and timed by hand. Errors a
user can cause (unknown game or algorithm, bad ``--set``, a run folder holding another config, a
diverging loss) end with one ``error: ...`` line and exit status 2 (bad input) or 1 (failure).
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

import numpy as np

from .bco import BCOAgent, BCOConfig
from .config import ConfigError, apply_overrides, describe_fields
from .datasets import DatasetError, inference_scorer, load_dataset, make_dataset
from .diiqn import DIIQNAgent, DIIQNConfig
from .dqn import DQNAgent, DQNConfig
from .envs import (
    ACTION_NAMES,
    EnvConfig,
    EnvError,
    environment_names,
    make_env,
    validate_env_config,
)
from .experts import (
    REFERENCE_DQN_SCORES,
    SCRIPTED_EXPERTS,
    DQNExpert,
    ExpertError,
    expert_env_config,
    load_expert,
    stop_at_return,
    write_expert_json,
)
from .gaifo import GAIfOAgent, GAIfOConfig
from .ha_diiqn import HADIIQNAgent, HADIIQNConfig
from .learner import DivergenceError, configure_torch
from .loop import (
    SEED_ENV,
    LoopConfig,
    ResumeError,
    check_run_folder,
    child_seed,
    config_dict,
    train_run,
)
from .mazes import MAZE_ACTION_NAMES
from .oril import ORILAgent, ORILConfig
from .runs import RunDir

ALGORITHMS = {
    "dqn": (DQNConfig, DQNAgent),
    "diiqn": (DIIQNConfig, DIIQNAgent),
    "ha_diiqn": (HADIIQNConfig, HADIIQNAgent),
    "bco": (BCOConfig, BCOAgent),
    "gaifo": (GAIfOConfig, GAIfOAgent),
    "oril": (ORILConfig, ORILAgent),
}
"""Algorithm name -> (config dataclass, agent class). An agent class with ``needs_dataset``
learns from an expert's state-only dataset (``--dataset``)."""


class UsageError(Exception):
    """Bad input from the command line: reported in one line, exit status 2."""


def _train_epilog() -> str:
    blocks = []
    for name, (cfg, _) in ALGORITHMS.items():
        # Fields inherited from another algorithm (or the shared loop) are listed once, there.
        bases = [other for other, (c, _) in ALGORITHMS.items()
                 if other != name and c is not cfg and issubclass(cfg, c)]
        # The nearest: the base that is a subclass of every other base.
        base = next((b for b in bases if all(issubclass(ALGORITHMS[b][0], ALGORITHMS[o][0])
                                             for o in bases)), None)
        if base is not None:
            shown, extra = describe_fields(cfg, skip=ALGORITHMS[base][0]), f" (besides {base}'s)"
        elif cfg is not DQNConfig:
            shown, extra = describe_fields(cfg, skip=LoopConfig), " (besides the loop's, see dqn)"
        else:
            shown, extra = describe_fields(cfg), ""
        blocks.append(f"config keys of {name}{extra} (--set key=value):\n{shown}")
    example = ("examples:\n  python -m algos train dqn --game breakout --seed 0 --steps 100000 "
               "--out results/runs/breakout/dqn/default/seed0\n"
               "  python -m algos train diiqn --game breakout --seed 0 --steps 100000 "
               "--dataset results/datasets/breakout/n100000.npz "
               "--out results/runs/breakout/diiqn/default/seed0")
    return "\n\n".join([example, *blocks])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m algos",
        description="Deep implicit imitation RL on MinAtar (DIIQN, HA-DIIQN and baselines): "
                    "train agents and write resumable run folders.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train", help="train one agent into a run folder (resumes if the folder has a checkpoint)",
        description=textwrap.fill(
            "Train one agent on one game and write a run folder: config.json, metrics.csv, "
            "diagnostics.csv, run.json, checkpoint/ and, last, summary.json. Re-running the same "
            "command resumes from the checkpoint; a finished run exits at once. Progress goes to "
            "a bar on a terminal (none when output is redirected).", width=96),
        epilog=_train_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    train.add_argument("algo", choices=sorted(ALGORITHMS), metavar="ALGO",
                       help=f"algorithm: {', '.join(sorted(ALGORITHMS))}")
    _add_env_arguments(train)
    train.add_argument("--seed", type=int, required=True,
                       help="the one seed of the run (network, environment, exploration, replay)")
    train.add_argument("--steps", type=_positive_int, required=True,
                       help="environment steps to train for (MinAtar: one step is one frame)")
    train.add_argument("--out", type=Path, required=True, help="run folder to write (or resume)")
    train.add_argument("--dataset", type=Path, metavar="PATH",
                       help="the expert's state-only dataset (.npz from 'python -m algos "
                            "dataset'); required by every algorithm but dqn")
    train.add_argument("--set", dest="overrides", action="append", default=[],
                       metavar="KEY=VALUE",
                       help="override a field of the algorithm's config (repeatable); "
                            "the keys are listed below")
    train.add_argument("--threads", type=_positive_int, default=1,
                       help="torch CPU threads (default 1: run many seeds side by side)")

    expert = commands.add_parser(
        "expert", help="train a suboptimal DQN expert (policy.pt + expert.json)",
        description=textwrap.fill(
            "Train a Double DQN + PER expert with the shared loop into OUT/train/ (resumable) and "
            "keep it at a chosen strength: the --steps budget and, unless --stop-fraction 0, an "
            "early stop at the first evaluation whose mean return reaches that fraction of the "
            "reference score (MinAtar's DQN at 5M frames by default), so that it sits between "
            "random and a full DQN. Then write OUT/policy.pt and, last, OUT/expert.json with "
            "the expert's and a random policy's return over --eval-episodes episodes.", width=96),
        epilog=("example:\n  python -m algos expert --game breakout --seed 0 --steps 1000000 "
                "--out results/experts/breakout\n\nconfig keys (--set): as for "
                "'python -m algos train dqn --help'; reference scores: "
                + ", ".join(f"{g} {s:g}" for g, s in REFERENCE_DQN_SCORES.items())),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_env_arguments(expert)
    expert.add_argument("--seed", type=int, required=True, help="the one seed of the expert")
    expert.add_argument("--steps", type=_positive_int,
                        help="training budget in environment steps (required unless --scripted)")
    expert.add_argument("--scripted", metavar="NAME", choices=sorted(SCRIPTED_EXPERTS),
                        help="write a scripted expert instead of training one: "
                             f"{', '.join(sorted(SCRIPTED_EXPERTS))} (the mazes' shortest-path "
                             "planner, moving with --action-set)")
    expert.add_argument("--out", type=Path, required=True, help="expert folder to write")
    expert.add_argument("--stop-fraction", type=float, default=0.5, metavar="F",
                        help="stop at the first evaluation reaching F x the reference score "
                             "(default 0.5; 0 trains the whole budget)")
    expert.add_argument("--reference-score", type=float, metavar="R",
                        help="score F is a fraction of (default: MinAtar's 5M-frame DQN; "
                             "required for seaquest if F > 0)")
    expert.add_argument("--eval-episodes", type=_positive_int, default=100, metavar="M",
                        help="episodes for the expert's and the random policy's score "
                             "(default 100)")
    expert.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="override a DQN config field (repeatable)")
    expert.add_argument("--threads", type=_positive_int, default=1, help="torch CPU threads")

    dataset = commands.add_parser(
        "dataset", help="roll out an expert into a state-only dataset (true actions apart)",
        description=textwrap.fill(
            "Roll out the expert in --expert (epsilon-greedy) and write OUT (states, next "
            "states, dones, episode and step indices, bit-packed, no actions), OUT's .json "
            "description with checksums, and the true actions in a separate .actions.npy that "
            "only scoring code reads. The same expert and seed give one rollout stream, and a "
            "dataset of size N is its first N transitions, so smaller datasets are prefixes of "
            "larger ones.", width=96),
        epilog=("example:\n  python -m algos dataset --expert results/experts/breakout "
                "--size 100000 --seed 0 --out results/datasets/breakout/n100000.npz"),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    dataset.add_argument("--expert", type=Path, required=True, metavar="DIR",
                         help="expert folder (with expert.json)")
    dataset.add_argument("--size", type=_positive_int, required=True,
                         help="transitions to collect (1K to 100K in the experiments)")
    dataset.add_argument("--seed", type=int, required=True, help="seed of the rollout stream")
    dataset.add_argument("--out", type=Path, required=True, metavar="PATH",
                         help="dataset file to write, e.g. results/datasets/breakout/n1000.npz")
    dataset.add_argument("--epsilon", type=float, default=0.01,
                         help="probability of a random action in the rollout (default 0.01)")
    dataset.add_argument("--no-effects", action="store_true",
                         help="skip the hidden .effects.npy (which actions would have had the "
                              "executed one's effect; scoring only): about 7x faster rollouts, "
                              "but inference is then scored against exact action ids only")

    check = commands.add_parser(
        "check-dataset", help="validate a dataset file and print what it holds",
        description="Load a dataset as learning code does (arrays, dtypes, shapes, checksum, "
                    "game) and print its description; exit status 2 with one line if it is bad.")
    check.add_argument("path", type=Path, metavar="PATH", help="dataset file (.npz)")
    check.add_argument("--game", metavar="GAME", help="also require the dataset to be of GAME")
    aggregate = commands.add_parser(
        "aggregate", help="score finished runs and aggregate them with rliable (CSV out)",
        description=textwrap.fill(
            "Read finished run folders (results/runs/{game}/{algo}/{variant}/seed{seed}) and "
            "write OUT/scores.csv (one row per run: mean evaluation return over the last "
            "--last evaluations, and its expert-normalised value (score - random) / (expert - "
            "random)), OUT/curves.csv (every evaluation), OUT/intervals.csv (IQM, median, "
            "mean and optimality gap of the normalised scores per algo/variant, with "
            "stratified-bootstrap 95 %% intervals), OUT/poi.csv (probability that each method "
            "beats each other, P(x > y)), OUT/profiles.csv (performance profiles), "
            "OUT/steps_to_threshold.csv (each run's first evaluation step within --threshold "
            "of the expert) and OUT/diagnostics.csv (DIIQN's and HA-DIIQN's diagnostics over "
            "training).",
            width=96),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    aggregate.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="run folders")
    aggregate.add_argument("--out", type=Path, required=True, help="folder for the CSV files")
    aggregate.add_argument("--experts", type=Path, metavar="DIR",
                           help="experts' folder (DIR/{game}/expert.json) for normalising; "
                                "default: the expert named in each run's dataset")
    aggregate.add_argument("--last", type=_positive_int, default=3,
                           help="evaluations averaged into a run's score (default 3)")
    aggregate.add_argument("--reps", type=_positive_int, default=2000,
                           help="bootstrap resamples (default 2000)")
    aggregate.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    aggregate.add_argument("--experiment", default="", help="experiment name for scores.csv")
    aggregate.add_argument("--threshold", type=float, default=0.9,
                           help="expert-normalised return for steps_to_threshold.csv (default "
                                "0.9: within 10 %% of the expert, on the random-to-expert "
                                "scale)")

    plot = commands.add_parser(
        "plot", help="draw an aggregate folder's figures (PNG and PDF)",
        description="Learning curves per game (mean over seeds with 95 %% bands, expert and "
                    "random lines), aggregate intervals and probabilities of improvement, from "
                    "the CSV files of 'python -m algos aggregate'.")
    plot.add_argument("aggregate", type=Path, metavar="DIR", help="aggregate folder")
    plot.add_argument("--out", type=Path, required=True, help="folder for the figures")
    plot.add_argument("--only", nargs="+", metavar="FIGURE",
                      choices=["learning_curves", "aggregates", "profiles", "improvement",
                               "sweep", "diagnostics", "bridging"],
                      help="draw only these figures (default: all that apply: sweep with "
                           "--sweep, diagnostics where DIIQN-family runs logged them, bridging "
                           "where HA-DIIQN runs did)")
    plot.add_argument("--sweep", metavar="LABEL",
                      help="also plot the final normalised score against the number at the end "
                           "of each variant's name (e.g. tau-0.9, data-30000), labelled LABEL")
    plot.add_argument("--sweep-default", type=float, metavar="X",
                      help="where the variant 'default' stands on the sweep's axis")
    return parser


def _add_env_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--game", required=True, metavar="GAME",
                        help=f"environment: {', '.join(environment_names())}")
    parser.add_argument("--action-set", default="full", metavar="SPEC",
                        help="actions the agent may take. MinAtar: full (all 6, default), "
                             "minimal (the game's minimal set) or a comma list of "
                             f"{', '.join(ACTION_NAMES)}. Mazes: full (8 moves), cardinal, "
                             "diagonal or a comma list of "
                             f"{', '.join(MAZE_ACTION_NAMES)}")
    parser.add_argument("--sticky-prob", type=float, default=0.1, metavar="P",
                        help="probability of repeating the previous action (default 0.1)")
    parser.add_argument("--no-ramping", action="store_true",
                        help="switch off MinAtar's difficulty ramping (on by default)")


def _positive_int(text: str) -> int:
    try:
        value = int(float(text.replace("_", "")))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _env_config(args: argparse.Namespace) -> EnvConfig:
    config = EnvConfig(game=args.game, action_set=args.action_set,
                       sticky_action_prob=args.sticky_prob,
                       difficulty_ramping=not args.no_ramping)
    validate_env_config(config)
    return config


def _train(args: argparse.Namespace, agent_cls, config, env_config: EnvConfig, run: RunDir,
           run_config: dict, description: str, stop_when=None, **agent_inputs):
    """Build the agent for ``args`` (seed, steps, threads) and train it in ``run``."""
    configure_torch(args.threads)
    env = make_env(env_config, child_seed(args.seed, SEED_ENV))
    if "dataset" in agent_inputs:
        # Scoring only: the true actions stay inside the scorer, never reach the learner.
        try:
            agent_inputs["scorer"] = inference_scorer(agent_inputs["dataset"].path, env.actions)
        except DatasetError as err:
            print(f"warning: no inference accuracy in diagnostics.csv ({err})", file=sys.stderr)
    agent = agent_cls(config, env.state_shape, env.n_actions, args.seed, args.steps,
                      **agent_inputs)
    summary = train_run(agent, run_config, config, env_config, args.seed, args.steps, run,
                        threads=args.threads, description=description, stop_when=stop_when)
    return agent, env, summary


def cmd_train(args: argparse.Namespace) -> int:
    config_cls, agent_cls = ALGORITHMS[args.algo]
    env_config = _env_config(args)
    config = apply_overrides(config_cls(), args.overrides)
    run = RunDir(args.out)
    run_config = config_dict(args.algo, config, env_config, args.seed, args.steps)
    agent_inputs = {}
    if getattr(agent_cls, "needs_dataset", False):
        if args.dataset is None:
            raise UsageError(f"{args.algo} learns from an expert dataset: give --dataset PATH")
        dataset = load_dataset(args.dataset, game=env_config.game)
        run_config["dataset"] = {"path": str(args.dataset), "size": len(dataset),
                                 "sha256": dataset.info["sha256"],
                                 "expert": dataset.info["expert"]}
        agent_inputs["dataset"] = dataset
    check_run_folder(run, run_config)
    if run.finished():
        print(f"{run.root}: run already finished (summary.json present); nothing to do")
        return 0
    _, _, summary = _train(args, agent_cls, config, env_config, run, run_config,
                           description=f"{args.algo} {env_config.game} seed{args.seed}",
                           **agent_inputs)
    print(f"{run.root}: done; final evaluation return {summary['final_eval_return_mean']:.2f} "
          f"({summary['steps_per_second']:.0f} steps/s)")
    return 0


def cmd_expert(args: argparse.Namespace) -> int:
    env_config = _env_config(args)
    if args.scripted:
        return _scripted_expert(args, env_config)
    if args.steps is None:
        raise UsageError("give --steps (the training budget), or --scripted NAME")
    config = apply_overrides(DQNConfig(), args.overrides)
    if not 0.0 <= args.stop_fraction <= 1.0:
        raise UsageError(f"--stop-fraction must lie in [0, 1], got {args.stop_fraction}")
    reference = args.reference_score
    if reference is None:
        reference = REFERENCE_DQN_SCORES.get(env_config.game)
    if args.stop_fraction > 0 and reference is None:
        raise UsageError(f"no reference score for {env_config.game}: give --reference-score, "
                         "or --stop-fraction 0 to train the whole budget")
    target = args.stop_fraction * reference if args.stop_fraction > 0 else None
    out = Path(args.out)
    run = RunDir(out / "train")
    run_config = config_dict("dqn", config, env_config, args.seed, args.steps)
    run_config["expert"] = {"stop_fraction": args.stop_fraction, "reference_score": reference,
                            "target_return": target}
    check_run_folder(run, run_config)
    if (out / "expert.json").exists():
        print(f"{out}: expert already finished (expert.json present); nothing to do")
        return 0
    agent, env, summary = _train(
        args, DQNAgent, config, env_config, run, run_config,
        description=f"expert {env_config.game}",
        stop_when=stop_at_return(target) if target is not None else None)
    expert = DQNExpert(agent.learner.online, env.state_shape)
    expert.save(out / "policy.pt", env.state_shape, env.n_actions)
    info = write_expert_json(
        out, kind="dqn", policy=expert, env_config=env_config, seed=args.seed,
        eval_episodes=args.eval_episodes, eval_epsilon=config.eval_epsilon,
        max_steps=config.eval_max_episode_steps, policy_file="policy.pt", train_run="train",
        steps_trained=summary["steps_trained"], stopped_early=summary["stopped_early"],
        **run_config["expert"])
    print(f"{out}: expert after {summary['steps_trained']} steps returns "
          f"{info['eval']['return_mean']:.2f} ± {info['eval']['return_std']:.2f} "
          f"(random {info['random']['return_mean']:.2f}) over {args.eval_episodes} episodes")
    return 0


def _scripted_expert(args: argparse.Namespace, env_config: EnvConfig) -> int:
    out = Path(args.out)
    if (out / "expert.json").exists():
        print(f"{out}: expert already finished (expert.json present); nothing to do")
        return 0
    try:
        policy = SCRIPTED_EXPERTS[args.scripted](env_config)
    except (ValueError, AttributeError) as err:
        raise UsageError(f"the {args.scripted} expert cannot play {env_config.game}: {err}") \
            from None
    loop = LoopConfig()
    info = write_expert_json(out, kind="scripted", name=args.scripted, policy=policy,
                             env_config=env_config, seed=args.seed,
                             eval_episodes=args.eval_episodes, eval_epsilon=loop.eval_epsilon,
                             max_steps=loop.eval_max_episode_steps, steps_trained=0)
    print(f"{out}: scripted expert {args.scripted} returns {info['eval']['return_mean']:.2f} ± "
          f"{info['eval']['return_std']:.2f} (random {info['random']['return_mean']:.2f}) over "
          f"{args.eval_episodes} episodes")
    return 0


def cmd_dataset(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    if not 0.0 <= args.epsilon <= 1.0:
        raise UsageError(f"--epsilon must lie in [0, 1], got {args.epsilon}")
    if args.out.suffix != ".npz":
        raise UsageError(f"--out must name a .npz file, got {args.out}")
    policy, info = load_expert(args.expert)
    env_config = expert_env_config(info)
    configure_torch(1)
    with tqdm(total=args.size, desc=f"dataset {env_config.game}", unit="step",
              disable=None) as progress:
        described = make_dataset(policy, env_config, size=args.size, seed=args.seed,
                                 epsilon=args.epsilon, out=args.out, expert_dir=args.expert,
                                 expert_info=info, progress=progress,
                                 record_effects=not args.no_effects)
    mean = described["expert_return_mean"]
    print(f"{args.out}: {args.size} transitions, {described['episodes']} episodes "
          f"(expert return {'n/a' if mean is None else f'{mean:.2f}'}), "
          f"{described['transitions_per_second']:.0f} transitions/s")
    return 0


def cmd_check_dataset(args: argparse.Namespace) -> int:
    data = load_dataset(args.path, game=args.game)
    info = data.info
    mean = info["expert_return_mean"]
    print(f"{args.path}: ok; {info['game']}, {len(data)} transitions, {info['episodes']} "
          f"episodes ({info['complete_episodes']} complete), expert return "
          f"{'n/a' if mean is None else f'{mean:.2f}'}, action set {info['env']['action_names']}, "
          f"expert {info['expert']['path']}")
    return 0


def cmd_aggregate(args: argparse.Namespace) -> int:
    import itertools

    import pandas as pd

    from . import stats
    from .runs import atomic_write_text

    try:
        scores, curves = stats.collect_runs(args.runs, experts=args.experts, last=args.last,
                                            experiment=args.experiment)
        matrices = stats.score_matrices(scores)
    except (ValueError, KeyError, OSError) as err:
        raise UsageError(str(err)) from None
    aggregates = stats.aggregate_metrics(matrices, reps=args.reps, seed=args.seed)
    intervals = [{"metric": metric, "method": method, "point": point, "lower": low,
                  "upper": high}
                 for method, values in aggregates.items()
                 for metric, (point, low, high) in values.items()]
    poi = []
    for x, y in itertools.permutations(matrices, 2):
        point, low, high = stats.probability_of_improvement(matrices[x], matrices[y],
                                                            reps=args.reps, seed=args.seed)
        poi.append({"x": x, "y": y, "probability": point, "lower": low, "upper": high})
    thresholds = np.linspace(0.0, 2.0, 41)
    profiles = [{"method": method, "tau": tau, "fraction": f, "lower": lo, "upper": hi}
                for method, (fraction, low, high) in stats.performance_profile(
                    matrices, thresholds, reps=max(100, args.reps // 10), seed=args.seed).items()
                for tau, f, lo, hi in zip(thresholds, fraction, low, high, strict=True)]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tables = {"scores": scores, "curves": curves,
              "diagnostics": stats.collect_diagnostics(args.runs),
              "steps_to_threshold": stats.steps_to_threshold(curves, args.threshold),
              "intervals": pd.DataFrame(intervals),
              "poi": pd.DataFrame(poi, columns=["x", "y", "probability", "lower", "upper"]),
              "profiles": pd.DataFrame(profiles)}
    for name, table in tables.items():
        atomic_write_text(out / f"{name}.csv", table.to_csv(index=False))
    print(f"{out}: {len(scores)} runs of {len(matrices)} methods on "
          f"{scores['env'].nunique()} envs; IQM of expert-normalised scores: "
          + ", ".join(f"{m} {v['iqm'][0]:.2f}" for m, v in aggregates.items()))
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    import pandas as pd

    from . import plots

    folder = Path(args.aggregate)
    try:
        tables = {name: pd.read_csv(folder / f"{name}.csv")
                  for name in ("scores", "curves", "intervals", "poi", "profiles",
                               "diagnostics", "steps_to_threshold")}
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise UsageError(f"{folder}: not an aggregate folder ({err})") from None
    wanted = set(args.only or ["learning_curves", "aggregates", "profiles", "improvement"]
                 + (["sweep"] if args.sweep else [])
                 + (["diagnostics"] if len(tables["diagnostics"]) else [])
                 + (["bridging"] if "bridge_hits" in tables["diagnostics"] else []))
    if "diagnostics" in wanted and not len(tables["diagnostics"]):
        raise UsageError(f"{folder}: no DIIQN diagnostics to draw")
    if "sweep" in wanted and not args.sweep:
        raise UsageError("the sweep figure needs --sweep LABEL")
    draw = {
        "learning_curves": lambda: plots.learning_curves(tables["curves"], tables["scores"],
                                                         args.out),
        "aggregates": lambda: plots.aggregates(tables["intervals"], args.out),
        "profiles": lambda: plots.profiles(tables["profiles"], args.out),
        "improvement": lambda: plots.improvement(tables["poi"], args.out),
        "sweep": lambda: plots.sweep(tables["scores"], args.sweep, args.out,
                                     default=args.sweep_default),
        "diagnostics": lambda: plots.diagnostics(tables["diagnostics"], args.out),
        "bridging": lambda: plots.bridging(tables["steps_to_threshold"], tables["diagnostics"],
                                           args.out),
    }
    paths = [path for name in draw if name in wanted for path in draw[name]()]
    print(f"{args.out}: " + ", ".join(p.name for p in paths))
    return 0


COMMANDS = {"train": cmd_train, "expert": cmd_expert, "dataset": cmd_dataset,
            "check-dataset": cmd_check_dataset, "aggregate": cmd_aggregate, "plot": cmd_plot}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ConfigError, EnvError, UsageError, ResumeError, ExpertError, DatasetError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except DivergenceError as err:
        print(f"error: training diverged: {err}; the run folder keeps its last checkpoint "
              "(try a smaller lr)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; re-run the same command to resume from the last checkpoint",
              file=sys.stderr)
        return 130


__all__ = ["ALGORITHMS", "build_parser", "main"]
