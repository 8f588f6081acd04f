"""Command-line interface: ``python -m algos <command>``.

Every step of the workflow is one command, so each can be run, tested and timed by hand. Errors a
user can cause (unknown game or algorithm, bad ``--set``, a run folder holding another config, a
diverging loss) end with one ``error: ...`` line and exit status 2 (bad input) or 1 (failure).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

from algos.config import workflow_default
from algos.errors import RunFailure, UserError
from algos.evidence.figures import FIGURES

if TYPE_CHECKING:
    from algos.envs import EnvConfig
    from algos.provenance.runs import RunDir

# Modules are imported where a command needs them, so that a command does not pay for the
# others' imports (torch, rliable): the workflow runs dozens of short figure and aggregate jobs.


class UsageError(UserError):
    """Bad input from the command line: reported in one line, exit status 2."""


def _train_epilog(algo: str | None = None) -> str:
    """The examples and the config keys: every key of ``algo``, or (None) every algorithm's,
    each key listed once, under the algorithm that introduces it."""
    from algos.algorithms import ALGORITHMS, DQNConfig, LoopConfig
    from algos.config import describe_fields

    configs = {name: algorithm.config for name, algorithm in ALGORITHMS.items()}
    blocks = []
    if algo is not None:
        blocks = [f"config keys of {algo} (--set key=value; 'python -m algos train --help' "
                  f"lists every algorithm's):\n{describe_fields(configs[algo])}"]
        configs = {}
    for name, cfg in configs.items():
        # Fields inherited from another algorithm (or the shared loop) are listed once, there.
        bases = [other for other, c in configs.items()
                 if other != name and c is not cfg and issubclass(cfg, c)]
        # The nearest: the base that is a subclass of every other base.
        base = next((b for b in bases if all(issubclass(configs[b], configs[o])
                                             for o in bases)), None)
        if base is not None:
            shown, extra = describe_fields(cfg, skip=configs[base]), f" (besides {base}'s)"
        elif cfg is not DQNConfig:
            shown, extra = describe_fields(cfg, skip=LoopConfig), " (besides the loop's, see dqn)"
        else:
            shown, extra = describe_fields(cfg), ""
        blocks.append(f"config keys of {name}{extra} (--set key=value):\n{shown}")
    example = ("examples:\n  python -m algos train dqn --game breakout --seed 0 --steps 100000 "
               "--out results/runs/breakout/dqn/default/seed0\n"
               "  python -m algos train diiqn --game breakout --seed 0 --steps 100000 "
               "--dataset results/datasets/breakout/n30000.npz "
               "--out results/runs/breakout/diiqn/default/seed0")
    return "\n\n".join([example, *blocks])


class _TrainHelp(argparse.Action):
    """``train ALGO --help``: the help with ALGO's config keys alone (argparse has read ALGO by
    then); ``train --help``: every algorithm's."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="show this help (with ALGO first: only its config keys) and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        parser.epilog = _train_epilog(getattr(namespace, "algo", None))
        parser.print_help()
        parser.exit()


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error in one line (and where the help is) instead of the usage
    block: the same form as every other error of the command line."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def _describe(parser: argparse.ArgumentParser, description: str, epilog: str | None = None
              ) -> None:
    parser.description, parser.epilog = description, epilog
    parser.formatter_class = argparse.RawDescriptionHelpFormatter


