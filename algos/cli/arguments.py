"""The command line's arguments: one parser builder per command (its options, types and help
text), and the types that check a value as argparse reads it. ``algos.cli`` holds the commands.
"""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

from algos.config import workflow_default
from algos.errors import UserError
from algos.evidence.figures import FIGURES
from algos.values import exact_int, finite_float, nonempty_path


class UsageError(UserError):
    """Bad input from the command line: reported in one line, exit status 2."""


def _train_epilog(algo: str | None = None) -> str:
    """The examples and the config keys of ``algo``, or (None) of every algorithm."""
    from algos.algorithms import settings_help

    example = ("examples:\n  python -m algos train dqn --game breakout --seed 0 --steps 100000 "
               "--out results/runs/breakout/dqn/default/seed0\n"
               "  python -m algos train diiqn --game breakout --seed 0 --steps 100000 "
               "--dataset results/datasets/breakout/n30000.npz "
               "--out results/runs/breakout/diiqn/default/seed0")
    return f"{example}\n\n{settings_help(algo)}"


class TrainHelp(argparse.Action):
    """``train ALGO --help``: the help with ALGO's config keys alone (argparse has read ALGO by
    then); ``train --help``: every algorithm's."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="show this help (with ALGO first: only its config keys) and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        parser.epilog = _train_epilog(getattr(namespace, "algo", None))
        parser.print_help()
        parser.exit()


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error in one line (and where the help is) instead of the usage
    block: the same form as every other error of the command line."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def _describe(parser: argparse.ArgumentParser, description: str, epilog: str | None = None
              ) -> None:
    parser.description, parser.epilog = description, epilog
    parser.formatter_class = argparse.RawDescriptionHelpFormatter


def train_arguments(train: argparse.ArgumentParser) -> None:
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
    train.add_argument("--out", type=_path, required=True, help="run folder to write (or resume)")
    train.add_argument("--dataset", type=_path, metavar="PATH",
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


def expert_arguments(expert: argparse.ArgumentParser) -> None:
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
    expert.add_argument("--out", type=_path, required=True, help="expert folder to write")
    expert.add_argument("--stop-fraction", type=_fraction, metavar="F",
                        default=workflow_default("experts", "stop_fraction"),
                        help="stop at the first evaluation reaching F x the reference score "
                             "(default %(default)s; 0 trains the whole budget)")
    expert.add_argument("--reference-score", type=_finite, metavar="R",
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


def dataset_arguments(dataset: argparse.ArgumentParser) -> None:
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
    dataset.add_argument("--expert", type=_path, required=True, metavar="DIR",
                         help="expert folder (with expert.json)")
    dataset.add_argument("--size", type=_positive_int, required=True,
                         help="transitions to collect (1K to 100K in the experiments)")
    dataset.add_argument("--seed", type=_seed, required=True, help="seed of the rollout stream")
    dataset.add_argument("--out", type=_path, required=True, metavar="PATH",
                         help="dataset file to write, e.g. results/datasets/breakout/n1000.npz")
    dataset.add_argument("--epsilon", type=_fraction,
                         default=workflow_default("dataset", "epsilon"),
                         help="probability of a random action in the rollout (default "
                              "%(default)s)")
    dataset.add_argument("--no-effects", action="store_true",
                         help="skip the hidden .effects.npy (which actions would have had the "
                              "executed one's effect; scoring only): about 7x faster rollouts, "
                              "but inference is then scored against exact action ids only")


def check_dataset_arguments(check: argparse.ArgumentParser) -> None:
    _describe(check, "Load a dataset as learning code does (arrays, dtypes, shapes, checksum, "
                     "game) and print its description; exit status 2 with one line if it is bad.")
    check.add_argument("path", type=_path, metavar="PATH", help="dataset file (.npz)")
    check.add_argument("--game", metavar="GAME", help="also require the dataset to be of GAME")
    check.add_argument("--play", type=_positive_int, metavar="N",
                       help="also play N steps uniformly at random through a DIIQN agent's "
                            "expert-state index and action inference (default settings: τ, "
                            "metric) and print what it finds: the share of played states with an "
                            "expert state within τ and with an identical one, and the inferred "
                            "actions' coverage and accuracy against the hidden true actions")

def aggregate_arguments(aggregate: argparse.ArgumentParser) -> None:
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
    aggregate.add_argument("runs", nargs="*", type=_path, metavar="RUN", help="run folders")
    aggregate.add_argument("--manifest", type=_path, metavar="JSON",
                           help="the workflow's experiment manifest instead of RUN folders")
    aggregate.add_argument("--out", type=_path, required=True, help="folder for the CSV files")
    aggregate.add_argument("--experts", type=_path, metavar="DIR",
                           help="experts' folder (DIR/{game}/expert.json) for normalising; "
                                "default: the expert named in each run's dataset")
    aggregate.add_argument("--last", type=_positive_int,
                           default=workflow_default("last_evaluations"),
                           help="evaluations averaged into a run's score (default %(default)s)")
    aggregate.add_argument("--reps", type=_positive_int,
                           default=workflow_default("bootstrap_reps"),
                           help="bootstrap resamples (default %(default)s)")
    aggregate.add_argument("--seed", type=_seed, default=0, help="seed of the bootstrap")
    aggregate.add_argument("--experiment", default="", help="experiment name for scores.csv")
    aggregate.add_argument("--threshold", type=_finite, default=workflow_default("threshold"),
                           help="expert-normalised return for steps_to_threshold.csv (default "
                                "%(default)s; 0.9 is within 10 %% of the expert, on the "
                                "random-to-expert scale)")


def plot_arguments(plot: argparse.ArgumentParser) -> None:
    _describe(
        plot, textwrap.fill(
            "Draw the figures of an aggregate folder (from 'python -m algos aggregate'): every "
            "one that applies to its methods, or --only these.", width=96),
        "figures:\n" + "\n".join(
            textwrap.fill(f"{name}: {figure.caption}", width=96, initial_indent="  ",
                          subsequent_indent="    ") for name, figure in FIGURES.items()))
    plot.add_argument("aggregate", type=_path, metavar="DIR", help="aggregate folder")
    plot.add_argument("--out", type=_path, required=True, help="folder for the figures")
    plot.add_argument("--only", nargs="+", metavar="FIGURE", choices=list(FIGURES),
                      help=f"draw only these: {', '.join(FIGURES)}")


def claims_arguments(claims: argparse.ArgumentParser) -> None:
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
    claims.add_argument("root", type=_path, metavar="ROOT", help="folder of aggregate folders")
    claims.add_argument("--out", type=_path, required=True, help="CSV file to write")
    _add_claims_argument(claims)


def power_arguments(parser: argparse.ArgumentParser) -> None:
    _describe(
        parser, textwrap.fill(
            "For each claim of EXPERIMENT (config/claims.yaml): the runs its aggregate holds "
            "now, their spread, the claim's power at that many runs a side for its smallest "
            "effect of interest, and the seeds a side that reach --target power (seeded "
            "simulations of the claim's own test: the exact rank test for a gain or a "
            "difference, the level's interval with the expert's error for a level).",
            width=96),
        "example:\n  python -m algos power beyond_expert")
    parser.add_argument("experiment", metavar="EXPERIMENT", help="an experiment of the config")
    parser.add_argument("--root", type=_path, default=Path("results/aggregate"),
                        help="folder of aggregate folders (default %(default)s)")
    _add_claims_argument(parser)
    parser.add_argument("--target", type=_fraction, default=0.8,
                        help="the power asked for (default %(default)s)")


def tables_arguments(tables: argparse.ArgumentParser) -> None:
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
    tables.add_argument("root", type=_path, metavar="ROOT", help="folder of aggregate folders")
    tables.add_argument("--update", type=_path, metavar="PAGE",
                        help="a Markdown page whose marked block is rewritten")
    tables.add_argument("--headline", action="store_true",
                        help="only the primary claims' verdicts, for the README's headline "
                             "(between its '<!-- headline: ... -->' marker lines)")


def verify_arguments(verify: argparse.ArgumentParser) -> None:
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
    verify.add_argument("run", type=_path, metavar="RUN", help="a finished run folder")
    verify.add_argument("--steps", type=_positive_int, default=1, metavar="N",
                        help="train to the first evaluation at or past step N (default 1: the "
                             "first evaluation after step 0, at the run's eval_every; the run's "
                             "steps: every row)")
    verify.add_argument("--root", type=_path, default=None, metavar="DIR",
                        help="the project the run's dataset path is relative to (default: the "
                             "folder above the run's results/runs/, else here)")
    _add_progress_argument(verify)


def status_arguments(status: argparse.ArgumentParser) -> None:
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
    status.add_argument("folder", nargs="?", type=_path, default=Path("results/runs"),
                        metavar="FOLDER",
                        help="a folder of run folders, or one run folder (default %(default)s)")


def stage_arguments(stage: argparse.ArgumentParser) -> None:
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
    stage.add_argument("root", nargs="?", type=_path, default=Path("."), metavar="ROOT",
                       help="the repository's work tree (default: here)")


def _add_claims_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--claims", type=_path, default=None, metavar="FILE",
                        help="the claims file (default config/claims.yaml)")


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
    parser.add_argument("--sticky-prob", type=_fraction, default=0.1, metavar="P",
                        help="probability of repeating the previous action (default 0.1)")
    parser.add_argument("--no-ramping", action="store_true",
                        help="switch off MinAtar's difficulty ramping (on by default)")


def _checked(convert, text: str):
    try:
        return convert(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _integer(text: str, least: int, what: str) -> int:
    try:
        number = exact_int(text)
    except ValueError:
        number = None
    if number is None or number < least:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return number


def _positive_int(text: str) -> int:
    return _integer(text, 1, "a positive integer")


def _seed(text: str) -> int:
    return _integer(text, 0, "a seed: an integer >= 0")


def _finite(text: str) -> float:
    return _checked(finite_float, text)


def _positive_float(text: str) -> float:
    value = _finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _fraction(text: str) -> float:
    value = _finite(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}")
    return value


def _path(text: str) -> Path:
    return _checked(nonempty_path, text)