def _train_arguments(train: argparse.ArgumentParser) -> None:
    from algos.algorithms import ALGORITHMS

    _describe(
        train, textwrap.fill(
            "Train one agent on one game and write a run folder: config.json, metrics.csv, "
            "diagnostics.csv, run.json, checkpoint/ and, last, summary.json. Re-running the same "
            "command resumes from the checkpoint; a finished run exits at once. Progress goes to "
            "a bar on a terminal (none when output is redirected).", width=96),
        _train_epilog())
    train.add_argument("algo", choices=sorted(ALGORITHMS), metavar="ALGO",
                       help=f"algorithm: {', '.join(sorted(ALGORITHMS))}")
    _add_env_arguments(train)
    train.add_argument("--seed", type=_seed, required=True,
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
    train.add_argument("--threads", type=_positive_int, default=workflow_default("threads"),
                       help="torch CPU threads (default %(default)s: run many seeds side by "
                            "side)")
    train.add_argument("--tensorboard", nargs="?", const="", metavar="DIR",
                       help="also write each evaluation's metrics.csv and diagnostics.csv rows "
                            "as TensorBoard event files, to watch the run live (tensorboard "
                            "--logdir DIR), into DIR or, without DIR, OUT/tensorboard/ (not "
                            "committed). Off by default; it changes no result and no "
                            "config.json. Needs pip install -e \".[tensorboard]\"")
    _add_progress_argument(train)


def _expert_arguments(expert: argparse.ArgumentParser) -> None:
    from algos.data.experts import REFERENCE_DQN_SCORES, SCRIPTED_EXPERTS

    _describe(
        expert, textwrap.fill(
            "Train a Double DQN + PER expert with the shared loop into OUT/train/ (resumable) and "
            "keep it at a chosen strength: the --steps budget and, unless --stop-fraction 0, an "
            "early stop at the first evaluation whose mean return reaches that fraction of the "
            "reference score (MinAtar's DQN at 5M frames by default), so that it sits between "
            "random and a full DQN. Then write OUT/policy.pt and, last, OUT/expert.json with "
            "the expert's and a random policy's return over --eval-episodes episodes.", width=96),
        ("example:\n  python -m algos expert --game breakout --seed 0 --steps 1000000 "
         "--out results/experts/breakout\n\nconfig keys (--set): "
         "dqn's, listed under 'config keys of dqn' in 'python -m algos train --help'; "
         "reference scores: "
         + ", ".join(f"{g} {s:g}" for g, s in REFERENCE_DQN_SCORES.items())))
    _add_env_arguments(expert)
    expert.add_argument("--seed", type=_seed, required=True, help="the one seed of the expert")
    expert.add_argument("--steps", type=_positive_int,
                        help="training budget in environment steps (required unless --scripted)")
    expert.add_argument("--scripted", metavar="NAME", choices=sorted(SCRIPTED_EXPERTS),
                        help="write a scripted expert instead of training one: "
                             f"{', '.join(sorted(SCRIPTED_EXPERTS))} (the mazes' shortest-path "
                             "planner, moving with --action-set)")
    expert.add_argument("--out", type=Path, required=True, help="expert folder to write")
    expert.add_argument("--stop-fraction", type=float, metavar="F",
                        default=workflow_default("experts", "stop_fraction"),
                        help="stop at the first evaluation reaching F x the reference score "
                             "(default %(default)s; 0 trains the whole budget)")
    expert.add_argument("--reference-score", type=float, metavar="R",
                        help="score F is a fraction of (default: MinAtar's 5M-frame DQN; "
                             "required for seaquest if F > 0)")
    expert.add_argument("--eval-episodes", type=_positive_int, metavar="M",
                        default=workflow_default("experts", "eval_episodes"),
                        help="episodes for the expert's and the random policy's score "
                             "(default %(default)s)")
    expert.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="override a DQN config field (repeatable)")
    expert.add_argument("--threads", type=_positive_int, default=workflow_default("threads"),
                        help="torch CPU threads (default %(default)s)")
    _add_progress_argument(expert)


def _dataset_arguments(dataset: argparse.ArgumentParser) -> None:
    _describe(
        dataset, textwrap.fill(
            "Roll out the expert in --expert (epsilon-greedy) and write OUT (states, next "
            "states, dones, episode and step indices, bit-packed, no actions), OUT's .json "
            "description with checksums, and the true actions in a separate .actions.npy that "
            "only scoring code reads. The same expert and seed give one rollout stream, and a "
            "dataset of size N is its first N transitions, so smaller datasets are prefixes of "
            "larger ones.", width=96),
        ("example:\n  python -m algos dataset --expert results/experts/breakout "
         "--size 30000 --seed 0 --out results/datasets/breakout/n30000.npz"))
    dataset.add_argument("--expert", type=Path, required=True, metavar="DIR",
                         help="expert folder (with expert.json)")
    dataset.add_argument("--size", type=_positive_int, required=True,
                         help="transitions to collect (1K to 100K in the experiments)")
    dataset.add_argument("--seed", type=_seed, required=True, help="seed of the rollout stream")
    dataset.add_argument("--out", type=Path, required=True, metavar="PATH",
                         help="dataset file to write, e.g. results/datasets/breakout/n1000.npz")
    dataset.add_argument("--epsilon", type=float, default=workflow_default("dataset", "epsilon"),
                         help="probability of a random action in the rollout (default "
                              "%(default)s)")
    dataset.add_argument("--no-effects", action="store_true",
                         help="skip the hidden .effects.npy (which actions would have had the "
                              "executed one's effect; scoring only): about 7x faster rollouts, "
                              "but inference is then scored against exact action ids only")


def _check_dataset_arguments(check: argparse.ArgumentParser) -> None:
    _describe(check, "Load a dataset as learning code does (arrays, dtypes, shapes, checksum, "
                     "game) and print its description; exit status 2 with one line if it is bad.")
    check.add_argument("path", type=Path, metavar="PATH", help="dataset file (.npz)")
    check.add_argument("--game", metavar="GAME", help="also require the dataset to be of GAME")
    check.add_argument("--play", type=_positive_int, metavar="N",
                       help="also play N steps uniformly at random through a DIIQN agent's "
                            "expert-state index and action inference (default settings: τ, "
                            "metric) and print what it finds: the share of played states with an "
                            "expert state within τ and with an identical one, and the inferred "
                            "actions' coverage and accuracy against the hidden true actions")

def _aggregate_arguments(aggregate: argparse.ArgumentParser) -> None:
    _describe(
        aggregate, textwrap.fill(
            "Read finished run folders and write OUT/scores.csv (one row per run: its mean "
            "evaluation return over the last --last evaluations and its expert-normalised "
            "value (score - random) / (expert - random)), curves.csv (every evaluation), "
            "intervals.csv (IQM, median, mean and optimality gap per method, stratified-"
            "bootstrap 95 % intervals), intervals_by_env.csv, poi.csv (P(x > y) for every "
            "pair of methods), profiles.csv, beyond.csv (the share of runs above the expert, "
            "P(method > DQN)), budget.csv (per env and evaluation step: each method's IQM and "
            "P(method > DQN) with intervals and the one-sided Mann-Whitney p-values), "
            "steps_to_threshold.csv and diagnostics.csv (the DIIQN family's "
            "diagnostics), cells.csv (per method and env: the runs planned and finished, "
            "their seeds and code revisions). Runs come from --manifest (the workflow's: each "
            "run's method and the swept setting; its unfinished runs are left out, so an "
            "experiment can be read while it trains) or as RUN folders (each the method "
            "algo/variant). The aggregates over envs use the seeds a method has on every env; "
            "the per-env tables use every run. Every value is read from the runs' own files, "
            "each checked against the checksums in its summary.json.", width=96),
        "example:\n  python -m algos aggregate results/runs/breakout/*/default/seed* "
        "--experts results/experts --out results/aggregate/mine")
    aggregate.add_argument("runs", nargs="*", type=Path, metavar="RUN", help="run folders")
    aggregate.add_argument("--manifest", type=Path, metavar="JSON",
                           help="the workflow's experiment manifest instead of RUN folders")
    aggregate.add_argument("--out", type=Path, required=True, help="folder for the CSV files")
    aggregate.add_argument("--experts", type=Path, metavar="DIR",
                           help="experts' folder (DIR/{game}/expert.json) for normalising; "
                                "default: the expert named in each run's dataset")
    aggregate.add_argument("--last", type=_positive_int,
                           default=workflow_default("last_evaluations"),
                           help="evaluations averaged into a run's score (default %(default)s)")
    aggregate.add_argument("--reps", type=_positive_int,
                           default=workflow_default("bootstrap_reps"),
                           help="bootstrap resamples (default %(default)s)")
    aggregate.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    aggregate.add_argument("--experiment", default="", help="experiment name for scores.csv")
    aggregate.add_argument("--threshold", type=float, default=workflow_default("threshold"),
                           help="expert-normalised return for steps_to_threshold.csv (default "
                                "%(default)s; 0.9 is within 10 %% of the expert, on the "
                                "random-to-expert scale)")


def _plot_arguments(plot: argparse.ArgumentParser) -> None:
    _describe(
        plot, textwrap.fill(
            "Draw the figures of an aggregate folder (from 'python -m algos aggregate'): every "
            "one that applies to its methods, or --only these.", width=96),
        "figures:\n" + "\n".join(
            textwrap.fill(f"{name}: {figure.caption}", width=96, initial_indent="  ",
                          subsequent_indent="    ") for name, figure in FIGURES.items()))
    plot.add_argument("aggregate", type=Path, metavar="DIR", help="aggregate folder")
    plot.add_argument("--out", type=Path, required=True, help="folder for the figures")
    plot.add_argument("--only", nargs="+", metavar="FIGURE", choices=list(FIGURES),
                      help=f"draw only these: {', '.join(FIGURES)}")


def _claims_arguments(claims: argparse.ArgumentParser) -> None:
    _describe(
        claims, textwrap.fill(
            "Read the claims file and ROOT/{experiment}/ (the aggregate folders) and write OUT "
            "(CSV): for each claim and game, the measured effect with its calibrated 95 % "
            "interval, the test's p-value and the p adjusted for its family, what would change "
            "the verdict, whether the claim was registered before its runs (from git), and a "
            "verdict (reproduced / not reproduced / inconclusive / not testable at this budget "
            "/ not run). The rules are in docs/results.md, 'How a verdict is given'.",
            width=96),
        "example:\n  python -m algos claims results/aggregate --out results/aggregate/claims.csv")
    claims.add_argument("root", type=Path, metavar="ROOT", help="folder of aggregate folders")
    claims.add_argument("--out", type=Path, required=True, help="CSV file to write")
    claims.add_argument("--claims", type=Path, default=None, metavar="FILE",
                        help="the claims file (default config/claims.yaml)")


def _tables_arguments(tables: argparse.ArgumentParser) -> None:
    _describe(
        tables, textwrap.fill(
            "Print the results page's tables (Markdown) from ROOT (the aggregate folders and "
            "claims.csv): every claim with its verdict, then per experiment, method and game "
            "the runs finished of those planned, their seeds, the mean score and the IQM of "
            "the expert-normalised score, and under the tuning experiment its protocol's "
            "measures per run and the candidate its decision rule chooses "
            "(algos/evidence/protocol.py). With --update PAGE, write them into PAGE between "
            "its two marker lines instead (docs/results.md has them).", width=96),
        "example:\n  python -m algos tables results/aggregate --update docs/results.md")
    tables.add_argument("root", type=Path, metavar="ROOT", help="folder of aggregate folders")
    tables.add_argument("--update", type=Path, metavar="PAGE",
                        help="a Markdown page whose marked block is rewritten")


def _verify_arguments(verify: argparse.ArgumentParser) -> None:
    _describe(
        verify, textwrap.fill(
            "Spot-check a finished run: check its files against the checksums in its "
            "summary.json, train it again from its config.json (the same seed, settings, "
            "dataset and code revision) up to the first evaluation at or past --steps, and "
            "compare every row of metrics.csv and diagnostics.csv it reaches, all but the "
            "wall-clock columns. Runs are deterministic on every x86-64 CPU with AVX2, so a "
            "match shows that this code made the run. Exit status 0: reproduced; 1: a row "
            "differs (named); 2: the run or its dataset cannot be read, or it is stale.",
            width=96),
        "example:\n  python -m algos verify results/runs/breakout/dqn/default/seed0 "
        "--steps 5000")
    verify.add_argument("run", type=Path, metavar="RUN", help="a finished run folder")
    verify.add_argument("--steps", type=_positive_int, default=1, metavar="N",
                        help="train to the first evaluation at or past step N (default 1: the "
                             "first evaluation after step 0, at the run's eval_every)")
    _add_progress_argument(verify)


def _status_arguments(status: argparse.ArgumentParser) -> None:
    from algos.provenance.status import STATES

    _describe(
        status, textwrap.fill(
            "List every run folder under FOLDER, one line each: its path, the step it reached "
            "and its last evaluation's mean return (from metrics.csv), and its state. It only "
            "reads: the seals of finished runs are checked, and the checkpoint of an unfinished "
            "one is read (with torch) for the step it resumes from.", width=96),
        "states:\n" + "\n".join(
            textwrap.fill(f"{name}: {meaning}", width=96, initial_indent="  ",
                          subsequent_indent="    ") for name, meaning in STATES.items())
        + "\n\nexample:\n  python -m algos status results/runs/breakout")
    status.add_argument("folder", nargs="?", type=Path, default=Path("results/runs"),
                        metavar="FOLDER",
                        help="a folder of run folders, or one run folder (default %(default)s)")


def _stage_arguments(stage: argparse.ArgumentParser) -> None:
    _describe(
        stage, textwrap.fill(
            "git add the evidence under ROOT's results/ and figures/: the small files of every "
            "finished run and expert, the dataset descriptions, the aggregates and the figures "
            "(never a checkpoint, a dataset's arrays or an unfinished run), once each reads "
            "back: runs, experts and dataset descriptions against their seals and identity, "
            "aggregates against tables.json. It never stages a deletion (but a run the train "
            "command set aside under results/stale/). A problem is one line naming the file, "
            "exit status 2, and nothing staged; else it prints what the next commit changes "
            "there.", width=96),
        "example:\n  python -m algos stage   (make stage-results)")
    stage.add_argument("root", nargs="?", type=Path, default=Path("."), metavar="ROOT",
                       help="the repository's work tree (default: here)")


def _add_progress_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--progress-every", type=_positive_float, default=60.0, metavar="S",
                        help="without a terminal (logs, SLURM), a progress line every S seconds "
                             "(default 60)")


def _add_env_arguments(parser: argparse.ArgumentParser) -> None:
    from algos.envs import ACTION_NAMES, MAZE_ACTION_NAMES, environment_names

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


def _integer(text: str, least: int, what: str) -> int:
    try:
        number = float(text.replace("_", ""))  # accepts 1e5 and 100_000
    except ValueError:
        number = float("nan")
    if not number.is_integer() or number < least:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return int(number)


def _positive_int(text: str) -> int:
    return _integer(text, 1, "a positive integer")


def _seed(text: str) -> int:
    return _integer(text, 0, "a seed: an integer >= 0")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _env_config(args: argparse.Namespace) -> EnvConfig:
    from algos.envs import EnvConfig, validate_env_config

    config = EnvConfig(game=args.game, action_set=args.action_set,
                       sticky_action_prob=args.sticky_prob,
                       difficulty_ramping=not args.no_ramping)
    validate_env_config(config)
    return config


def _train(args: argparse.Namespace, agent_cls, config, env_config: EnvConfig, run: RunDir,
           run_config: dict, description: str, stop_when=None, on_logs=None, **agent_inputs):
    """Build the agent for ``args`` (seed, steps, threads) and train it in ``run``
    (``on_logs``: the loop's hook, the live view)."""
    from algos.envs import resolve_action_set, state_shape
    from algos.training.learner import configure_torch
    from algos.training.loop import train_run

    configure_torch(args.threads)
    shape = state_shape(env_config.game)
    actions = resolve_action_set(env_config.game, env_config.action_set)
    if "dataset" in agent_inputs:
        agent_inputs["scorer"] = _scorer(agent_inputs["dataset"].path, actions,
                                         " in diagnostics.csv")
    agent = agent_cls(config, shape, len(actions), args.seed, args.steps, **agent_inputs)
    if config.replay_start >= args.steps:
        print(f"warning: --steps {args.steps} ends before replay_start ({config.replay_start}): "
              "the agent never learns, and its evaluations are of the untrained network",
              file=sys.stderr)
    summary = train_run(agent, run_config, config, env_config, args.seed, args.steps, run,
                        threads=args.threads, description=description, stop_when=stop_when,
                        progress_every=args.progress_every, on_logs=on_logs)
    return agent, shape, len(actions), summary


def _scorer(path: Path, actions: tuple[int, ...], where: str = ""):
    """The dataset's inference scorer, or None with a warning where its hidden actions cannot
    be read. Scoring only: the true actions stay inside the scorer, never reach the learner."""
    from algos.data.datasets import DatasetError, inference_scorer

    try:
        return inference_scorer(path, actions)
    except DatasetError as err:
        print(f"warning: no inference accuracy{where} ({err})", file=sys.stderr)
        return None


def _writable_folder(path: Path, what: str) -> Path:
    """Create folder ``path`` (with its parents) or say in one line why it cannot be."""
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"{what} {path}: cannot create this folder ({err.strerror})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UsageError(f"{what} {path}: the folder is not writable")
    return Path(path)


def _with_dataset(run_config: dict, path: Path) -> dict:
    """Load the dataset at ``path`` for the run of ``run_config`` (which gets its description:
    path, size, checksum, expert); returns the agent's inputs."""
    from algos.data.datasets import load_dataset

    dataset = load_dataset(path, game=run_config["game"])
    run_config["dataset"] = {"path": str(path), "size": len(dataset),
                             "sha256": dataset.info["sha256"], "expert": dataset.info["expert"]}
    return {"dataset": dataset}


def cmd_train(args: argparse.Namespace) -> int:
    from algos.algorithms import ALGORITHMS, agent_class
    from algos.config import apply_overrides
    from algos.provenance.existing import config_dict, nothing_to_do, set_aside_if_stale
    from algos.provenance.readers import read_run
    from algos.provenance.runs import RunDir
    from algos.training import live_view

    if args.tensorboard is not None:
        live_view.require()  # before anything is read or written
    algorithm, agent_cls = ALGORITHMS[args.algo], agent_class(args.algo)
    env_config = _env_config(args)
    config = apply_overrides(algorithm.config(), args.overrides)
    run = RunDir(args.out)
    run_config = config_dict(args.algo, config, env_config, args.seed, args.steps)
    agent_inputs = {}
    if args.dataset is not None and not algorithm.needs_dataset:
        raise UsageError(f"{args.algo} learns without an expert dataset: drop --dataset "
                         f"{args.dataset}")
    if algorithm.needs_dataset:
        if args.dataset is None:
            raise UsageError(f"{args.algo} learns from an expert dataset: give --dataset PATH")
        agent_inputs = _with_dataset(run_config, args.dataset)
    set_aside_if_stale(run, run_config)
    if run.finished():
        read_run(run.root)
        nothing_to_do(run.root, "run already finished (summary.json present, its files "
                      "verified)")
        return 0
    _writable_folder(run.root, "--out")
    view = None
    if args.tensorboard is not None:
        view = live_view.LiveView(_writable_folder(
            Path(args.tensorboard) if args.tensorboard else run.root / "tensorboard",
            "--tensorboard"))
    with view or contextlib.nullcontext():
        *_, summary = _train(args, agent_cls, config, env_config, run, run_config,
                             description=f"{args.algo} {env_config.game} seed{args.seed}",
                             on_logs=view, **agent_inputs)
    print(f"{run.root}: done; final evaluation return {summary['final_eval_return_mean']:.2f} "
          f"({summary['steps_per_second']:.0f} steps/s)")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from collections import Counter

    from algos.provenance.status import STATES, status

    if not args.folder.is_dir():
        raise UsageError(f"{args.folder}: no such folder")
    rows = status(args.folder, _resume_step)
    if not rows:
        print(f"{args.folder}: no run folders")
        return 0
    width = max(len(str(row.path)) for row in rows)
    for row in rows:
        step = "-" if row.step is None else str(row.step)
        mean = "-" if row.last_return is None else f"{row.last_return:.2f}"
        print(f"{row.path!s:<{width}}  step {step:>8}  return {mean:>6}  {row.state}"
              + (f" ({row.detail})" if row.detail else ""))
    counts = Counter(row.state for row in rows)
    print(f"{len(rows)} runs: " + ", ".join(f"{counts[s]} {s}" for s in STATES if counts[s]))
    return 0


def _resume_step(run: RunDir) -> int:
    """``training.checkpoint.resume_step`` (imported when an unfinished run needs it: torch)."""
    from algos.training.checkpoint import resume_step

    return resume_step(run)


def cmd_tables(args: argparse.Namespace) -> int:
    from algos.evidence.tables import tables_markdown, with_tables
    from algos.provenance.runs import atomic_write_text

    if not args.root.is_dir():
        raise UsageError(f"{args.root}: not a folder of aggregates")
    text = tables_markdown(args.root)
    if args.update is None:
        print(text, end="")
        return 0
    try:
        page = args.update.read_text()
    except OSError as err:
        raise UsageError(f"--update {args.update}: cannot read ({err.strerror})") from None
    atomic_write_text(args.update, with_tables(page, text, str(args.update)))
    print(f"{args.update}: tables written from {args.root}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Retrain the first steps of a finished run from its config.json and compare."""
    import tempfile
    from types import SimpleNamespace

    from algos.algorithms import ALGORITHMS, agent_class, revision, revision_label
    from algos.envs import EnvConfig, validate_env_config
    from algos.provenance.existing import config_dict, settings_differences
    from algos.provenance.readers import read_run
    from algos.provenance.runs import RunDir, first_difference, read_csv_rows
    from algos.training.loop import WALL_CLOCK_COLUMNS, WALL_CLOCK_DIAGNOSTICS

    run = RunDir(args.run)
    saved = read_run(run.root).config
    algo = saved.get("algo")
    if algo not in ALGORITHMS:
        raise UsageError(f"{run.config}: unknown algorithm {algo!r}")
    if saved.get("revision") != revision(algo):
        found, current = revision_label(saved.get("revision")), revision_label(revision(algo))
        raise UsageError(f"{run.root}: a run of code revision {found}, this code is {current}: "
                         "it is stale, and a retrained prefix is not expected to match")
    try:
        config = ALGORITHMS[algo].config(**saved["algo_config"])
        config.validate()
        env_config = EnvConfig(**saved["env"])
        validate_env_config(env_config)
        seed, steps = int(saved["seed"]), int(saved["steps"])
    except (KeyError, TypeError, ValueError) as err:
        raise UsageError(f"{run.config}: not a config this code can run ({err})") from None
    run_config = config_dict(algo, config, env_config, seed, steps)
    agent_inputs = (_with_dataset(run_config, Path(saved["dataset"]["path"]))
                    if ALGORITHMS[algo].needs_dataset else {})
    differences = settings_differences(saved, run_config)
    if differences:
        raise UsageError(f"{run.config}: this code would write another config.json for it "
                         f"(differs in: {', '.join(differences)})")
    committed = read_csv_rows(run.metrics, WALL_CLOCK_COLUMNS)
    evaluations = [int(row["env_steps"]) for row in committed]
    reach = next((s for s in evaluations if s >= args.steps), evaluations[-1])
    with tempfile.TemporaryDirectory(prefix="verify-") as tmp:
        again = RunDir(Path(tmp) / "run")
        _train(SimpleNamespace(threads=1, steps=steps, seed=seed,
                               progress_every=args.progress_every),
               agent_class(algo), config, env_config, again, run_config,
               description=f"verify {algo} {env_config.game} seed{seed}",
               stop_when=lambda row: row["env_steps"] >= reach, **agent_inputs)
        found = {name: first_difference(read_csv_rows(run.root / name, columns),
                                        read_csv_rows(again.root / name, columns), reach)
                 for name, columns in (("metrics.csv", WALL_CLOCK_COLUMNS),
                                       ("diagnostics.csv", WALL_CLOCK_DIAGNOSTICS))}
    rows = sum(step <= reach for step in evaluations)
    for name, difference in found.items():
        if difference:
            print(f"{run.root}: NOT reproduced: {name} {difference}", file=sys.stderr)
    if any(found.values()):
        return 1
    print(f"{run.root}: reproduced: its first {rows} evaluations (to step {reach}) of "
          "metrics.csv and diagnostics.csv, every column but wall-clock time, are what this "
          "code trains again")
    return 0


def cmd_expert(args: argparse.Namespace) -> int:
    from algos.agents.dqn import DQNAgent
    from algos.algorithms import DQNConfig
    from algos.config import apply_overrides
    from algos.data.experts import (
        REFERENCE_DQN_SCORES,
        DQNExpert,
        stop_at_return,
        write_expert_json,
    )
    from algos.provenance.existing import (
        check_run_folder,
        config_dict,
        nothing_to_do,
        set_aside_if_stale,
    )
    from algos.provenance.readers import read_expert_info
    from algos.provenance.runs import RunDir

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
    # A finished expert is a product (datasets and runs are made from it): newer code leaves it
    # as it is. An unfinished one of older code trains anew.
    if (out / "expert.json").exists():
        check_run_folder(run, run_config, ignore_revision=True)
    else:
        set_aside_if_stale(run, run_config)
    if (out / "expert.json").exists():
        read_expert_info(out)  # what is kept must read back (its seal)
        nothing_to_do(out, "expert already finished (expert.json present)")
        return 0
    _writable_folder(out, "--out")
    agent, shape, n_actions, summary = _train(
        args, DQNAgent, config, env_config, run, run_config,
        description=f"expert {env_config.game}",
        stop_when=stop_at_return(target) if target is not None else None)
    expert = DQNExpert(agent.learner.online, shape)
    expert.save(out / "policy.pt", shape, n_actions)
    info = write_expert_json(
        out, kind="dqn", policy=expert, env_config=env_config, seed=args.seed,
        eval_episodes=args.eval_episodes, eval_epsilon=config.eval_epsilon,
        max_steps=config.eval_max_episode_steps, policy_file="policy.pt", train_run="train",
        steps_trained=summary["steps_trained"], stopped_early=summary["stopped_early"],
        **run_config["expert"])
    print(f"{out}: expert after {summary['steps_trained']} steps returns "
          f"{info['eval']['return_mean']:.2f} ± {info['eval']['return_std']:.2f} "
          f"(random {info['random']['return_mean']:.2f}) over {args.eval_episodes} episodes")
    _warn_if_weak(out, info)
    return 0


def _warn_if_weak(out: Path, info: dict) -> None:
    from algos.evidence.aggregate import expert_clearly_above_random

    if not expert_clearly_above_random(info):
        print(f"warning: {out}: the expert is not clearly better than the random policy; scores "
              "normalised by it will mean nothing (train it longer)", file=sys.stderr)


def _scripted_expert(args: argparse.Namespace, env_config: EnvConfig) -> int:
    from algos.algorithms import LoopConfig
    from algos.data.experts import SCRIPTED_EXPERTS, load_expert, write_expert_json
    from algos.envs import make_env
    from algos.provenance.existing import differences, nothing_to_do, refuse_if_different

    out = Path(args.out)
    if (out / "expert.json").exists():
        _, info = load_expert(out)
        asked = {"kind": "scripted", "name": args.scripted, "seed": args.seed,
                 "env": make_env(env_config, seed=0).describe(),
                 "eval episodes": args.eval_episodes}
        found = {"kind": info.get("kind"), "name": info.get("name"), "seed": info.get("seed"),
                 "env": info.get("env"), "eval episodes": info.get("eval", {}).get("episodes")}
        refuse_if_different(out, "another expert", differences(found, asked),
                            "move it away to make a new one", UsageError)
        nothing_to_do(out, "expert already finished (expert.json present)")
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
    _warn_if_weak(out, info)
    return 0


def cmd_dataset(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from algos.data.datasets import (
        arrays_missing,
        differences_from_existing,
        make_dataset,
        restore_dataset,
    )
    from algos.data.experts import expert_env_config, load_expert
    from algos.provenance.existing import nothing_to_do, refuse_if_different
    from algos.training.learner import configure_torch

    if not 0.0 <= args.epsilon <= 1.0:
        raise UsageError(f"--epsilon must lie in [0, 1], got {args.epsilon}")
    if args.out.suffix != ".npz":
        raise UsageError(f"--out must name a .npz file, got {args.out}")
    policy, info = load_expert(args.expert)
    env_config = expert_env_config(info)
    # A finished dataset is never overwritten: runs were trained on it (their config.json has
    # its checksum). The same request is a no-op; another one must go to another file.
    differences = differences_from_existing(
        args.out, size=args.size, seed=args.seed, epsilon=args.epsilon, expert_dir=args.expert,
        expert_info=info, record_effects=not args.no_effects)
    if differences == [] and arrays_missing(args.out):
        _writable_folder(args.out.parent, "--out")
        configure_torch(1)
        with tqdm(total=args.size, desc=f"dataset {env_config.game} (again)", unit="step",
                  disable=None) as progress:
            restore_dataset(policy, env_config, args.out, progress=progress)
        print(f"{args.out}: arrays made again from the expert and seed; their checksums are "
              "the ones its description holds")
        return 0
    if differences is not None:
        refuse_if_different(args.out, "a dataset made otherwise", differences,
                            "move it away to make a new one", UsageError)
        nothing_to_do(args.out, "dataset already made with these settings")
        return 0
    _writable_folder(args.out.parent, "--out")
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
    from algos.data.datasets import load_dataset

    data = load_dataset(args.path, game=args.game)
    info = data.info
    mean = info["expert_return_mean"]
    print(f"{args.path}: ok; {info['game']}, {len(data)} transitions, {info['episodes']} "
          f"episodes ({info['complete_episodes']} complete), expert return "
          f"{'n/a' if mean is None else f'{mean:.2f}'}, action set {info['env']['action_names']}, "
          f"expert {info['expert']['path']}")
    if args.play:
        from algos.agents.diiqn.agent import what_random_play_finds
        from algos.envs import EnvConfig, resolve_action_set

        # Played with the dataset's own environment (a maze's expert may move in four
        # directions of eight).
        env_config = EnvConfig(**{f.name: info["env"][f.name] for f in fields(EnvConfig)})
        scorer = _scorer(args.path, resolve_action_set(env_config.game, env_config.action_set))
        found = what_random_play_finds(data, env_config, args.play, seed=0, scorer=scorer)
        print(f"{args.play} steps of random play: "
              + ", ".join(f"{key} {value:.3f}" for key, value in found.items()))
    return 0


def cmd_aggregate(args: argparse.Namespace) -> int:
    from algos.evidence.aggregate import aggregate, runs_by_folder, runs_from_manifest, write_tables
    from algos.provenance.readers import check_nothing_lost, run_key

    if bool(args.manifest) == bool(args.runs):
        raise UsageError("give either RUN folders or --manifest")
    sweep, experiment = None, args.experiment
    if args.manifest:
        runs, sweep, experiment = runs_from_manifest(args.manifest)
        experiment = args.experiment or experiment
    else:
        runs = runs_by_folder(args.runs)
    tables = aggregate(runs, experts=args.experts, last=args.last, reps=args.reps,
                       seed=args.seed, threshold=args.threshold, sweep=sweep,
                       experiment=experiment)
    # An aggregate already at --out is never rebuilt from fewer runs without a word.
    check_nothing_lost(args.out, {(r.env, r.algo, r.variant, int(r.seed))
                                  for r in tables["scores"].itertuples()},
                       {run_key(ref.folder): str(ref.folder) for ref in runs}
                       if args.manifest else None)
    write_tables(tables, args.out, settings={"last": args.last, "threshold": args.threshold,
                                             "reps": args.reps, "seed": args.seed})
    iqm = tables["intervals"].query("metric == 'iqm'")
    cells = tables["cells"]
    over = sorted(set(cells.loc[cells["seeds_over_envs"] != "", "env"]))
    print(f"{args.out}: {len(tables['scores'])} of {len(runs)} runs finished, of "
          f"{cells['method'].nunique()} methods on {tables['scores']['env'].nunique()} envs "
          f"(code revisions: {', '.join(sorted(set(tables['scores']['revision'])))}); IQM of "
          f"expert-normalised scores over {', '.join(over) or 'envs'}: "
          + (", ".join(f"{m} {v:.2f}" for m, v in zip(iqm["method"], iqm["point"], strict=True))
             or "none yet (no method has a run on every env)"))
    partial = cells[cells["finished"] < cells["planned"]]
    for row in partial.itertuples():
        print(f"  {row.method} on {row.env}: {row.finished} of {row.planned} runs (seeds "
              f"{row.seeds})")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from algos.evidence.aggregate import read_tables
    from algos.evidence.plots import draw
    from algos.provenance.runs import atomic_write_folder

    tables = read_tables(args.aggregate)  # checked whole before anything is written
    paths: list[Path] = []
    # Into a new folder that takes --out's place whole: an error or an interrupt leaves the
    # figures there as they were. With --only, the other figures there are kept.
    atomic_write_folder(args.out, lambda folder: paths.extend(draw(tables, folder, args.only)),
                        keep=lambda name: bool(args.only))
    print(f"{args.out}: " + ", ".join(p.name for p in paths))
    return 0


def cmd_claims(args: argparse.Namespace) -> int:
    from algos.evidence import claims_file
    from algos.evidence.claims import verdicts
    from algos.provenance.runs import atomic_write_text

    specs = claims_file.load(args.claims or claims_file.CLAIMS_FILE)
    table = verdicts(args.root, specs)
    try:
        atomic_write_text(args.out, table.to_csv(index=False))
    except OSError as err:
        raise UsageError(f"--out {args.out}: cannot write ({err.strerror})") from None
    counts = table["verdict"].value_counts()
    print(f"{args.out}: {len(table)} verdicts: "
          + ", ".join(f"{n} {v}" for v, n in counts.items()))
    return 0


def cmd_stage(args: argparse.Namespace) -> int:
    from algos.provenance.stage import stage

    counts = stage(args.root)
    print(f"staged files: {sum(counts.values())} ("
          + ", ".join(f"{counts[kind]} {kind}" for kind in ("added", "modified", "deleted"))
          + ")")
    return 0


@dataclass(frozen=True)
class Command:
    """One command of the command line: its one-line help, what adds its arguments (and its
    description) to its parser, and what runs it."""

    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    help_action: type[argparse.Action] | None = None  # -h/--help in place of argparse's own


COMMANDS = {
    "train": Command("train one agent into a run folder (resumes if the folder has a "
                     "checkpoint)", _train_arguments, cmd_train, _TrainHelp),
    "expert": Command("train a suboptimal DQN expert (policy.pt + expert.json)",
                      _expert_arguments, cmd_expert),
    "dataset": Command("roll out an expert into a state-only dataset (true actions apart)",
                       _dataset_arguments, cmd_dataset),
    "check-dataset": Command("validate a dataset file and print what it holds",
                             _check_dataset_arguments, cmd_check_dataset),
    "aggregate": Command("score finished runs and aggregate them with rliable (CSV out)",
                         _aggregate_arguments, cmd_aggregate),
    "plot": Command("draw an aggregate folder's figures (PNG and PDF)", _plot_arguments,
                    cmd_plot),
    "claims": Command("a verdict for every claim of the paper, from the experiments' tables",
                      _claims_arguments, cmd_claims),
    "verify": Command("spot-check a finished run: train its first steps again and compare",
                      _verify_arguments, cmd_verify),
    "tables": Command("the results page's tables (Markdown) from the aggregates",
                      _tables_arguments, cmd_tables),
    "status": Command("list the run folders under a folder: step, last return, and state "
                      "(finished, resumable, stale, broken, running)", _status_arguments,
                      cmd_status),
    "stage": Command("git add the evidence that reads back (make stage-results); never a "
                     "deletion", _stage_arguments, cmd_stage),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser: every command's, or with ``command`` only that one's
    arguments (the others keep their one-line help, for ``--help`` and for the error that names
    the choices)."""
    parser = _Parser(
        prog="python -m algos",
        description="Deep implicit imitation RL on MinAtar (DIIQN, HA-DIIQN and baselines): "
                    "train agents and write resumable run folders.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, spec in COMMANDS.items():
        sub = commands.add_parser(name, help=spec.help, add_help=spec.help_action is None)
        if spec.help_action is not None:
            sub.add_argument("-h", "--help", action=spec.help_action)
        if command in (None, name):
            spec.arguments(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # The parser has no options of its own but --help: its first other word names the command
    # (none or an unknown one: the parser needs only the commands' names and help).
    command = next((word for word in argv if not word.startswith("-")), "")
    args = build_parser(command if command in COMMANDS else "").parse_args(argv)
    try:
        return COMMANDS[args.command].run(args)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except RunFailure as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; re-run the same command to resume from the last checkpoint",
              file=sys.stderr)
        return 130


__all__ = ["COMMANDS", "build_parser", "main"]
